"""A message line above the video: errors and notices the user must see, without a modal
dialog that would stop the live view."""

from __future__ import annotations

from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QLabel, QWidget

_STYLES = {
    "info": "background:#1f3b57; color:#e8f1fa;",
    "warning": "background:#5c4a12; color:#fff6d8;",
    "error": "background:#6b1d1d; color:#ffe9e9;",
}


class MessageBanner(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setObjectName("messageBanner")
        self._hide_timer = QTimer(self, singleShot=True, timeout=self.hide)
        self.level = ""
        self.hide()

    def show_message(self, level: str, message: str, seconds: float = 12.0) -> None:
        self.level = level
        self.setStyleSheet(f"QLabel#messageBanner {{ {_STYLES.get(level, _STYLES['info'])} padding:6px; border-radius:3px; }}")
        self.setText(message)
        self.show()
        self._hide_timer.start(int(seconds * 1000))
