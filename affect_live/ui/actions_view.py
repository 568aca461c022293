"""The selected face's facial actions: a head-pose and gaze readout and the blendshape bars, or
a plain line saying they were not measured (never zeros standing in for "not measured")."""

from __future__ import annotations

from PyQt5.QtCore import Qt
from PyQt5.QtGui import QColor, QFont, QFontMetrics, QPalette
from PyQt5.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from affect_live.types import FaceActions
from affect_live.ui.blendshape_bars import BlendshapeBars

OFF_TEXT = "Facial actions not measured for this face: the face mesh did not find it"
SWITCHED_OFF_TEXT = "Facial actions off (the Actions button, or --no-actions): not measured"


def pose_text(actions: FaceActions) -> str:
    """Two lines in whole degrees (the measurement is not finer than that)."""
    return (
        f"head  yaw {actions.yaw:+4.0f}°  pitch {actions.pitch:+4.0f}°  roll {actions.roll:+4.0f}°\n"
        f"gaze  yaw {actions.gaze_yaw:+4.0f}°  pitch {actions.gaze_pitch:+4.0f}°"
    )


class ActionsView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.readout = QLabel()
        font = QFont("monospace")
        font.setStyleHint(QFont.TypeWriter)
        font.setPointSizeF(9.0)
        self.readout.setFont(font)
        self.readout.setMinimumHeight(2 * QFontMetrics(font).lineSpacing() + 2)  # no jump when it empties
        self.readout.setToolTip(
            "Degrees. yaw: positive when the face turns towards the image's right; pitch: positive looking up; "
            "roll: positive turned clockwise as you see the image. Gaze: the eyes' direction, same signs."
        )
        self.bars = BlendshapeBars()
        self.bars.setToolTip("Blendshape scores in [0, 1] (MediaPipe Face Landmarker); Left/Right are MediaPipe's names")
        self.off_label = QLabel(OFF_TEXT)
        self.off_label.setWordWrap(True)
        self.off_label.setAlignment(Qt.AlignCenter)
        self.off_label.setStyleSheet("color:#999999;")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.bars)
        self.stack.addWidget(self.off_label)
        title = QLabel("facial actions")
        title.setStyleSheet("color:#bbbbbb; font-size:9pt;")
        title.setAlignment(Qt.AlignHCenter)
        # Dark, as the plots beside it.
        palette = self.palette()
        palette.setColor(QPalette.Window, QColor(0, 0, 0))
        palette.setColor(QPalette.WindowText, QColor(220, 220, 220))
        self.setPalette(palette)
        self.setAutoFillBackground(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(title)
        layout.addWidget(self.readout)
        layout.addWidget(self.stack, 1)
        self.measured: bool | None = None  # None: no face shown

    def set_switched_on(self, on: bool) -> None:
        """Whether the facial actions are measured at all: says which "not measured" it is."""
        self.off_label.setText(OFF_TEXT if on else SWITCHED_OFF_TEXT)

    def show_actions(self, actions: FaceActions | None, color: tuple[int, int, int], have_face: bool = True) -> None:
        if not have_face:
            self.measured = None
            self._set_readout("")
            self.bars.set_values(None, color)
            self.stack.setCurrentWidget(self.bars)
        elif actions is None:
            self.measured = False
            self._set_readout("head  not measured\ngaze  not measured")
            self.stack.setCurrentWidget(self.off_label)
        else:
            self.measured = True
            self._set_readout(pose_text(actions))
            self.bars.set_values(actions.blendshapes, color)
            self.stack.setCurrentWidget(self.bars)

    def _set_readout(self, text: str) -> None:
        if text != self.readout.text():  # the same whole degrees: no setText, no relayout
            self.readout.setText(text)
