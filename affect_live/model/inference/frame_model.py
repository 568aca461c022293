"""The per-frame face model: a batch of face crops -> (features, 7 probabilities in Aff-Wild2 order,
and the model's own valence/arousal when it gives them)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from affect_live.model.bundle.brought_in import brought_in_runner
from affect_live.model.bundle.classes import aff_wild2_order
from affect_live.model.bundle.input_batch import preprocess
from affect_live.model.bundle.manifest import FRAME_ONNX
from affect_live.model.bundle.output_map import OutputMap

if TYPE_CHECKING:
    from affect_live.model.bundle.reading import LoadedBundle
Runner = Callable[[np.ndarray], dict[str, np.ndarray]]


def frame_runner(bundle: LoadedBundle, device: str = "CPU", threads: int = 1) -> Runner:
    """LiteRT on the CPU (no TensorFlow); the Keras model in `tf.function` on a GPU. A
    brought-in model (manifest `outputs`) runs as given, on the CPU: LiteRT for TFLite,
    onnxruntime for ONNX, its raw outputs mapped by `OutputMap`."""
    from affect_live.backends.keras_runner import KerasRunner
    from affect_live.backends.litert import LiteRtRunner

    manifest = bundle.manifest
    if not manifest.outputs:
        return KerasRunner(bundle.frame_model) if device == "GPU" else LiteRtRunner(bundle.frame_tflite, threads)
    mapping = OutputMap.from_dict(manifest.outputs)
    raw = brought_in_runner(manifest, bundle.frame_onnx or bundle.frame_tflite, threads)
    return lambda batch: mapping.apply(raw(batch))


def runtime_label(bundle: LoadedBundle, device: str) -> str:
    """What ran the per-frame model, for the status bar and the sidecar."""
    from affect_live.backends.device import device_label

    if bundle.manifest.frame_file == FRAME_ONNX:
        return "CPU (onnxruntime)"
    return device_label("CPU" if bundle.manifest.outputs else device)


class FrameModel:
    """Runs the per-frame model once per face, all faces of a frame in one batch."""

    def __init__(self, bundle: LoadedBundle, device: str = "CPU", threads: int = 1) -> None:
        manifest = bundle.manifest
        self.spec = manifest.input
        self.feature_dim = manifest.feature_dim
        self.device = "CPU" if manifest.outputs else device  # brought-in models run as given
        self.label = runtime_label(bundle, device)
        self.has_va = bool(manifest.outputs) and OutputMap.from_dict(manifest.outputs).has_va
        self._order = aff_wild2_order(manifest.classes)
        # One thread live (the capture thread needs the other core); batch jobs use more.
        self._run = frame_runner(bundle, device, threads)

    def infer(self, crops: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(features (N, F), probabilities (N, 7) in Aff-Wild2 order) for N crops."""
        features, probabilities, _ = self.infer_all(crops)
        return features, probabilities

    def infer_all(self, crops: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """`infer` plus the per-frame (valence, arousal) (N, 2) of a model that gives them
        (NaN for an axis it does not give), else None."""
        if not crops:
            empty_va = np.zeros((0, 2), np.float32) if self.has_va else None
            return np.zeros((0, self.feature_dim), np.float32), np.zeros((0, 7), np.float32), empty_va
        out = self._run(preprocess(crops, self.spec))
        return out["features"], out["probabilities"][:, self._order], out.get("valence_arousal")
