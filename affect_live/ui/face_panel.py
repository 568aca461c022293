"""The selected face's plots: valence/arousal over time, the valence-arousal plane with a
fading trail, the expression probabilities, and beside them the head pose over time (on the
same time axis), the pose and gaze readout and the blendshape bars. Also what `Screenshot`
saves.

A face with a baseline (Calibrate) has its valence and arousal plotted as the difference from
that baseline's mean, labelled "vs baseline" (Δ in the legends); the expression bars stay raw
probabilities and say so."""

from __future__ import annotations

import numpy as np
from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QWidget

from affect_live.baselines import Baseline
from affect_live.measures import CORRECTED_MEASURES
from affect_live.model.bundle.manifest import HEAD_WORDS, head_words
from affect_live.gaps import GAP_S
from affect_live.session.history import FaceHistory
from affect_live.ui.actions_view import ActionsView
from affect_live.ui.colors import face_color_tuple
from affect_live.ui.plots import ExpressionBars, PoseTimeline, VaPlane, VaTimeline

TRAIL_S = 3.0  # seconds of the valence-arousal trail
# The timelines move by about a pixel per 0.1 s (30 s across ~300 px): redrawing them more often
# costs the GUI thread a few ms per frame and shows nothing new. Everything else follows every result.
TIMELINE_STEP_S = 0.1
_VALENCE, _AROUSAL = CORRECTED_MEASURES.index("valence"), CORRECTED_MEASURES.index("arousal")


