"""Face tracking from landmarks, as MediaPipe's face mesh graphs do: a face found in one frame
is looked for in the next one inside the ROI its own 478 points give (``roi_from_landmarks``),
so the detector does not have to run on every frame.

The detector runs on a frame (``LandmarkTracking.detector_due``) when

* no face is being followed (nothing to follow: the detector is the only way to find one);
* a followed face's landmark presence dropped below ``MIN_PRESENCE`` in this frame (the face
  left its ROI: occlusion, a fast turn, leaving the frame);
* a face id is inside the tracker's grace period (missed, not yet ended): it may come back;
* for ``SEARCH_FRAMES`` frames after a face's track ended (someone left: people who leave
  tend to come back soon, and re-identification wants them from their first frame), every
  ``SEARCH_EVERY`` frames;
* ``detect_every`` frames have passed since it last ran (``DETECT_EVERY`` by default), to
  find faces that entered meanwhile. A face that enters while others are followed is thus
  found up to ``detect_every - 1`` frames late (``SEARCH_EVERY - 1`` soon after a loss).

On frames without the detector a followed face's box (the CSV's x, y, w, h) is its landmarks'
bounding box mapped through the offset and scale between that bounding box and the detector's
box at the face's last detection, so that boxes keep the detector's framing (the expression
model's box crops depend on it); its detection score is the one of that last detection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from affect_live.faces.face_mesh import landmark_box
from affect_live.faces.landmarks import IMAGE_LEFT_EYE, IMAGE_RIGHT_EYE
from affect_live.faces.tracker import iou_matrix
from affect_live.types import Box, Detection

DETECT_EVERY = 10  # frames between detector runs while faces are followed (1/3 s at 30 fps)
MIN_PRESENCE = 0.5  # MediaPipe's default min_tracking_confidence / face presence threshold
SEARCH_FRAMES = 60  # after a track ended: look for returning faces more often for 2 s at 30 fps
SEARCH_EVERY = 2  # ...on every other frame
SAME_FACE_IOU = 0.5  # a detection overlapping a followed face this much is that face


@dataclass(frozen=True)
class BoxCalibration:
    """The detector's box relative to the landmarks' bounding box: centre offset and size,
    in units of the bounding box's long side."""

    dx: float = 0.0
    dy: float = 0.0
    w: float = 1.0
    h: float = 1.0

    @staticmethod
    def between(detected: Box, landmarks: Box) -> BoxCalibration:
        side = max(landmarks[2], landmarks[3], 1e-6)
        dcx, dcy = detected[0] + detected[2] / 2, detected[1] + detected[3] / 2
        lcx, lcy = landmarks[0] + landmarks[2] / 2, landmarks[1] + landmarks[3] / 2
        return BoxCalibration((dcx - lcx) / side, (dcy - lcy) / side, detected[2] / side, detected[3] / side)

    def apply(self, landmarks: Box) -> Box:
        side = max(landmarks[2], landmarks[3])
        cx = landmarks[0] + landmarks[2] / 2 + self.dx * side
        cy = landmarks[1] + landmarks[3] / 2 + self.dy * side
        w, h = self.w * side, self.h * side
        return (cx - w / 2, cy - h / 2, w, h)


@dataclass(frozen=True)
class MeshedFace:
    """One face of the current frame: its 478 points and how its box was obtained."""

    points: np.ndarray  # 478 x 3, image pixels
    presence: float
    detection: Detection  # the detector's, or one made from the landmarks
    calibration: BoxCalibration
    detected: bool  # the detector found it in this frame


def keypoints_from_mesh(points: np.ndarray) -> np.ndarray:
    """BlazeFace's 6 keypoints (subject's right eye, left eye, nose tip, mouth centre, right
    and left ear tragion) approximated by mesh points, for a landmark-tracked detection."""
    xy = points[:, :2]
    return np.stack(
        [
            xy[list(IMAGE_LEFT_EYE)].mean(axis=0),  # the subject's right eye is on the image left
            xy[list(IMAGE_RIGHT_EYE)].mean(axis=0),
            xy[4],
            (xy[13] + xy[14]) / 2,  # inner lip midpoints
            xy[234],
            xy[454],
        ]
    ).astype(np.float32)


def followed(points: np.ndarray, presence: float, calibration: BoxCalibration, score: float) -> MeshedFace:
    """A face found again from its own landmarks (no detector)."""
    box = calibration.apply(landmark_box(points))
    return MeshedFace(points, presence, Detection(box, score, keypoints_from_mesh(points)), calibration, False)


def detected(points: np.ndarray, presence: float, detection: Detection) -> MeshedFace:
    """A face the detector found in this frame (its box calibrates the landmark boxes)."""
    return MeshedFace(points, presence, detection, BoxCalibration.between(detection.box, landmark_box(points)), True)


def match_detections(faces: list[MeshedFace], detections: list[Detection]) -> tuple[dict[int, int], list[int]]:
    """Detections that are followed faces (face index -> detection index, best IoU first) and
    the indices of the others (new faces)."""
    if not faces or not detections:
        return {}, list(range(len(detections)))
    iou = iou_matrix(
        np.array([f.detection.box for f in faces], dtype=np.float64),
        np.array([d.box for d in detections], dtype=np.float64),
    )
    pairs: dict[int, int] = {}
    for flat in np.argsort(-iou, axis=None, kind="stable"):
        f, d = divmod(int(flat), len(detections))
        if iou[f, d] < SAME_FACE_IOU:
            break
        if f not in pairs and d not in pairs.values():
            pairs[f] = d
    return pairs, [d for d in range(len(detections)) if d not in pairs.values()]


def drop_duplicates(faces: list[MeshedFace]) -> list[MeshedFace]:
    """Keep one face per place: two ROIs that converged on the same face keep the first."""
    kept: list[MeshedFace] = []
    for face in faces:
        box = np.array([face.detection.box], dtype=np.float64)
        if not kept or iou_matrix(box, np.array([k.detection.box for k in kept], dtype=np.float64)).max() < SAME_FACE_IOU:
            kept.append(face)
    return kept


class LandmarkTracking:
    """When the detector has to run (see the module docstring); one thread only."""

    def __init__(self, detect_every: int = DETECT_EVERY) -> None:
        if detect_every < 1:
            raise ValueError(f"detect_every must be >= 1, got {detect_every}")
        self.detect_every = int(detect_every)
        self._since_detection = self.detect_every  # the first frame detects
        self._search_left = 0  # frames left of the search after a track ended
        self.frames = 0
        self.detector_runs = 0

    def detector_due(self, following: int, lost: bool, searching: bool) -> bool:
        """`searching`: a face id is in the tracker's grace period."""
        every = min(SEARCH_EVERY, self.detect_every) if self._search_left > 0 else self.detect_every
        return following == 0 or lost or searching or self._since_detection >= every

    def count(self, ran_detector: bool, tracks_ended: int = 0) -> None:
        """Book one frame: whether the detector ran, and how many tracks ended in it."""
        self.frames += 1
        self.detector_runs += int(ran_detector)
        self._since_detection = 1 if ran_detector else self._since_detection + 1
        self._search_left = SEARCH_FRAMES if tracks_ended else max(self._search_left - 1, 0)

    def reset(self) -> None:
        self._since_detection = self.detect_every
        self._search_left = 0
