"""The shipped MediaPipe Face Landmarker files (models/face-landmarker/, made by
tools/fetch_face_landmarker.py): where they are, their pinned sha256, and the checks every
file passes before an interpreter or numpy reads it."""

from __future__ import annotations

import io

import numpy as np

from affect_live.model.flatbuffer import check_graph, sha256_hex
from affect_live.model.manifest import BundleError
from affect_live.resources import MODELS_DIR

LANDMARKER_DIR = MODELS_DIR / "face-landmarker"
MESH_MODEL = "face_landmarks_detector.tflite"
BLENDSHAPE_MODEL = "face_blendshapes.tflite"
CANONICAL_FACE = "canonical_face.npy"
SHIPPED_SHA256 = {
    MESH_MODEL: "c7d54204ce0448474c7f3fa9af494787c0965cbdd6f20fc72867e43046bd43d5",
    BLENDSHAPE_MODEL: "4f36dded049db18d76048567439b2a7f58f1daabc00d78bfe8f3ad396a2d2082",
    CANONICAL_FACE: "efb1b8ee27a5893c10847619147b7caa98430006fd16883510080063b921e6ee",
}
# Main-graph input and output shapes, in order (the models carry no signature).
_GRAPH_SHAPES = {
    MESH_MODEL: ([(-1, 256, 256, 3)], [(-1, 1, 1, 1434), (-1, 1, 1, 1), (-1, 1)]),  # -1: any batch
    BLENDSHAPE_MODEL: ([(1, 146, 2)], [(52,)]),
}


class LandmarkerError(BundleError):
    """A shipped Face Landmarker file is missing or not the one pinned (one line)."""


def _read(name: str) -> bytes:
    path = LANDMARKER_DIR / name
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LandmarkerError(f"cannot read {path}: {exc.strerror} (run tools/fetch_face_landmarker.py)") from None


def checked_model(name: str) -> bytes:
    """A .tflite file's bytes after the sha256, builtin-operator and shape checks: the bytes
    that were checked are the ones the interpreter gets (the file is read once)."""
    inputs, outputs = _GRAPH_SHAPES[name]
    data = _read(name)
    check_graph(data, SHIPPED_SHA256[name], inputs, outputs, str(LANDMARKER_DIR / name))
    return data


def canonical_face() -> np.ndarray:
    """468 x 4 float32: canonical face vertex x, y, z (cm) and Procrustes weight."""
    data = _read(CANONICAL_FACE)
    where = LANDMARKER_DIR / CANONICAL_FACE
    if sha256_hex(data) != SHIPPED_SHA256[CANONICAL_FACE]:
        raise LandmarkerError(f"{where}: sha256 does not match the pinned value (the file was changed)")
    try:
        geometry = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError:
        raise LandmarkerError(f"{where}: not a numpy array file") from None
    if geometry.shape != (468, 4) or geometry.dtype != np.float32 or not np.isfinite(geometry).all():
        raise LandmarkerError(f"{where}: expected finite float32 (468, 4), got {geometry.dtype} {geometry.shape}")
    return geometry


def check_landmarker_files() -> None:
    """Every shipped file checked, so that a bad one is one error line before any analysis."""
    checked_model(MESH_MODEL)
    checked_model(BLENDSHAPE_MODEL)
    canonical_face()
