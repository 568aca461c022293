"""Live plots: valence/arousal and head-pose timelines, the valence-arousal plane, the
expression bars.

Each widget creates its graphics items once; updates only call setData/setOpts on them, so a
30 Hz refresh stays cheap. Ranges are fixed and mouse interaction is off: these are gauges.
"""

from __future__ import annotations

import logging

import numpy as np
import pyqtgraph as pg
from PyQt5.QtCore import Qt
from PyQt5.QtGui import QBrush, QColor, QFont
from PyQt5.QtWidgets import QSizePolicy, QWidget

from affect_live.types import EXPRESSIONS

log = logging.getLogger(__name__)

pg.setConfigOptions(antialias=True)

Rgb = tuple[int, int, int]

VALENCE_COLOR: Rgb = (90, 200, 250)  # light blue
AROUSAL_COLOR: Rgb = (250, 120, 190)  # pink: distinct from the blue and from red/green pairs
POSE_COLORS: tuple[Rgb, Rgb, Rgb] = ((250, 170, 60), (130, 210, 120), (185, 165, 255))  # yaw, pitch, roll
_GUIDE_PEN = pg.mkPen((110, 110, 110), width=1)
_GRID_PEN = pg.mkPen((60, 60, 60), width=1, style=Qt.DotLine)
_NOTE_STYLE = {"color": "#bbbbbb", "size": "9pt"}
_SIGNED_TICKS = [[(v, f"{v:g}") for v in (-1.0, -0.5, 0.0, 0.5, 1.0)]]

# Short names so the 7 tick labels fit under narrow bars.
SHORT_EXPRESSIONS: dict[str, str] = {
    "neutral": "neutral",
    "anger": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happiness": "happy",
    "sadness": "sad",
    "surprise": "surprise",
}


class _Gauge(pg.PlotWidget):
    """A PlotWidget with fixed ranges, no mouse interaction and an optional title note."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        item = self.getPlotItem()
        item.setMouseEnabled(x=False, y=False)
        item.setMenuEnabled(False)
        item.hideButtons()
        item.setContentsMargins(2, 4, 10, 2)  # room for the edge tick labels (e.g. "0" at the right)
        font = QFont(self.font())
        font.setPointSizeF(8.5)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setTickFont(font)
            # Fixed ranges put the end ticks (e.g. 1.0) on the edge: keep their labels.
            axis.setStyle(hideOverlappingLabels=False)
        self._note = ""

    def _axis_label(self, side: str, text: str) -> None:
        # Font on the label item: a CSS font-size through setLabel(**style) hides the label in 0.14.
        axis = self.getPlotItem().getAxis(side)
        axis.setLabel(text)
        font = QFont(self.font())
        font.setPointSizeF(9.5)
        axis.label.setFont(font)

    def set_note(self, text: str) -> None:
        """Small text in the title row, e.g. "(prior)"; empty hides the title."""
        if text == self._note:
            return
        self._note = text
        self.getPlotItem().setTitle(text or None, **_NOTE_STYLE)

    @property
    def note(self) -> str:
        return self._note


class _Timeline(_Gauge):
    """Curves over the last `span_s` seconds; x = seconds relative to the newest point (0), so
    every timeline fed the same face's times shares one time axis."""

    def __init__(
        self,
        curves: tuple[tuple[str, Rgb], ...],
        y_ticks: tuple[float, ...],
        span_s: float,
        parent: QWidget | None = None,
        pen_width: float = 2.0,
    ) -> None:
        super().__init__(parent)
        self.span_s = float(span_s)
        limit = max(abs(v) for v in y_ticks) * 1.05
        item = self.getPlotItem()
        item.setXRange(-self.span_s, 0.0, padding=0.0)
        item.setYRange(-limit, limit, padding=0.0)
        item.disableAutoRange()
        self._axis_label("bottom", "seconds")
        item.getAxis("left").setTicks([[(v, f"{v:g}") for v in y_ticks]])
        # Guide lines instead of showGrid: pyqtgraph's grid makes the axis cull the edge tick labels.
        for y in y_ticks:
            if y != 0.0:
                item.addLine(y=y, pen=_GRID_PEN)
        item.addLine(y=0.0, pen=_GUIDE_PEN)
        # connect="finite": a NaN (face lost) breaks the line instead of drawing across the gap.
        self.curves = [pg.PlotDataItem(pen=pg.mkPen(color, width=pen_width), connect="finite") for _, color in curves]
        for curve in self.curves:
            item.addItem(curve)
        # The legend sits in its own row under the x axis, so it never hides the data.
        self.legend = pg.LegendItem(colCount=len(curves), verSpacing=-8, labelTextSize="9pt")
        for curve, (name, _) in zip(self.curves, curves, strict=True):
            self.legend.addItem(curve, name)
        self.legend.layout.setContentsMargins(0, 0, 0, 0)
        self.legend.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        item.layout.addItem(self.legend, 4, 1)
        item.layout.setAlignment(self.legend, Qt.AlignHCenter | Qt.AlignVCenter)
        item.layout.setRowFixedHeight(4, 18)

    def set_names(self, names: tuple[str, ...]) -> None:
        """The curves' names in the legend (e.g. "valence" or "Δ valence" vs a baseline)."""
        for (_, label), name in zip(self.legend.items, names, strict=True):
            if label.text != name:
                label.setText(name)

    def set_curves(self, t: np.ndarray, columns: tuple[np.ndarray, ...]) -> None:
        """Plot one column per curve against `t` (absolute, increasing seconds); only the last
        `span_s` are drawn."""
        t = np.asarray(t, dtype=float)
        if t.size == 0:
            self.clear_series()
            return
        x = t - t[-1]
        start = int(np.searchsorted(x, -self.span_s, side="left"))  # older points are off-screen
        x = x[start:]
        for curve, values in zip(self.curves, columns, strict=True):
            curve.setData(x, np.asarray(values, dtype=float)[start:])

    def clear_series(self) -> None:
        for curve in self.curves:
            curve.setData([], [])


