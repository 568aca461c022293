"""The 52 blendshape scores as horizontal bars, grouped by face region with short labels and
each Left/Right pair side by side, in two blocks so they fit beside the other plots.

Drawn with QPainter: the labels, headers and empty tracks are painted once into a cached
pixmap (again only on resize), so a 30 Hz update paints one pixmap and 52 rectangles.
"""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QRectF, QSize, Qt
from PyQt5.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPaintEvent, QPixmap, QRegion, QResizeEvent
from PyQt5.QtWidgets import QSizePolicy, QWidget

from affect_live.types import BLENDSHAPE_NAMES

# (short label, MediaPipe name(s)): one name is a single bar, two are its Left and Right.
Row = tuple[str, tuple[str, ...]]
GROUPS: tuple[tuple[str, tuple[Row, ...]], ...] = (
    ("overall", (("neutral", ("_neutral",)),)),
    ("brows", (
        ("down", ("browDownLeft", "browDownRight")),
        ("inner up", ("browInnerUp",)),
        ("outer up", ("browOuterUpLeft", "browOuterUpRight")),
    )),
    ("eyes", (
        ("blink", ("eyeBlinkLeft", "eyeBlinkRight")),
        ("squint", ("eyeSquintLeft", "eyeSquintRight")),
        ("wide", ("eyeWideLeft", "eyeWideRight")),
        ("look up", ("eyeLookUpLeft", "eyeLookUpRight")),
        ("look down", ("eyeLookDownLeft", "eyeLookDownRight")),
        ("look in", ("eyeLookInLeft", "eyeLookInRight")),
        ("look out", ("eyeLookOutLeft", "eyeLookOutRight")),
    )),
    ("cheeks and nose", (
        ("cheek puff", ("cheekPuff",)),
        ("cheek squint", ("cheekSquintLeft", "cheekSquintRight")),
        ("nose sneer", ("noseSneerLeft", "noseSneerRight")),
    )),
    ("mouth", (
        ("smile", ("mouthSmileLeft", "mouthSmileRight")),
        ("frown", ("mouthFrownLeft", "mouthFrownRight")),
        ("dimple", ("mouthDimpleLeft", "mouthDimpleRight")),
        ("stretch", ("mouthStretchLeft", "mouthStretchRight")),
        ("press", ("mouthPressLeft", "mouthPressRight")),
        ("upper up", ("mouthUpperUpLeft", "mouthUpperUpRight")),
        ("lower down", ("mouthLowerDownLeft", "mouthLowerDownRight")),
        ("to side", ("mouthLeft", "mouthRight")),
        ("pucker", ("mouthPucker",)),
        ("funnel", ("mouthFunnel",)),
        ("close", ("mouthClose",)),
        ("roll lower", ("mouthRollLower",)),
        ("roll upper", ("mouthRollUpper",)),
        ("shrug lower", ("mouthShrugLower",)),
        ("shrug upper", ("mouthShrugUpper",)),
    )),
    ("jaw", (
        ("open", ("jawOpen",)),
        ("forward", ("jawForward",)),
        ("to side", ("jawLeft", "jawRight")),
    )),
)  # fmt: skip
BLOCKS: tuple[tuple[str, ...], ...] = (("overall", "brows", "eyes", "cheeks and nose"), ("mouth", "jaw"))

_INDEX = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}
_BACKGROUND = QColor(0, 0, 0)  # as the pyqtgraph plots beside it
_TRACK = QColor(48, 48, 48)
_HEADER = QColor(220, 220, 220)
_LABEL = QColor(170, 170, 170)
_MIN_TRACK = 24.0  # px per bar at the smallest width (the window fits 1024 px)
_GAP = 4.0
_INDENT = 8.0  # labels sit under their group's header, indented


def group_of(name: str) -> str:
    """The group a MediaPipe blendshape name is shown in."""
    for header, rows in GROUPS:
        if any(name in names for _, names in rows):
            return header
    raise KeyError(name)


