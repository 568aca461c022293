"""What the live session hands the UI: events to tell the user, the frame to draw, the status."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from affect_live.live_recording import RecordingStatus
from affect_live.types import FacePrediction


@dataclass(frozen=True)
class SessionEvent:
    """Something the user must be told, once."""

    level: str  # "info", "warning" or "error"
    message: str
    topic: str = ""  # what it is about, for code that reacts: "model_loaded", "source_ended", ...
    detail: str = ""  # e.g. the weights' path


@dataclass(frozen=True)
class DisplayFrame:
    """The newest captured frame, its tracked faces' boxes and their newest predictions."""

    frame_index: int
    image: np.ndarray
    predictions: tuple[FacePrediction, ...]


@dataclass(frozen=True)
class LiveStats:
    source: str
    source_kind: str
    running: bool
    paused: bool
    capture_fps: float
    inference_fps: float
    latency_ms_p50: float
    latency_ms_p95: float
    dropped_frames: int
    device: str
    model_name: str
    prior_heads: tuple[str, ...]
    window: int
    max_faces: int
    recording: RecordingStatus | None
    loading_model: bool = False  # no model yet: the video runs, predictions wait for it
    per_frame_heads: tuple[str, ...] = ()  # valence/arousal learned by the per-frame model itself
