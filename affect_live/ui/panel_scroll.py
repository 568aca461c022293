"""The face panel in a vertical scroll area: at its full width always (its minimum width follows
the panel's, which grows with its fonts and texts), scrolling only where a screen is too short
for its plots, so that the window itself fits 1024x700."""

from __future__ import annotations

from PyQt5.QtCore import QEvent, QObject, QSize, Qt
from PyQt5.QtWidgets import QFrame, QScrollArea, QWidget


class PanelScroll(QScrollArea):
    def __init__(self, panel: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidget(panel)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        panel.installEventFilter(self)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        panel = self.widget()
        return QSize(panel.minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width(), 0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if watched is self.widget() and event.type() == QEvent.LayoutRequest:
            self.updateGeometry()  # the panel's minimum width may have changed (a new text)
        return super().eventFilter(watched, event)
