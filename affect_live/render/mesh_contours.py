"""The face mesh's contours (face oval, eyes, brows, lips, irises) drawn with OpenCV onto an
image, so the app (and any other display) can show where the Face Landmarker put its points.

Qt-free on purpose: it draws on a numpy image, the same way whatever shows the frame does.

The index chains below are MediaPipe's FACEMESH_FACE_OVAL, FACEMESH_LEFT_EYE,
FACEMESH_RIGHT_EYE, FACEMESH_LEFT_EYEBROW, FACEMESH_RIGHT_EYEBROW, FACEMESH_LIPS,
FACEMESH_LEFT_IRIS and FACEMESH_RIGHT_IRIS (mediapipe 0.10.21,
mediapipe/python/solutions/face_mesh_connections.py, Copyright 2021 The MediaPipe Authors,
Apache-2.0), read there as edge sets and written here as ordered point chains (each edge of a
set is one step of a chain), so one cv2.polylines call draws them all. mediapipe itself is
never imported. tests/test_actions_ui.py checks the chains against the same sets in today's
mediapipe (FaceLandmarksConnections.FACE_LANDMARKS_* in tasks/python/vision/face_landmarker.py).
"""

from __future__ import annotations

import cv2
import numpy as np

# "Left"/"right" are the subject's, as in MediaPipe. Closed contours repeat their first index.
MESH_CONTOURS: dict[str, tuple[tuple[int, ...], ...]] = {
    "face_oval": (
        (10, 109, 67, 103, 54, 21, 162, 127, 234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152,
         377, 400, 378, 379, 365, 397, 288, 361, 323, 454, 356, 389, 251, 284, 332, 297, 338, 10),
    ),
    "left_eye": ((249, 263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249),),
    "right_eye": ((7, 33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7),),
    "left_eyebrow": ((276, 283, 282, 295, 285), (300, 293, 334, 296, 336)),
    "right_eyebrow": ((46, 53, 52, 65, 55), (70, 63, 105, 66, 107)),
    "lips": (
        (0, 37, 39, 40, 185, 61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0),
        (13, 82, 81, 80, 191, 78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13),
    ),
    "left_iris": ((474, 477, 476, 475, 474),),
    "right_iris": ((469, 470, 471, 472, 469),),
}  # fmt: skip

_CHAINS: tuple[np.ndarray, ...] = tuple(np.array(c, dtype=np.intp) for chains in MESH_CONTOURS.values() for c in chains)


def contour_points(landmarks_xy: np.ndarray, scale: float = 1.0, offset: tuple[float, float] = (0.0, 0.0)) -> list[np.ndarray]:
    """The contours as int32 point arrays in the target image's pixels (x * scale + offset).

    A mesh without the 10 iris points (468 rows) gives the contours it has; fewer rows, or
    non-finite points, give none (nothing is better than a wrong shape).
    """
    xy = np.asarray(landmarks_xy, dtype=np.float64)
    if xy.ndim != 2 or xy.shape[1] < 2 or xy.shape[0] < 468 or not np.all(np.isfinite(xy[:, :2])):
        return []
    pixels = np.rint(xy[:, :2] * scale + np.asarray(offset, dtype=np.float64)).astype(np.int32)
    return [pixels[chain] for chain in _CHAINS if chain.max() < len(pixels)]


def draw_mesh_contours(
    image: np.ndarray,
    landmarks_xy: np.ndarray,
    color: tuple[int, ...],
    scale: float = 1.0,
    offset: tuple[float, float] = (0.0, 0.0),
    thickness: int = 1,
) -> bool:
    """Draw the contours in place on `image` (uint8, any channel count; `color` in its channel
    order, e.g. B, G, R[, A]); `landmarks_xy` are frame pixels, mapped by scale and offset to
    the image's. False when there was nothing to draw."""
    polylines = contour_points(landmarks_xy, scale, offset)
    if not polylines:
        return False
    cv2.polylines(image, polylines, False, color, thickness, cv2.LINE_AA)
    return True
