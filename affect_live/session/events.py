"""What the live session hands the UI: its state, events to tell the user, the frame to draw,
the status. All immutable: they cross from the session's threads to the GUI thread."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from affect_live.session.outputs import RecordingStatus
from affect_live.types import FacePrediction


class SessionState(enum.Enum):
    """The one current run, as the session controller sees it."""

    IDLE = "idle"  # nothing opened yet
    OPENING = "opening"  # a source is being opened (the previous one, if any, keeps playing)
    RUNNING = "running"
    PAUSED = "paused"
    RECONNECTING = "reconnecting"  # a camera stopped delivering frames: retried every 2 s
    ENDED = "ended"  # the source ended or failed; its last frame stays on screen
    CLOSED = "closed"


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
    state: SessionState = SessionState.IDLE
    frames_read: int = 0  # frames the current source delivered
    lsl: str = "off"  # "off", "opening" or "on"
    lsl_consumer: bool = False  # a recorder (an LSL inlet) has the data stream open
    crop_size: tuple[int, int] = (0, 0)  # the face crop the capture thread makes now
    capture_parked: bool = False  # paused, and the capture thread holds no frame in flight
    actions: bool = True  # the facial actions are measured
