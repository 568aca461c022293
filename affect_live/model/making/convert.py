"""Making a bundle's run-time files: Keras -> TFLite, checked against Keras on real face crops.

Needs TensorFlow, so only the commands that make bundles import it (conversion, import-weights,
train, finetune) and the one-off upgrade of format-1 bundles. The check runs both models on
real face crops shipped with the package and refuses a conversion whose probabilities (or
valence/arousal) differ by more than `MAX_CONVERSION_DIFF`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from affect_live.backends.flatbuffer import sha256_hex
from affect_live.backends.keras_runner import KerasRunner
from affect_live.backends.litert import LiteRtRunner
from affect_live.backends.native_logs import quiet_native_output
from affect_live.errors import BundleError
from affect_live.model.bundle.classes import aff_wild2_order
from affect_live.model.bundle.input_batch import check_inputs
from affect_live.model.bundle.manifest import HEAD_NAMES, MAX_CONVERSION_DIFF, N_CLASSES, RUNTIME_FILES, Manifest, join_heads_input

log = logging.getLogger(__name__)


def keras_to_tflite(model: Any) -> bytes:
    import tensorflow as tf

    with quiet_native_output():
        return tf.lite.TFLiteConverter.from_keras_model(model).convert()


# -- Keras-side validation (an eager test call at bundle-making time, never on a hot path) ------
def _call(model: Any, batch: np.ndarray | dict[str, np.ndarray], names: tuple[str, ...], what: str) -> dict[str, np.ndarray]:
    try:
        outputs = model(batch, training=False)
    except Exception as exc:
        shape = {k: v.shape[1:] for k, v in batch.items()} if isinstance(batch, dict) else batch.shape[1:]
        raise BundleError(f"{what} does not accept input of shape {shape} ({type(exc).__name__})") from None
    if not isinstance(outputs, dict) or set(outputs) != set(names):
        got = sorted(outputs) if isinstance(outputs, dict) else type(outputs).__name__
        raise BundleError(f"{what} must output {', '.join(names)}; it outputs {got}")
    return {name: np.asarray(value) for name, value in outputs.items()}


def validate_frame_model(model: Any, manifest: Manifest) -> None:
    spec = manifest.input
    batch = np.zeros((2, spec.height, spec.width, spec.channels), dtype=np.float32)
    out = _call(model, batch, ("features", "probabilities"), "the per-frame model")
    if out["features"].shape != (2, manifest.feature_dim):
        raise BundleError(f"per-frame features have shape {out['features'].shape[1:]}, manifest says ({manifest.feature_dim},)")
    if out["probabilities"].shape != (2, len(manifest.classes)):
        raise BundleError(
            f"per-frame model outputs {out['probabilities'].shape[1:]} probabilities, manifest lists {len(manifest.classes)} classes"
        )
    if not np.allclose(out["probabilities"].sum(axis=1), 1.0, atol=1e-3):
        raise BundleError("per-frame probabilities do not sum to 1 (is the last layer a softmax?)")


def heads_batch(manifest: Manifest, flat: np.ndarray, sequences: np.ndarray | None = None) -> np.ndarray | dict[str, np.ndarray]:
    """The heads model's input: the flat vector, plus the window sequence for LSTM heads."""
    if manifest.temporal != "bilstm":
        return flat
    if sequences is None:
        sequences = np.zeros((len(flat), manifest.window, N_CLASSES), dtype=np.float32)
    return {"window_input": flat, "window_sequence": sequences}


def validate_heads_model(model: Any, manifest: Manifest) -> None:
    flat = np.zeros((2, manifest.heads_input_width), dtype=np.float32)
    out = _call(model, heads_batch(manifest, flat), HEAD_NAMES, "the heads model")
    expected = {"expression": (2, 7), "valence": (2, 1), "arousal": (2, 1)}
    for name, shape in expected.items():
        if out[name].shape != shape:
            raise BundleError(f"heads output {name} has shape {out[name].shape[1:]}, expected {shape[1:]}")


