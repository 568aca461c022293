"""One recording: the CSV of rows and its sidecar from start to outcome. `analyze` and the app's
recorder both use it, so the files, statuses and fields are the same in both paths.

Statuses in the sidecar: `running` while recording, then `complete`, `ended_early` (a file or
stream cut short), `interrupted` (Ctrl-C, SIGTERM, SIGHUP), `failed` (a write or thread failure; `message` says
why) or `source_lost` (a camera stopped delivering frames).
"""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from affect_live.errors import RecordingError
from affect_live.recording.csv_writer import CsvRecorder
from affect_live.recording.output_files import events_path, landmarks_path  # noqa: F401  (also imported from here)
from affect_live.recording.rows import CSV_COLUMNS, LANDMARK_COLUMNS, format_landmark_rows, format_rows
from affect_live.recording.sidecar import now_iso, sidecar_path, write_sidecar
from affect_live.types import FrameResult

log = logging.getLogger(__name__)

STATUSES = ("complete", "ended_early", "interrupted", "failed", "source_lost")
# The events file beside the CSV: one row per marker (affect-live's own, the user's, another
# program's LSL markers), at the newest frame recorded when it came.
EVENT_COLUMNS = ("frame", "time_s", "lsl_time", "origin", "marker")
OWN = "affect-live"  # the origin of affect-live's own markers; "user" for the app's M key


