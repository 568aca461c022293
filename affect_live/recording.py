"""CSV recording of predictions (one row per face per frame) and its JSON sidecar.

Crash safety: rows are formatted into whole lines and handed to the OS with `os.write` in
chunks of complete lines, at least once a second (a timer), so a killed process leaves every
flushed row on disk and never a partial line; a write that fails half-way is cut back to its
last whole row. The sidecar is rewritten atomically (temp file + rename).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import platform
import threading
from importlib import metadata
from pathlib import Path
from collections.abc import Sequence
from typing import Any

from affect_live.types import BLENDSHAPE_NAMES, EXPRESSIONS, POSE_COLUMNS, FrameResult

log = logging.getLogger(__name__)

CSV_COLUMNS: tuple[str, ...] = (
    "frame", "time_s", "face_id", "x", "y", "w", "h", "det_score", "valence", "arousal",
    *EXPRESSIONS, "expression",
)  # fmt: skip
# With actions (the default) these follow the fixed columns: degrees, then scores in [0, 1].
ACTION_COLUMNS: tuple[str, ...] = (*POSE_COLUMNS, *BLENDSHAPE_NAMES)
# The --landmarks companion file: one row per face and frame, the 478 points in pixels.
LANDMARK_COLUMNS: tuple[str, ...] = ("frame", "face_id", *(f"{axis}{i}" for i in range(478) for axis in "xyz"))
_EMPTY_ACTIONS = "," * len(ACTION_COLUMNS)
# What computes the numbers (those installed are listed; TensorFlow only with the train extra).
_VERSIONED_PACKAGES = ("affect-live", "numpy", "opencv-contrib-python", "ai-edge-litert", "onnxruntime", "tensorflow-cpu", "tensorflow", "keras")


class RecordingError(OSError):
    """Writing the recording failed (disk full, permissions); the message is one line."""


def sidecar_path(csv_path: Path) -> Path:
    return Path(csv_path).with_suffix(".meta.json")


def csv_columns(actions: bool) -> tuple[str, ...]:
    """The CSV header: the fixed columns, then the action columns when they are computed."""
    return (*CSV_COLUMNS, *ACTION_COLUMNS) if actions else CSV_COLUMNS


def format_rows(result: FrameResult, actions: bool = False) -> str:
    """The CSV lines of one frame (empty when no face was seen); with ``actions``, each row
    ends in the action columns (empty for a face that has none)."""
    lines = []
    for p in result.predictions:
        x, y, w, h = p.detection.box
        probs = ",".join(f"{v:.6f}" for v in p.probabilities)
        tail = ""
        if actions:
            a = p.actions
            tail = _EMPTY_ACTIONS if a is None else (
                f",{a.yaw:.2f},{a.pitch:.2f},{a.roll:.2f},{a.gaze_yaw:.2f},{a.gaze_pitch:.2f},"
                + ",".join(f"{v:.4f}" for v in a.blendshapes)
            )
        lines.append(
            f"{result.frame_index},{result.time_s:.4f},{p.face_id},{x:.1f},{y:.1f},{w:.1f},{h:.1f},"
            f"{p.detection.score:.4f},{p.valence:.4f},{p.arousal:.4f},{probs},{p.expression}{tail}\n"
        )
    return "".join(lines)


def format_landmark_rows(result: FrameResult) -> tuple[str, int]:
    """The --landmarks lines of one frame (faces with landmarks only) and how many."""
    lines = []
    for p in result.predictions:
        if p.actions is None or p.actions.landmarks is None:
            continue
        points = ",".join(f"{v:.1f}" for v in p.actions.landmarks.reshape(-1))
        lines.append(f"{result.frame_index},{p.face_id},{points}\n")
    return "".join(lines), len(lines)


class CsvRecorder:
    """Appends rows as they are produced; a timer thread hands them to the OS at least every
    `flush_interval_s`, also when no new row arrives (a paused or faceless recording).

    A write that fails half-way (disk full, file size limit) is cut back to its last whole row,
    so the file never ends in a partial line; the error is raised by the next `write` or by
    `close`. Thread-safe.
    """

    def __init__(self, path: Path, flush_interval_s: float = 1.0, header: Sequence[str] = CSV_COLUMNS) -> None:
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.rows_written = 0  # rows on disk
        self.rows_total = 0  # rows produced, flushed or not
        self._pending: list[str] = []
        self._size = 0  # bytes of whole lines on disk
        self._error: RecordingError | None = None  # a failed write: the file is final
        self._lock = threading.Lock()
        self._closed = threading.Event()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            raise RecordingError(f"cannot create {self.path}: {exc.strerror}") from None
        try:
            self._write_lines((",".join(header) + "\n").encode())
        except RecordingError:
            os.close(self._fd)
            self._fd = None
            raise
        self._timer = threading.Thread(target=self._flush_on_timer, name="csv-flush", daemon=True)
        self._timer.start()

    def _write_lines(self, data: bytes) -> int:
        """Write whole lines and return how many; on failure keep the lines written completely
        (cutting off a partial one), count them among the rows on disk and raise."""
        assert self._fd is not None
        view, written = memoryview(data), 0
        try:
            while written < len(data):
                written += os.write(self._fd, view[written:])
        except OSError as exc:
            whole = data.rfind(b"\n", 0, written) + 1
            self._size += whole
            lines = data.count(b"\n", 0, whole)
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                log.debug("cannot truncate %s", self.path, exc_info=True)
            self._error = RecordingError(f"cannot write {self.path}: {exc.strerror}")
            self.rows_written += lines  # a failed header write keeps no line, so no row is miscounted
            raise self._error from None
        self._size += len(data)
        return data.count(b"\n")

    def write(self, result: FrameResult) -> None:
        """Queue the frame's rows; raises RecordingError once a write has failed."""
        self.write_lines(format_rows(result), len(result.predictions))

    def write_lines(self, text: str, rows: int) -> None:
        """Queue `rows` whole CSV lines (`text` ends in a newline)."""
        with self._lock:
            if self._error is not None:
                raise self._error
            if text:
                self._pending.append(text)
                self.rows_total += rows

    def flush(self) -> None:
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._error is not None:
            raise self._error
        if not self._pending or self._fd is None:
            return
        data = "".join(self._pending).encode()
        self._pending.clear()
        self.rows_written += self._write_lines(data)

    def _flush_on_timer(self) -> None:
        while not self._closed.wait(self.flush_interval_s):
            try:
                self.flush()
            except RecordingError:
                return  # kept in self._error for the writer to report

    def close(self) -> None:
        """Flush and close; safe to call twice, and after a failed write (raises its error)."""
        self._closed.set()
        if self._timer is not threading.current_thread():
            self._timer.join()
        with self._lock:
            if self._fd is None:
                return
            try:
                self._flush_locked()
            finally:
                os.close(self._fd)
                self._fd = None


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def write_sidecar(path: Path, content: dict[str, Any]) -> None:
    """Write JSON atomically (temp file + rename); raises RecordingError (one line).

    Without room for a second copy (disk full, file size limit) the existing sidecar is
    overwritten in place, compact and padded with spaces to its old length, which needs no new
    disk space: the final status still gets written when the CSV filled the disk. The temp file
    never stays behind.
    """
    tmp = path.with_name(path.name + ".partial")
    try:
        tmp.write_text(json.dumps(content, indent=2, default=str))
        os.replace(tmp, path)
        return
    except OSError as exc:
        error = exc
    with contextlib.suppress(OSError):
        tmp.unlink()
    compact = json.dumps(content, separators=(",", ":"), default=str).encode()
    try:
        size = path.stat().st_size
        if len(compact) <= size:
            with open(path, "r+b") as handle:
                handle.write(compact + b" " * (size - len(compact)))  # trailing spaces are valid JSON
            return
    except OSError:
        log.debug("cannot overwrite %s in place", path, exc_info=True)
    raise RecordingError(f"cannot write {path}: {error.strerror}")
