"""Where the data shipped with affect-live lives: weight bundles, clips and a few face crops.

The one place that locates shipped files. It gives the same answers from a checkout (or an
editable install of it) and from an installed wheel, with no checkout beside it:

* Weight bundles, their model cards and licences live in the repository's top-level `models/`
  folder. A wheel carries that folder as the data-only package `affect_live/shipped_models/`
  (`setup.py` maps it there), so `MODELS_DIR` is that folder when it exists next to this file,
  else `<checkout>/models`.
* Clips (`affect_live/assets/clips/`) and face crops (`affect_live/assets/face_crops.npz`) are
  package data: inside the package in every install mode.

Imports only the standard library at import time (numpy lazily, to return the face crops), so
any module may import it without a cycle.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

PACKAGE_DIR = Path(__file__).resolve().parent
ASSETS_DIR = PACKAGE_DIR / "assets"
PACKAGED_MODELS_DIR = PACKAGE_DIR / "shipped_models"  # only in an installed wheel
CHECKOUT_MODELS_DIR = PACKAGE_DIR.parent / "models"  # only in a checkout

MODELS_DIR = PACKAGED_MODELS_DIR if PACKAGED_MODELS_DIR.is_dir() else CHECKOUT_MODELS_DIR
"""Folder whose `*/*.affect` files are the bundled models."""
DEFAULT_BUNDLE = MODELS_DIR / "faceapi-expression" / "faceapi-expression.affect"
FACE_RECOGNITION_DIR = MODELS_DIR / "face-recognition"
"""face-api's FaceRecognitionNet as `face_recognition.tflite` + `descriptor.json` (re-identification)."""

CLIPS_DIR = ASSETS_DIR / "clips"
"""Real-face clips made by `tools/make_fixtures.py` (ground truth: tests/fixtures/clips/clips.json)."""
DEMO_CLIP = CLIPS_DIR / "two_faces.mp4"
"""What the app plays when there is no camera."""

LSL_MACHINE_CONFIG = ASSETS_DIR / "lsl_machine_only.cfg"
"""A liblsl configuration (for LSLAPICFG) that keeps discovery and data on this machine."""

FACE_CROPS = ASSETS_DIR / "face_crops.npz"
"""Real 112x112 RGB face crops (`crops`, uint8 (N, 112, 112, 3), and their `names`), a subset of
tests/fixtures/conversion/crops.npy made by `tools/ship_face_crops.py` from public-domain photos."""


def clip(name: str) -> Path:
    """A shipped clip by file name, e.g. `clip("three_faces.mp4")`."""
    path = CLIPS_DIR / name
    if not path.is_file():
        shipped = ", ".join(sorted(p.name for p in CLIPS_DIR.glob("*.mp4"))) or "none"
        raise FileNotFoundError(f"no shipped clip {name!r} in {CLIPS_DIR} (shipped: {shipped})")
    return path


def face_crop_names() -> list[str]:
    """Names of the shipped face crops, in the order `face_crops()` returns them."""
    return [str(name) for name in _load_crops_member("names")]


def face_crops() -> np.ndarray:
    """The shipped real face crops: uint8 (N, 112, 112, 3), RGB, C order."""
    import numpy as np

    crops = _load_crops_member("crops")
    if crops.dtype != np.uint8 or crops.ndim != 4 or crops.shape[1:] != (112, 112, 3):
        raise ValueError(f"{FACE_CROPS}: crops have dtype {crops.dtype} and shape {crops.shape}")
    return np.ascontiguousarray(crops)


def _load_crops_member(member: str) -> np.ndarray:
    import numpy as np

    try:
        with np.load(FACE_CROPS, allow_pickle=False) as archive:
            return archive[member]
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise OSError(f"cannot read {member!r} from the shipped face crops {FACE_CROPS}: {exc}") from None
