"""The status bar: source, capture and inference rates, latency, drops, device, and the model
(marked when a head is a prior). The recording indicator sits in the toolbar, next to Record."""

from __future__ import annotations

from pathlib import Path

from PyQt5.QtWidgets import QLabel, QStatusBar, QWidget

from affect_live.model.bundle.manifest import HEAD_WORDS
from affect_live.model.inference.engine import (
    heads_label,  # the one wording, shared with LSL's metadata and markers
)
from affect_live.session.events import LiveStats


class StatusPanel(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.source = QLabel()
        self.rates = QLabel()
        self.latency = QLabel()
        self.dropped = QLabel()
        self.device = QLabel()
        self.model = QLabel()
        for label in (self.source, self.rates, self.latency, self.dropped, self.device, self.model):
            self.addPermanentWidget(label)

    def update_stats(self, stats: LiveStats) -> None:
        state = "paused" if stats.paused else ("" if stats.running else "stopped")
        name = Path(stats.source).name if stats.source_kind in ("video", "images") else stats.source
        self.source.setText(f"{name or 'no source'} ({stats.source_kind or '-'}{', ' + state if state else ''})")
        self.source.setToolTip(stats.source)
        self.rates.setText(f"capture {stats.capture_fps:4.1f} fps · inference {stats.inference_fps:4.1f} fps")
        self.latency.setText(f"latency {stats.latency_ms_p50:4.1f} ms (p95 {stats.latency_ms_p95:4.1f})")
        self.dropped.setText(f"dropped {stats.dropped_frames}")
        self.device.setText(stats.device)
        self.model.setText("loading model..." if stats.loading_model else heads_label(stats.model_name, stats.prior_heads, stats.per_frame_heads))
        self.model.setToolTip(HEAD_WORDS)

