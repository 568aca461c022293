"""Recording a live session to CSV + sidecar: the same files as `analyze`, started and stopped
by the user while the analysis runs.

All methods are thread-safe: the session thread writes rows while the UI starts and stops.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affect_live.metadata import model_summary, session_metadata
from affect_live.model.engine import AffectEngine
from affect_live.pipeline import PipelineSettings
from affect_live.recording import CsvRecorder, RecordingError, now_iso, sidecar_path, write_sidecar
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
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._csv: CsvRecorder | None = None
        self._meta: dict[str, Any] = {}
        self._started = 0.0
        self._frames = 0
        self._last_frame: int | None = None
        self._face_ids: set[int] = set()

    @property
    def active(self) -> bool:
        return self._csv is not None

    def start(self, path: Path, source: SourceInfo, settings: PipelineSettings, engine: AffectEngine) -> None:
        """Raises RecordingError (one line) when the file cannot be created."""
        with self._lock:
            if self._csv is not None:
                raise RecordingError(f"already recording to {self._csv.path}")
            self._csv = CsvRecorder(path)
            self._meta = session_metadata(path.name, source, settings, engine) | {"mode": "live"}
            self._started, self._frames, self._last_frame = time.monotonic(), 0, None
            self._face_ids = set()
            write_sidecar(sidecar_path(path), self._meta)
        log.info("recording to %s", path)

    def write(self, result: FrameResult) -> None:
        """Raises RecordingError (disk full...); rows written before stay on disk."""
        with self._lock:
            if self._csv is None:
                return
            self._csv.write(result)
            self._frames += 1
            self._last_frame = result.frame_index
            self._face_ids.update(p.face_id for p in result.predictions)

    def note_model_change(self, engine: AffectEngine) -> None:
        """The sidecar lists every model that produced rows, and from where."""
        with self._lock:
            if self._csv is None:
                return
            change = {"after_row": self._csv.rows_total, "after_frame": self._last_frame, "model": model_summary(engine)}
            self._meta.setdefault("model_changes", []).append(change)
            write_sidecar(sidecar_path(self._csv.path), self._meta)

    def status(self) -> RecordingStatus | None:
        with self._lock:
            if self._csv is None:
                return None
            return RecordingStatus(self._csv.path, self._csv.rows_total, self._frames, time.monotonic() - self._started)

    def stop(self, why: str) -> RecordingStatus | None:
        """Close the CSV with every row on disk and finish the sidecar; None if not recording."""
        with self._lock:
            if self._csv is None:
                return None
            csv, self._csv = self._csv, None
            status, message = "complete", why
            try:
                csv.close()
            except RecordingError as exc:
                status, message = "failed", f"{why}; {exc}"
            elapsed = time.monotonic() - self._started
            self._meta.update(
                status=status,
                message=message,
                finished_at=now_iso(),
                frames_processed=self._frames,
                rows=csv.rows_written,
                face_ids=sorted(self._face_ids),
                timing={"wall_s": round(elapsed, 3)},
            )
            write_sidecar(sidecar_path(csv.path), self._meta)
            log.info("recording %s: %d rows (%s)", csv.path, csv.rows_written, message)
            return RecordingStatus(csv.path, csv.rows_written, self._frames, elapsed)
