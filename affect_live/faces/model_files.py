"""The shipped face model files: where they are, their pinned sha256, and the checks every file
passes before an interpreter or numpy reads it.

* models/mediapipe-face/ (tools/fetch_mediapipe_face_models.py, from the mediapipe 0.10.21
  wheel): the BlazeFace detectors and the 468-point face mesh;
* models/face-landmarker/ (tools/fetch_face_landmarker.py): the Face Landmarker's 478-point
  mesh, blendshapes and canonical face.

The run time reads only these files; it never looks inside an installed mediapipe."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from affect_live.backends.flatbuffer import check_graph, sha256_hex
from affect_live.errors import BundleError
from affect_live.resources import MODELS_DIR

MEDIAPIPE_FACE_DIR = MODELS_DIR / "mediapipe-face"
DETECTOR_SHORT = "face_detection_short_range.tflite"
DETECTOR_FULL = "face_detection_full_range_sparse.tflite"
FACE_MESH_468 = "face_landmark.tflite"
_MEDIAPIPE_FACE_FILES = (DETECTOR_SHORT, DETECTOR_FULL, FACE_MESH_468)
LANDMARKER_DIR = MODELS_DIR / "face-landmarker"
MESH_MODEL = "face_landmarks_detector.tflite"
BLENDSHAPE_MODEL = "face_blendshapes.tflite"
CANONICAL_FACE = "canonical_face.npy"
SHIPPED_SHA256 = {
    DETECTOR_SHORT: "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
    DETECTOR_FULL: "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
    FACE_MESH_468: "1055cb9d4a9ca8b8c688902a3a5194311138ba256bcc94e336d8373a5f30c814",
    MESH_MODEL: "c7d54204ce0448474c7f3fa9af494787c0965cbdd6f20fc72867e43046bd43d5",
    BLENDSHAPE_MODEL: "4f36dded049db18d76048567439b2a7f58f1daabc00d78bfe8f3ad396a2d2082",
    CANONICAL_FACE: "efb1b8ee27a5893c10847619147b7caa98430006fd16883510080063b921e6ee",
}
# Main-graph input and output shapes, in order (the models carry no signature).
_GRAPH_SHAPES = {
    DETECTOR_SHORT: ([(1, 128, 128, 3)], [(1, 896, 16), (1, 896, 1)]),
    DETECTOR_FULL: ([(1, 192, 192, 3)], [(1, 2304, 16), (1, 2304, 1)]),
    FACE_MESH_468: ([(1, 192, 192, 3)], [(1, 1, 1, 1404), (1, 1, 1, 1)]),
    MESH_MODEL: ([(-1, 256, 256, 3)], [(-1, 1, 1, 1434), (-1, 1, 1, 1), (-1, 1)]),  # -1: any batch
    BLENDSHAPE_MODEL: ([(1, 146, 2)], [(52,)]),
}


def landmarker_sha256() -> dict[str, str]:
    """The pinned sha256 of the Face Landmarker's files alone (what action caches are keyed by)."""
    return {name: SHIPPED_SHA256[name] for name in (MESH_MODEL, BLENDSHAPE_MODEL, CANONICAL_FACE)}


class FaceModelFileError(BundleError):
    """A shipped face model file is missing or not the one pinned (one line)."""


def model_path(name: str) -> Path:
    """Where a shipped face model file lives (module attributes read at call time, so a test can
    point a folder elsewhere)."""
    return (MEDIAPIPE_FACE_DIR if name in _MEDIAPIPE_FACE_FILES else LANDMARKER_DIR) / name


def _read(name: str) -> bytes:
    path = model_path(name)
    try:
        return path.read_bytes()
    except OSError as exc:
        tool = "fetch_mediapipe_face_models.py" if name in _MEDIAPIPE_FACE_FILES else "fetch_face_landmarker.py"
        raise FaceModelFileError(f"cannot read {path}: {exc.strerror} (run tools/{tool})") from None


def checked_model(name: str) -> bytes:
    """A .tflite file's bytes after the sha256, builtin-operator and shape checks: the bytes
    that were checked are the ones the interpreter gets (the file is read once)."""
    inputs, outputs = _GRAPH_SHAPES[name]
    data = _read(name)
    check_graph(data, SHIPPED_SHA256[name], inputs, outputs, str(model_path(name)))
    return data


def canonical_face() -> np.ndarray:
    """468 x 4 float32: canonical face vertex x, y, z (cm) and Procrustes weight."""
    data = _read(CANONICAL_FACE)
    where = LANDMARKER_DIR / CANONICAL_FACE
    if sha256_hex(data) != SHIPPED_SHA256[CANONICAL_FACE]:
        raise FaceModelFileError(f"{where}: sha256 does not match the pinned value (the file was changed)")
    try:
        geometry = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError:
        raise FaceModelFileError(f"{where}: not a numpy array file") from None
    if geometry.shape != (468, 4) or geometry.dtype != np.float32 or not np.isfinite(geometry).all():
        raise FaceModelFileError(f"{where}: expected finite float32 (468, 4), got {geometry.dtype} {geometry.shape}")
    return geometry


def check_model_files(actions: bool = True) -> None:
    """Every shipped file the run uses checked (the detectors and 468-point mesh always, the
    Face Landmarker's with ``actions``), so that a bad one is one error line before any analysis."""
    for name in (*_MEDIAPIPE_FACE_FILES, *((MESH_MODEL, BLENDSHAPE_MODEL) if actions else ())):
        checked_model(name)
    if actions:
        canonical_face()
