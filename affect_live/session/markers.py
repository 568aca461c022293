"""Markers: where each goes (the LSL Markers stream when streaming, the recording's events file
when recording) and the ones affect-live derives from results (faces coming and going).
Shared by `analyze` and the app."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from affect_live.errors import RecordingError
from affect_live.types import FrameResult

from affect_live.lsl.outlets import MARKER_STREAM
from affect_live.recording.recording import events_path

if TYPE_CHECKING:
    from affect_live.lsl.outlets import LslStreams
    from affect_live.recording.recording import Recording

log = logging.getLogger(__name__)


def mark(text: str, origin: str, recording: Recording | None, lsl: LslStreams | None, lsl_time: float | None = None) -> list[str]:
    """Publish a marker on LSL (unless it came from LSL: `lsl_time` given) and add it to the
    recording's events file; where it went, for the user ("" for nowhere: nothing records or
    streams). A failing events file is only logged at debug level: the recording's outcome
    reports it (one error line, not one per marker)."""
    went = []
    if lsl is not None and lsl_time is None:
        lsl_time = lsl.marker(text)
        went.append(f"LSL {MARKER_STREAM}")
    if recording is not None:
        try:
            recording.add_event(text, origin, lsl_time)
            went.insert(0, events_path(recording.path).name)
        except RecordingError as exc:
            log.debug("%s", exc)
    return went


class FaceEvents:
    """Markers for faces coming and going, from consecutive results: an id seen for the first
    time appeared, one missing from a frame is lost, a lost id seen again is re-identified."""

    def __init__(self) -> None:
        self._seen: set[int] = set()
        self._visible: set[int] = set()

    def update(self, result: FrameResult) -> list[str]:
        ids = {p.face_id for p in result.predictions}
        markers = [f"face {i} lost" for i in sorted(self._visible - ids)]
        for face_id in sorted(ids - self._visible):
            markers.append(f"face {face_id} {'re-identified' if face_id in self._seen else 'appeared'}")
        self._seen |= ids
        self._visible = ids
        return markers
