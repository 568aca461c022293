"""The manifest of a weight bundle: what the model expects, what it outputs, what it learned.

A bundle's manifest is untrusted input, so `Manifest.from_dict` validates every field's type
and range (`fields`: finite numbers only, no bool or text for a number) and raises `BundleError`
with one line naming the field.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from affect_live.errors import BundleError
from affect_live.model.bundle.action_inputs import EXTRA_INPUTS
from affect_live.model.bundle.classes import aff_wild2_order, canonical_class
from affect_live.model.bundle.fields import Fields, check_finite, is_number, items, number
from affect_live.types import EXPRESSIONS

FORMAT = "affect-live-bundle"
FORMAT_VERSION = 2  # 2: the bundle also holds the models as checked TFLite flatbuffers
READABLE_VERSIONS = (1, 2)  # format 1 (Keras only) is converted once and cached on load
RUNTIME_FILES = {"frame_model": "frame_model.tflite", "heads": "heads.tflite"}
# A brought-in ONNX per-frame model is kept as given and run by onnxruntime (import-weights).
FRAME_ONNX = "frame_model.onnx"
MAX_CONVERSION_DIFF = 1e-5  # max |TFLite - Keras| on real face crops, checked when a bundle is made
HEAD_NAMES = ("expression", "valence", "arousal")
TEMPORAL_MODULES = ("none", "bilstm")
# What the learned heads read besides the temporal module: "window_stats" (the paper's STAT
# model, the default) or "current_frame" (its "Emotion VA Image": no window statistics).
HEADS_INPUTS = ("window_stats", "current_frame")
PRIOR_RULES = {"expression": "window_mean", "valence": "class_positions", "arousal": "class_positions"}
# What each output is, in the words the app, the CSV sidecar, reports, LSL and model cards use.
LEARNED, LEARNED_PER_FRAME, PRIOR = "learned", "learned per frame", "prior"
HEAD_WORDS = (
    "learned: a head trained on labelled windows; "
    "learned per frame: the window mean of a network's own per-frame output, trained on labels frame by frame; "
    "prior: a documented projection that was never fitted to labels (the default valence/arousal: "
    "expression probabilities placed on published per-expression positions)"
)


# Head kinds: "learned" (trained heads), "prior" (documented rules), "per_frame" (valence or
# arousal learned by the per-frame model itself, averaged over the window: rule "window_mean").
HEAD_KINDS = ("learned", "prior", "per_frame")
MAX_PIXEL_SCALE = 1e6  # |input.mean| and input.std, in pixel units (0..255)


N_CLASSES = len(EXPRESSIONS)


def _check_heads_input(heads_input: str) -> None:
    if heads_input not in HEADS_INPUTS:
        raise ValueError(f"heads input {heads_input!r} is not one of {', '.join(HEADS_INPUTS)}")


def heads_input_dim(feature_dim: int, heads_input: str = "window_stats", extra: tuple[str, ...] = ()) -> int:
    """Width of the heads' flat input (`join_heads_input`); `extra`: the manifest's
    `heads_extra_inputs`, each adding [max, min, mean] of its per-frame values."""
    _check_heads_input(heads_input)
    width = (3 * N_CLASSES if heads_input == "window_stats" else 0) + feature_dim + N_CLASSES
    return width + sum(3 * EXTRA_INPUTS[name] for name in extra)


def join_heads_input(
    heads_input: str, stats: np.ndarray | None, features: np.ndarray, probabilities: np.ndarray, extra_stats: Sequence[np.ndarray] = ()
) -> np.ndarray:
    """The heads' flat input, in the spec's order: [max, min, mean] of the window's
    probabilities (only for "window_stats"), the current frame's features, its probabilities,
    then [max, min, mean] of each extra per-frame input (`heads_extra_inputs`, e.g. the facial
    actions). The one definition used by training, conversion checks, evaluation and the live
    engine."""
    _check_heads_input(heads_input)
    parts = [features, probabilities] if heads_input == "current_frame" else [stats, features, probabilities]
    return np.concatenate([*parts, *extra_stats], axis=1).astype(np.float32, copy=False)  # no second copy per frame



@dataclass(frozen=True)
class InputSpec:
    """How a face crop becomes the per-frame model's input tensor."""

    width: int
    height: int
    color: Literal["rgb", "bgr", "gray"]
    mean: tuple[float, ...]  # per channel, subtracted first
    std: tuple[float, ...]  # per channel, divided after
    crop: Literal["box", "aligned"]  # which face crop the model was trained on
    margin: float = 0.0  # extra border around a "box" crop, as a fraction of the box side
    layout: Literal["nhwc", "nchw"] = "nhwc"  # tensor layout of the model's input

    @property
    def channels(self) -> int:
        return 1 if self.color == "gray" else 3


