"""The per-frame face model: a batch of face crops -> (features, 7 probabilities in Aff-Wild2 order)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from affect_live.model.classes import aff_wild2_order
from affect_live.model.compiled import CompiledModel
from affect_live.model.manifest import InputSpec, Manifest


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


class FrameModel:
    """Runs the per-frame model once per face, all faces of a frame in one batch."""

    def __init__(self, keras_model: Any, manifest: Manifest, device: str | None = None, threads: int = 1) -> None:
        self.spec = manifest.input
        self.feature_dim = manifest.feature_dim
        self._order = aff_wild2_order(manifest.classes)
        # One thread live (the capture thread needs the other core); batch jobs use more.
        self._compiled = CompiledModel(keras_model, device, num_threads=threads)
        self.device = self._compiled.device

    def infer(self, crops: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(features (N, F), probabilities (N, 7) in Aff-Wild2 order) for N crops."""
        if not crops:
            return np.zeros((0, self.feature_dim), np.float32), np.zeros((0, 7), np.float32)
        out = self._compiled(preprocess(crops, self.spec))
        return out["features"], out["probabilities"][:, self._order]
