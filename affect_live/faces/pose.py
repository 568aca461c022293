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


class _WeightedSimilarity:
    """Scale s, rotation R and translation t minimising sum w |s R src + t - dst|^2 for a
    fixed ``src`` (the canonical face): its weighted centroid, centred shape and variance are
    computed once, so each fit is one 3 x 3 product and SVD (cheap per face and frame)."""

    def __init__(self, src: np.ndarray, weights: np.ndarray) -> None:
        self._w = weights / weights.sum()
        self._src_mean = self._w @ src
        centred = src - self._src_mean
        self._weighted = centred * self._w[:, None]  # sum over points is 0
        self._variance = max(float(self._w @ (centred**2).sum(axis=1)), 1e-12)

    def fit(self, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        # sum w (dst - dst_mean) src_c^T = dst^T (w src_c): the weighted centred source sums to 0
        cov = dst.T @ self._weighted
        u, sigma, vt = np.linalg.svd(cov)
        d = np.ones(3)
        if np.linalg.det(u @ vt) < 0:  # a proper rotation, no mirror
            d[2] = -1.0
        rotation = (u * d) @ vt
        scale = float((sigma * d).sum()) / self._variance
        return scale, rotation, self._w @ dst - scale * rotation @ self._src_mean


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
        self._fit = _WeightedSimilarity(canonical[self._ids, :3].astype(np.float64), canonical[self._ids, 3].astype(np.float64))
        # The points gaze needs: each iris centre, then its eye's contour.
        self._eyes = [np.array((iris, *eye)) for iris, eye in zip(IRIS_CENTRES, (IMAGE_LEFT_EYE, IMAGE_RIGHT_EYE))]

    def estimate(self, points: np.ndarray) -> tuple[float, float, float, float, float]:
        """(yaw, pitch, roll, gaze_yaw, gaze_pitch) in degrees for 478 x 3 image points."""
        scale, rotation, shift = self._fit.fit(points[self._ids].astype(np.float64) * _TO_CANONICAL)
        forward, up = rotation[:, 2], rotation[:, 1]
        yaw, pitch = _angles(forward)
        # Zero-roll axes for this forward direction: right = world up x forward, up = f x right.
        fx, fy, fz = (float(v) for v in forward)
        right0 = np.array([fz, 0.0, -fx]) / max(math.hypot(fz, fx), 1e-12)
        up0 = np.array([fy * right0[2], fz * right0[0] - fx * right0[2], -fy * right0[0]])
        roll = math.degrees(math.atan2(float(up @ right0), float(up @ up0)))
        # Eyes in the head's frame (cm): undo the fit (for the iris and eye points only).
        offsets = []
        for ids in self._eyes:
            head = ((points[ids].astype(np.float64) * _TO_CANONICAL - shift) @ rotation)[:, :2] / scale
            offsets.append(head[0] - head[1:].mean(axis=0))
        sin_yaw, sin_pitch = np.clip(np.mean(offsets, axis=0) / EYEBALL_RADIUS_CM, -1.0, 1.0)
        cos_pitch = math.sqrt(max(1.0 - sin_pitch**2, 0.0))
        cos_yaw = math.sqrt(max(1.0 - sin_yaw**2, 0.0))
        in_head = np.array([sin_yaw * cos_pitch, sin_pitch, cos_yaw * cos_pitch])
        gaze_yaw, gaze_pitch = _angles(rotation @ in_head)
        return yaw, pitch, roll, gaze_yaw, gaze_pitch
