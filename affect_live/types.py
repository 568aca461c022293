"""Data that crosses module and thread boundaries.

Every hand-off in the pipeline is one of these immutable records, so a thread never shares
mutable state with another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

# Aff-Wild2 expression order (docs/model-spec.md); every model output is mapped to it.
EXPRESSIONS: tuple[str, ...] = (
    "neutral",
    "anger",
    "disgust",
    "fear",
    "happiness",
    "sadness",
    "surprise",
)

Box = tuple[float, float, float, float]  # x, y, w, h in pixels of the original frame

# MediaPipe Face Landmarker's 52 blendshape categories, in its output order; the CSV uses these
# names exactly.
BLENDSHAPE_NAMES: tuple[str, ...] = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight",
    "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft",
    "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight", "mouthClose",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight",
    "mouthPucker", "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower",
    "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)  # fmt: skip
POSE_COLUMNS: tuple[str, ...] = ("yaw", "pitch", "roll", "gaze_yaw", "gaze_pitch")


@dataclass(frozen=True)
class Frame:
    """One decoded frame of a source."""

    index: int  # 0-based position in the source
    time_s: float  # container time for files, monotonic seconds since start for cameras
    image: np.ndarray  # H x W x 3 uint8, BGR (OpenCV order)


@dataclass(frozen=True)
class Detection:
    """One face found by the detector."""

    box: Box
    score: float
    # 6 x 2 pixel coordinates in MediaPipe's order: right eye, left eye, nose tip,
    # mouth centre, right ear tragion, left ear tragion ("right" = the subject's right).
    keypoints: np.ndarray


@dataclass(frozen=True)
class FaceActions:
    """What the Face Landmarker measures on one face in one frame (degrees; signs in the CSV
    docs: yaw positive towards the image's right, pitch positive looking up, roll positive
    clockwise as the viewer sees the image)."""

    yaw: float
    pitch: float
    roll: float
    gaze_yaw: float
    gaze_pitch: float
    blendshapes: np.ndarray  # 52 floats in [0, 1], BLENDSHAPE_NAMES order
    landmarks: np.ndarray | None = None  # 478 x 3 (x, y in frame pixels; z in the same scale)
    landmark_score: float = 1.0  # the landmark model's face-presence probability


@dataclass(frozen=True)
class TrackedFace:
    """A detection with a stable identity and the crop the model expects."""

    face_id: int
    detection: Detection
    crop: np.ndarray  # model-input-sized crop, BGR uint8
    new_track: bool  # True on the first frame of this id: its window starts fresh
    actions: FaceActions | None = None  # None with --no-actions
    # The capture side's 478-point mesh (x, y in frame pixels) and its presence probability;
    # the inference side turns them into `actions` (blendshapes and pose run there, so the
    # per-face work is spread over both threads). None with --no-actions.
    landmarks: np.ndarray | None = None
    landmark_score: float = 1.0


@dataclass(frozen=True)
class FacePacket:
    """Everything the capture side produced for one frame."""

    frame_index: int
    time_s: float
    frame_size: tuple[int, int]  # width, height
    faces: tuple[TrackedFace, ...]
    captured_at: float  # time.perf_counter() once the frame was decoded, for latency
    ended_ids: tuple[int, ...] = ()  # ids whose tracks ended: their buffers can be freed
    stage_ms: dict[str, float] = field(default_factory=dict)
    image: np.ndarray | None = None  # the frame itself, only when a display needs it
    crop_generation: int = 0  # which model's crop style the crops follow (model swaps)


@dataclass(frozen=True)
class FacePrediction:
    """The model's output for one face in one frame."""

    face_id: int
    detection: Detection
    valence: float
    arousal: float
    probabilities: np.ndarray  # 7 floats in EXPRESSIONS order, summing to 1
    actions: FaceActions | None = None

    @property
    def expression(self) -> str:
        return EXPRESSIONS[int(np.argmax(self.probabilities))]


@dataclass(frozen=True)
class FrameResult:
    """All predictions of one frame, the unit every sink receives."""

    frame_index: int
    time_s: float
    frame_size: tuple[int, int]
    predictions: tuple[FacePrediction, ...]
    captured_at: float
    stage_ms: dict[str, float] = field(default_factory=dict)
    image: np.ndarray | None = None
