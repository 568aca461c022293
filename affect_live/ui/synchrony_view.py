"""The synchrony of two faces over the last seconds, in a row under the video (docs/app.md).

The selected face and a partner (another face of the plots' history: the most recently seen
one until the user picks one) are compared by study/synchrony.py, the computation behind the
`synchrony` command, on the valence and arousal of the last SPAN_S seconds put on a regular
grid at the frame rate. It runs on a worker thread every COMPUTE_EVERY_MS (the history is
thread-safe and hands out copies), never on the GUI thread; the row shows the newest finished
result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PyQt5.QtCore import QTimer
from PyQt5.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from affect_live.session.history import FaceHistory
from affect_live.ui.status import ElidedLabel
from affect_live.study.synchrony import MIN_BLOCKS, Synchrony, series_on_grid, synchrony

log = logging.getLogger(__name__)

SPAN_S = 20.0  # the last seconds compared
WINDOW_S = 4.0
MAX_LAG_S = 2.0
SURROGATES = 49  # p down to 0.02: the app's cores also run capture and inference
COMPUTE_EVERY_MS = 2000
GRID_HZ = 10.0
MEASURES = ("valence", "arousal")  # what the plots' history keeps per face
TOOLTIP = (
    "Windowed lagged correlation of the two faces over the last {span:g} s (windows of {window:g} s, lags up to "
    "±{lag:g} s), as `affect-live synchrony` computes it for a recording (docs/study.md).\n"
    "r: the correlation at the lag where it is strongest; 'face B follows by S s': B's changes come S s after A's.\n"
    "p: how often {n} shuffled pairings of the same two series reach that r (small: beyond chance)."
)


@dataclass(frozen=True)
class LiveSynchrony:
    face_a: int
    face_b: int
    period_s: float  # seconds per grid step (the frame period, at least 1 / GRID_HZ)
    together_s: float  # seconds of the span with both faces present
    needed_s: float  # what a result needs: a window and twice the largest lag
    results: dict[str, Synchrony | None]  # empty while together_s < needed_s


def history_synchrony(history: FaceHistory, face_a: int, face_b: int, span_s: float = SPAN_S, window_s: float = WINDOW_S,
                      max_lag_s: float = MAX_LAG_S, surrogates: int = SURROGATES, seed: int = 0) -> LiveSynchrony | None:
    """Synchrony of two faces over the history's last `span_s` seconds; None when either face
    has no history or no frame rate can be told from it."""
    a, b = history.series(face_a), history.series(face_b)
    if a is None or b is None:
        return None
    steps = np.concatenate([np.diff(a.t), np.diff(b.t)])
    steps = steps[np.isfinite(steps) & (steps > 0)]
    if steps.size == 0:
        return None
    period = max(float(np.median(steps)), 1.0 / GRID_HZ)
    end = float(max(a.t[-1], b.t[-1]))
    start = max(end - span_s, float(a.t[0]), float(b.t[0]))  # from when both are in the history
    grid = end - period * np.arange(int((end - start) / period) + 1)[::-1]
    x = {m: series_on_grid(a.t, getattr(a, m), grid) for m in MEASURES}
    y = {m: series_on_grid(b.t, getattr(b, m), grid) for m in MEASURES}
    window, max_lag = max(int(round(window_s / period)), 3), int(round(max_lag_s / period))
    together = int((np.isfinite(x["valence"]) & np.isfinite(y["valence"])).sum())
    results: dict[str, Synchrony | None] = {}
    if together >= window + 2 * max_lag:
        results = {m: synchrony(x[m], y[m], window, max_lag, surrogates, seed) for m in MEASURES}
    return LiveSynchrony(face_a, face_b, period, together * period, (window + 2 * max_lag) * period, results)


class LinesLabel(QWidget):
    """Text of a few lines, each on one line of its own that ends in "..." when the column is
    narrow (the whole text on hover): a measure's line never wraps out of view or widens the
    window."""

    def __init__(self, text: str, lines: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._lines = [ElidedLabel() for _ in range(lines)]
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        for line in self._lines:
            layout.addWidget(line)
        self.setText(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 (QLabel's name)
        self._text = text
        shown = text.split("\n")
        for i, line in enumerate(self._lines):
            line.setText(shown[i] if i < len(shown) else "")
        self.setToolTip(text)


def describe(live: LiveSynchrony) -> str:
    """A line per measure: r, who follows whom by how much, and p."""
    if not live.results:
        return f"{live.together_s:.0f} s of both faces so far; synchrony needs {live.needed_s:.0f} s"
    parts = []
    for measure, result in live.results.items():
        if result is None:
            parts.append(f"{measure}: no variation")
            continue
        lag_s = result.lag_frames * live.period_s
        who = (f"face {live.face_b} follows by {lag_s:.2f} s" if result.lag_frames > 0
               else f"face {live.face_a} follows by {-lag_s:.2f} s" if result.lag_frames < 0 else "together")
        if result.p != result.p:  # no test yet
            parts.append(f"{measure} r {result.r:+.2f}: {who} (p after {MIN_BLOCKS * WINDOW_S:g}\u00a0s)")
        elif result.p < 0.05:
            parts.append(f"{measure} r {result.r:+.2f}: {who} (p\u00a0{result.p:.2f})")
        else:  # no leader to name within chance
            parts.append(f"{measure} r {result.r:+.2f} at {lag_s:+.2f} s: within chance (p\u00a0{result.p:.2f})")
    return "\n".join(parts)


class SynchronyView(QWidget):
    """"Synchrony of #A with [#B]", then a line per measure ("valence r +0.86: face B follows
    by 0.40 s (p 0.02)") over the last SPAN_S seconds; `source`
    gives the history and the selected face (called on the GUI thread)."""

    def __init__(self, source: Callable[[], tuple[FaceHistory, int | None]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._source = source
        self._picked: int | None = None  # the partner the user chose
        self._future: Future | None = None
        self._pair: tuple[int, int] | None = None  # (selected, partner) the row is about
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="synchrony")
        self.title = QLabel("Synchrony:")
        self.title.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)  # clipped, never widening the window
        self.title.setMinimumWidth(120)
        self.partner_box = QComboBox()
        self.partner_box.setSizeAdjustPolicy(QComboBox.AdjustToContents)
        self.partner_box.activated.connect(self._on_partner_picked)
        self.result_label = LinesLabel("needs two faces", len(MEASURES))
        self.setToolTip(TOOLTIP.format(span=SPAN_S, window=WINDOW_S, lag=MAX_LAG_S, n=SURROGATES))
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.partner_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 0)
        layout.setSpacing(0)
        layout.addLayout(top)
        layout.addWidget(self.result_label)
        self.timer = QTimer(self, interval=COMPUTE_EVERY_MS, timeout=self.refresh)
        self._collector = QTimer(self, interval=100, timeout=self._collect)
        self.timer.start()

    def partner(self) -> int | None:
        data = self.partner_box.currentData()
        return None if data is None else int(data)

    def refresh(self) -> None:
        """Start a computation on the worker for the selected face and its partner, unless one
        is running; its result shows when it is done."""
        history, selected = self._source()
        others = [f for f in history.face_ids() if f != selected] if selected is not None else []
        self._list_partners(others)
        partner = self.partner()
        self.title.setText(f"Synchrony of #{selected} with" if selected is not None else "Synchrony:")
        if selected is None or partner is None:
            self._pair = None
            self.result_label.setText("needs two faces")
            return
        if (selected, partner) != self._pair:  # what the row shows is of another pair
            self._pair = (selected, partner)
            self.result_label.setText("computing...")
        if self._future is not None:
            return
        self._future = self._executor.submit(history_synchrony, history, selected, partner)
        self._collector.start()

    def _list_partners(self, others: list[int]) -> None:
        """The other faces, most recently seen first; the user's pick stays while it is there."""
        current = [self.partner_box.itemData(i) for i in range(self.partner_box.count())]
        if current != others:
            self.partner_box.clear()
            for face_id in others:
                self.partner_box.addItem(f"#{face_id}", face_id)
        if self._picked in others:
            self.partner_box.setCurrentIndex(others.index(self._picked))

    def _on_partner_picked(self, index: int) -> None:
        self._picked = self.partner_box.itemData(index)
        self.refresh()

    def _collect(self) -> None:
        if self._future is None or not self._future.done():
            return
        future, self._future = self._future, None
        self._collector.stop()
        try:
            live = future.result()
        except Exception:  # noqa: BLE001 (a bug here must not end the app; the log has it)
            log.exception("synchrony of the selected faces failed")
            self.result_label.setText("could not be computed (see the log)")
            return
        if live is not None and (live.face_a, live.face_b) == self._pair:  # else a pair since left
            self.result_label.setText(describe(live))

    def close_worker(self) -> None:
        """Stop the timers and the worker (the window is closing)."""
        self.timer.stop()
        self._collector.stop()
        self._executor.shutdown(wait=True, cancel_futures=True)