def _csv_line(values: list[object]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


class StageClock:
    """Mean milliseconds per frame of each pipeline stage."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)
        self.frames = 0

    def add(self, stage_ms: dict[str, float]) -> None:
        self.frames += 1
        for stage, ms in stage_ms.items():
            self.totals[stage] += ms

    def means(self) -> dict[str, float]:
        return {stage: round(total / max(self.frames, 1), 3) for stage, total in self.totals.items()}


@dataclass
class RecordingOutcome:
    """How a recording ended, as its sidecar says (message: why, for anything not complete)."""

    csv_path: Path
    status: str
    message: str = ""
    frames: int = 0
    rows: int = 0
    face_ids: set[int] = field(default_factory=set)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "complete"


def end_status(error: str | None, ended_early: str | None, source_kind: str) -> tuple[str, str]:
    """Status and message of a recording whose source stopped by itself: a thread failure, a
    camera gone (`source_lost`), a file cut short, or the end of a file."""
    if error:
        return "failed", error
    if ended_early:
        return ("source_lost" if source_kind == "camera" else "ended_early"), ended_early
    return "complete", ""


class Recording:
    """Writes every result's rows (on disk within `flush_interval_s`) and keeps the sidecar.

    Creating one writes the sidecar (`running`) and the CSV header; raises RecordingError (one
    line) when either cannot be written. Thread-safe: a session thread writes while the UI
    notes model changes or finishes.

    The CSV's header is the sidecar's `columns` (the fixed columns, then the action columns
    when they were computed); `meta["outputs"]["landmarks_csv"]` names the landmarks file,
    written when it is set."""

    def __init__(
        self, csv_path: Path, meta: dict[str, Any], flush_interval_s: float = 1.0, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.path = Path(csv_path)
        self._sidecar = sidecar_path(self.path)
        self._clock = clock
        self._lock = threading.Lock()
        self._meta = dict(meta, status="running", model_changes=[], events_csv=events_path(self.path).name, skipped_files=[])
        self.frames = 0
        self.face_ids: set[int] = set()
        self._last_frame: int | None = None
        self._last_time_s: float | None = None
        self._stages = StageClock()
        self._started = clock()
        self._events: CsvRecorder | None = None  # opened after the data CSV
        self._landmarks: CsvRecorder | None = None
        columns = tuple(meta.get("columns", CSV_COLUMNS))
        self._actions = len(columns) > len(CSV_COLUMNS)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(f"cannot create {self.path.parent}: {exc.strerror}") from None
        write_sidecar(self._sidecar, self._meta)
        try:
            self._csv = CsvRecorder(self.path, flush_interval_s, header=columns)
        except RecordingError as exc:
            self._finish_sidecar("failed", str(exc), rows=0, dropped_frames=0)
            raise
        try:
            self._events = CsvRecorder(events_path(self.path), flush_interval_s, header=EVENT_COLUMNS)
            if meta.get("outputs", {}).get("landmarks_csv"):
                self._landmarks = CsvRecorder(landmarks_path(self.path), flush_interval_s, header=LANDMARK_COLUMNS)
        except RecordingError as exc:
            for opened in (self._csv, self._events):
                if opened is not None:
                    with contextlib.suppress(RecordingError):
                        opened.close()
            self._finish_sidecar("failed", str(exc), rows=0, dropped_frames=0)
            raise
        self._outcome: RecordingOutcome | None = None

    @property
    def rows(self) -> int:
        """Rows produced so far (on disk within the flush interval)."""
        return self._csv.rows_total

    @property
    def elapsed_s(self) -> float:
        return self._clock() - self._started

    def write(self, result: FrameResult) -> None:
        """Raises RecordingError when a write failed (now or on the flush timer); the rows
        before it stay on disk, whole."""
        started = self._clock()
        with self._lock:
            self._csv.write_lines(format_rows(result, self._actions), len(result.predictions))
            if self._landmarks is not None:
                self._landmarks.write_lines(*format_landmark_rows(result))
            self.frames += 1
            self._last_frame, self._last_time_s = result.frame_index, result.time_s
            self.face_ids.update(p.face_id for p in result.predictions)
            self._stages.add(dict(result.stage_ms, write=(self._clock() - started) * 1000))

    def add_event(self, marker: str, origin: str, lsl_time: float | None = None) -> None:
        """A marker, at the newest frame recorded (empty before the first); raises
        RecordingError when the events file cannot be written."""
        with self._lock:
            time_s = "" if self._last_time_s is None else f"{self._last_time_s:.4f}"
            stamp = "" if lsl_time is None else f"{lsl_time:.6f}"
            frame = "" if self._last_frame is None else self._last_frame
            self._events.write_lines(_csv_line([frame, time_s, stamp, origin, marker]), 1)

    def note_model_change(self, model: dict[str, Any]) -> None:
        """The sidecar lists every model that produced rows, and from which row on."""
        with self._lock:
            change = {"after_row": self._csv.rows_total, "after_frame": self._last_frame, "at": now_iso(), "model": model}
            self._meta["model_changes"].append(change)
            try:
                write_sidecar(self._sidecar, self._meta)
            except RecordingError as exc:
                log.warning("%s", exc)  # the final sidecar write tries again and reports

    def finish(self, status: str, message: str = "", dropped_frames: int = 0, skipped: Sequence[tuple[str, str]] = ()) -> RecordingOutcome:
        """Close the CSV with every row on disk and write the outcome to the sidecar; a failed
        write turns any status into `failed` with the reason. `skipped`: input files passed
        over, with why (the sidecar's `skipped_files`). Safe to call twice."""
        assert status in STATUSES, status
        with self._lock:
            if self._outcome is not None:
                return self._outcome
            self._meta["skipped_files"] = [{"file": file, "reason": reason} for file, reason in skipped]
            errors = []
            for writer in (self._csv, self._events, self._landmarks):
                if writer is None:
                    continue
                try:
                    writer.close()
                except RecordingError as exc:
                    errors.append(str(exc))
            if errors:  # the data CSV's error first: it is what the user lost
                status, message = "failed", errors[0]
            wall_s = self.elapsed_s
            outcome = RecordingOutcome(self.path, status, message, self.frames, self._csv.rows_written, set(self.face_ids), wall_s)
            try:
                self._finish_sidecar(status, message, outcome.rows, dropped_frames, wall_s)
            except RecordingError as exc:
                outcome.status = "failed"
                outcome.message = f"{message}; {exc}" if message else str(exc)
            self._outcome = outcome
            log.info("recording %s: %d rows, %s %s", self.path, outcome.rows, outcome.status, outcome.message)
            return outcome

    def _finish_sidecar(self, status: str, message: str, rows: int, dropped_frames: int, wall_s: float = 0.0) -> None:
        self._meta.update(
            status=status,
            message=message,
            finished_at=now_iso(),
            frames_processed=self.frames,
            rows=rows,
            events=self._events.rows_written if self._events is not None else 0,
            face_ids=sorted(self.face_ids),
            dropped_frames=dropped_frames,
            timing={
                "wall_s": round(wall_s, 3),
                "fps": round(self.frames / wall_s, 2) if wall_s > 0 else None,
                "stage_ms_mean": self._stages.means(),
            },
        )
        write_sidecar(self._sidecar, self._meta)