class BlendshapeBars(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._font = QFont(self.font())
        self._font.setPointSizeF(8.0)
        self._bold = QFont(self._font)
        self._bold.setBold(True)
        metrics = QFontMetricsF(self._font)
        self._line = metrics.height() + 1.0
        self._label_w = max(metrics.horizontalAdvance(label) for _, rows in GROUPS for label, _ in rows) + _INDENT + 6.0
        self._values: np.ndarray | None = None
        self._color = QColor(128, 128, 128)
        self._rects: list[QRectF | None] = [None] * len(BLENDSHAPE_NAMES)  # the full track of each bar
        self._tracks = QRegion()  # all tracks: what a new set of scores repaints
        self._background: QPixmap | None = None
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)
        self.setMinimumSize(self._width_for(_MIN_TRACK), self._height())

    def _lines(self, block: tuple[str, ...]) -> int:
        return 1 + sum(1 + len(rows) for header, rows in GROUPS if header in block)  # + the Left/Right row

    def _height(self) -> int:
        return int(max(self._lines(b) for b in BLOCKS) * self._line + 4)

    def _width_for(self, track: float) -> int:
        return int(len(BLOCKS) * (self._label_w + 2 * track + _GAP) + (len(BLOCKS) - 1) * 3 * _GAP)

    def sizeHint(self) -> QSize:
        return QSize(self._width_for(48.0), self._height())

    # --- values ------------------------------------------------------------------------------

    @property
    def values(self) -> np.ndarray | None:
        """The shown scores in BLENDSHAPE_NAMES order, None when cleared."""
        return None if self._values is None else self._values.copy()

    def value(self, name: str) -> float | None:
        return None if self._values is None else float(self._values[_INDEX[name]])

    def bar_track(self, name: str) -> QRectF | None:
        """Where a score's bar is drawn (its full length, at 1.0), in widget coordinates."""
        self._ensure_layout()
        return self._rects[_INDEX[name]]

    def set_values(self, scores: np.ndarray | None, color: tuple[int, int, int]) -> None:
        if scores is None:
            changed = self._values is not None
            self._values = None
        else:
            scores = np.nan_to_num(np.clip(np.asarray(scores, dtype=float).reshape(-1), 0.0, 1.0))
            if scores.size != len(BLENDSHAPE_NAMES):
                raise ValueError(f"expected {len(BLENDSHAPE_NAMES)} blendshape scores, got {scores.size}")
            changed = self._values is None or not np.array_equal(scores, self._values) or QColor(*color) != self._color
            self._values = scores
        self._color = QColor(*color)
        if changed:
            self._ensure_layout()
            self.update(self._tracks)  # the labels and headers stay as they are

    # --- drawing -----------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        self._background = None
        super().resizeEvent(event)

    def _ensure_layout(self) -> None:
        if self._background is not None and self._background.size() == self.size():
            return
        self._background = QPixmap(self.size())
        self._tracks = QRegion()
        self._background.fill(_BACKGROUND)
        painter = QPainter(self._background)
        try:
            block_w = (self.width() - (len(BLOCKS) - 1) * 3 * _GAP) / len(BLOCKS)
            track = max((block_w - self._label_w - _GAP) / 2, 1.0)
            for b, block in enumerate(BLOCKS):
                self._paint_block(painter, b * (block_w + 3 * _GAP), track, block)
        finally:
            painter.end()

    def _paint_block(self, painter: QPainter, x0: float, track: float, block: tuple[str, ...]) -> None:
        line, bar_h = self._line, self._line - 4.0
        left_x, right_x = x0 + self._label_w, x0 + self._label_w + track + _GAP
        painter.setFont(self._font)
        painter.setPen(_LABEL)
        for x, text in ((left_x, "Left"), (right_x, "Right")):
            painter.drawText(QRectF(x, 0.0, track, line), Qt.AlignCenter, text)
        y = line
        for header, rows in GROUPS:
            if header not in block:
                continue
            painter.setFont(self._bold)
            painter.setPen(_HEADER)
            painter.drawText(QRectF(x0, y, self._label_w + 2 * track, line), Qt.AlignLeft | Qt.AlignVCenter, header)
            y += line
            painter.setFont(self._font)
            for label, names in rows:
                painter.setPen(_LABEL)
                painter.drawText(QRectF(x0 + _INDENT, y, self._label_w - _INDENT, line), Qt.AlignLeft | Qt.AlignVCenter, label)
                # A single score sits between the Left and Right columns, at the same scale.
                xs = (left_x, right_x) if len(names) == 2 else (left_x + (track + _GAP) / 2,)
                for x, name in zip(xs, names, strict=True):
                    rect = QRectF(x, y + 2.0, track, bar_h)
                    painter.fillRect(rect, _TRACK)
                    self._rects[_INDEX[name]] = rect
                    self._tracks += rect.toAlignedRect()
                y += line

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt's name)
        self._ensure_layout()
        painter = QPainter(self)
        try:
            painter.drawPixmap(event.rect(), self._background, event.rect())
            if self._values is None:
                return
            bars = [QRectF(r.x(), r.y(), r.width() * v, r.height()) for r, v in zip(self._rects, self._values, strict=True) if r is not None and v > 0.0]
            painter.setPen(Qt.NoPen)
            painter.setBrush(QBrush(self._color))
            painter.drawRects(bars)
        finally:
            painter.end()
