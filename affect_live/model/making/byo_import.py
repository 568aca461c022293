"""`import-weights` for any per-frame model: Keras, ONNX or TFLite, all into the same bundle kind.

- A Keras classifier without mapping flags is wrapped and converted as before (`importer`).
- An ONNX model is kept as given and run by onnxruntime (no conversion: converting ONNX to
  TFLite needs TensorFlow plus a third-party converter, and changes numerics).
- A TFLite model is kept as given and run by LiteRT, after the flatbuffer checks.
- A Keras model with `--outputs`/`--logits`/`--layout nchw` or classes to drop is converted to
  TFLite as it is (checked against Keras on real faces) and then treated like a TFLite model.

The output mapping (`output_map`) turns the model's raw outputs into expression probabilities,
features and, when it gives them, a per-frame valence/arousal that the valence/arousal heads
average over the window. Every model is run on the shipped real face crops before it is written.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affect_live.backends.flatbuffer import TFLITE_IDENTIFIER, sha256_hex
from affect_live.errors import BundleError
from affect_live.extras import tensorflow_installed, tensorflow_missing
from affect_live.model.bundle.brought_in import brought_in_runner, check_input, check_on_faces, inspect_model
from affect_live.model.bundle.manifest import FRAME_ONNX, RUNTIME_FILES, HeadSpec, InputSpec, Manifest, head_label
from affect_live.model.bundle.output_map import OutputMap, keep_classes, parse_outputs
from affect_live.model.bundle.priors import VA_POSITIONS, VA_POSITIONS_SOURCE, prior_heads
from affect_live.model.making.writing import write_brought_in_bundle

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportOptions:
    """What the user says about the model (the import-weights flags)."""

    width: int
    height: int
    color: str  # rgb, bgr or gray
    mean: tuple[float, ...]
    std: tuple[float, ...]
    classes: tuple[str, ...]
    crop: str = "box"
    margin: float = 0.0
    name: str = "imported"
    license: str = "unknown"
    trained_on: str = "unknown (imported with affect-live import-weights)"
    source: str = ""  # where the user got it (URL, paper)
    window: int = 16
    layout: str = "nhwc"
    outputs: str | None = None  # --outputs text
    logits: bool = False
    # From the model catalogue: where the file came from and its pins (manifest.provenance),
    # and what the catalogue says of it (appended to the model card).
    provenance: tuple[tuple[str, Any], ...] = ()
    card_notes: str = ""


def model_format(path: Path, data: bytes) -> str:
    """"onnx", "tflite" or "keras", from the file's content (and .onnx, which has no magic)."""
    if (len(data) >= 8 and data[4:8] == TFLITE_IDENTIFIER) or path.suffix.lower() == ".tflite":
        return "tflite"  # the flatbuffer checks say what is wrong with a bad one
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\x89HDF\r\n\x1a\n":
        return "keras"
    if path.suffix.lower() == ".onnx":
        return "onnx"
    raise BundleError(f"{path} is not a Keras (.keras/.h5), ONNX (.onnx) or TFLite (.tflite) model")


def needs_mapping(options: ImportOptions) -> bool:
    """Whether a Keras model must take the brought-in path instead of the classic wrapper."""
    if options.outputs or options.logits or options.layout != "nhwc":
        return True
    try:  # classes to drop (AffectNet's contempt): only when the rest are the 7
        return len(keep_classes(options.classes)[0]) != len(options.classes)
    except BundleError:
        return False  # the classic path names the problem