@dataclass(frozen=True)
class HeadSpec:
    """One output head: learned from labels, a documented prior, or the window mean of a
    valence/arousal the per-frame model learned ("per_frame")."""

    kind: Literal["learned", "prior", "per_frame"]
    description: str  # what it was trained on, or the prior's rule and its source
    rule: str | None = None  # for priors and per_frame: "window_mean" or "class_positions"


def head_words(prior_heads: tuple[str, ...], per_frame_heads: tuple[str, ...]) -> dict[str, str]:
    """Each output's word ("learned", "learned per frame" or "prior"), as the app, the CSV
    sidecar, reports and LSL metadata show it."""
    return {h: PRIOR if h in prior_heads else LEARNED_PER_FRAME if h in per_frame_heads else LEARNED for h in HEAD_NAMES}


def head_label(head: HeadSpec) -> str:
    """'learned' (a head trained on windows), 'learned per frame' (the window mean of a learned
    per-frame output, e.g. the expression network's probabilities) or 'prior' (a projection
    never fitted to labels)."""
    if head.kind == "learned":
        return LEARNED
    return LEARNED_PER_FRAME if head.kind == "per_frame" or head.rule == "window_mean" else PRIOR


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    license: str
    description: str
    input: InputSpec
    classes: tuple[str, ...]  # the per-frame model's output order
    feature_dim: int
    window: int
    frame_model: str  # what the per-frame model was trained on
    heads: dict[str, HeadSpec]
    # Per-class (valence, arousal) positions used by "class_positions" priors.
    va_positions: dict[str, tuple[float, float]] = field(default_factory=dict)
    va_positions_source: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    # "bilstm": the heads also read the window's probabilities as a sequence (the paper's "with
    # LSTM" variant); such heads are built for exactly `window` frames.
    temporal: str = "none"
    # HEADS_INPUTS: "current_frame" heads ignore the window statistics (absent in older
    # bundles, which are all "window_stats").
    heads_input: str = "window_stats"
    # Format 2: per TFLite file ("frame_model", "heads") its sha256 and the max absolute
    # difference from the Keras model's outputs measured when the bundle was made.
    runtime: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION
    # A brought-in per-frame model (import-weights --outputs, ONNX or TFLite): how its raw
    # outputs map onto expression/valence/arousal/features (`output_map.OutputMap`). Empty: the
    # per-frame model outputs "features" and "probabilities" itself.
    outputs: dict[str, Any] = field(default_factory=dict)
    # Per-frame inputs the learned heads take besides the per-frame model's outputs, each as its
    # [max, min, mean] over the window, after the paper's inputs (EXTRA_INPUTS: "actions", the
    # head pose and blendshapes of `train --with-actions`). Absent in older bundles: none.
    heads_extra_inputs: tuple[str, ...] = ()

    def effective_window(self, requested: int | None) -> int:
        """The window the heads will use: LSTM heads were built for their own length, other
        heads take any requested length (default: the manifest's)."""
        return self.window if self.temporal != "none" or not requested else requested

    @property
    def heads_input_width(self) -> int:
        return heads_input_dim(self.feature_dim, self.heads_input, self.heads_extra_inputs)

    @property
    def needs_actions(self) -> bool:
        """The heads take the facial actions: the face mesh must run (no --no-actions)."""
        return "actions" in self.heads_extra_inputs

    @property
    def prior_heads(self) -> tuple[str, ...]:
        """Outputs never fitted to labels (the default valence/arousal projection)."""
        return tuple(name for name in HEAD_NAMES if head_label(self.heads[name]) == PRIOR)

    @property
    def per_frame_heads(self) -> tuple[str, ...]:
        """Outputs that are the window mean of a learned per-frame output: the per-frame model's
        own valence/arousal, and the expression probabilities when no head was trained."""
        return tuple(name for name in HEAD_NAMES if head_label(self.heads[name]) == LEARNED_PER_FRAME)

    @property
    def has_learned_heads(self) -> bool:
        return any(self.heads[name].kind == "learned" for name in HEAD_NAMES)

    @property
    def frame_file(self) -> str:
        """The bundle member the run time runs as the per-frame model."""
        return str(self.runtime.get("frame_model", {}).get("file", RUNTIME_FILES["frame_model"]))

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["format"] = FORMAT
        return data

    @classmethod
    def from_dict(cls, data: Any) -> Manifest:
        try:
            return _parse(data)
        except BundleError:
            raise
        except ValueError as exc:  # the class names (classes.py)
            raise BundleError(f"invalid manifest: {exc}") from None


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise BundleError(f"invalid manifest: {message}")