# -- conversion with its check ---------------------------------------------------------------
def check_actions() -> np.ndarray:
    """The facial actions (`action_rows`) of the shipped real face crops, in `check_inputs`
    order, measured as `extract` measures Aff-Wild2's crops (the crop is the face)."""
    from affect_live.faces.crop_actions import CropActions
    from affect_live.model.bundle.action_inputs import rows_of_actions
    from affect_live.resources import face_crops

    measurer = CropActions()
    try:
        return rows_of_actions([measurer.measure(np.ascontiguousarray(crop[..., ::-1])) for crop in face_crops()])
    finally:
        measurer.close()


def _causal_windows(values: np.ndarray, length: int) -> np.ndarray:
    """(N, T, D): row k's window is rows up to k, start-padded with row 0 (as the ring buffers)."""
    rows = np.maximum(np.arange(len(values))[:, None] - np.arange(length - 1, -1, -1)[None, :], 0)
    return values[rows].astype(np.float32)


def _window_inputs(manifest: Manifest, probabilities: np.ndarray, features: np.ndarray) -> np.ndarray | dict[str, np.ndarray]:
    """Heads inputs from real per-frame outputs (and, for heads that take them, the crops' real
    facial actions): each crop's window is the crops up to it."""
    from affect_live.model.inference.window import window_stats

    sequences = _causal_windows(probabilities, manifest.window)
    extra = [window_stats(_causal_windows(check_actions(), manifest.window))] if manifest.needs_actions else []
    flat = join_heads_input(manifest.heads_input, window_stats(sequences), features, probabilities, extra)
    return heads_batch(manifest, flat, sequences)


def _max_diff(reference: dict[str, np.ndarray], converted: dict[str, np.ndarray], names: tuple[str, ...]) -> float:
    return max(float(np.max(np.abs(np.asarray(reference[n]) - np.asarray(converted[n])))) for n in names)


def runtime_files(manifest: Manifest, frame_model: Any, heads_model: Any | None) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The TFLite members of a bundle and the manifest's `runtime` section describing them."""
    import tensorflow as tf

    batch = check_inputs(manifest)
    frame_bytes = keras_to_tflite(frame_model)
    keras_frame = KerasRunner(frame_model)(batch)
    lite_frame = LiteRtRunner(frame_bytes)(batch)
    diff = _max_diff(keras_frame, lite_frame, ("probabilities",))
    members = {RUNTIME_FILES["frame_model"]: frame_bytes}
    section: dict[str, Any] = {
        "frame_model": {"file": RUNTIME_FILES["frame_model"], "sha256": sha256_hex(frame_bytes), "max_abs_diff": diff,
                        "features_max_abs_diff": _max_diff(keras_frame, lite_frame, ("features",))},
        "checked_on": f"{len(batch)} real face crops shipped with affect-live (public-domain photos)",
        "converter": f"tensorflow {tf.__version__}",
    }  # fmt: skip
    if heads_model is not None:
        probabilities = np.asarray(keras_frame["probabilities"])[:, aff_wild2_order(manifest.classes)]  # as the heads see them
        heads_bytes, section["heads"] = heads_runtime(manifest, heads_model, probabilities, np.asarray(keras_frame["features"]))
        members[RUNTIME_FILES["heads"]] = heads_bytes
        diff = max(diff, section["heads"]["max_abs_diff"])
    _check_diff(diff)
    return members, section


def heads_runtime(manifest: Manifest, heads_model: Any, probabilities: np.ndarray, features: np.ndarray) -> tuple[bytes, dict[str, Any]]:
    """heads.tflite and its `runtime` entry, checked against Keras on windows of real per-frame
    outputs (`probabilities` in Aff-Wild2 order, as the heads see them)."""
    inputs = _window_inputs(manifest, probabilities, features)
    heads_bytes = keras_to_tflite(heads_model)
    head_diff = _max_diff(KerasRunner(heads_model)(inputs), LiteRtRunner(heads_bytes)(inputs), HEAD_NAMES)
    _check_diff(head_diff)
    return heads_bytes, {"file": RUNTIME_FILES["heads"], "sha256": sha256_hex(heads_bytes), "max_abs_diff": head_diff}


def _check_diff(diff: float) -> None:
    if diff > MAX_CONVERSION_DIFF:
        raise BundleError(f"the TFLite conversion differs from the Keras model by {diff:.2e} (> {MAX_CONVERSION_DIFF:g}) on real face crops")
    log.info("converted to TFLite; max |difference| from Keras on real faces: %.2e", diff)
