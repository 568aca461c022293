"""The per-frame face model: a batch of face crops -> (features, 7 probabilities in Aff-Wild2 order)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np

from affect_live.model.classes import aff_wild2_order
from affect_live.model.manifest import InputSpec

if TYPE_CHECKING:
    from affect_live.model.bundle import LoadedBundle

Runner = Callable[[np.ndarray], dict[str, np.ndarray]]


def preprocess(crops: Sequence[np.ndarray], spec: InputSpec) -> np.ndarray:
    """Stack BGR uint8 crops into the model's normalised float32 input batch."""
    batch = np.stack(crops)
    if spec.color == "rgb":
        batch = batch[..., ::-1]
    elif spec.color == "gray":
        batch = np.stack([cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) for crop in crops])[..., None]
    # One pass to float32 with the mean removed, one in-place scaling pass.
    out = np.subtract(batch, np.asarray(spec.mean, dtype=np.float32), dtype=np.float32)
    out *= 1.0 / np.asarray(spec.std, dtype=np.float32)
    return out


def frame_runner(bundle: LoadedBundle, device: str = "CPU", threads: int = 1) -> Runner:
    """LiteRT on the CPU (no TensorFlow); the Keras model in `tf.function` on a GPU."""
    from affect_live.model.runners import KerasRunner, LiteRtRunner

    return KerasRunner(bundle.frame_model) if device == "GPU" else LiteRtRunner(bundle.frame_tflite, threads)


class FrameModel:
    """Runs the per-frame model once per face, all faces of a frame in one batch."""

    def __init__(self, bundle: LoadedBundle, device: str = "CPU", threads: int = 1) -> None:
        manifest = bundle.manifest
        self.spec = manifest.input
        self.feature_dim = manifest.feature_dim
        self.device = device
        self._order = aff_wild2_order(manifest.classes)
        # One thread live (the capture thread needs the other core); batch jobs use more.
        self._run = frame_runner(bundle, device, threads)

    def infer(self, crops: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(features (N, F), probabilities (N, 7) in Aff-Wild2 order) for N crops."""
        if not crops:
            return np.zeros((0, self.feature_dim), np.float32), np.zeros((0, 7), np.float32)
        out = self._run(preprocess(crops, self.spec))
        return out["features"], out["probabilities"][:, self._order]
