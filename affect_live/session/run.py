"""One run of the live session: a source through one pipeline, what it shows (the newest
captured frame with each face's newest values) and its figures for the status."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from affect_live.errors import RecordingError
from affect_live.pipeline.sources import SourceInfo
from affect_live.pipeline.threads import Pipeline
from affect_live.session.events import DisplayFrame
from affect_live.types import FacePrediction, TrackedFace

FILE_KINDS = ("video", "images")  # played at their own pace, and can be recorded from their start


def on_frame(face: TrackedFace, newest: FacePrediction) -> FacePrediction:
    """A face's newest values drawn on the frame shown: the box and mesh come from that frame's
    capture; the values (and pose) may be from an older frame when the model is slower. The
    newest result's own landmarks are never drawn here: under load they are frames behind, so
    the contours would sit beside the face."""
    actions = face.actions or newest.actions
    if actions is not None and face.actions is None:
        actions = replace(actions, landmarks=face.landmarks, landmark_score=face.landmark_score)  # None: not meshed, no contours
    return replace(newest, detection=face.detection, actions=actions)


@dataclass
class Run:
    """One source through one pipeline; `ended` is set by the session's control thread."""

    pipeline: Pipeline
    spec: str
    info: SourceInfo
    ended: bool = False

    def display_frame(self, values: dict[int, FacePrediction]) -> DisplayFrame | None:
        """The newest captured frame with the newest values of its faces (`values`, by id)."""
        packet = self.pipeline.latest_packet
        if packet is None or packet.image is None:
            return None
        predictions = tuple(on_frame(face, values[face.face_id]) for face in packet.faces if face.face_id in values)
        return DisplayFrame(packet.frame_index, packet.image, predictions)

    def figures(self) -> dict[str, Any]:
        """Its part of `LiveStats`."""
        pipeline = self.pipeline
        return {
            "source": self.info.name,
            "source_kind": self.info.kind,
            "running": not self.ended,
            "capture_fps": pipeline.capture_meter.rate(time.perf_counter()),
            "dropped_frames": pipeline.dropped_frames,
            "frames_read": pipeline.frames_read,
            "crop_size": pipeline.faces.style.size,
            "capture_parked": pipeline.parked,
        }


def check_recordable(run: Run | None, from_start: bool, model_loaded: bool) -> None:
    """Why a recording cannot start now, as a RecordingError (one line)."""
    if run is None:
        raise RecordingError("nothing to record: no source is running")
    if from_start and run.info.kind not in FILE_KINDS:
        raise RecordingError(f"only a file can be recorded from its start, not a {run.info.kind}")
    if run.ended and not from_start:
        raise RecordingError(f"nothing to record: {run.info.name} has ended; open a source first")
    if not model_loaded:
        raise RecordingError("the model is still loading: start the recording in a moment")
