"""The status bar, two lines. First, what is kept or sent and by what: the recording (elapsed
time, rows, file), LSL (its streams), the device and the model with what each head is (a prior
is never hidden). Second, how the analysis runs: the source and its state, capture and
inference rates, latency, dropped frames. Each stays for as long as it holds; labels elide
rather than widen the window."""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QPainter, QPaintEvent
from PyQt5.QtWidgets import QGridLayout, QLabel, QSizePolicy, QStatusBar, QWidget

from affect_live.lsl.outlets import DATA_STREAM, MARKER_STREAM
from affect_live.model.bundle.manifest import HEAD_WORDS
from affect_live.model.inference.engine import (
    heads_label,  # the one wording, shared with LSL's metadata and markers
)
from affect_live.session.events import LiveStats
from affect_live.session.outputs import RecordingStatus

_REC_STYLE = "color:#e53935; font-weight:bold;"
_LSL_STYLE = "color:#43a047; font-weight:bold;"


class ElidedLabel(QLabel):
    """A one-line label that ends in "..." when narrower than its text (the full text on hover),
    so that a long model or file name never sets the window's minimum width."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.setMinimumWidth(40)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        painter = QPainter(self)
        shown = self.fontMetrics().elidedText(self.text(), Qt.ElideRight, self.contentsRect().width())
        painter.drawText(self.contentsRect(), int(self.alignment() | Qt.AlignVCenter), shown)


def recording_text(status: RecordingStatus | None) -> str:
    if status is None:
        return ""
    minutes, seconds = divmod(int(status.elapsed_s), 60)
    return f"● REC {minutes:02d}:{seconds:02d} · {status.rows} rows · {status.path.name}"


def lsl_text(state: str, consumer: bool) -> str:
    """The streams, and whether a recorder has the data stream open (liblsl cannot count them)."""
    if state == "on":
        return f"LSL: {DATA_STREAM} + {MARKER_STREAM} · {'a recorder is connected' if consumer else 'no recorder connected yet'}"
    return "LSL: opening..." if state == "opening" else ""


class StatusPanel(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizeGripEnabled(False)
        self.recording, self.lsl, self.device, self.model = (ElidedLabel() for _ in range(4))
        self.source, self.rates, self.latency, self.dropped = (ElidedLabel() for _ in range(4))
        self.recording.setStyleSheet(_REC_STYLE)
        self.lsl.setStyleSheet(_LSL_STYLE)
        self.model.setToolTip(HEAD_WORDS)
        lines = QWidget()
        grid = QGridLayout(lines)
        grid.setContentsMargins(4, 0, 4, 0)
        grid.setVerticalSpacing(0)
        for column, (top, bottom, stretch) in enumerate(
            ((self.recording, self.source, 3), (self.lsl, self.rates, 3), (self.device, self.latency, 2), (self.model, self.dropped, 5))
        ):
            grid.addWidget(top, 0, column)
            grid.addWidget(bottom, 1, column)
            grid.setColumnStretch(column, stretch)
        self.addWidget(lines, 1)

    def update_stats(self, stats: LiveStats) -> None:
        self._set(self.recording, recording_text(stats.recording), str(stats.recording.path) if stats.recording else "not recording")
        self._set(self.lsl, lsl_text(stats.lsl, stats.lsl_consumer), "Lab Streaming Layer: off" if stats.lsl == "off" else "")
        self._set(self.device, stats.device)
        model = "loading model..." if stats.loading_model else heads_label(stats.model_name, stats.prior_heads, stats.per_frame_heads)
        self._set(self.model, model, f"{model}\n\n{HEAD_WORDS}")
        state = "paused" if stats.paused else ("" if stats.running else "ended")
        name = Path(stats.source).name if stats.source_kind in ("video", "images") else stats.source
        self._set(self.source, f"{name or 'no source'} ({stats.source_kind or '-'}{', ' + state if state else ''})", stats.source)
        self._set(self.rates, f"capture {stats.capture_fps:4.1f} fps · inference {stats.inference_fps:4.1f} fps")
        self._set(self.latency, f"latency {stats.latency_ms_p50:4.1f} ms (p95 {stats.latency_ms_p95:4.1f})")
        self._set(self.dropped, f"dropped {stats.dropped_frames}")

    @staticmethod
    def _set(label: QLabel, text: str, tip: str = "") -> None:
        if text != label.text():  # no repaint for the same text
            label.setText(text)
        label.setToolTip(tip or text)
