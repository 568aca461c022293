"""Five-point facial landmarks from MediaPipe's bundled face mesh model, for aligned crops.

The 468-point face_landmark.tflite model runs directly through TFLite on the rotated square
region of interest that MediaPipe's face landmark graph builds from a detection:

* centre = detection box centre, side = max(w, h) * 1.5 (RectTransformationCalculator with
  scale 1.5 and square_long);
* rotation = the angle of the line from keypoint 0 (subject's right eye) to keypoint 1
  (subject's left eye), so the eyes end up horizontal in the model input;
* input 192 x 192 RGB in [0, 1] (not [-1, 1]: with [-1, 1] the mesh drifts by up to ~9 px);
* output 468 x (x, y, z) in input pixels, projected back through the same rotation.

Fed the short-range detection that mediapipe.solutions.face_mesh uses, this reproduces
face_mesh(static_image_mode=True) to 0.01 px on the astronaut and Grace Hopper photos; from the
full-range detector's box the points differ by ~1 px on average. About 1.3-2 ms per face on
this CPU (one thread), against 4-5 ms for the face_mesh solution.

Landmarks are only needed for aligned crops, so this is separate from detection.
"""

from __future__ import annotations

import logging
import math

import cv2
import numpy as np

from affect_live.backends.litert import LiteRtRunner
from affect_live.faces.model_files import FACE_MESH_468, checked_model
from affect_live.types import Detection

logger = logging.getLogger(__name__)

ROI_SCALE = 1.5  # MediaPipe's face_detection_front_detection_to_roi scale
MESH_POINTS = 468

# Mesh indices. MediaPipe names eyes from the subject's view; "left" below is image left
# (the subject's right eye) for an upright, unmirrored face, as in the ArcFace template.
IMAGE_LEFT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
IMAGE_RIGHT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
NOSE_TIP = 4  # the mesh point nearest the camera (smallest z) on frontal faces; index 1, often
# called the tip, sits a few px lower and fits the ArcFace template's nose ~3 px worse
IMAGE_LEFT_MOUTH_CORNER = 61
IMAGE_RIGHT_MOUTH_CORNER = 291


def five_from_mesh(mesh_xy: np.ndarray) -> np.ndarray:
    """5 x 2 points from a 468 x 2(+) mesh: left eye centre, right eye centre, nose tip,
    left mouth corner, right mouth corner (left/right as seen in the image)."""
    xy = np.asarray(mesh_xy, dtype=np.float32)[:, :2]
    return np.stack(
        [
            xy[list(IMAGE_LEFT_EYE)].mean(axis=0),
            xy[list(IMAGE_RIGHT_EYE)].mean(axis=0),
            xy[NOSE_TIP],
            xy[IMAGE_LEFT_MOUTH_CORNER],
            xy[IMAGE_RIGHT_MOUTH_CORNER],
        ]
    ).astype(np.float32)


def roi_matrix(detection: Detection, input_size: int) -> np.ndarray:
    """2 x 3 affine matrix from model-input pixels to image pixels for ``detection``'s ROI."""
    right_eye, left_eye = detection.keypoints[0], detection.keypoints[1]
    return rotated_roi_matrix(detection.box, right_eye, left_eye, input_size)


def rotated_roi_matrix(box: tuple[float, float, float, float], start: np.ndarray, end: np.ndarray, input_size: int) -> np.ndarray:
    """MediaPipe's square ROI around ``box`` (side max(w, h) * 1.5), rotated so that the line
    from point ``start`` to point ``end`` becomes horizontal, as a 2 x 3 matrix from
    model-input pixels to image pixels."""
    x, y, w, h = box
    centre = np.array([x + w / 2, y + h / 2], dtype=np.float64)
    # MediaPipe: angle = target(0) - atan2(-(y1 - y0), x1 - x0), y pointing down.
    angle = -math.atan2(-(end[1] - start[1]), end[0] - start[0])
    step = max(w, h) * ROI_SCALE / input_size  # image pixels per input pixel
    cos, sin = math.cos(angle) * step, math.sin(angle) * step
    linear = np.array([[cos, -sin], [sin, cos]])
    offset = centre - linear @ np.array([input_size / 2, input_size / 2])
    return np.hstack([linear, offset[:, None]])


def roi_tensor(image_bgr: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The 1 x size x size x 3 RGB input in [0, 1] for the ROI ``matrix`` (model input ->
    image), with BORDER_REPLICATE as MediaPipe's ImageToTensorCalculator."""
    roi = cv2.warpAffine(
        image_bgr,
        matrix,
        (size, size),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )
    tensor = cv2.cvtColor(roi, cv2.COLOR_BGR2RGB).astype(np.float32)
    tensor *= 1.0 / 255.0
    return tensor[None]


def project_points(raw: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """N x 3 model-input points back to image pixels (z scaled like x and y)."""
    points = np.empty((raw.shape[0], 3), dtype=np.float32)
    points[:, :2] = raw[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    points[:, 2] = raw[:, 2] * math.hypot(matrix[0, 0], matrix[1, 0])
    return points


def sigmoid(logit: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(logit, 50.0), -50.0)))


class FiveLandmarks:
    """Runs the face mesh model on one face at a time; one instance per thread."""

    def __init__(self, num_threads: int = 1) -> None:
        self._model: LiteRtRunner | None = LiteRtRunner(checked_model(FACE_MESH_468), num_threads, FACE_MESH_468)
        self._size = int(self._model.input_shape[1])
        self._mesh_out = self._model.output_index(MESH_POINTS * 3)
        self._presence_out = self._model.output_index(1)
        # Warm XNNPACK up now rather than on the first face.
        self._model.run(np.zeros((1, self._size, self._size, 3), np.float32))

    def mesh(self, image_bgr: np.ndarray, detection: Detection) -> tuple[np.ndarray, float]:
        """468 x 3 mesh points (x, y in image pixels, z in the same scale) and the model's
        face-presence probability (low when the ROI holds no face)."""
        if self._model is None:
            raise RuntimeError("FiveLandmarks is closed")
        matrix = roi_matrix(detection, self._size)
        self._model.run(roi_tensor(image_bgr, matrix, self._size))
        raw = self._model.get(self._mesh_out).reshape(MESH_POINTS, 3)
        logit = float(self._model.get(self._presence_out).reshape(-1)[0])
        return project_points(raw, matrix), sigmoid(logit)

    def locate(self, image_bgr: np.ndarray, detection: Detection) -> np.ndarray:
        """5 x 2 float32 points in image pixels: left eye centre, right eye centre, nose tip,
        left mouth corner, right mouth corner ("left" = image left)."""
        points, presence = self.mesh(image_bgr, detection)
        if presence < 0.5:
            logger.debug("face mesh presence %.2f for box %s", presence, detection.box)
        return five_from_mesh(points)

    def close(self) -> None:
        """Free the interpreter; ``locate`` raises afterwards."""
        if self._model is not None:
            self._model.close()
        self._model = None

    def __enter__(self) -> FiveLandmarks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
