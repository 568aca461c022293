"""Checks on a brought-in per-frame model (ONNX or TFLite, `import-weights`): its structure, its
input, and its mapped outputs on real inputs. Used at import (on the shipped face crops) and on
every load (on zeros). Any problem is a BundleError with one line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from affect_live.backends.flatbuffer import FLOAT32, inspect_flatbuffer, sha256_hex
from affect_live.errors import BundleError
from affect_live.model.bundle.manifest import FRAME_ONNX, N_CLASSES, InputSpec, Manifest
from affect_live.model.bundle.output_map import OutputMap


@dataclass(frozen=True)
class ModelOutputs:
    """What a brought-in model's file says about itself."""

    names: tuple[str, ...]  # in the model's order (the index `--outputs` uses)
    input_shape: tuple[int | str | None, ...]


def inspect_model(content: bytes, is_onnx: bool, where: str) -> ModelOutputs:
    """Structure only: standard operators, no external data, one rank-4 float32 input."""
    if is_onnx:
        from affect_live.backends.onnx_graph import check_onnx, parse_onnx

        info = check_onnx(parse_onnx(content, where), where)
        return ModelOutputs(info.outputs, info.input_shape)
    flat = inspect_flatbuffer(content, where)
    if len(flat.inputs) != 1:
        raise BundleError(f"{where}: expected one image input, the model has {len(flat.inputs)}")
    spec = next(iter(flat.inputs.values()))
    if len(spec.shape) != 4 or spec.dtype != FLOAT32:
        raise BundleError(f"{where}: the input must be a float32 image batch of rank 4")
    return ModelOutputs(tuple(flat.outputs), spec.shape)


def expected_input(spec: InputSpec) -> tuple[int, int, int]:
    return (spec.channels, spec.height, spec.width) if spec.layout == "nchw" else (spec.height, spec.width, spec.channels)


def check_input(shape: tuple[int | str | None, ...], spec: InputSpec, where: str) -> None:
    want = expected_input(spec)
    for got, expected in zip(shape[1:], want):
        if isinstance(got, int) and got > 0 and got != expected:
            layout = "N, C, H, W" if spec.layout == "nchw" else "N, H, W, C"
            raise BundleError(f"{where}: model input is {tuple(shape[1:])} ({layout}), but --input/--layout/colour say {want}")


def run_mapped(manifest: Manifest, content: bytes, batch: np.ndarray, where: str) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(raw outputs, mapped outputs) of the model on `batch`, its shapes and ranges checked."""
    mapping = OutputMap.from_dict(manifest.outputs)
    try:
        raw = brought_in_runner(manifest, content)(batch)
    except Exception as exc:  # the runtimes raise many types with multi-line text
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BundleError(f"{where}: the model cannot run on its input ({first[:200]})") from None
    for piece in mapping.slices.values():
        value = raw.get(piece.output)
        if value is None or value.ndim < 1 or len(value) != len(batch):
            raise BundleError(f"{where}: the model gives no output {piece.output!r} per face (--outputs does not match it)")
        width = int(np.prod(value.shape[1:]))
        if piece.stop is not None and piece.stop > width:
            raise BundleError(f"{where}: output {piece.output!r} has {width} values per face, --outputs needs {piece.stop}")
    expression = mapping.slices["expression"]
    if raw[expression.output].reshape(len(batch), -1)[:, expression.start : expression.stop].shape[1] != len(mapping.source_classes):
        raise BundleError(f"{where}: the expression slice does not have the {len(mapping.source_classes)} values --classes names")
    mapped = mapping.apply(raw)
    n = len(batch)
    if mapped["probabilities"].shape != (n, N_CLASSES) or mapped["features"].shape != (n, manifest.feature_dim):
        raise BundleError(f"{where}: outputs map to features {mapped['features'].shape[1:]}, manifest says ({manifest.feature_dim},)")
    for name, value in mapped.items():
        if name != "valence_arousal" and not np.all(np.isfinite(value)):
            raise BundleError(f"{where}: the model's {name} are not finite")
    if np.any(mapped["probabilities"] < -1e-6) or not np.allclose(mapped["probabilities"].sum(axis=1), 1.0, atol=1e-3):
        raise BundleError(f"{where}: expression outputs are not probabilities (are they logits? then pass --logits)")
    return raw, mapped


def check_brought_in(manifest: Manifest, content: bytes, where: str) -> None:
    """At load: digest, structure, input, then one run on zeros."""
    if sha256_hex(content) != manifest.runtime.get("frame_model", {}).get("sha256"):
        raise BundleError(f"{where}: sha256 does not match the manifest (the file was changed)")
    info = inspect_model(content, manifest.frame_file == FRAME_ONNX, where)
    check_input(info.input_shape, manifest.input, where)
    spec = manifest.input
    run_mapped(manifest, content, np.zeros((2, spec.height, spec.width, spec.channels), np.float32).transpose(_axes(spec)), where)


def _axes(spec: InputSpec) -> tuple[int, ...]:
    return (0, 3, 1, 2) if spec.layout == "nchw" else (0, 1, 2, 3)


def check_on_faces(manifest: Manifest, content: bytes, where: str) -> dict[str, float]:
    """At import: the model on the shipped real face crops. The expression slice must sum to 1
    over all of its classes (or be logits, --logits), valence/arousal must be finite. Returns
    ranges seen, for the manifest."""
    from affect_live.model.bundle.input_batch import check_inputs

    batch = check_inputs(manifest)
    raw, mapped = run_mapped(manifest, content, batch, where)
    mapping = OutputMap.from_dict(manifest.outputs)
    if not mapping.logits:
        piece = mapping.slices["expression"]
        full = raw[piece.output].reshape(len(batch), -1)[:, piece.start : piece.stop]
        if not np.allclose(full.sum(axis=1), 1.0, atol=1e-3) or np.any(full < -1e-6):
            raise BundleError(f"{where}: the expression outputs do not sum to 1 on a real face (logits? then pass --logits)")
    checked = {"faces": float(len(batch))}
    if "valence_arousal" in mapped:
        for k, name in enumerate(("valence", "arousal")):
            if name not in mapping.slices:
                continue
            column = mapped["valence_arousal"][:, k]
            if not np.all(np.isfinite(column)):
                raise BundleError(f"{where}: the model's {name} is not finite on a real face")
            checked[f"{name}_min"], checked[f"{name}_max"] = float(column.min()), float(column.max())
    return checked


def brought_in_runner(manifest: Manifest, content: bytes, threads: int = 1) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """A brought-in model's raw outputs by name: onnxruntime for ONNX, LiteRT for TFLite."""
    from affect_live.backends.litert import LiteRtRunner

    if manifest.frame_file == FRAME_ONNX:
        from affect_live.backends.onnx_runtime import OnnxRunner

        return OnnxRunner(content, threads)
    return LiteRtRunner(content, threads)
