"""How a brought-in per-frame model's raw outputs become affect-live's per-frame outputs.

`--outputs expression=0:8,valence=8,arousal=9` (or `expression=logits/0:8,features=emb/:`)
names, for each role, a slice of one model output (by index or name; the first output when
none is given). Classes outside Aff-Wild2's 7 (AffectNet's contempt, for example) are dropped
from the expression slice and the rest renormalised. Without a features slice the expression
probabilities serve as the features; a per-frame valence/arousal is appended to the features,
so heads trained on such a bundle read it too.

The one implementation used at import, at load and on the hot path (numpy only).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from affect_live.errors import BundleError
from affect_live.model.bundle.classes import canonical_class
from affect_live.model.bundle.fields import Fields, integer, items
from affect_live.types import EXPRESSIONS

ROLES = ("expression", "valence", "arousal", "features")


@dataclass(frozen=True)
class OutputSlice:
    output: str  # the model output's name
    start: int
    stop: int | None  # None: to the end

    def take(self, value: np.ndarray) -> np.ndarray:
        flat = value.reshape(len(value), -1)
        return flat[:, self.start : self.stop]


@dataclass(frozen=True)
class OutputMap:
    """Manifest field `outputs` of a bundle whose per-frame model was brought in (import-weights
    with ONNX, TFLite, or Keras with --outputs). Empty `slices` never occurs in a manifest."""

    slices: dict[str, OutputSlice]
    logits: bool  # softmax on the expression slice
    source_classes: tuple[str, ...]  # the expression slice's classes, as the user named them
    kept: tuple[int, ...] = field(default=())  # indices into source_classes of the 7 kept ones

    @property
    def dropped(self) -> tuple[str, ...]:
        return tuple(c for i, c in enumerate(self.source_classes) if i not in self.kept)

    @property
    def has_va(self) -> bool:
        return "valence" in self.slices or "arousal" in self.slices

    def feature_dim(self, widths: Mapping[str, int]) -> int:
        """Width of the features the heads see, given each model output's flat width."""
        base = _width(self.slices["features"], widths) if "features" in self.slices else len(EXPRESSIONS)
        return base + (2 if self.has_va else 0)

    def apply(self, raw: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """{"features", "probabilities" (N, 7) in the kept classes' model order, and
        "valence_arousal" (N, 2) when the model gives either}."""
        expression = self.slices["expression"].take(np.asarray(raw[self.slices["expression"].output], np.float32))
        if self.logits:
            shifted = np.exp(expression - expression.max(axis=1, keepdims=True))
            expression = shifted / shifted.sum(axis=1, keepdims=True)
        kept = expression[:, list(self.kept)]
        probabilities = (kept / np.maximum(kept.sum(axis=1, keepdims=True), 1e-12)).astype(np.float32)
        features = (
            self.slices["features"].take(np.asarray(raw[self.slices["features"].output], np.float32))
            if "features" in self.slices
            else probabilities
        )
        out = {"probabilities": probabilities, "features": features}
        if self.has_va:
            # A missing axis is NaN here; its head stays a prior (the manifest says which).
            columns = [
                self.slices[name].take(np.asarray(raw[self.slices[name].output], np.float32))[:, 0]
                if name in self.slices
                else np.full(len(probabilities), np.nan, np.float32)
                for name in ("valence", "arousal")
            ]
            va = np.stack(columns, axis=1).astype(np.float32)
            out["valence_arousal"] = va
            out["features"] = np.concatenate([features, np.nan_to_num(va)], axis=1).astype(np.float32)
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> OutputMap:
        """Validate the manifest's `outputs` field; BundleError (naming the field) on any problem."""
        fields = Fields(data, "outputs")
        slices = {role: _slice(Fields(entry, path)) for role, entry, path in fields.object("slices").entries()}
        kept = items(fields.get("kept"), "outputs.kept", integer)
        mapping = cls(slices, fields.flag("logits"), fields.texts("source_classes"), kept)
        _check(mapping)
        return mapping


def _slice(entry: Fields) -> OutputSlice:
    stop = entry.get("stop")
    return OutputSlice(entry.text("output"), entry.integer("start"), None if stop is None else integer(stop, entry.name("stop")))


def _width(piece: OutputSlice, widths: Mapping[str, int]) -> int:
    return len(range(widths[piece.output])[piece.start : piece.stop])


def _check(mapping: OutputMap) -> None:
    unknown = set(mapping.slices) - set(ROLES)
    if unknown or "expression" not in mapping.slices:
        raise BundleError(f"invalid manifest: outputs roles must include expression and be among {', '.join(ROLES)}")
    if any(p.start < 0 or (p.stop is not None and p.stop <= p.start) for p in mapping.slices.values()):
        raise BundleError("invalid manifest: outputs slices must have 0 <= start < stop")
    if not all(0 <= i < len(mapping.source_classes) for i in mapping.kept):
        raise BundleError("invalid manifest: outputs.kept indexes no class")
    if sorted(canonical_class(mapping.source_classes[i]) for i in mapping.kept) != sorted(EXPRESSIONS):
        raise BundleError("invalid manifest: outputs.kept must select the 7 expression classes")
    for role in ("valence", "arousal"):
        piece = mapping.slices.get(role)
        if piece is not None and (piece.stop is None or piece.stop - piece.start != 1):
            raise BundleError(f"invalid manifest: outputs.{role} must be one value")


def keep_classes(classes: Sequence[str]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """Indices of the classes that are Aff-Wild2's 7 (each exactly once) and their canonical
    names; other classes (contempt...) are dropped."""
    kept, names, unknown = [], [], []
    for i, name in enumerate(classes):
        try:
            canonical = canonical_class(name)
        except ValueError:
            unknown.append(name)
            continue
        if canonical in names:
            raise BundleError(f"--classes names {canonical} twice")
        kept.append(i)
        names.append(canonical)
    missing = [name for name in EXPRESSIONS if name not in names]
    if missing:
        dropped = f"; not one of them, so dropped: {', '.join(unknown)}" if unknown else ""
        raise BundleError(f"--classes does not cover {', '.join(missing)} (Aff-Wild2's 7 expressions are needed{dropped})")
    return tuple(kept), tuple(names)


def parse_outputs(text: str | None, output_names: Sequence[str], output_widths: Mapping[str, int]) -> dict[str, OutputSlice]:
    """`ROLE=[OUTPUT/]START[:STOP],...` (OUTPUT: a name or index; `:` alone is the whole output)
    against the model's outputs. Default: the first output is the expression."""
    if not text:
        return {"expression": OutputSlice(output_names[0], 0, None)}
    slices: dict[str, OutputSlice] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        role, _, spec = part.partition("=")
        role = role.strip()
        if role not in ROLES or not spec:
            raise BundleError(f"--outputs: {part!r} is not ROLE=[OUTPUT/]START[:STOP] with ROLE one of {', '.join(ROLES)}")
        if role in slices:
            raise BundleError(f"--outputs names {role} twice")
        name, span = _split_output(spec.strip(), output_names)
        slices[role] = _parse_span(span.strip(), name, output_widths[name], part)
    if "expression" not in slices:
        raise BundleError("--outputs must map expression")
    return slices


def _split_output(spec: str, names: Sequence[str]) -> tuple[str, str]:
    """(output name, span) of `[OUTPUT/]SPAN`. Output names may hold "/" themselves (PyTorch
    exports name them "/fc/Gemm_output_0"), so the model's own names are tried first."""
    named = next((n for n in sorted(names, key=len, reverse=True) if spec.startswith(n + "/")), None)
    if named is not None:
        return named, spec[len(named) + 1 :]
    if "/" not in spec:
        return names[0], spec
    output, span = spec.rsplit("/", 1)
    if output.isdigit() and int(output) < len(names):
        return names[int(output)], span
    raise BundleError(f"--outputs: the model has no output {output!r} (its outputs: {', '.join(names)})")


def _parse_span(span: str, output: str, width: int, part: str) -> OutputSlice:
    try:
        if ":" in span:
            low, high = span.split(":")
            start, stop = int(low or 0), int(high) if high else width
        else:
            start = int(span)
            stop = start + 1
    except ValueError:
        raise BundleError(f"--outputs: {part!r} has no valid START[:STOP]") from None
    if not 0 <= start < stop <= width:
        raise BundleError(f"--outputs: {part!r} does not fit output {output!r} of {width} values")
    return OutputSlice(output, start, stop)
