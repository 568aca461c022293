"""Face crops for the per-frame model: square box crops and 5-point aligned crops.

Each crop is a single ``cv2.warpAffine`` from the frame to the crop (sub-pixel exact, with a
black border where the crop leaves the frame, like face-api's zero padding). OpenCV's
warpAffine has no area filter (it silently turns INTER_AREA into INTER_LINEAR), so when the
crop shrinks the face 2x or more, the region it needs is first block-averaged with
``cv2.resize(INTER_AREA)`` by the integer part of the reduction and the warp matrix adjusted;
this avoids the aliasing that plain bilinear sampling gives at the 2-5x reductions of a large
face down to 112 px.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import cv2
import numpy as np

from affect_live.types import Box, Detection

if TYPE_CHECKING:
    from affect_live.faces.landmarks import FiveLandmarks

# ArcFace / InsightFace 112 x 112 template: left eye, right eye, nose tip, left and right mouth
# corners ("left" = image left), in pixel coordinates of the 112 x 112 crop.
ALIGNED_TEMPLATE_112 = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)

@dataclass(frozen=True)
class CropStyle:
    """The crop a model was trained on (stated by its weight bundle).

    ``size`` is (width, height). ``margin`` widens the crop: for "box", the square side is
    max(w, h) * (1 + margin); for "aligned", the template is shrunk towards the crop centre by
    1 / (1 + margin).
    """

    kind: Literal["box", "aligned"]
    size: tuple[int, int]
    margin: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in ("box", "aligned"):
            raise ValueError(f"kind must be 'box' or 'aligned', got {self.kind!r}")
        if len(self.size) != 2 or min(self.size) < 1 or any(int(v) != v for v in self.size):
            raise ValueError(f"size must be two positive integers (width, height): {self.size}")
        if not (math.isfinite(self.margin) and self.margin >= 0.0):
            raise ValueError(f"margin must be >= 0, got {self.margin}")


def warp_to_crop(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``cv2.warpAffine(image, matrix, size)`` with a black border, area-filtered when the
    matrix shrinks the image 2x or more (see the module docstring).

    The area filter is an exact k x k block average (k = floor(1 / scale)) of the region the
    crop needs, on a block grid aligned with the crop's top-left corner; the warp then does
    the remaining reduction of less than 2x, where bilinear sampling does not alias. Compared
    with cv2.resize(INTER_AREA) on integer boxes this is as close as a plain warp at small
    reductions and 2x closer at 4-5x, for ~0.1-0.2 ms.
    """
    width, height = int(size[0]), int(size[1])
    matrix = np.asarray(matrix, dtype=np.float64)
    scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    k = int(math.floor(1.0 / scale + 1e-6)) if scale > 0 else 1
    if k >= 2:
        inverse = cv2.invertAffineTransform(matrix)
        right, bottom = width - 0.5, height - 0.5
        corners = np.array([[-0.5, -0.5], [right, -0.5], [-0.5, bottom], [right, bottom]])
        src = corners @ inverse[:, :2].T + inverse[:, 2] + 0.5  # continuous frame coordinates
        reach = 2 * k + 2  # slack for the bilinear kernel on the reduced image
        img_h, img_w = image.shape[:2]
        # Block origins on the grid of the crop's corner, moved inside the frame by whole blocks.
        x0 = round(src[0, 0]) - k * math.ceil((src[0, 0] - src[:, 0].min() + reach) / k)
        y0 = round(src[0, 1]) - k * math.ceil((src[0, 1] - src[:, 1].min() + reach) / k)
        x0 += k * math.ceil(-x0 / k) if x0 < 0 else 0
        y0 += k * math.ceil(-y0 / k) if y0 < 0 else 0
        nx = (min(math.ceil(src[:, 0].max() + reach), img_w) - x0) // k
        ny = (min(math.ceil(src[:, 1].max() + reach), img_h) - y0) // k
        if nx < 1 or ny < 1:  # the crop lies (almost) entirely outside the frame
            return np.zeros((height, width, 3), dtype=np.uint8)
        small = cv2.resize(
            image[y0 : y0 + ny * k, x0 : x0 + nx * k], (nx, ny), interpolation=cv2.INTER_AREA
        )
        # Reduced pixel j is the mean of frame pixels x0 + k*j .. x0 + k*j + k - 1.
        offset = matrix[:, 2] + matrix[:, :2] @ np.array([x0 + (k - 1) / 2, y0 + (k - 1) / 2])
        image, matrix = small, np.hstack([matrix[:, :2] * k, offset[:, None]])
    return cv2.warpAffine(
        image,
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )


