"""The inference side of the pipeline: face crops of a frame in, predictions out (one model, or
the fusion of several).

Runs the per-frame model once per face (all faces of the frame in one batch), caches its
probabilities in the per-face ring buffers, and applies the heads to the window statistics.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field

import numpy as np

from affect_live.errors import BundleError
from affect_live.model.bundle.action_inputs import ACTION_DIM, actions_needed_message, rows_of_actions
from affect_live.model.bundle.manifest import HEAD_NAMES, Manifest
from affect_live.model.bundle.reading import LoadedBundle
from affect_live.model.inference.frame_model import FrameModel
from affect_live.model.inference.heads import HeadOutputs, Heads, heads_runner
from affect_live.model.inference.window import FaceWindows
from affect_live.types import FacePacket, FacePrediction, FrameResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EngineInfo:
    """What the user is told about the running model."""

    name: str
    device: str  # "CPU (LiteRT)", "GPU (TensorFlow)" or "CPU (onnxruntime)"; fused: each, joined by " + "
    window: int
    prior_heads: tuple[str, ...]
    # Valence/arousal learned by the per-frame model itself (window mean), not priors.
    per_frame_heads: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The name with what its heads are (status bar, LSL stream metadata, markers)."""
        return heads_label(self.name, self.prior_heads, self.per_frame_heads)


def heads_label(name: str, prior_heads: tuple[str, ...], per_frame_heads: tuple[str, ...] = ()) -> str:
    """'faceapi-expression [prior: valence, arousal; learned per frame: expression]': priors are never hidden;
    'hse [learned per frame: expression, valence, arousal]' for a model that gives them."""
    parts = ([f"prior: {', '.join(prior_heads)}"] if prior_heads else []) + (
        [f"learned per frame: {', '.join(per_frame_heads)}"] if per_frame_heads else []
    )
    return f"{name} [{'; '.join(parts)}]" if parts else f"{name} [learned heads]"


@dataclass
class _Member:
    """One bundle's per-frame model, ring buffers and heads."""

    bundle: LoadedBundle
    frame_model: FrameModel
    heads: Heads
    length: InitVar[int]  # the window, in frames: `restart` makes the buffers
    windows: FaceWindows = field(init=False)
    va_windows: FaceWindows | None = field(init=False)  # the per-frame valence/arousal, when the model gives them
    # The facial actions (`action_inputs`, 55 per frame), when the heads take them.
    action_windows: FaceWindows | None = field(init=False)

    def __post_init__(self, length: int) -> None:
        self.restart(length)

    def restart(self, length: int) -> None:
        self.windows = FaceWindows(length)
        self.va_windows = FaceWindows(length, 2) if self.frame_model.has_va else None
        self.action_windows = FaceWindows(length, ACTION_DIM) if self.bundle.manifest.needs_actions else None

    def all_windows(self) -> list[FaceWindows]:
        return [w for w in (self.windows, self.va_windows, self.action_windows) if w is not None]


