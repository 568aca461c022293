"""A message area above the video: errors and notices the user must see, without a modal
dialog that would stop the live view.

Messages about one thing (the source, the model, the recording, LSL, markers) share a slot: a
newer one replaces the older, so "X ended" goes when X plays again and "waiting for the
camera" when it is back. Notices (info) fade after a while; warnings and errors stay until
their slot is replaced or the user clicks the banner. Several slots show at once, newest first.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

from PyQt5.QtCore import Qt, QTimer
from PyQt5.QtGui import QMouseEvent
from PyQt5.QtWidgets import QLabel, QWidget

_STYLES = {
    "info": "background:#1f3b57; color:#e8f1fa;",
    "warning": "background:#5c4a12; color:#fff6d8;",
    "error": "background:#6b1d1d; color:#ffe9e9;",
}
_RANK = {"info": 0, "warning": 1, "error": 2}
INFO_S = 8.0  # how long a notice stays
SHOWN = 3  # slots shown at once

# What each session event is about: its slot.
SLOTS = {
    **dict.fromkeys(("source_opened", "source_ended", "source_failed", "open_failed", "camera_waiting", "camera_back"), "source"),
    **dict.fromkeys(("model_loading", "model_loaded", "model_failed", "model_busy"), "model"),
    **dict.fromkeys(("recording_started", "recording_stopped", "recording_failed"), "recording"),
    **dict.fromkeys(("marker", "marker_lost"), "marker"),
    "lsl": "lsl",
    "calibration": "calibration",
    "no_camera": "camera",
    "device": "device",
}


@dataclass(frozen=True)
class _Message:
    level: str
    text: str
    expires: float | None  # monotonic time; None: until replaced or dismissed


class MessageBanner(QLabel):
    def __init__(self, parent: QWidget | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setObjectName("messageBanner")
        self.setTextFormat(Qt.RichText)
        self.setToolTip("Click to dismiss")
        self._clock = clock
        self._slots: dict[str, _Message] = {}  # insertion order = age
        self._unnamed = itertools.count()
        self._expiry = QTimer(self, interval=500, timeout=self.expire)
        self.level = ""
        self.hide()

    @property
    def lines(self) -> list[str]:
        """What the banner shows now, newest first."""
        return [message.text for message in reversed(self._slots.values())][:SHOWN]

    def show_message(self, level: str, text: str, topic: str = "") -> None:
        slot = SLOTS.get(topic) or f"#{next(self._unnamed)}"
        self._slots.pop(slot, None)  # re-inserted as the newest
        self._slots[slot] = _Message(level, text, self._clock() + INFO_S if level == "info" else None)
        self._render()

    def clear_topic(self, topic: str) -> None:
        """The cause of a slot's message is gone."""
        if self._slots.pop(SLOTS.get(topic, topic), None) is not None:
            self._render()

    def expire(self) -> None:
        now = self._clock()
        stale = [slot for slot, message in self._slots.items() if message.expires is not None and message.expires <= now]
        for slot in stale:
            del self._slots[slot]
        if stale:
            self._render()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 (Qt's name)
        self._slots.clear()
        self._render()
        event.accept()

    def _render(self) -> None:
        shown = list(reversed(self._slots.values()))[:SHOWN]
        if not shown:
            self.level = ""
            self._expiry.stop()
            self.hide()
            return
        self.level = max((m.level for m in shown), key=lambda level: _RANK.get(level, 0))
        self.setStyleSheet(f"QLabel#messageBanner {{ {_STYLES.get(self.level, _STYLES['info'])} padding:6px; border-radius:3px; }}")
        self.setText("<br>".join(escape(m.text) for m in shown))
        self._expiry.start()
        self.show()