def import_model(source: Path, out: Path, options: ImportOptions) -> Manifest:
    """Validate `source` and write the bundle `out`; BundleError (one line) on any problem."""
    source = Path(source)
    if not source.is_file():
        raise BundleError(f"model file not found: {source}")
    data = source.read_bytes()
    kind = model_format(source, data)
    where = str(source)
    if kind == "keras" and not tensorflow_installed():
        raise BundleError(tensorflow_missing("importing a Keras model"))
    if kind == "keras" and not needs_mapping(options):
        from affect_live.model.making.keras_import import import_weights

        return import_weights(source, out, **_classic(options))
    converter, diff = "none (run as given)", 0.0
    if kind == "keras":
        data, diff = _keras_as_tflite(source, options)
        converter, kind = "tensorflow (Keras model converted to TFLite as it is)", "tflite"
    elif kind == "onnx":
        from affect_live.model.making.onnx_import import self_contained

        data = self_contained(data, source)
    is_onnx = kind == "onnx"
    info = inspect_model(data, is_onnx, where)
    spec = InputSpec(options.width, options.height, options.color, options.mean, options.std, options.crop, options.margin, options.layout)  # type: ignore[arg-type]
    check_input(info.input_shape, spec, where)
    widths = _output_widths(data, is_onnx, spec, info.names, where)
    mapping = _mapping(options, info.names, widths)
    runtime = {
        "frame_model": {"file": FRAME_ONNX if is_onnx else RUNTIME_FILES["frame_model"], "sha256": sha256_hex(data), "max_abs_diff": diff},
        "format": kind,
        "converter": converter,
        "runs_on": "onnxruntime (CPU)" if is_onnx else "ai-edge-litert (CPU)",
    }
    manifest = Manifest(
        name=options.name,
        version="1",
        license=options.license,
        description=f"Brought in from {source.name} ({kind}) with affect-live import-weights.",
        input=spec,
        classes=tuple(_kept_names(mapping)),
        feature_dim=mapping.feature_dim(widths),
        window=options.window,
        frame_model=options.trained_on,
        heads=_heads(mapping, options),
        va_positions=dict(VA_POSITIONS),
        va_positions_source=VA_POSITIONS_SOURCE,
        provenance={"imported_from": source.name, "source": options.source, "format": kind, "dropped_classes": list(mapping.dropped), **dict(options.provenance)},
        runtime=runtime,
        outputs=mapping.to_dict(),
    )
    checked = check_on_faces(manifest, data, where)
    manifest = dataclasses.replace(manifest, runtime={**runtime, "checked_on": checked})
    card = model_card(manifest) + (f"\n{options.card_notes.strip()}\n" if options.card_notes else "")
    return write_brought_in_bundle(out, manifest, data, card)


def _classic(options: ImportOptions) -> dict[str, Any]:
    fields = ("width", "height", "color", "mean", "std", "classes", "crop", "margin", "name", "license", "trained_on", "window")
    return {name: getattr(options, name) for name in fields}


def _kept_names(mapping: OutputMap) -> list[str]:
    return [mapping.source_classes[i] for i in mapping.kept]


def _mapping(options: ImportOptions, names: tuple[str, ...], widths: dict[str, int]) -> OutputMap:
    slices = parse_outputs(options.outputs, names, widths)
    expression = slices["expression"]
    size = len(range(widths[expression.output])[expression.start : expression.stop])
    if size != len(options.classes):
        raise BundleError(f"the expression slice has {size} values but --classes names {len(options.classes)} (--outputs does not match the model)")
    kept, _ = keep_classes(options.classes)
    return OutputMap(slices, options.logits, tuple(options.classes), kept)


def _output_widths(data: bytes, is_onnx: bool, spec: InputSpec, names: tuple[str, ...], where: str) -> dict[str, int]:
    """Values per face of each output, from one run on a zero image."""
    probe = _probe_manifest(spec, FRAME_ONNX if is_onnx else RUNTIME_FILES["frame_model"])
    shape = (1, spec.channels, spec.height, spec.width) if spec.layout == "nchw" else (1, spec.height, spec.width, spec.channels)
    try:
        raw = brought_in_runner(probe, data)(np.zeros(shape, np.float32))
    except Exception as exc:  # the runtimes raise many types with multi-line text
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BundleError(f"{where}: the model cannot run on a {shape[1:]} input ({first[:200]})") from None
    missing = [n for n in names if n not in raw]
    if missing:
        raise BundleError(f"{where}: the model did not give its output {missing[0]!r}")
    return {name: int(np.prod(np.shape(raw[name])[1:])) for name in names}