def _parse_input(data: Fields) -> InputSpec:
    spec = InputSpec(
        width=data.integer("width", 16, 1024),
        height=data.integer("height", 16, 1024),
        color=data.choice("color", ("rgb", "bgr", "gray")),  # type: ignore[arg-type]
        mean=data.numbers("mean", -MAX_PIXEL_SCALE, MAX_PIXEL_SCALE),
        std=data.numbers("std", 0.0, MAX_PIXEL_SCALE),
        crop=data.choice("crop", ("box", "aligned")),  # type: ignore[arg-type]
        margin=data.number("margin", 0.0, 1.0, default=0.0),
        layout=data.choice("layout", ("nhwc", "nchw"), default="nhwc"),  # type: ignore[arg-type]
    )
    for name, values in (("mean", spec.mean), ("std", spec.std)):
        _require(len(values) in (1, spec.channels), f"input.{name} needs 1 or {spec.channels} values")
    _require(all(s > 0 for s in spec.std), "input.std values must be positive")
    return spec


def _parse_heads(data: Fields) -> dict[str, HeadSpec]:
    heads = {}
    for name in HEAD_NAMES:
        entry = data.object(name)
        kind = entry.choice("kind", HEAD_KINDS)
        head = HeadSpec(kind=kind, description=entry.text("description"), rule=entry.optional_text("rule"))  # type: ignore[arg-type]
        if head.kind == "prior":
            _require(head.rule == PRIOR_RULES[name], f"heads.{name}.rule must be {PRIOR_RULES[name]!r}")
        if head.kind == "per_frame":
            _require(name != "expression" and head.rule == "window_mean", f"heads.{name}: only valence/arousal can be per_frame (rule 'window_mean')")
        heads[name] = head
    return heads


def _parse_positions(data: Fields) -> dict[str, tuple[float, float]]:
    positions = {}
    for name, value, path in data.entries():
        valence, arousal = items(value, path, number, lengths=(2,))
        positions[canonical_class(name)] = (valence, arousal)
    return positions


def _parse_runtime(data: Fields) -> dict[str, Any]:
    """Free-form, but the per-file entries must be objects and a file name text."""
    for role in RUNTIME_FILES:
        if role in data.data:
            entry = data.object(role)
            if "file" in entry.data:
                entry.text("file")
    return data.data


