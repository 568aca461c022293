"""Tracking faces from their landmarks: on the real-face fixture clips the detector runs on
fewer than half the frames, while recall and face ids are what detecting every frame gives."""

from __future__ import annotations

import numpy as np
import pytest

from affect_live.faces.align import CropStyle
from affect_live.faces.capture import FaceStage
from affect_live.faces.landmark_tracking import SEARCH_EVERY, SEARCH_FRAMES, BoxCalibration, LandmarkTracking
from affect_live.types import Frame
from tests.faces.test_faces import iou, read_clip

CLIP_NAMES = ("astronaut_motion.mp4", "two_faces.mp4", "three_faces.mp4")


def run_stage(name: str, truth: dict, actions: bool) -> dict:
    """Per ground-truth face: frames found (IoU > 0.3) and the ids it got; detector runs."""
    found: dict[str, int] = {}
    ids: dict[str, set[int]] = {}
    boxes: list[tuple[int, str, tuple]] = []
    with FaceStage(CropStyle("box", (112, 112)), actions=actions) as stage:
        for index, image in enumerate(read_clip(name)):
            faces, _, timings = stage.process(Frame(index, index / 30, image))
            for face in faces:
                assert (face.landmarks is not None) == actions
            for expected in truth["frames"][index]["faces"]:
                match = [f for f in faces if iou(expected["box"], f.detection.box) > 0.3]
                if match:
                    found[expected["name"]] = found.get(expected["name"], 0) + 1
                    ids.setdefault(expected["name"], set()).add(match[0].face_id)
                    boxes.append((index, expected["name"], match[0].detection.box))
            assert set(timings) >= ({"detect", "mesh", "align", "detector_runs"} if actions else {"detect", "align"})
        runs = stage.tracking.detector_runs if actions else len(truth["frames"])
    return {"found": found, "ids": {k: len(v) for k, v in ids.items()}, "runs": runs, "boxes": boxes}


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_detector_runs_on_fewer_than_half_the_frames_with_recall_and_ids_unchanged(name, clips_truth):
    truth = clips_truth[name]
    every_frame = run_stage(name, truth, actions=False)
    tracked = run_stage(name, truth, actions=True)
    assert tracked["runs"] < 0.5 * len(truth["frames"]), tracked["runs"]
    assert tracked["found"] == every_frame["found"]  # recall: the same frames of every face
    assert tracked["ids"] == every_frame["ids"]  # as many ids per person (no extra splits)
    # Between detector runs, boxes keep the detector's framing (the box crops depend on it).
    by_key = {(i, n): b for i, n, b in every_frame["boxes"]}
    overlaps = [iou(by_key[(i, n)], b) for i, n, b in tracked["boxes"] if (i, n) in by_key]
    assert np.median(overlaps) > 0.8 and min(overlaps) > 0.5


def test_detector_schedule():
    tracking = LandmarkTracking(detect_every=3)
    assert tracking.detector_due(following=0, lost=False, searching=False)  # nothing followed
    tracking.count(True)
    due = []
    for _ in range(6):
        due.append(tracking.detector_due(following=1, lost=False, searching=False))
        tracking.count(due[-1])
    assert due == [False, False, True, False, False, True]
    # A track that ended starts a search: every SEARCH_EVERY frames for SEARCH_FRAMES frames.
    tracking.count(True, tracks_ended=1)
    due = []
    for _ in range(SEARCH_FRAMES + 3):
        due.append(tracking.detector_due(following=1, lost=False, searching=False))
        tracking.count(due[-1])
    searched = due[:SEARCH_FRAMES - 1]
    assert sum(searched) >= (SEARCH_FRAMES - 1) // SEARCH_EVERY and not all(due[SEARCH_FRAMES:])
    assert tracking.detector_due(following=1, lost=True, searching=False)
    assert tracking.detector_due(following=1, lost=False, searching=True)
    with pytest.raises(ValueError):
        LandmarkTracking(detect_every=0)


def test_box_calibration_round_trip():
    landmarks, detected = (100.0, 120.0, 80.0, 100.0), (95.0, 110.0, 90.0, 90.0)
    calibration = BoxCalibration.between(detected, landmarks)
    assert calibration.apply(landmarks) == pytest.approx(detected)
    # The detected box sat 0.15 of the landmarks' long side (100) above their centre, 0.9 of it
    # wide; for landmarks twice the size elsewhere (centre 210, 200; long side 200) it follows.
    x, y, w, h = calibration.apply((130.0, 100.0, 160.0, 200.0))
    assert (w, h) == pytest.approx((180.0, 180.0)) and (x + w / 2, y + h / 2) == pytest.approx((210.0, 200.0 - 0.15 * 200))


def test_mesh_pool_gives_each_face_its_own_mesh_in_order():
    from affect_live.faces.detector import FaceDetector
    from affect_live.faces.face_mesh import FaceMesh478, MeshPool
    from affect_live.faces.landmarks import roi_matrix

    image = read_clip("three_faces.mp4")[0]
    with FaceDetector() as detector:
        rois = [roi_matrix(d, 256) for d in detector.detect(image)]
    assert len(rois) == 3
    alone = FaceMesh478()
    expected = [alone.run(image, roi) for roi in rois]
    alone.close()
    for workers in (0, 1, 2):
        pool = MeshPool(workers)
        got = pool.run_many(image, rois)
        pool.close()
        assert all(np.array_equal(a, b) and s == t for (a, s), (b, t) in zip(got, expected)), workers
