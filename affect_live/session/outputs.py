"""Every output of an analysis, fed from one thread: the recording (CSV, events, landmarks,
sidecar), the annotated video, the LSL streams and the markers. `analyze` and the app send their
results and commands here, so they write the same files, markers and statuses by construction.

Any thread may call the methods: each becomes a command that the `outputs` thread runs in order,
and only that thread touches the writers and the LSL outlets, so switching LSL off while results
are pushed, or a marker while a recording stops, cannot race. Callers never wait on file or
network I/O: commands return a Future, the status is a snapshot replaced whole, and only results
wait (for room in the queue) when the disk falls behind, so no row is ever dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affect_live.baselines import LiveBaselines
from affect_live.errors import RecordingError
from affect_live.lsl.outlets import LslError, LslStreams
from affect_live.recording.recording import OWN, Recording, RecordingOutcome
from affect_live.render.annotated_video import AnnotatedVideoWriter
from affect_live.session.command_thread import CommandThread
from affect_live.session.markers import FaceEvents, mark
from affect_live.types import FrameResult

log = logging.getLogger(__name__)

PENDING_RESULTS = 256  # results queued before `write` waits: about 8 s of a camera at 30 fps


@dataclass(frozen=True)
class RecordingStatus:
    path: Path
    rows: int  # rows produced (on disk within a second)
    frames: int
    elapsed_s: float


@dataclass(frozen=True)
class OutputNotice:
    """Something the outputs thread must tell the user (LSL started or failed, a write failed)."""

    level: str  # "info", "warning" or "error"
    message: str
    topic: str  # "lsl", "recording_failed"
    outcome: RecordingOutcome | None = None  # the recording a failed write ended


def _ignore(notice: OutputNotice) -> None:
    log.debug("%s", notice.message)


class Outputs:
    """Starts its thread at once; `close()` ends it (a recording still open is finished first)."""

    def __init__(
        self,
        notify: Callable[[OutputNotice], None] = _ignore,
        lsl: LslStreams | None = None,
        video: AnnotatedVideoWriter | None = None,
        pending_results: int = PENDING_RESULTS,
        baselines: LiveBaselines | None = None,
    ) -> None:
        """`baselines`: streams this opens (`set_lsl`) carry the corrected channels too,
        corrected by these (the app's, which Calibrate sets at any time)."""
        self._notify = notify
        self._baselines = baselines
        self._room = threading.Semaphore(pending_results)  # results queued and not yet written
        # Owned by the outputs thread.
        self._recording: Recording | None = None
        self._dropped_at_start = 0
        self._lsl = lsl
        self._lsl_borrowed = lsl  # the caller's: detached, never closed, here
        self._lsl_wanted = lsl is not None
        self._lsl_opener: threading.Thread | None = None
        self._lsl_opening = False  # an opener runs; its outcome is still to come as a command
        self._video = video
        self._faces = FaceEvents()
        # Snapshots for any thread, replaced whole.
        self.recording_status: RecordingStatus | None = None
        self.lsl_state = "on" if lsl is not None else "off"  # "off", "opening" or "on"
        self.lsl_consumer = False  # an inlet had the data stream open at the last result pushed
        self._thread = CommandThread("outputs", on_close=self._shut)

    # -- commands (any thread) ------------------------------------------------------------------
    def write(self, result: FrameResult, stop: threading.Event | None = None) -> bool:
        """Queue one result for every output; waits while `PENDING_RESULTS` are queued (a slow
        disk), and gives up (False) when `stop` is set or the outputs are closed meanwhile."""
        while not self._room.acquire(timeout=0.1):
            if self._thread.closed or (stop is not None and stop.is_set()):
                return False
        if not self._thread.post(self._write, result):
            self._room.release()
            return False
        return True

    def start_recording(self, path: Path, meta: dict[str, Any], dropped_at_start: int = 0, source_name: str | None = None) -> Future[None]:
        """Create the files (the Future raises RecordingError when they cannot be); `source_name`
        announces the source first in the events file (`analyze`: one recording per source)."""
        return self._thread.call(self._start_recording, Path(path), meta, dropped_at_start, source_name)

    def stop_recording(
        self, status: str, message: str, dropped_frames: int = 0, skipped: Sequence[tuple[str, str]] = ()
    ) -> Future[RecordingOutcome | None]:
        """Finish the recording with every row on disk; None when none was open. `skipped`:
        input files passed over, with why (for the sidecar)."""
        return self._thread.call(self._stop_recording, status, message, dropped_frames, tuple(skipped))

    def mark(self, text: str, origin: str = OWN, lsl_time: float | None = None) -> Future[list[str]]:
        """A marker onto the Markers stream (unless it came from LSL) and into the events file;
        the Future says where it went (empty: nothing records or streams)."""
        return self._thread.call(self._mark, text, origin, lsl_time)

    def source_changed(self, name: str) -> None:
        """Faces of a new source appear afresh; the marker says which source."""
        self._thread.post(self._source_changed, name)

    def model_changed(self, label: str, model: Mapping[str, Any]) -> None:
        self._thread.post(self._model_changed, label, model)

    def set_lsl(self, on: bool, describe_model: Callable[[], Mapping[str, Any] | None] = lambda: None) -> None:
        """Stream on LSL or stop; the streams open in the background (loading liblsl takes about
        a second) and the outcome arrives as a notice."""
        self._thread.post(self._set_lsl, on, describe_model)

    def flush(self) -> Future[None]:
        """Done when every command queued before it has run."""
        return self._thread.call(lambda: None)

    def close(self, timeout: float | None = None) -> None:
        """Run what is queued, close the LSL streams and the video, and end the thread."""
        self._thread.close()
        self._thread.join(timeout)
        opener = self._lsl_opener
        if opener is not None:
            opener.join(timeout)

    # -- on the outputs thread ------------------------------------------------------------------
    def _shut(self) -> None:
        if self._recording is not None:
            self._stop_recording("complete", "the session was closed", 0)
        self._set_lsl(False, lambda: None)
        if self._video is not None:
            self._video.close()
            self._video = None

    # -- on the outputs thread ------------------------------------------------------------------
    def _write(self, result: FrameResult) -> None:
        try:
            if self._recording is not None:
                self._record(result)
            if self._video is not None:
                self._write_video(result)
            if self._lsl is not None:
                self._lsl.push(result)
                self.lsl_consumer = self._lsl.has_consumer()
            for text in self._faces.update(result):
                self._mark(text, OWN, None)
        finally:
            self._room.release()

    def _record(self, result: FrameResult) -> None:
        recording = self._recording
        assert recording is not None
        try:
            recording.write(result)
        except RecordingError as exc:
            self._fail(str(exc))
            return
        self.recording_status = RecordingStatus(recording.path, recording.rows, recording.frames, recording.elapsed_s)

    def _write_video(self, result: FrameResult) -> None:
        video = self._video
        assert video is not None
        try:
            video.write(result)
        except RecordingError as exc:
            self._video = None
            video.close()
            self._fail(str(exc))

    def _fail(self, message: str) -> None:
        """A write failed: the recording ends as failed, with every row before it on disk."""
        if self._recording is None:
            self._notify(OutputNotice("error", message, "recording_failed"))
            return
        self._mark("recording stopped: failed", OWN, None)
        recording, self._recording, self.recording_status = self._recording, None, None
        outcome = recording.finish("failed", message)
        said = f"recording stopped: {message}; {outcome.rows} rows already saved in {outcome.csv_path}"
        self._notify(OutputNotice("error", said, "recording_failed", outcome))

    def _start_recording(self, path: Path, meta: dict[str, Any], dropped_at_start: int, source_name: str | None) -> None:
        if self._recording is not None:
            raise RecordingError(f"already recording to {self._recording.path}")
        self._recording = Recording(path, meta)
        self._dropped_at_start = dropped_at_start
        self.recording_status = RecordingStatus(path, 0, 0, 0.0)
        log.info("recording to %s", path)
        if source_name is not None:
            self._mark(f"source changed: {source_name}", OWN, None)
        self._mark(f"recording started: {path.name}", OWN, None)

    def _stop_recording(self, status: str, message: str, dropped_frames: int, skipped: Sequence[tuple[str, str]] = ()) -> RecordingOutcome | None:
        recording = self._recording
        if recording is None:
            return None
        self._mark(f"recording stopped: {status}", OWN, None)
        self._recording, self.recording_status = None, None
        return recording.finish(status, message, dropped_frames=max(dropped_frames - self._dropped_at_start, 0), skipped=skipped)

    def _mark(self, text: str, origin: str, lsl_time: float | None) -> list[str]:
        return mark(text, origin, self._recording, self._lsl, lsl_time)

    def _source_changed(self, name: str) -> None:
        self._faces = FaceEvents()
        self._mark(f"source changed: {name}", OWN, None)

    def _model_changed(self, label: str, model: Mapping[str, Any]) -> None:
        if self._recording is not None:
            self._recording.note_model_change(dict(model))
        self._mark(f"model changed: {label}", OWN, None)

    def _set_lsl(self, on: bool, describe_model: Callable[[], Mapping[str, Any] | None]) -> None:
        self._lsl_wanted = on
        if not on:
            self.lsl_state = "off"
            streams, self._lsl = self._lsl, None
            if streams is not None and streams is not self._lsl_borrowed:
                streams.close()
            return
        if self._lsl is None:
            self.lsl_state = "opening"
        if self._lsl is None and not self._lsl_opening:
            self._lsl_opening = True
            self._lsl_opener = threading.Thread(target=self._open_lsl, args=(describe_model(),), name="lsl-open", daemon=True)
            self._lsl_opener.start()

    def _open_lsl(self, model: Mapping[str, Any] | None) -> None:
        """On the `lsl-open` thread: the streams go to the outputs thread, which keeps them only
        if LSL is still wanted then."""
        try:
            streams = LslStreams(model=model, baselines=self._baselines)
        except LslError as exc:
            self._thread.post(self._lsl_failed, str(exc))
            return
        if not self._thread.post(self._lsl_opened, streams):
            streams.close()  # closed meanwhile

    def _lsl_opened(self, streams: LslStreams) -> None:
        self._lsl_opening = False
        if not self._lsl_wanted or self._lsl is not None:
            streams.close()  # switched off (or on again) while it opened
            return
        self._lsl, self.lsl_state = streams, "on"
        self._notify(OutputNotice("info", "LSL: streaming affect-live (Affect) and affect-live-markers (Markers)", "lsl"))

    def _lsl_failed(self, message: str) -> None:
        self._lsl_opening = False
        self._lsl_wanted, self.lsl_state = False, "off"
        self._notify(OutputNotice("error", message, "lsl"))
