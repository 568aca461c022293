"""The per-frame model's input batch: face crops normalised as the manifest's input spec says,
and the shipped real face crops as such a batch (what every check on load and conversion runs)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from affect_live.model.bundle.manifest import InputSpec, Manifest


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
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2)) if spec.layout == "nchw" else out


def check_inputs(manifest: Manifest) -> np.ndarray:
    """The shipped real face crops as the per-frame model's input batch."""
    from affect_live.resources import face_crops

    spec = manifest.input
    crops = [cv2.resize(np.ascontiguousarray(crop[..., ::-1]), (spec.width, spec.height), interpolation=cv2.INTER_AREA) for crop in face_crops()]
    return preprocess(crops, spec)
