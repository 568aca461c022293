"""The status bar: source, capture and inference rates, latency, drops, device, model (marked
when a head is a prior), and the recording indicator."""

from __future__ import annotations

from PyQt5.QtWidgets import QLabel, QStatusBar, QWidget

from affect_live.live import LiveStats


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class StatusPanel(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QLabel()
        self.rates = QLabel()
        self.latency = QLabel()
        self.dropped = QLabel()
        self.device = QLabel()
        self.model = QLabel()
        self.recording = QLabel()
        self.recording.setStyleSheet("color:#ff4d4d; font-weight:bold;")
        for label in (self.source, self.rates, self.latency, self.dropped, self.device, self.model):
            self.addPermanentWidget(label)
        self.addPermanentWidget(self.recording)
        self.recording.hide()

    def update_stats(self, stats: LiveStats) -> None:
        state = "paused" if stats.paused else ("" if stats.running else "stopped")
        self.source.setText(f"{stats.source or 'no source'} ({stats.source_kind or '-'}{', ' + state if state else ''})")
        self.rates.setText(f"capture {stats.capture_fps:4.1f} fps · inference {stats.inference_fps:4.1f} fps")
        self.latency.setText(f"latency {stats.latency_ms_p50:4.1f} ms (p95 {stats.latency_ms_p95:4.1f})")
        self.dropped.setText(f"dropped {stats.dropped_frames}")
        self.device.setText(stats.device)
        self.model.setText(model_label(stats.model_name, stats.prior_heads))
        self.model.setToolTip(
            "Heads marked prior are documented priors, not trained on labels: "
            + (", ".join(stats.prior_heads) if stats.prior_heads else "none")
        )
        rec = stats.recording
        if rec is None:
            self.recording.hide()
        else:
            self.recording.setText(f"● REC {_elapsed(rec.elapsed_s)} · {rec.rows} rows · {rec.path.name}")
            self.recording.show()


def model_label(name: str, prior_heads: tuple[str, ...]) -> str:
    """'faceapi-expression [prior: expression, valence, arousal]': priors are never hidden."""
    return f"{name} [prior: {', '.join(prior_heads)}]" if prior_heads else f"{name} [learned heads]"
