"""Build ``tests/fixtures/conversion/crops.npy``: real 112x112 RGB face crops.

The crops feed both the original face-api FaceExpressionNet (``reference.mjs``)
and our Keras rebuild, so that the conversion can be checked on real faces.

Sources (all shipped inside installed Python packages; see the fixture README for licences):

* ``skimage.data.astronaut()`` -- Eileen Collins, NASA photo.
* matplotlib ``sample_data/grace_hopper.jpg`` -- US Navy photo.
* ``skimage.data.lfw_subset()`` -- 25x25 grey faces (first 100 images are faces)
  from Labeled Faces in the Wild, shipped in scikit-image as sample data.

Face boxes were located once with OpenCV's frontal-face Haar cascade and are
hard-coded here so the output is deterministic.  Each base box is square
(like face-api's detector boxes) and is varied: tight, loose, shifted,
horizontally flipped.

Run from the repository root::

    python tools/faceapi_reference/make_crops.py
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import cv2
import numpy as np
from matplotlib import cbook
from PIL import Image
from skimage import data

LOG = logging.getLogger("make_crops")
SIZE = 112
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "conversion"

# (x, y, side) square face boxes from OpenCV's haarcascade_frontalface_default.
ASTRONAUT_BOX = (177, 66, 95)
GRACE_HOPPER_BOX = (155, 105, 222)
# (name, scale of the side, dx, dy as fractions of the side, horizontal flip)
VARIANTS = (
    ("tight", 1.0, 0.0, 0.0, False),
    ("loose", 1.3, 0.0, 0.0, False),
    ("closer", 0.85, 0.0, 0.05, False),
    ("shifted", 1.1, 0.08, -0.06, False),
    ("tight_flip", 1.0, 0.0, 0.0, True),
    ("loose_flip", 1.3, 0.0, 0.0, True),
)
LFW_INDICES = (0, 11, 23, 37, 52, 78)


def square_crop(image: np.ndarray, box: tuple[int, int, int], scale: float,
                dx: float, dy: float) -> np.ndarray:
    """Cut a square around ``box`` (scaled/shifted), zero-padding outside the image."""
    x, y, side = box
    cx = x + side / 2 + dx * side
    cy = y + side / 2 + dy * side
    new_side = int(round(side * scale))
    x0 = int(round(cx - new_side / 2))
    y0 = int(round(cy - new_side / 2))
    pad = new_side
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    crop = padded[y0 + pad:y0 + pad + new_side, x0 + pad:x0 + pad + new_side]
    return resize(crop)


def resize(crop: np.ndarray) -> np.ndarray:
    """Resize a square uint8 crop to 112x112 (area filter down, linear up)."""
    interp = cv2.INTER_AREA if crop.shape[0] > SIZE else cv2.INTER_LINEAR
    return cv2.resize(crop, (SIZE, SIZE), interpolation=interp)


def make_crops() -> tuple[np.ndarray, list[str]]:
    """Return ``(crops, names)``: uint8 (N, 112, 112, 3) RGB crops and labels."""
    astronaut = data.astronaut()
    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = np.asarray(Image.open(fh).convert("RGB"))
    crops: list[np.ndarray] = []
    names: list[str] = []
    for source, image, box in (("astronaut", astronaut, ASTRONAUT_BOX),
                               ("grace_hopper", hopper, GRACE_HOPPER_BOX)):
        for variant, scale, dx, dy, flip in VARIANTS:
            crop = square_crop(image, box, scale, dx, dy)
            if flip:
                crop = crop[:, ::-1]
            crops.append(crop)
            names.append(f"{source}_{variant}")
    lfw = data.lfw_subset()
    for index in LFW_INDICES:
        face = lfw[index]
        if face.dtype != np.uint8:  # scikit-image 0.26 returns float64 in [0, 1]
            face = np.clip(np.round(face * 255.0), 0, 255).astype(np.uint8)
        grey = face
        rgb = np.repeat(resize(grey)[:, :, None], 3, axis=2)
        crops.append(rgb)
        names.append(f"lfw_subset_{index}")
    return np.ascontiguousarray(np.stack(crops).astype(np.uint8)), names


def main() -> None:
    """Write ``crops.npy`` and ``crops.json`` (crop names, in order)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    crops, names = make_crops()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    np.save(args.out_dir / "crops.npy", crops)
    (args.out_dir / "crops.json").write_text(json.dumps(names, indent=1) + "\n")
    LOG.info("wrote %s crops %s to %s", len(names), crops.shape, args.out_dir)


if __name__ == "__main__":
    main()