def _parse(data: Any) -> Manifest:
    top = Fields(data)
    check_finite(data, "")
    _require(top.get("format", None) == FORMAT, f"format is not {FORMAT!r}")
    version = top.integer("format_version")
    _require(version in READABLE_VERSIONS, f"format_version {version} is not supported (this build reads {', '.join(map(str, READABLE_VERSIONS))})")
    classes = top.texts("classes")
    aff_wild2_order(classes)  # raises on a wrong class list
    positions = _parse_positions(top.object("va_positions", {}))
    manifest = Manifest(
        name=top.text("name"),
        version=top.text("version"),
        license=top.text("license"),
        description=top.text("description", ""),
        input=_parse_input(top.object("input")),
        classes=classes,
        feature_dim=top.integer("feature_dim", 1, 65536),
        window=top.integer("window", 1, 1024),
        frame_model=top.text("frame_model"),
        heads=_parse_heads(top.object("heads")),
        va_positions=positions,
        va_positions_source=top.text("va_positions_source", ""),
        provenance=dict(top.object("provenance", {}).data),
        metrics=dict(top.object("metrics", {}).data),
        temporal=top.choice("temporal", TEMPORAL_MODULES, "none"),
        heads_input=top.choice("heads_input", HEADS_INPUTS, "window_stats"),
        runtime=dict(_parse_runtime(top.object("runtime", {}))),
        format_version=version,
        outputs=dict(top.object("outputs", {}).data),
        heads_extra_inputs=_extra_inputs(top.get("heads_extra_inputs", [])),
    )
    _require(
        not (manifest.heads_input == "current_frame" and manifest.temporal != "none"),
        "heads_input 'current_frame' cannot go with a temporal module (it reads the window)",
    )
    _require(
        not (manifest.heads_extra_inputs and (manifest.heads_input != "window_stats" or not manifest.has_learned_heads)),
        "heads_extra_inputs need learned heads on the window statistics (heads_input 'window_stats')",
    )
    _require(manifest.name.strip() != "", "name is empty")
    if version >= 2:
        check_runtime(manifest)
    _check_outputs(manifest)
    uses_positions = any(manifest.heads[n].kind == "prior" for n in ("valence", "arousal"))
    if uses_positions:
        missing = [name for name in EXPRESSIONS if name not in positions]
        _require(not missing, f"va_positions lacks {', '.join(missing)}")
        _require(
            all(-1.0 <= v <= 1.0 and -1.0 <= a <= 1.0 for v, a in positions.values()),
            "va_positions must lie in [-1, 1]",
        )
    return manifest


def _extra_inputs(values: Any) -> tuple[str, ...]:
    _require(isinstance(values, (list, tuple)) and all(isinstance(v, str) for v in values), "heads_extra_inputs must be a list of names")
    unknown = [v for v in values if v not in EXTRA_INPUTS]
    _require(not unknown, f"heads_extra_inputs: {', '.join(map(repr, unknown))} is not one of {', '.join(EXTRA_INPUTS)}")
    _require(len(set(values)) == len(values), "heads_extra_inputs lists a name twice")
    return tuple(values)


def _check_outputs(manifest: Manifest) -> None:
    from affect_live.model.bundle.output_map import OutputMap

    _require(manifest.frame_file in (RUNTIME_FILES["frame_model"], FRAME_ONNX), f"runtime.frame_model.file {manifest.frame_file!r} is not a known member")
    _require(bool(manifest.outputs) or manifest.frame_file != FRAME_ONNX, "an ONNX per-frame model needs an outputs mapping")
    slices = OutputMap.from_dict(manifest.outputs).slices if manifest.outputs else {}
    for name in HEAD_NAMES:
        if manifest.heads[name].kind == "per_frame":
            _require(name in slices, f"heads.{name} is per_frame but outputs maps no {name}")


def check_runtime(manifest: Manifest) -> None:
    """A format-2 manifest (or a format-1 one with its cached conversion) names a checked
    flatbuffer for the per-frame model, and for the heads when one is learned."""
    needed = ["frame_model"] + (["heads"] if manifest.has_learned_heads else [])
    for role in needed:
        entry = manifest.runtime.get(role)
        _require(isinstance(entry, dict), f"runtime.{role} is missing")
        digest = entry.get("sha256")
        _require(isinstance(digest, str) and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest), f"runtime.{role}.sha256 is not a sha256")
        diff = entry.get("max_abs_diff")
        _require(is_number(diff) and 0 <= diff <= MAX_CONVERSION_DIFF, f"runtime.{role}.max_abs_diff must be a number <= {MAX_CONVERSION_DIFF}")