def vs_baseline(baseline: Baseline, valence: np.ndarray, arousal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Valence and arousal as the baseline corrects them (their deltas, baselines.Baseline.correct)."""
    values = np.full((len(valence), len(CORRECTED_MEASURES)), np.nan)
    values[:, _VALENCE], values[:, _AROUSAL] = valence, arousal
    deltas = baseline.correct(values)
    return deltas[:, _VALENCE], deltas[:, _AROUSAL]


class FacePanel(QWidget):
    face_picked = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.face_box = QComboBox()
        self.face_box.setMinimumContentsLength(8)
        self.face_box.activated.connect(lambda pos: self.face_picked.emit(int(self.face_box.itemData(pos))))
        self.presence = QLabel()  # a selected face out of view says so
        self.presence.setStyleSheet("color:#ffb74d;")
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color:#c9a227;")
        self.timeline = VaTimeline()
        self.pose = PoseTimeline(span_s=self.timeline.span_s)
        self.pose.set_note(f"head pose, degrees, last {self.pose.span_s:.0f} s")
        self.plane = VaPlane()
        self.bars = ExpressionBars()
        self.actions = ActionsView()
        header = QHBoxLayout()
        header.addWidget(QLabel("Face"))
        header.addWidget(self.face_box)
        header.addWidget(self.presence, 1)
        # Two columns: affect on the left, facial actions on the right; the two timelines share
        # a row, so their time axes line up.
        layout = QGridLayout(self)
        layout.addLayout(header, 0, 0, 1, 2)
        layout.addWidget(self.note, 1, 0, 1, 2)
        layout.addWidget(self.timeline, 2, 0)
        layout.addWidget(self.pose, 2, 1)
        layout.addWidget(self.plane, 3, 0)
        layout.addWidget(self.bars, 4, 0)
        layout.addWidget(self.actions, 3, 1, 2, 1)
        for row, stretch in ((2, 2), (3, 3), (4, 2)):
            layout.setRowStretch(row, stretch)
        self._ids: list[int] = []
        self._timelines_at: tuple[int, Baseline | None, float] | None = None  # (face, its baseline, newest time) the timelines show
        self._words = head_words((), ())
        self.vs_baseline = False  # the valence/arousal plots show differences from a baseline

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt's name)
        # Word-wrapped notes make the layout height-for-width, and a scroll area would then give
        # the panel its preferred height (about twice a laptop screen): its minimum is enough.
        return self.layout().minimumHeightForWidth(width)

    def set_priors(self, prior_heads: tuple[str, ...], per_frame_heads: tuple[str, ...] = ()) -> None:
        """Say plainly what each output is: learned, learned per frame or prior."""
        notes = ([f"Prior (never fitted to labels): {', '.join(prior_heads)}"] if prior_heads else []) + (
            [f"Learned per frame (window mean): {', '.join(per_frame_heads)}"] if per_frame_heads else []
        )
        self.note.setText(" · ".join(notes))
        self.note.setVisible(bool(notes))
        self.note.setToolTip(HEAD_WORDS)

        self._words = head_words(prior_heads, per_frame_heads)
        self._label_plots()
        for plot in (self.timeline, self.plane, self.bars):  # "prior", "learned" explained on hover
            plot.setToolTip(HEAD_WORDS)

    def _label_plots(self) -> None:
        """Each plot says what it shows: raw or vs the face's baseline, and learned or prior."""
        words = self._words
        va = words["valence"] if words["valence"] == words["arousal"] else f"valence {words['valence']}, arousal {words['arousal']}"
        # Short enough that the head's word (prior, learned) still shows at 1024 px.
        if self.vs_baseline:
            self.timeline.set_note(f"valence, arousal vs baseline ({va})")
            self.plane.set_note(f"valence-arousal vs baseline, {TRAIL_S:.0f} s ({va})")
            self.bars.set_note(f"probabilities, raw ({words['expression']})")
        else:
            self.timeline.set_note(f"valence and arousal, last 30 s ({va})")
            self.plane.set_note(f"valence-arousal plane, last {TRAIL_S:.0f} s ({va})")
            self.bars.set_note(f"expression probabilities ({words['expression']})")
        self.timeline.set_names(("Δ valence", "Δ arousal") if self.vs_baseline else ("valence", "arousal"))
        vs = " vs baseline" if self.vs_baseline else ""
        self.plane.set_axes(f"valence{vs}", f"arousal{vs}")

    def update_faces(self, face_ids: list[int], selected: int | None) -> None:
        if sorted(face_ids) != self._ids:
            self._ids = sorted(face_ids)
            self.face_box.clear()
            for face_id in self._ids:
                self.face_box.addItem(f"#{face_id}", face_id)
        position = self.face_box.findData(selected) if selected is not None else -1
        if position != self.face_box.currentIndex():
            self.face_box.setCurrentIndex(position)

    def show_face(self, history: FaceHistory, face_id: int | None, baseline: Baseline | None = None) -> bool:
        """Plot one face's recent values, valence and arousal vs its `baseline` when it has one;
        False (plots cleared) when it has none."""
        series = history.series(face_id) if face_id is not None else None
        away = history.absent_for(face_id) if face_id is not None else None
        out_of_view = series is not None and away is not None and away > GAP_S
        self.presence.setText(f"out of view for {away:.0f} s: its last values" if out_of_view else "")
        if self.vs_baseline != (series is not None and baseline is not None):
            self.vs_baseline = not self.vs_baseline
            self._label_plots()
        if series is None:
            self._timelines_at = None
            self.timeline.clear_series()
            self.pose.clear_series()
            self.plane.clear_trail()
            self.bars.set_probabilities(None, (128, 128, 128))
            self.actions.show_actions(None, (128, 128, 128), have_face=False)
            return False
        valence, arousal = (series.valence, series.arousal) if baseline is None else vs_baseline(baseline, series.valence, series.arousal)
        color = face_color_tuple(series.face_id)
        shown = self._timelines_at
        newest = float(series.t[-1])
        if shown is None or shown[0] != series.face_id or shown[1] is not baseline or not 0.0 <= newest - shown[2] < TIMELINE_STEP_S:
            self._timelines_at = (series.face_id, baseline, newest)
            self.timeline.set_series(series.t, valence, arousal)
            self.pose.set_pose(series.t, series.pose)
        recent = series.t >= series.t[-1] - TRAIL_S
        self.plane.set_trail(valence[recent], arousal[recent], color)
        self.bars.set_probabilities(series.probabilities, color)
        self.actions.show_actions(series.actions, color)
        return True
