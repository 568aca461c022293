"""Geometry and compositing of the fixture clips' frames (used by tools/make_fixtures.py).

Every frame is an affine warp of the public-domain photos; a face's ground-truth box is the
photo's known face box mapped through the same warp. Portraits (for people who walk out of the
frame) are the photo inside a feathered ellipse around head and shoulders, over a plain
background.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# Face boxes [x, y, w, h] in the source photos, in source pixels. Measured once with
# mediapipe 0.10.21 ``mediapipe.solutions.face_detection`` (model_selection=0, short range,
# min_detection_confidence=0.5) on the full photos (run this script with --measure to redo it):
#   astronaut (512x512):    score 0.92, box [177.6, 82.9, 95.3, 95.3]
#   grace_hopper (512x600): score 0.94, box [171.4, 146.9, 194.5, 194.5]
# (model_selection=1 gives [173.7, 67.8, 103.9, 103.9] and [165.9, 128.4, 200.4, 200.4].)
# The box width matches the ear-to-ear (tragion keypoint) distance within ~5%.
SOURCE_BOXES = {
    "astronaut": (177.6, 82.9, 95.3, 95.3),
    "hopper": (171.4, 146.9, 194.5, 194.5),
}


def face_center(name: str) -> tuple[float, float]:
    x, y, w, h = SOURCE_BOXES[name]
    return x + w / 2.0, y + h / 2.0


def face_affine(name: str, face_w: float, cx: float, cy: float, mirror: bool = False) -> np.ndarray:
    """2x3 matrix that maps photo ``name`` so its face box is ``face_w`` px wide, centred at (cx, cy)."""
    sx, sy = face_center(name)
    s = face_w / SOURCE_BOXES[name][2]
    fx = -s if mirror else s
    return np.array([[fx, 0.0, cx - fx * sx], [0.0, s, cy - s * sy]], dtype=np.float64)


def map_box(name: str, m: np.ndarray) -> list[float]:
    """Source face box of ``name`` through affine ``m``, as an axis-aligned [x, y, w, h]."""
    x, y, w, h = SOURCE_BOXES[name]
    pts = np.array([[x, y, 1], [x + w, y, 1], [x, y + h, 1], [x + w, y + h, 1]], dtype=np.float64)
    out = pts @ m.T
    x0, y0 = out.min(axis=0)
    x1, y1 = out.max(axis=0)
    return [round(float(x0), 1), round(float(y0), 1), round(float(x1 - x0), 1), round(float(y1 - y0), 1)]


def warp(src: np.ndarray, m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Warp ``src`` by ``m`` into a (width, height) frame, pre-smoothing when shrinking."""
    scale = math.hypot(m[0, 0], m[1, 0])
    if scale < 0.9:  # anti-alias: blur the source to roughly the output sampling rate
        sigma = 0.5 * (1.0 / scale - 1.0) + 0.3
        src = cv2.GaussianBlur(src, (0, 0), sigma)
    return cv2.warpAffine(src, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def wave(i: int, period: float, phase: float = 0.0) -> float:
    return math.sin(2.0 * math.pi * i / period + phase)


def inside_fraction(box: list[float], size: tuple[int, int]) -> float:
    """Share of ``box``'s area inside a (width, height) frame."""
    x, y, w, h = box
    iw = max(0.0, min(x + w, size[0]) - max(x, 0.0))
    ih = max(0.0, min(y + h, size[1]) - max(y, 0.0))
    return iw * ih / max(w * h, 1e-9)


def background(size: tuple[int, int]) -> np.ndarray:
    """A plain, faceless backdrop: a soft vertical gradient, warm grey to blue-grey (BGR)."""
    w, h = size
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    top, bottom = np.array([150, 160, 170], np.float32), np.array([120, 105, 95], np.float32)
    return np.repeat((top * (1 - t) + bottom * t).astype(np.uint8), w, axis=1)


def portrait(frame: np.ndarray, src: np.ndarray, name: str, m: np.ndarray) -> None:
    """Paste photo ``name`` warped by ``m`` into ``frame``, inside a feathered ellipse around
    its head and shoulders (so nothing else of the photo comes along)."""
    size = (frame.shape[1], frame.shape[0])
    x, y, w, h = SOURCE_BOXES[name]
    mask = np.zeros(src.shape[:2], np.float32)
    centre = (int(round(x + w / 2)), int(round(y + h * 0.62)))
    cv2.ellipse(mask, centre, (int(w * 0.95), int(h * 1.2)), 0, 0, 360, 1.0, thickness=-1)
    mask = cv2.GaussianBlur(mask, (0, 0), w * 0.08)
    warped = cv2.warpAffine(src, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    if math.hypot(m[0, 0], m[1, 0]) < 0.9:
        warped = warp(src, m, size)
    alpha = cv2.warpAffine(mask, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)[..., None]
    frame[:] = (frame * (1 - alpha) + warped * alpha).astype(np.uint8)


def place(faces: list[dict], partial: list[dict], name: str, box: list[float], size: tuple[int, int]) -> None:
    """File a face under ``faces`` (>= 90% inside), ``partial`` (partly inside) or nowhere."""
    share = inside_fraction(box, size)
    if share >= 0.9:
        faces.append({"name": name, "box": box})
    elif share > 0.0:
        partial.append({"name": name, "box": box})


def ramp(i: int, start: int, end: int) -> float:
    """0 before ``start``, rising linearly to 1 at ``end``, 1 after."""
    return min(1.0, max(0.0, (i - start) / (end - start)))


def grow(box: list[float], frac: float) -> tuple[int, int, int, int]:
    """Integer rectangle (x0, y0, x1, y1) of ``box`` grown by ``frac`` of its size on each side."""
    x, y, w, h = box
    return (int(math.floor(x - frac * w)), int(math.floor(y - frac * h)),
            int(math.ceil(x + w + frac * w)), int(math.ceil(y + h + frac * h)))