class VaTimeline(_Timeline):
    """Valence and arousal over the last `span_s` seconds."""

    def __init__(self, parent: QWidget | None = None, span_s: float = 30.0) -> None:
        super().__init__((("valence", VALENCE_COLOR), ("arousal", AROUSAL_COLOR)), (-1.0, -0.5, 0.0, 0.5, 1.0), span_s, parent)
        self.valence_curve, self.arousal_curve = self.curves
        self.setMinimumSize(280, 80)  # the window must fit 1024x700

    def set_series(self, t: np.ndarray, valence: np.ndarray, arousal: np.ndarray) -> None:
        self.set_curves(t, (valence, arousal))


class PoseTimeline(_Timeline):
    """Head yaw, pitch and roll (degrees) on the same time axis as the valence/arousal timeline."""

    # 1-px lines: Qt draws them several times faster than antialiased 2-px ones (about 1 ms of
    # the GUI thread per redraw of the three curves).
    PEN_WIDTH = 1.0
    TICKS = (-40.0, -20.0, 0.0, 20.0, 40.0)  # degrees; larger turns run off the plot (the readout has them)

    def __init__(self, parent: QWidget | None = None, span_s: float = 30.0) -> None:
        super().__init__(tuple(zip(("yaw", "pitch", "roll"), POSE_COLORS, strict=True)), self.TICKS, span_s, parent, self.PEN_WIDTH)
        self.yaw_curve, self.pitch_curve, self.roll_curve = self.curves
        self.setMinimumSize(280, 80)

    def set_pose(self, t: np.ndarray, pose: np.ndarray | None) -> None:
        """`pose`: N x 3+ (yaw, pitch, roll, ...) per time in `t`; NaN rows are gaps."""
        if pose is None:
            self.clear_series()
            return
        pose = np.asarray(pose, dtype=float)
        if not np.isfinite(pose[:, :3]).any():  # never measured in the span: nothing to draw
            self.clear_series()
            return
        self.set_curves(t, (pose[:, 0], pose[:, 1], pose[:, 2]))