def _heads(mapping: OutputMap, options: ImportOptions) -> dict[str, HeadSpec]:
    heads = prior_heads()
    origin = options.name + (f" ({options.source})" if options.source else "")
    for name in ("valence", "arousal"):
        if name in mapping.slices:
            heads[name] = HeadSpec(
                "per_frame",
                f"LEARNED PER FRAME by {origin}, licence {options.license}, trained on: {options.trained_on}. "
                f"The model's own per-frame {name}, averaged over the window of T frames (the STAT module's mean); "
                "no head was trained on windows.",
                "window_mean",
            )
    return heads


def _keras_as_tflite(source: Path, options: ImportOptions) -> tuple[bytes, float]:
    """A Keras model converted to TFLite without wrapping, and its max difference from Keras on
    the real face crops."""
    from affect_live.backends.litert import LiteRtRunner
    from affect_live.model.bundle.input_batch import check_inputs
    from affect_live.model.bundle.manifest import MAX_CONVERSION_DIFF
    from affect_live.model.making.convert import keras_to_tflite
    from affect_live.model.making.keras_import import load_plain_keras

    model = load_plain_keras(source)
    if len(model.inputs) != 1:
        raise BundleError(f"{source}: expected a model with one image input")
    spec = InputSpec(options.width, options.height, options.color, options.mean, options.std, options.crop, options.margin, options.layout)  # type: ignore[arg-type]
    content = keras_to_tflite(model)
    batch = check_inputs(_probe_manifest(spec, RUNTIME_FILES["frame_model"]))
    reference = model(batch, training=False)
    reference = reference if isinstance(reference, (list, tuple)) else [reference]
    lite = list(LiteRtRunner(content)(batch).values())
    diff = max(float(np.max(np.abs(np.asarray(r) - np.asarray(v).reshape(np.shape(r))))) for r, v in zip(reference, lite))
    if diff > MAX_CONVERSION_DIFF:
        raise BundleError(f"{source}: the TFLite conversion differs from the Keras model by {diff:.2e} on real face crops")
    return content, diff


def _probe_manifest(spec: InputSpec, frame_file: str) -> Manifest:
    """A stand-in manifest to run a model's file before its outputs are known."""
    classes = ("neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise")
    return Manifest("probe", "0", "", "", spec, classes, 1, 1, "", prior_heads(), runtime={"frame_model": {"file": frame_file}})


def model_card(manifest: Manifest) -> str:
    """MODEL_CARD.md of a brought-in bundle, from what the user said about the model."""
    mapping = OutputMap.from_dict(manifest.outputs)
    provenance = manifest.provenance
    spec = manifest.input
    lines = [
        f"# {manifest.name}",
        "",
        f"Brought in with `affect-live import-weights` from `{provenance['imported_from']}` ({provenance['format']}).",
        "",
        f"- Source: {provenance.get('source') or 'not given'}",
        f"- Licence: {manifest.license}",
        f"- Trained on (as the user says): {manifest.frame_model}",
        f"- Runs on: {manifest.runtime['runs_on']}; converter: {manifest.runtime['converter']}",
        f"- Input: {spec.width}x{spec.height} {spec.color}, {spec.layout}, mean {_numbers(spec.mean)}, std {_numbers(spec.std)} (pixel units 0..255), {spec.crop} crop",
        f"- Expression classes: {', '.join(mapping.source_classes)}"
        + (f"; dropped and the rest renormalised: {', '.join(mapping.dropped)}" if mapping.dropped else "")
        + ("; softmax applied (logits)" if mapping.logits else ""),
        "- Outputs used: " + ", ".join(f"{role} = {s.output}[{s.start}:{s.stop}]" for role, s in mapping.slices.items()),
        "",
        "## Heads",
    ]
    lines += [f"- {name}: {head_label(head)}. {head.description}" for name, head in manifest.heads.items()]
    lines += [
        "",
        "affect-live did not train or evaluate this model; what it measures and its limits are its authors'.",
        "",
    ]
    return "\n".join(lines)


def _numbers(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:.6g}" for v in values)
