"""MediaPipe Face Landmarker's two models run directly on LiteRT: the 478-point mesh (with
iris points and a face-presence score) and the 52 blendshape scores computed from it.

What MediaPipe's Tasks graphs do, reproduced here (face_landmarks_detector_graph.cc and
face_blendshapes_graph.cc in mediapipe/tasks/cc/vision/face_landmarker/):

* mesh input: the rotated square ROI (side 1.5 x the face box's long side), 256 x 256 RGB in
  [0, 1]; outputs 478 x (x, y, z) in input pixels and a presence logit (sigmoid);
* next frame's ROI from the landmarks: the bounding box of all 478 points, rotated by the line
  from point 33 to point 263 (the eyes' outer corners), scaled 1.5, square
  (``roi_from_landmarks``);
* blendshapes: 146 of the 478 points (``BLENDSHAPE_SUBSET`` below), x and y in image pixels
  (the graph's LandmarksToTensorCalculator multiplies the normalised points by the image size),
  one face per call; output 52 scores in ``BLENDSHAPE_NAMES`` order.

Each class is used from one thread only (TFLite interpreters are not thread-safe).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from affect_live.backends.litert import LiteRtRunner
from affect_live.faces.landmarks import project_points, roi_tensor, rotated_roi_matrix, sigmoid
from affect_live.faces.model_files import BLENDSHAPE_MODEL, MESH_MODEL, checked_model
from affect_live.types import BLENDSHAPE_NAMES, Box

logger = logging.getLogger(__name__)

MESH_POINTS_478 = 478
ROTATION_START, ROTATION_END = 33, 263  # the rotation line of MediaPipe's landmark ROI
# The 146 landmark indices the blendshape model takes, in its order: kLandmarksSubsetIdxs of
# MediaPipe's face_blendshapes_graph.cc (Apache-2.0).
BLENDSHAPE_SUBSET = np.array([
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65,
    66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136,
    144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172,
    173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270, 276, 282, 283,
    284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318, 321, 323, 324,
    332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385,
    386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472,
    473, 474, 475, 476, 477,
], dtype=np.intp)  # fmt: skip


def landmark_box(points: np.ndarray) -> Box:
    """Axis-aligned bounding box (x, y, w, h) of the points' x and y."""
    low, high = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    return (float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1]))


def roi_from_landmarks(points: np.ndarray, input_size: int) -> np.ndarray:
    """The next frame's ROI for a face whose mesh is ``points`` (MediaPipe's
    FACE_RECT_NEXT_FRAME), as a matrix from model-input pixels to image pixels."""
    return rotated_roi_matrix(landmark_box(points), points[ROTATION_START], points[ROTATION_END], input_size)


class FaceMesh478:
    """The Face Landmarker's mesh model on one ROI at a time."""

    def __init__(self, num_threads: int = 1) -> None:
        self._model: LiteRtRunner | None = LiteRtRunner(checked_model(MESH_MODEL), num_threads, MESH_MODEL)
        self.input_size = int(self._model.input_shape[1])
        self._mesh_out = self._model.output_index(MESH_POINTS_478 * 3)
        # Two outputs end in 1: the presence flag is the second output of the graph (MediaPipe
        # splits the outputs as landmarks, presence); the third is not used by MediaPipe.
        self._presence_out = int(self._model.outputs[1]["index"])
        self._model.run(np.zeros((1, self.input_size, self.input_size, 3), np.float32))  # warm up

    def run(self, image_bgr: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, float]:
        """478 x 3 float32 points (x, y in image pixels, z in the same scale, smaller = nearer
        the camera) and the face-presence probability for the ROI ``matrix``."""
        if self._model is None:
            raise RuntimeError("FaceMesh478 is closed")
        self._model.run(roi_tensor(image_bgr, matrix, self.input_size))
        raw = self._model.get(self._mesh_out).reshape(MESH_POINTS_478, 3)
        logit = float(self._model.get(self._presence_out).reshape(-1)[0])
        return project_points(raw, matrix), sigmoid(logit)

    def close(self) -> None:
        if self._model is not None:
            self._model.close()
        self._model = None


class Blendshapes:
    """The Face Landmarker's blendshape model: 52 scores in [0, 1] from a 478-point mesh."""

    def __init__(self) -> None:
        self._model: LiteRtRunner | None = LiteRtRunner(checked_model(BLENDSHAPE_MODEL), 1, BLENDSHAPE_MODEL)
        self._out = self._model.output_index(len(BLENDSHAPE_NAMES))

    def run(self, points: np.ndarray) -> np.ndarray:
        """52 float32 scores for one face's 478 points (x, y in image pixels)."""
        if self._model is None:
            raise RuntimeError("Blendshapes is closed")
        subset = np.ascontiguousarray(points[BLENDSHAPE_SUBSET, :2], dtype=np.float32)
        self._model.run(subset[None])
        return np.clip(self._model.get(self._out).reshape(-1), 0.0, 1.0).astype(np.float32)

    def close(self) -> None:
        if self._model is not None:
            self._model.close()
        self._model = None


class MeshPool:
    """The meshes of several faces on several threads: the calling thread and ``workers``
    others, faces dealt round-robin (LiteRT releases the GIL during invoke, so both cores
    work; one worker by default: two cores, two lanes). Each thread has its own
    interpreter; ``run_many`` and ``close`` must be called from one thread."""

    def __init__(self, workers: int = 1) -> None:
        self._own = FaceMesh478()
        self.input_size = self._own.input_size
        self._workers = max(0, int(workers))
        self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="mesh") if self._workers else None
        self._local = threading.local()

    def _run_in_worker(self, image_bgr: np.ndarray, matrices: list[np.ndarray]) -> list[tuple[np.ndarray, float]]:
        mesh = getattr(self._local, "mesh", None)
        if mesh is None:  # created on the worker thread that will use it
            mesh = self._local.mesh = FaceMesh478()
        return [mesh.run(image_bgr, m) for m in matrices]

    def run_many(self, image_bgr: np.ndarray, matrices: list[np.ndarray]) -> list[tuple[np.ndarray, float]]:
        """``FaceMesh478.run`` for each ROI, in order."""
        if self._pool is None or len(matrices) < 2:
            return [self._own.run(image_bgr, m) for m in matrices]
        lanes = min(len(matrices), self._workers + 1)
        futures = [self._pool.submit(self._run_in_worker, image_bgr, matrices[lane::lanes]) for lane in range(1, lanes)]
        results: list[list[tuple[np.ndarray, float]]] = [[self._own.run(image_bgr, m) for m in matrices[0::lanes]]]
        results += [future.result() for future in futures]
        return [results[i % lanes][i // lanes] for i in range(len(matrices))]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)  # the workers' interpreters go with their threads
            self._pool = None
        self._own.close()
