"""Face identities: the tracker alone on synthetic detections, and on a real clip."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from tests.conftest import CLIPS

from affect_live.faces.tracker import FaceTracker
from affect_live.types import Detection


def det(x: float, y: float, size: float = 100.0, score: float = 0.9) -> Detection:
    return Detection((float(x), float(y), float(size), float(size)), score, np.zeros((6, 2), np.float32))


def ids_of(result) -> list[int]:
    return [face_id for face_id, _, _ in result[0]]


# ---------------------------------------------------------------- synthetic


def test_two_faces_moving_keep_their_ids():
    tracker = FaceTracker()
    first = tracker.update([det(50, 100), det(400, 100)])
    assert [new for _, _, new in first[0]] == [True, True]
    assert ids_of(first) == [1, 2] and first[1] == []
    for step in range(1, 40):
        # Left face drifts right, right face drifts down; they never cross.
        a, b = det(50 + 4 * step, 100), det(400, 100 + 3 * step)
        order = [b, a] if step % 2 else [a, b]  # results follow the order given
        faces, ended = tracker.update(order)
        assert [d for _, d, _ in faces] == order
        got = {d.box[0]: face_id for face_id, d, _ in faces}
        assert got[a.box[0]] == 1 and got[b.box[0]] == 2
        assert not any(new for _, _, new in faces) and ended == []


def test_fast_motion_matched_by_centre_distance():
    tracker = FaceTracker(min_iou=0.3)
    tracker.update([det(100, 100)])
    # 70 px jump of a 100 px face: IoU 0.18, under min_iou, but well within one face size.
    faces, _ = tracker.update([det(170, 100)])
    assert faces[0][0] == 1 and faces[0][2] is False
    # A face appearing two face sizes away is someone else.
    faces, _ = tracker.update([det(240, 100), det(600, 400)])
    assert [(i, new) for i, _, new in faces] == [(1, False), (2, True)]
    # Very different size at the same place: not the same face either.
    faces, _ = tracker.update([det(310, 100, size=300)])
    assert faces[0][2] is True


def test_short_miss_keeps_id():
    tracker = FaceTracker(max_missed=10)
    tracker.update([det(100, 100), det(400, 100)])
    for _ in range(10):  # the right face is hidden for exactly max_missed frames
        faces, ended = tracker.update([det(100, 100)])
        assert ids_of((faces, ended)) == [1] and ended == []
    faces, ended = tracker.update([det(100, 100), det(405, 102)])
    assert ids_of((faces, ended)) == [1, 2] and not faces[1][2] and ended == []


@pytest.mark.parametrize("max_missed", [0, 3, 10])
def test_long_miss_ends_track_and_gives_new_id(max_missed):
    tracker = FaceTracker(max_missed=max_missed)
    tracker.update([det(100, 100)])
    ended_at = []
    for frame in range(1, max_missed + 5):
        _, ended = tracker.update([])
        if ended:
            ended_at.append((frame, ended))
    # Missed frames 1..max_missed are tolerated; the next one ends the track, once.
    assert ended_at == [(max_missed + 1, [1])]
    assert tracker.live_ids == ()
    faces, _ = tracker.update([det(100, 100)])
    assert faces[0][0] == 2 and faces[0][2] is True


def test_ids_are_never_reused():
    tracker = FaceTracker(max_missed=1)
    seen: list[int] = []
    rng = np.random.default_rng(0)
    for frame in range(60):
        count = int(rng.integers(0, 4))
        # Faces at random places, so tracks start and end all the time.
        faces, _ = tracker.update([det(*rng.uniform(0, 2000, size=2)) for _ in range(count)])
        seen.extend(face_id for face_id, _, new in faces if new)
    assert seen == sorted(set(seen)) and seen[0] == 1
    live = tracker.live_ids
    assert sorted(tracker.reset()) == sorted(live)
    faces, _ = tracker.update([det(0, 0)])
    assert faces[0][0] == max(seen) + 1


def test_empty_and_invalid():
    tracker = FaceTracker()
    assert tracker.update([]) == ([], [])
    with pytest.raises(ValueError):
        FaceTracker(max_missed=-1)
    with pytest.raises(ValueError):
        FaceTracker(min_iou=0.0)


# ---------------------------------------------------------------- on a real clip


def test_ids_on_two_faces_clip(clips_truth):
    from affect_live.faces.detector import FaceDetector

    truth = clips_truth["two_faces.mp4"]
    max_missed = 10
    tracker = FaceTracker(max_missed=max_missed)
    capture = cv2.VideoCapture(str(CLIPS / "two_faces.mp4"))
    ids_by_frame: list[dict[str, tuple[int, bool]]] = []
    ended_by_frame: list[list[int]] = []
    with FaceDetector() as detector:
        for expected in truth["frames"]:
            ok, image = capture.read()
            assert ok
            faces, ended = tracker.update(detector.detect(image))
            named = {}
            for face in expected["faces"]:
                x, y, w, h = face["box"]
                for face_id, detection, new in faces:
                    dx, dy, dw, dh = detection.box
                    if abs((dx + dw / 2) - (x + w / 2)) < w / 3 and abs((dy + dh / 2) - (y + h / 2)) < h / 3:
                        named[face["name"]] = (face_id, new)
            ids_by_frame.append(named)
            ended_by_frame.append(ended)
    capture.release()

    def ids(name: str, first: int, last: int) -> set[int]:
        return {ids_by_frame[i][name][0] for i in range(first, last + 1) if name in ids_by_frame[i]}

    (hopper_a, hopper_b), = [truth["visible"]["hopper"]]
    (astro_a, astro_b), = [truth["visible"]["astronaut"]]
    # Hopper: one id all along, through her short loss.
    assert hopper_b[0] - hopper_a[1] - 1 <= max_missed
    hopper_ids = ids("hopper", hopper_a[0], hopper_b[1])
    assert len(hopper_ids) == 1
    # Astronaut: one id before the long gap, a different, new one after it.
    gap = astro_b[0] - astro_a[1] - 1
    assert gap > max_missed
    before, after = ids("astronaut", *astro_a), ids("astronaut", *astro_b)
    assert len(before) == 1 and len(after) == 1 and before != after
    assert ids_by_frame[astro_b[0]]["astronaut"][1] is True  # its window starts fresh
    assert after.isdisjoint(hopper_ids)
    # The old astronaut id is reported ended exactly once: max_missed frames into the gap.
    ended_frames = [i for i, e in enumerate(ended_by_frame) if before <= set(e)]
    assert ended_frames == [astro_a[1] + max_missed + 1]
    assert all(not e for i, e in enumerate(ended_by_frame) if i not in ended_frames)
    # No face ever got a new id except on its first visible frames.
    new_frames = sorted(i for i, named in enumerate(ids_by_frame) for _, new in named.values() if new)
    assert new_frames == [0, 0, astro_b[0]]