def box_matrix(box: Box, size: tuple[int, int], margin: float = 0.0) -> np.ndarray:
    """2 x 3 matrix from frame pixels to the square box crop (pixel centres at integers)."""
    x, y, w, h = box
    side = max(w, h) * (1.0 + margin)
    if side <= 0:
        raise ValueError(f"empty box {box}")
    x0, y0 = x + w / 2 - side / 2, y + h / 2 - side / 2
    sx, sy = size[0] / side, size[1] / side
    # Continuous coordinates map x -> (x - x0) * s; pixel centres sit at +0.5 in both images.
    return np.array(
        [[sx, 0.0, (0.5 - x0) * sx - 0.5], [0.0, sy, (0.5 - y0) * sy - 0.5]], dtype=np.float64
    )


def crop_box(
    image: np.ndarray, box: Box, size: tuple[int, int], margin: float = 0.0
) -> np.ndarray:
    """Square crop centred on ``box``, side max(w, h) * (1 + margin), resized to ``size``
    (width, height); parts outside the frame are black."""
    return warp_to_crop(image, box_matrix(box, size, margin), size)


def aligned_template(size: tuple[int, int], margin: float = 0.0) -> np.ndarray:
    """The 5-point template for a crop of ``size``: the 112 template scaled uniformly by
    min(w, h) / 112, centred, and shrunk towards the centre by 1 / (1 + margin)."""
    width, height = size
    scale = min(width, height) / 112.0
    points = ALIGNED_TEMPLATE_112 * scale + [(width - 112.0 * scale) / 2, (height - 112.0 * scale) / 2]
    centre = np.array([width / 2, height / 2])
    return centre + (points - centre) / (1.0 + margin)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) mapping src to dst.

    Umeyama's closed form, as InsightFace's alignment uses (via scikit-image): it weighs all 5
    points and is deterministic, whereas cv2.estimateAffinePartial2D only offers RANSAC/LMEDS
    sampling, which may drop a point out of five.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, sigma, vt = np.linalg.svd(cov)
    d = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # no reflections
        d[1, 1] = -1.0
    rotation = u @ d @ vt
    var_src = (src_c**2).sum() / len(src)
    if var_src <= 0:
        raise ValueError("landmarks are degenerate (all points equal)")
    scale = float(np.trace(np.diag(sigma) @ d)) / var_src
    linear = scale * rotation
    return np.hstack([linear, (dst_mean - linear @ src_mean)[:, None]])


def aligned_matrix(
    five_points: np.ndarray, size: tuple[int, int], margin: float = 0.0
) -> np.ndarray:
    """2 x 3 matrix from frame pixels to the aligned crop for these 5 landmarks."""
    points = np.asarray(five_points, dtype=np.float64).reshape(5, 2)
    return similarity_transform(points, aligned_template(size, margin))


def crop_aligned(
    image: np.ndarray, five_points: np.ndarray, size: tuple[int, int], margin: float = 0.0
) -> np.ndarray:
    """Crop of ``size`` (width, height) with the 5 landmarks moved onto the template."""
    return warp_to_crop(image, aligned_matrix(five_points, size, margin), size)


def make_crop(
    image: np.ndarray,
    detection: Detection,
    style: CropStyle,
    landmarks: FiveLandmarks | None = None,
) -> np.ndarray:
    """The crop ``style`` asks for; "aligned" needs a ``FiveLandmarks`` to locate the points."""
    if style.kind == "box":
        return crop_box(image, detection.box, style.size, style.margin)
    if landmarks is None:
        raise ValueError("aligned crops need a FiveLandmarks instance")
    points = landmarks.locate(image, detection)
    return crop_aligned(image, points, style.size, style.margin)
