"""The app's synchrony row: two faces of the plots' history compared by study/synchrony.py on a
worker thread; on the dyad clip whose right face follows the left one by 6 frames it says so."""

from __future__ import annotations

import os
from dataclasses import replace

# cv2 points Qt at its own plugins; the PyQt5 ones must be used.
os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)

import numpy as np
import pandas as pd
import pytest

from affect_live.session.history import FaceHistory
from affect_live.types import EXPRESSIONS, Detection, FacePrediction, FrameResult
from affect_live.ui.synchrony_view import GRID_HZ, SynchronyView, describe, history_synchrony

pytestmark = pytest.mark.gui

CLIP = "dyad_delayed.mp4"


@pytest.fixture(scope="module")
def faces(analysed_clip, clips_truth) -> tuple[FaceHistory, int, int]:
    """The plots' history as the app fills it, from the clip's analysed rows; (history, left
    face id, right face id)."""
    rows = pd.read_csv(analysed_clip(CLIP))
    history = FaceHistory(span_s=60.0)
    for (frame, time_s), group in rows.groupby(["frame", "time_s"], sort=True):
        predictions = tuple(
            FacePrediction(int(r.face_id), Detection((r.x, r.y, r.w, r.h), r.det_score, np.zeros((6, 2))), r.valence, r.arousal,
                           np.array([getattr(r, e) for e in EXPRESSIONS]))
            for r in group.itertuples()
        )
        history.add(FrameResult(int(frame), float(time_s), (480, 270), predictions, 0.0))
    centre = rows["x"] + rows["w"] / 2
    left = int(rows.loc[centre < 240, "face_id"].mode()[0])
    right = int(rows.loc[centre >= 240, "face_id"].mode()[0])
    assert left != right
    return history, left, right


def test_history_synchrony_finds_the_follower(faces, clips_truth):
    history, left, right = faces
    live = history_synchrony(history, left, right)
    assert live is not None and live.period_s == pytest.approx(1 / GRID_HZ)  # the clip's 15 fps, put on 10 Hz
    valence = live.results["valence"]
    lag_s = clips_truth[CLIP]["lag_frames"] / clips_truth[CLIP]["fps"]
    assert abs(valence.lag_frames * live.period_s - lag_s) <= live.period_s and valence.p < 0.05
    assert f"face {right} follows by" in describe(live)
    swapped = history_synchrony(history, right, left).results["valence"]
    # the other way round the lag changes sign (windows are laid on face_a's series, so its size
    # may differ by a step)
    assert swapped.lag_frames < 0 and abs(swapped.lag_frames + valence.lag_frames) <= 1


def test_view_computes_off_the_gui_thread_and_shows_it(qtbot, faces):
    history, left, right = faces
    view = SynchronyView(lambda: (history, left))
    qtbot.addWidget(view)
    try:
        view.refresh()
        # the worker may be done already, but only the GUI thread's collector shows a result
        assert view.result_label.text() == "computing..." and view.partner() == right
        qtbot.waitUntil(lambda: "follows" in view.result_label.text(), timeout=60_000)
        assert f"face {right} follows by" in view.result_label.text()
        assert view.title.text() == f"Synchrony of #{left} with"
        assert view.minimumSizeHint().width() <= 280  # never wider than the video's minimum: it cannot widen the window
    finally:
        view.close_worker()


def test_view_needs_two_faces(qtbot, faces):
    history, left, _ = faces
    view = SynchronyView(lambda: (history, None))
    qtbot.addWidget(view)
    try:
        view.refresh()
        assert view.result_label.text() == "needs two faces" and view.partner() is None
    finally:
        view.close_worker()


def test_describe_names_a_follower_only_beyond_chance(faces):
    history, left, right = faces
    live = history_synchrony(history, left, right)
    valence = live.results["valence"]
    chance = replace(live, results={"valence": replace(valence, p=0.5)})
    assert describe(chance) == f"valence r {valence.r:+.2f} at {valence.lag_frames * live.period_s:+.2f} s: within chance (p\u00a00.50)"
    untested = replace(live, results={"valence": replace(valence, p=float("nan"), surrogates=0)})
    assert f"face {right} follows by" in describe(untested) and "p after 20" in describe(untested)