class VaPlane(_Gauge):
    """The circumplex plane: the current (valence, arousal) as a dot with a fading trail."""

    # Russell's circumplex names for the four quadrants (valence sign, arousal sign).
    QUADRANTS: tuple[tuple[str, float, float], ...] = (
        ("excited", 1.0, 1.0),
        ("distressed", -1.0, 1.0),
        ("depressed", -1.0, -1.0),
        ("relaxed", 1.0, -1.0),
    )
    TRAIL_MIN_ALPHA = 20
    TRAIL_MAX_ALPHA = 200
    TRAIL_LEVELS = 8

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        item = self.getPlotItem()
        item.setAspectLocked(True)
        item.setXRange(-1.1, 1.1, padding=0.0)
        item.setYRange(-1.1, 1.1, padding=0.0)
        item.disableAutoRange()
        self._axis_label("bottom", "valence")
        self._axis_label("left", "arousal")
        item.getAxis("bottom").setTicks(_SIGNED_TICKS)
        item.getAxis("left").setTicks(_SIGNED_TICKS)
        angle = np.linspace(0.0, 2.0 * np.pi, 129)
        item.addItem(pg.PlotCurveItem(np.cos(angle), np.sin(angle), pen=_GUIDE_PEN))
        item.addItem(pg.PlotCurveItem([-1.0, 1.0], [0.0, 0.0], pen=_GUIDE_PEN))
        item.addItem(pg.PlotCurveItem([0.0, 0.0], [-1.0, 1.0], pen=_GUIDE_PEN))
        quadrant_font = QFont(self.font())
        quadrant_font.setPointSizeF(9.0)
        for name, vx, ay in self.QUADRANTS:
            # In the corners, outside the unit circle, where no (clipped) value can land.
            anchor = (1.0 if vx > 0 else 0.0, 0.0 if ay > 0 else 1.0)
            text = pg.TextItem(name, color=(150, 150, 150), anchor=anchor)
            text.setFont(quadrant_font)
            text.setPos(1.08 * vx, 1.08 * ay)
            item.addItem(text)
        self.trail = pg.ScatterPlotItem(pxMode=True, pen=None)
        self.current = pg.ScatterPlotItem(pxMode=True, size=15, pen=pg.mkPen((255, 255, 255), width=1.5))
        item.addItem(self.trail)
        item.addItem(self.current)
        self._brush_cache: tuple[Rgb, list[QBrush]] | None = None
        self.setMinimumSize(170, 170)

    def _trail_style(self, color: Rgb, n: int) -> tuple[list[QBrush], np.ndarray]:
        """Per-point brushes (alpha rising with recency) and sizes in TRAIL_LEVELS steps.

        Few distinct (brush, size) pairs keep pyqtgraph's symbol cache warm; a distinct alpha per
        point would render a new symbol for most points on every frame.
        """
        if self._brush_cache is None or self._brush_cache[0] != color:
            alphas = np.linspace(self.TRAIL_MIN_ALPHA, self.TRAIL_MAX_ALPHA, self.TRAIL_LEVELS)
            brushes = [QBrush(QColor(*color, int(a))) for a in alphas]
            self._brush_cache = (color, brushes)
        level = (np.arange(n) * self.TRAIL_LEVELS) // max(n, 1)  # 0 (oldest) .. TRAIL_LEVELS-1
        levels = self._brush_cache[1]
        return [levels[i] for i in level], np.linspace(3.0, 8.0, self.TRAIL_LEVELS)[level]

    def set_trail(self, valence: np.ndarray, arousal: np.ndarray, color: Rgb) -> None:
        """Oldest-first series; the last point is the current value, drawn as the big dot."""
        v = np.asarray(valence, dtype=float)
        a = np.asarray(arousal, dtype=float)
        keep = np.isfinite(v) & np.isfinite(a)  # a lost face leaves NaN rows; skip them
        v, a = v[keep], a[keep]
        if v.size == 0:
            self.clear_trail()
            return
        brushes, sizes = self._trail_style(tuple(color), v.size - 1)
        self.trail.setData(x=v[:-1], y=a[:-1], brush=brushes, size=sizes)
        self.current.setData(x=v[-1:], y=a[-1:], brush=pg.mkBrush(*color))

    def set_axes(self, valence: str, arousal: str) -> None:
        """The axes' names (e.g. "valence vs baseline")."""
        if self.getPlotItem().getAxis("bottom").labelText != valence:
            self._axis_label("bottom", valence)
            self._axis_label("left", arousal)

    def clear_trail(self) -> None:
        self.trail.setData(x=[], y=[])
        self.current.setData(x=[], y=[])


class ExpressionBars(_Gauge):
    """The 7 expression probabilities as bars in EXPRESSIONS order, the top class highlighted."""

    DIM_ALPHA = 120

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        item = self.getPlotItem()
        self._x = np.arange(len(EXPRESSIONS), dtype=float)
        item.setXRange(-0.6, len(EXPRESSIONS) - 0.4, padding=0.0)
        item.setYRange(0.0, 1.0, padding=0.0)
        item.disableAutoRange()
        for y in (0.25, 0.5, 0.75, 1.0):
            item.addLine(y=y, pen=_GRID_PEN)
        item.getAxis("bottom").setTicks([[(i, SHORT_EXPRESSIONS.get(n, n)) for i, n in enumerate(EXPRESSIONS)]])
        item.getAxis("left").setTicks([[(v, f"{v:g}") for v in (0.0, 0.25, 0.5, 0.75, 1.0)]])
        self.bars = pg.BarGraphItem(x=self._x, height=np.zeros_like(self._x), width=0.7, pen=None)
        item.addItem(self.bars)
        self._top: int | None = None
        self.setMinimumSize(330, 110)  # 7 tick names side by side need about 47 px each

    @property
    def heights(self) -> np.ndarray:
        return np.asarray(self.bars.opts["height"], dtype=float)

    @property
    def highlighted(self) -> int | None:
        """Index (EXPRESSIONS order) of the highlighted bar, None when the bars are empty."""
        return self._top

    def set_probabilities(self, p: np.ndarray | None, color: Rgb) -> None:
        if p is None:
            self._top = None
            self.bars.setOpts(height=np.zeros_like(self._x), brushes=None, brush=pg.mkBrush(*color, self.DIM_ALPHA))
            return
        p = np.asarray(p, dtype=float).reshape(-1)
        if p.size != len(EXPRESSIONS):
            raise ValueError(f"expected {len(EXPRESSIONS)} probabilities, got {p.size}")
        self._top = int(np.argmax(p))
        dim, full = QBrush(QColor(*color, self.DIM_ALPHA)), QBrush(QColor(*color))
        brushes = [full if i == self._top else dim for i in range(p.size)]
        self.bars.setOpts(height=np.clip(p, 0.0, 1.0), brushes=brushes)