class AffectEngine:
    """Owned by one inference thread; not thread-safe.

    Given several bundles it is the paper's fusion: each model runs on the same face crops and
    the engine returns the unweighted mean of their expression probabilities and of their
    valence/arousal. Fused bundles must agree on the face crop (kind, size and margin).
    """

    def __init__(self, bundles: LoadedBundle | Sequence[LoadedBundle], window: int | None = None, device: str = "CPU") -> None:
        bundles = [bundles] if isinstance(bundles, LoadedBundle) else list(bundles)
        if not bundles:
            raise ValueError("an engine needs at least one bundle")
        first = bundles[0].manifest.input
        for other in bundles[1:]:
            spec = other.manifest.input
            if (spec.crop, spec.width, spec.height, spec.margin) != (first.crop, first.width, first.height, first.margin):
                raise BundleError(
                    f"cannot fuse {bundles[0].manifest.name} and {other.manifest.name}: they need different face crops "
                    f"({first.crop} {first.width}x{first.height} vs {spec.crop} {spec.width}x{spec.height})"
                )
        self.bundle = bundles[0]
        self.manifest: Manifest = bundles[0].manifest  # crop style and defaults: the first bundle's
        self.members = []
        for bundle in bundles:
            # Cheap: the interpreters are made by the thread that first runs them.
            frame_model = FrameModel(bundle, device)
            heads = Heads(bundle.manifest, heads_runner(bundle, device))
            length = bundle.manifest.effective_window(window or bundles[0].manifest.window)
            self.members.append(_Member(bundle, frame_model, heads, length))
        self.frame_model = self.members[0].frame_model

    @property
    def windows(self) -> FaceWindows:
        return self.members[0].windows

    @property
    def info(self) -> EngineInfo:
        names = " + ".join(m.bundle.manifest.name for m in self.members)
        priors = tuple(h for h in HEAD_NAMES if any(h in m.bundle.manifest.prior_heads for m in self.members))
        # Fused: an output is as much a prior as its most prior member.
        per_frame = tuple(h for h in HEAD_NAMES if h not in priors and any(h in m.bundle.manifest.per_frame_heads for m in self.members))
        devices = " + ".join(dict.fromkeys(m.frame_model.label for m in self.members))
        return EngineInfo(names, devices, self.windows.window, priors, per_frame)

    def set_window(self, window: int) -> None:
        """A new window length restarts every face's window. Heads with an LSTM were built for
        their own window length and keep it."""
        for member in self.members:
            length = member.bundle.manifest.effective_window(window)
            if length != window:
                log.warning("%s keeps its window of %d frames (its LSTM was trained on it)", member.bundle.manifest.name, length)
            member.restart(length)

    @property
    def needs_actions(self) -> tuple[str, ...]:
        """Names of the fused bundles whose heads take the facial actions (`train
        --with-actions`): they cannot run with the face mesh off (--no-actions)."""
        return tuple(m.bundle.manifest.name for m in self.members if m.bundle.manifest.needs_actions)

    def reset(self) -> None:
        for member in self.members:
            for windows in member.all_windows():
                windows.clear()

    def _run(self, member: _Member, packet: FacePacket, ids: list[int], clock: dict[str, float]) -> HeadOutputs:
        started = time.perf_counter()
        features, probabilities, va = member.frame_model.infer_all([face.crop for face in packet.faces])
        after_model = time.perf_counter()
        restart = [face.new_track for face in packet.faces]
        member.windows.push(ids, probabilities, restart)
        va_mean = None
        if member.va_windows is not None and va is not None:
            member.va_windows.push(ids, va, restart)
            va_mean = member.va_windows.means(ids)
        action_stats = None
        if member.action_windows is not None:
            measured = [face.actions for face in packet.faces]
            if any(a is None for a in measured):
                raise BundleError(actions_needed_message((member.bundle.manifest.name,)))
            member.action_windows.push(ids, rows_of_actions(measured), restart)
            action_stats = member.action_windows.stats(ids)
        sequences = member.windows.sequences(ids) if member.heads.temporal != "none" else None
        out = member.heads(member.windows.stats(ids), features, probabilities, sequences, va_mean, action_stats)
        clock["model"] += (after_model - started) * 1000
        clock["heads"] += (time.perf_counter() - after_model) * 1000
        return out

    def process(self, packet: FacePacket) -> FrameResult:
        for member in self.members:
            for windows in member.all_windows():
                windows.drop(packet.ended_ids)
        stage_ms = dict(packet.stage_ms)
        predictions: tuple[FacePrediction, ...] = ()
        if packet.faces:
            ids = [face.face_id for face in packet.faces]
            clock = {"model": 0.0, "heads": 0.0}
            outs = [self._run(member, packet, ids, clock) for member in self.members]
            stage_ms.update(clock)
            expression = np.mean([o.expression for o in outs], axis=0)
            valence = np.mean([o.valence for o in outs], axis=0)
            arousal = np.mean([o.arousal for o in outs], axis=0)
            predictions = tuple(
                FacePrediction(
                    face_id=face.face_id,
                    detection=face.detection,
                    valence=float(valence[i]),
                    arousal=float(arousal[i]),
                    probabilities=np.asarray(expression[i], dtype=np.float64),
                    actions=face.actions,
                )
                for i, face in enumerate(packet.faces)
            )
        return FrameResult(
            frame_index=packet.frame_index,
            time_s=packet.time_s,
            frame_size=packet.frame_size,
            predictions=predictions,
            captured_at=packet.captured_at,
            stage_ms=stage_ms,
            image=packet.image,
        )
