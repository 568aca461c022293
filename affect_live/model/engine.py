"""The inference side of the pipeline: face crops of a frame in, predictions out.

Runs the per-frame model once per face (all faces of the frame in one batch), caches its
probabilities in the per-face ring buffers, and applies the heads to the window statistics.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from affect_live.model.bundle import LoadedBundle
from affect_live.model.frame_model import FrameModel
from affect_live.model.heads import Heads
from affect_live.model.manifest import Manifest
from affect_live.model.window import FaceWindows
from affect_live.types import FacePacket, FacePrediction, FrameResult


@dataclass(frozen=True)
class EngineInfo:
    """What the user is told about the running model."""

    name: str
    device: str
    window: int
    prior_heads: tuple[str, ...]


class AffectEngine:
    """Owned by one inference thread; not thread-safe."""

    def __init__(self, bundle: LoadedBundle, window: int | None = None, device: str | None = None) -> None:
        self.manifest: Manifest = bundle.manifest
        self.bundle = bundle
        self.frame_model = FrameModel(bundle.frame_model, bundle.manifest, device)
        self.heads = Heads(bundle.manifest, bundle.heads_model, self.frame_model.device)
        self.windows = FaceWindows(window or bundle.manifest.window)

    @property
    def info(self) -> EngineInfo:
        return EngineInfo(self.manifest.name, self.frame_model.device, self.windows.window, self.manifest.prior_heads)

    def set_window(self, window: int) -> None:
        """A new window length restarts every face's window."""
        self.windows = FaceWindows(window)

    def reset(self) -> None:
        self.windows.clear()

    def process(self, packet: FacePacket) -> FrameResult:
        self.windows.drop(packet.ended_ids)
        stage_ms = dict(packet.stage_ms)
        predictions: tuple[FacePrediction, ...] = ()
        if packet.faces:
            started = time.perf_counter()
            features, probabilities = self.frame_model.infer([face.crop for face in packet.faces])
            after_model = time.perf_counter()
            ids = [face.face_id for face in packet.faces]
            self.windows.push(ids, probabilities, [face.new_track for face in packet.faces])
            out = self.heads(self.windows.stats(ids), features, probabilities)
            stage_ms["model"] = (after_model - started) * 1000
            stage_ms["heads"] = (time.perf_counter() - after_model) * 1000
            predictions = tuple(
                FacePrediction(
                    face_id=face.face_id,
                    detection=face.detection,
                    valence=float(out.valence[i]),
                    arousal=float(out.arousal[i]),
                    probabilities=np.asarray(out.expression[i], dtype=np.float64),
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
