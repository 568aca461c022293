"""CSV recording of predictions (one row per face per frame) and its JSON sidecar.

Crash safety: rows are formatted into whole lines and handed to the OS with `os.write` in
chunks of complete lines, at least once a second, so a killed process leaves every flushed row
on disk and never a partial line. The sidecar is rewritten atomically (temp file + rename).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from affect_live.types import EXPRESSIONS, FrameResult

log = logging.getLogger(__name__)

CSV_COLUMNS: tuple[str, ...] = (
    "frame", "time_s", "face_id", "x", "y", "w", "h", "det_score", "valence", "arousal",
    *EXPRESSIONS, "expression",
)  # fmt: skip
_VERSIONED_PACKAGES = ("affect-live", "numpy", "opencv-contrib-python", "mediapipe", "ai-edge-litert", "tensorflow-cpu", "tensorflow", "keras")


class RecordingError(OSError):
    """Writing the recording failed (disk full, permissions); the message is one line."""


def sidecar_path(csv_path: Path) -> Path:
    return Path(csv_path).with_suffix(".meta.json")


def format_rows(result: FrameResult) -> str:
    """The CSV lines of one frame (empty when no face was seen)."""
    lines = []
    for p in result.predictions:
        x, y, w, h = p.detection.box
        probs = ",".join(f"{v:.6f}" for v in p.probabilities)
        lines.append(
            f"{result.frame_index},{result.time_s:.4f},{p.face_id},{x:.1f},{y:.1f},{w:.1f},{h:.1f},"
            f"{p.detection.score:.4f},{p.valence:.4f},{p.arousal:.4f},{probs},{p.expression}\n"
        )
    return "".join(lines)


class CsvRecorder:
    """Appends rows as they are produced; flushes whole lines at least every `flush_interval_s`."""

    def __init__(self, path: Path, flush_interval_s: float = 1.0) -> None:
        self.path = Path(path)
        self.flush_interval_s = flush_interval_s
        self.rows_written = 0  # rows on disk
        self.rows_total = 0  # rows produced, flushed or not
        self._pending: list[str] = []
        self._pending_rows = 0
        self._last_flush = time.monotonic()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            raise RecordingError(f"cannot create {self.path}: {exc.strerror}") from None
        self._write_all((",".join(CSV_COLUMNS) + "\n").encode())

    def _write_all(self, data: bytes) -> None:
        if self._fd is None:
            raise RecordingError(f"{self.path} is closed")
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            raise RecordingError(f"cannot write {self.path}: {exc.strerror}") from None

    def write(self, result: FrameResult) -> None:
        text = format_rows(result)
        if text:
            self._pending.append(text)
            self._pending_rows += len(result.predictions)
            self.rows_total += len(result.predictions)
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        self._last_flush = time.monotonic()
        if not self._pending:
            return
        data = "".join(self._pending).encode()
        self._pending.clear()
        rows, self._pending_rows = self._pending_rows, 0
        self._write_all(data)
        self.rows_written += rows

    def close(self) -> None:
        """Flush and close; safe to call twice, and after a failed write."""
        if self._fd is None:
            return
        try:
            self.flush()
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
    """Write JSON atomically; a failure is logged, never fatal (the CSV matters more)."""
    tmp = path.with_name(path.name + ".partial")
    try:
        tmp.write_text(json.dumps(content, indent=2, default=str))
        os.replace(tmp, path)
    except OSError as exc:
        log.error("cannot write %s: %s", path, exc.strerror)
