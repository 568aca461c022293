"""Head pose and gaze in degrees from the Face Landmarker's 478 points (pure numpy).

Head pose: a weighted similarity (Umeyama) fit of MediaPipe's canonical face geometry (the
vertices and Procrustes weights of its geometry pipeline metadata, models/face-landmarker/
canonical_face.npy) onto the mesh, treating the mesh's (x, y, z) as an orthographic 3D shape
(weak perspective: MediaPipe's z is in the same pixel scale as x). The image frame (x right,
y down, z away from the camera) is turned into the canonical one (x right, y up, z towards the
camera) by negating y and z. From the fitted rotation R (canonical -> camera):

* yaw   = atan2(f_x, f_z) with f = R's forward (z) axis: positive when the face turns towards
  the image's right;
* pitch = atan2(f_y, hypot(f_x, f_z)): positive when the face looks up;
* roll  = the angle of the face's up axis from the zero-roll up direction around f, positive
  clockwise as the viewer sees the image.

Gaze: both iris centres (points 468 and 473) relative to the centre of their eye's contour, in
the head's own frame (the fit undone, in cm), give the eye-in-head angles through an eyeball
radius of 1.2 cm (asin of offset / radius); the mean of the two eyes is turned back into the
camera frame by R, so gaze_yaw / gaze_pitch are the gaze direction relative to the camera with
the head pose's signs. Uncalibrated: no per-person zero, no eyelid model (see docs/actions.md
for what that means for accuracy).
"""

from __future__ import annotations

import math

import numpy as np

from affect_live.faces.landmarks import IMAGE_LEFT_EYE, IMAGE_RIGHT_EYE

EYEBALL_RADIUS_CM = 1.2  # human eyeball radius (~12 mm)
IRIS_CENTRES = (468, 473)  # image-left eye's iris (the subject's right), image-right eye's
_TO_CANONICAL = np.array([1.0, -1.0, -1.0], dtype=np.float64)


def _weighted_similarity(src: np.ndarray, dst: np.ndarray, weights: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Scale s, rotation R and translation t minimising sum w |s R src + t - dst|^2."""
    w = weights / weights.sum()
    src_mean, dst_mean = w @ src, w @ dst
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = (dst_c * w[:, None]).T @ src_c
    u, sigma, vt = np.linalg.svd(cov)
    d = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a proper rotation, no mirror
        d[2] = -1.0
    rotation = u @ np.diag(d) @ vt
    variance = float(w @ (src_c**2).sum(axis=1))
    scale = float((sigma * d).sum()) / max(variance, 1e-12)
    return scale, rotation, dst_mean - scale * rotation @ src_mean


def _angles(forward: np.ndarray) -> tuple[float, float]:
    """Yaw and pitch in degrees of a direction in the camera frame (x right, y up, z out)."""
    yaw = math.degrees(math.atan2(forward[0], forward[2]))
    pitch = math.degrees(math.atan2(forward[1], math.hypot(forward[0], forward[2])))
    return yaw, pitch


class PoseEstimator:
    """Head pose and gaze of one face from its 478 points; stateless after construction."""

    def __init__(self, canonical: np.ndarray) -> None:
        weighted = canonical[:, 3] > 0
        self._ids = np.flatnonzero(weighted)
        self._model = canonical[self._ids, :3].astype(np.float64)
        self._weights = canonical[self._ids, 3].astype(np.float64)
        self._eyes = (np.array(IMAGE_LEFT_EYE), np.array(IMAGE_RIGHT_EYE))

    def estimate(self, points: np.ndarray) -> tuple[float, float, float, float, float]:
        """(yaw, pitch, roll, gaze_yaw, gaze_pitch) in degrees for 478 x 3 image points."""
        camera = points.astype(np.float64) * _TO_CANONICAL
        scale, rotation, shift = _weighted_similarity(self._model, camera[self._ids], self._weights)
        forward, up = rotation[:, 2], rotation[:, 1]
        yaw, pitch = _angles(forward)
        # Zero-roll axes for this forward direction: right = world up x forward, up = f x right.
        right0 = np.cross([0.0, 1.0, 0.0], forward)
        right0 /= max(np.linalg.norm(right0), 1e-12)
        up0 = np.cross(forward, right0)
        roll = math.degrees(math.atan2(float(up @ right0), float(up @ up0)))
        # Eyes in the head's frame (cm): undo the fit.
        head = (camera - shift) @ rotation / scale
        offsets = [head[iris, :2] - head[eye, :2].mean(axis=0) for iris, eye in zip(IRIS_CENTRES, self._eyes)]
        sin_yaw, sin_pitch = np.clip(np.mean(offsets, axis=0) / EYEBALL_RADIUS_CM, -1.0, 1.0)
        cos_pitch = math.sqrt(max(1.0 - sin_pitch**2, 0.0))
        cos_yaw = math.sqrt(max(1.0 - sin_yaw**2, 0.0))
        in_head = np.array([sin_yaw * cos_pitch, sin_pitch, cos_yaw * cos_pitch])
        gaze_yaw, gaze_pitch = _angles(rotation @ in_head)
        return yaw, pitch, roll, gaze_yaw, gaze_pitch
