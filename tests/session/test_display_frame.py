"""What the video shows is one frame: its picture, each face's box and its mesh contours, even
when the model is many frames behind (gated by the test, as a slow model on a loaded machine)."""

from __future__ import annotations

import threading

import numpy as np

from affect_live.session.live import LiveSession
from tests.helpers.fake_source import GatedSource
from tests.helpers.live_helpers import GatedEngine, wait_until

SHIFT_PX = 8.0  # per frame: the face crosses more than its own width in 20 frames
FRAMES_BEHIND = 20


def test_mesh_contours_box_and_picture_are_of_the_same_frame_while_the_model_lags(default_bundle):
    permits = threading.Semaphore(0)
    engine = GatedEngine(default_bundle, permits)
    session = LiveSession(engine)
    source = GatedSource(total=FRAMES_BEHIND + 1, shift_px=SHIFT_PX)
    try:
        session.play(source, "gated")
        source.allow(1)
        permits.release()  # frame 0 through the model; it then holds whatever comes next
        wait_until(lambda: session.results_seen == 1, "the first result")
        source.allow(FRAMES_BEHIND)
        wait_until(lambda: (shown := session.display_frame()) is not None and shown.frame_index == FRAMES_BEHIND, "the last frame")
        view = session.display_frame()
        assert engine.frames == [0] and session.results_seen == 1  # the values are frame 0's
        assert np.array_equal(view.image, source.image(FRAMES_BEHIND))
        assert len(view.predictions) == 1
        face = view.predictions[0]
        x, y, w, h = face.detection.box
        points = face.actions.landmarks
        assert points is not None
        centre_x, centre_y = points[:, 0].mean(), points[:, 1].mean()
        # The face moved FRAMES_BEHIND * SHIFT_PX = 160 px (more than its width) since frame 0:
        # contours from the model's frame would sit beside the box.
        assert abs(centre_x - (x + w / 2)) < 0.2 * w and abs(centre_y - (y + h / 2)) < 0.2 * h
        assert x > 177 + 0.8 * FRAMES_BEHIND * SHIFT_PX  # the box is on the moved face (photo: x 177)
    finally:
        for _ in range(1000):
            permits.release()
        session.close()

