"""Recording a live session to CSV + sidecar: the same files as `analyze`, started and stopped
by the user while the analysis runs.

All methods are thread-safe: the session thread writes rows while the UI starts and stops.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from affect_live.lsl import LslStreams
from affect_live.markers import mark
from affect_live.metadata import model_summary, session_metadata
from affect_live.model.engine import AffectEngine
from affect_live.pipeline import PipelineSettings
from affect_live.recorder import Recording, RecordingOutcome
from affect_live.recording import RecordingError
from affect_live.sources import SourceInfo
from affect_live.types import FrameResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordingStatus:
    path: Path
    rows: int  # rows produced (on disk within a second)
    frames: int
    elapsed_s: float


class LiveRecorder:
    """The app's side of a `Recording`: at most one at a time, started and stopped by the user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._recording: Recording | None = None
        self._dropped_at_start = 0

    @property
    def active(self) -> bool:
        return self._recording is not None

    def start(self, path: Path, source: SourceInfo, settings: PipelineSettings, engine: AffectEngine, dropped_frames: int = 0) -> None:
        """Raises RecordingError (one line) when the files cannot be created."""
        with self._lock:
            if self._recording is not None:
                raise RecordingError(f"already recording to {self._recording.path}")
            meta = session_metadata(path.name, source, settings, engine) | {"mode": "live"}
            self._recording = Recording(path, meta)
            self._dropped_at_start = dropped_frames
        log.info("recording to %s", path)

    def write(self, result: FrameResult) -> None:
        """Raises RecordingError (disk full...); rows written before stay on disk."""
        with self._lock:
            if self._recording is not None:
                self._recording.write(result)

    def mark(self, text: str, origin: str, lsl: LslStreams | None, lsl_time: float | None = None) -> None:
        """A marker onto LSL and into the recording's events file (see markers.mark)."""
        with self._lock:
            mark(text, origin, self._recording, lsl, lsl_time)

    def note_model_change(self, engine: AffectEngine) -> None:
        with self._lock:
            if self._recording is not None:
                self._recording.note_model_change(model_summary(engine))

    def status(self) -> RecordingStatus | None:
        with self._lock:
            rec = self._recording
            return None if rec is None else RecordingStatus(rec.path, rec.rows, rec.frames, rec.elapsed_s)

    def stop(self, status: str, message: str, dropped_frames: int = 0) -> RecordingOutcome | None:
        """Close the CSV with every row on disk and finish the sidecar; None if not recording.
        `dropped_frames` is the pipeline's count now (those before the start are not counted)."""
        with self._lock:
            rec, self._recording = self._recording, None
        if rec is None:
            return None
        return rec.finish(status, message, dropped_frames=max(dropped_frames - self._dropped_at_start, 0))
