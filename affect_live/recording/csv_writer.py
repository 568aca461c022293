"""Appending rows to a CSV so that a crash never loses what was flushed.

Rows are formatted into whole lines and handed to the OS with `os.write` in chunks of complete
lines, at least once a second (a timer), so a killed process leaves every flushed row on disk
and never a partial line; a write that fails half-way is cut back to its last whole row.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path

from affect_live.errors import RecordingError
from affect_live.recording.rows import CSV_COLUMNS, format_rows
from affect_live.types import FrameResult

log = logging.getLogger(__name__)


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
