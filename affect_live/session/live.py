"""The app's session controller: one current run (a source through the pipeline) at a time,
in explicit states (`events.SessionState`). It never draws.

Who owns what, so that nothing is changed by two threads:
- the GUI thread calls the public methods, each a command for the control thread (no file or
  network I/O, no lock held across I/O), and polls snapshots: `stats()`, `display_frame()`,
  `latest()`, `history`, `events()`;
- `session-control` owns the state, the current run, the model and the settings; sources open on
  `source-open` (or `camera-reconnect`) threads and models on `weights`, and come back to it as
  commands, the newest request winning;
- `session` (one per run) takes the pipeline's results into the history and the outputs;
- `outputs` (`session.outputs`) owns the recording, the LSL streams and the markers.
Capture hands only the newest frame to the model (latest-wins) and the display shows the newest
captured frame with each face's newest values, so a slow model never freezes the video.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from affect_live.baselines import LiveBaselines
from affect_live.lsl.inlet import MarkerInlet
from affect_live.model.inference.engine import AffectEngine
from affect_live.pipeline.meters import RateMeter
from affect_live.pipeline.sources import FrameSource, RealTimePlayback
from affect_live.pipeline.threads import Pipeline, PipelineSettings
from affect_live.recording.recording import end_status
from affect_live.session.calibration import CALIBRATION_S, TOPIC, CalibrationRequest, Calibrations, add_baseline_columns
from affect_live.session.command_thread import CommandThread
from affect_live.session.events import DisplayFrame, LiveStats, SessionEvent, SessionState
from affect_live.session.run import FILE_KINDS, Run, check_recordable
from affect_live.session.history import FaceHistory
from affect_live.session.live_stats import live_stats
from affect_live.session.metadata import model_summary, session_metadata, stream_model_description
from affect_live.session.model_loader import ModelLoader
from affect_live.session.outputs import OutputNotice, Outputs
from affect_live.session.recording_reports import report_marker, report_start, report_stop
from affect_live.session.source_opener import SourceOpener
from affect_live.types import FacePrediction, FrameResult

log = logging.getLogger(__name__)

LIVE_SETTINGS = PipelineSettings(lossless=False, keep_images=True)


class LiveSession:
    """Starts without a model when given none: sources play at once and `load_weights` brings
    the model in the background (the app's start-up)."""

    def __init__(
        self, engine: AffectEngine | None = None, settings: PipelineSettings = LIVE_SETTINGS, history_span_s: float = 30.0, device: str = "CPU"
    ) -> None:
        self.history = FaceHistory(history_span_s)
        self.results_seen = 0  # results taken from pipelines so far (for benchmarks)
        self._events: queue.SimpleQueue[SessionEvent] = queue.SimpleQueue()
        self._closed = threading.Event()
        # Owned by the control thread; read whole by the others.
        self._engine = engine
        self._window: int | None = None  # asked for before a model was there
        self._settings = settings
        self._paused = False  # the user's choice; every new pipeline starts with it
        self._state = SessionState.IDLE
        self._state_before_open = SessionState.IDLE
        self._run: Run | None = None
        self._record_when_played: tuple[str, Path] | None = None  # (spec, csv): a file recorded from its start
        self._helpers: list[threading.Thread] = []  # consumers, openers, reconnects: joined by close()
        # The current run's results; `_results_lock` makes "still current?" and the write one step.
        self._results_lock = threading.Lock()
        self._latest: FrameResult | None = None
        self._values: dict[int, FacePrediction] = {}  # the newest result's faces, by id
        self._rates = RateMeter()
        self._marker_inlet: MarkerInlet | None = None
        # The baselines the app's Calibrate takes, which its LSL stream and plots correct with.
        self.calibrations = Calibrations(LiveBaselines(), self._tell)
        self.outputs = Outputs(self._on_output_notice, baselines=self.calibrations.baselines)
        self._control = CommandThread("session-control", lambda message: self._tell(SessionEvent("error", f"session: {message}")))
        self._post = self._control.post
        self.models = ModelLoader(device, lambda engine, paths: self._post(self._install_engine, engine, paths), self._tell, lambda: self._engine)
        self.sources = SourceOpener(self._post, self._spawn, self._closed)

    # -- commands from the GUI (any thread; none waits) ----------------------------------------
    def open(self, spec: str | int, loop: bool = False) -> None:
        """Analyse another source once it is open (the current one plays until then); a
        failure arrives as an `open_failed` event and the current source stays."""
        self._post(self._open, str(spec), loop)

    def play(self, source: FrameSource, spec: str) -> None:
        """Analyse an opened source (files at their own frame rate, like a camera)."""
        if not self._post(self._play, source, spec):
            source.close()

    def pause(self) -> None:
        self._post(self._set_paused, True)

    def resume(self) -> None:
        self._post(self._set_paused, False)

    def set_window(self, window: int) -> None:
        """A new window length restarts every face's window (on the inference thread)."""
        self._post(self._apply_window, window)

    def set_max_faces(self, max_faces: int) -> None:
        self._post(self._apply_max_faces, max_faces)

    def set_actions(self, on: bool) -> None:
        """Measure the facial actions (pose, gaze, blendshapes) or not; a recording keeps the
        columns it started with (empty while off)."""
        self._post(self._apply_actions, on)

    def load_weights(self, paths: Path | Sequence[Path] | None) -> None:
        """Load a bundle (several: their fusion; None: the bundled default) in the background;
        the outcome arrives as an event (see `ModelLoader`)."""
        paths = [] if paths is None else [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
        engine = self._engine
        self.models.load(paths, engine.windows.window if engine is not None else self._window)

    def set_lsl(self, on: bool) -> None:
        """Stream on LSL or stop (the streams open in the background; the outcome is an event)."""
        self.outputs.set_lsl(on, lambda: stream_model_description(self._engine) if self._engine is not None else None)

    def start_recording(self, csv_path: Path, from_start: bool = False) -> None:
        """Record every result from now on, or (`from_start`, files only) the whole file: it is
        opened again, played without dropping a frame (at the model's pace when that is slower)
        and the end of the file ends the recording. Raises RecordingError (one line) when there
        is nothing to record; a file that cannot be created arrives as a `recording_failed` event."""
        check_recordable(self._run, from_start, self._engine is not None)
        self._post(self._record_from_start if from_start else self._start_recording, Path(csv_path))

    def stop_recording(self, status: str = "complete", why: str = "stopped by the user") -> None:
        """The outcome arrives as a `recording_stopped` event (`status` "interrupted": the app
        was stopped by a signal)."""
        self._post(self._stop_recording, status, why, None, True)

    def calibrate(self, face_id: int, seconds: float = CALIBRATION_S) -> None:
        """Take the face's neutral baseline over the next `seconds` of the source (the app's
        Calibrate); what happens arrives as "calibration" events."""
        self._post(self._calibrate, CalibrationRequest(face_id, seconds))

    def follow_markers(self, name: str) -> None:
        """Record another program's LSL marker stream (found whenever it appears) into every
        recording's events file; raises LslError (one line) without LSL."""
        self._marker_inlet = MarkerInlet(name, lambda text, stamp: self.mark(text, name, stamp))

    def mark(self, text: str, origin: str = "user", lsl_time: float | None = None) -> None:
        """A marker onto the Markers stream (unless it came from LSL) and into the recording's
        events file. Any thread. The user's own are confirmed with where they went, or refused
        when nothing records or streams (a `marker` event, a warning then)."""
        went = self.outputs.mark(text, origin, lsl_time)
        if origin == "user":
            went.add_done_callback(partial(report_marker, self._tell, text))

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every command given so far has run, outputs included (tests, benchmarks)."""
        try:
            self._control.call(lambda: None).result(timeout)
            self.outputs.flush().result(timeout)
        except Exception:  # a timeout or a closed session
            return False
        return True

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop everything within `timeout_s` in all; a recording in progress is closed with
        every row on disk."""
        deadline = time.monotonic() + timeout_s
        self._post(self._shut_down)
        self._control.close()
        self._closed.set()  # helpers stop retrying and waiting
        self._control.join(max(deadline - time.monotonic(), 0))
        for thread in [*self._helpers, self.models]:
            thread.join(max(deadline - time.monotonic(), 0))
        self.outputs.close(max(deadline - time.monotonic(), 0))
        if self._marker_inlet is not None:
            self._marker_inlet.close()
        late = [t.name for t in self._helpers if t.is_alive()]
        if late:
            log.warning("still waiting for %s", ", ".join(late))

    # -- what the GUI polls ---------------------------------------------------------------------
    @property
    def engine(self) -> AffectEngine | None:
        """The newest model loaded (even before its first frame); None while the first loads."""
        return self._engine

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def paused(self) -> bool:
        return self._paused

    def latest(self) -> FrameResult | None:
        return self._latest

    def display_frame(self) -> DisplayFrame | None:
        """The newest frame for the video view, at capture rate whatever the model's speed."""
        run = self._run
        return run.display_frame(self._values) if run is not None else None

    def events(self) -> list[SessionEvent]:
        drained = []
        while True:
            try:
                drained.append(self._events.get_nowait())
            except queue.Empty:
                return drained

    def stats(self) -> LiveStats:
        return live_stats(self._run, self._rates, self._engine, self._window, self._settings, self._paused, self._state, self.outputs)

    # -- plumbing ---------------------------------------------------------------------------
    def _tell(self, event: SessionEvent) -> None:
        self._events.put(event)

    def _on_output_notice(self, notice: OutputNotice) -> None:
        self._tell(SessionEvent(notice.level, notice.message, notice.topic))

    def _spawn(self, target: Callable[..., None], name: str, args: tuple[Any, ...]) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._helpers = [t for t in self._helpers if t.is_alive()] + [thread]
        thread.start()

    # -- on the control thread ------------------------------------------------------------------
    def _open(self, spec: str, loop: bool) -> None:
        self._record_when_played = None  # another source was asked for
        if self._state is not SessionState.OPENING:
            self._state_before_open = self._state
        self._state = SessionState.OPENING
        self.sources.open(spec, loop, self._opened, self._open_failed)

    def _opened(self, source: FrameSource, spec: str, reconnected: bool) -> None:
        self._play(source, spec, keep_paused=reconnected)
        if reconnected:
            self._tell(SessionEvent("info", f"camera {spec} is back", "camera_back"))

    def _open_failed(self, spec: str, message: str) -> None:
        if self._record_when_played is not None:
            self._record_when_played = None
            self._tell(SessionEvent("error", f"recording not started: {message}", "recording_failed"))
        self._state = self._state_before_open
        self._tell(SessionEvent("error", message, "open_failed", spec))

    def _play(self, source: FrameSource, spec: str, keep_paused: bool = False) -> None:
        """Switch to `source` without waiting for the old one: it winds down on its own threads.
        A source the user opens starts playing; a camera that came back keeps a pause."""
        self.sources.cancel()  # an open or reconnect still under way is now stale
        self._paused = self._paused and keep_paused
        if source.info.kind in FILE_KINDS:
            source = RealTimePlayback(source)
        record, self._record_when_played = self._record_when_played, None
        record_path = record[1] if record is not None and record[0] == spec else None
        previous = self._run
        # A file recorded from its start loses no frame: it waits for the model instead.
        settings = replace(self._settings, lossless=record_path is not None or self._settings.lossless)
        pipeline = Pipeline(source, self._engine, settings, after=previous.pipeline if previous else None)
        pipeline.on_engine(self._prepare_engine)  # on the inference thread, before its first frame
        if self._paused:
            pipeline.pause()
        run = Run(pipeline, spec, source.info)
        with self._results_lock:  # the old run's results stop here, before the markers below
            self._run = run
            self.history.clear()
            self._rates.clear()
            self._latest, self._values = None, {}
            if previous is not None:
                previous.pipeline.request_stop()
                self._stop_recording("complete", "source changed", run=previous)
            self.calibrations.forget("the source changed (its faces get new ids)")
            self.outputs.source_changed(source.info.name)
            if record_path is not None:
                self._start_recording(record_path)  # before this run's first result
        self._state = SessionState.PAUSED if self._paused else SessionState.RUNNING
        self._spawn(self._consume, "session", (run,))
        self._tell(SessionEvent("info", f"analysing {source.info.name}", "source_opened", spec))
        log.info("analysing %s (%s)", source.info.name, source.info.kind)

    def _prepare_engine(self, engine: AffectEngine) -> None:
        """A new source starts every face's window afresh, at the session's window length."""
        window = self._window
        if window is not None and window != engine.windows.window:
            engine.set_window(window)
        else:
            engine.reset()

    def _run_ended(self, run: Run) -> None:
        if run is not self._run:
            return
        run.ended = True
        self.calibrations.stop("the source ended")
        pipeline = run.pipeline
        status, message = end_status(pipeline.error, pipeline.ended_early, run.info.kind)
        message = message or (f"end of file: {Path(run.info.name).name} played to its end" if run.info.kind in FILE_KINDS else f"{run.info.name} ended")
        self._stop_recording(status, message, run=run)
        if pipeline.error:
            if pipeline.error_traceback:
                log.error("analysis of %s failed: %s\n%s", run.info.name, pipeline.error, pipeline.error_traceback.rstrip())
            self._state = SessionState.ENDED
            self._tell(SessionEvent("error", f"analysis of {run.info.name} failed: {pipeline.error}", "source_failed"))
            return
        self._tell(SessionEvent("warning" if pipeline.ended_early else "info", message, "source_ended"))
        if run.info.kind != "camera":
            self._state = SessionState.ENDED
            return
        self._state = SessionState.RECONNECTING
        self._tell(SessionEvent("warning", f"waiting for camera {run.spec} to come back...", "camera_waiting"))
        self.sources.reconnect(run.spec, self._opened)

    def _set_paused(self, paused: bool) -> None:
        self._paused = paused
        run = self._run
        if run is not None and not run.ended:
            (run.pipeline.pause if paused else run.pipeline.resume)()
        if self._state in (SessionState.RUNNING, SessionState.PAUSED):
            self._state = SessionState.PAUSED if paused else SessionState.RUNNING

    def _apply_window(self, window: int) -> None:
        self._window = window  # session state: every new pipeline starts with it
        if self._engine is None:
            return  # the model still loading gets it
        run = self._run
        if run is not None and not run.ended:
            run.pipeline.on_engine(lambda engine: engine.set_window(window))
        else:
            self._engine.set_window(window)  # no inference thread runs it now

    def _apply_max_faces(self, max_faces: int) -> None:
        self._settings = replace(self._settings, max_faces=max_faces)  # for every new pipeline
        if self._run is not None:
            self._run.pipeline.set_max_faces(max_faces)

    def _apply_actions(self, on: bool) -> None:
        self._settings = replace(self._settings, actions=on)
        if self._run is not None:
            self._run.pipeline.set_actions(on)

    def _install_engine(self, engine: AffectEngine, paths: list[Path]) -> None:
        if self._window is not None and self._window != engine.windows.window:
            engine.set_window(self._window)  # changed while it loaded
        self.outputs.model_changed(engine.info.label, model_summary(engine))
        self.calibrations.forget("the model changed")
        if self._run is not None:
            self._run.pipeline.replace_engine(engine)
        self._engine = engine
        detail = os.pathsep.join(str(p) for p in paths)  # "" = the default model
        self._tell(SessionEvent("info", f"model {engine.info.name} ready on {engine.info.device}", "model_loaded", detail))

    def _calibrate(self, request: CalibrationRequest) -> None:
        run = self._run
        why = "no source is running" if run is None or run.ended else "the model is still loading" if self._engine is None else ""
        if why:
            self._tell(SessionEvent("warning", f"face {request.face_id} not calibrated: {why}", TOPIC))
        else:
            self.calibrations.request(request)

    def _start_recording(self, path: Path) -> None:
        run, engine = self._run, self._engine
        if run is None or run.ended or engine is None:
            self._tell(SessionEvent("error", "nothing to record: the source ended before the recording could start", "recording_failed"))
            return
        meta = session_metadata(path.name, run.info, self._settings, engine) | {"mode": "live"}
        started = self.outputs.start_recording(path, meta, run.pipeline.dropped_frames)
        started.add_done_callback(partial(report_start, self._tell, path))

    def _record_from_start(self, path: Path) -> None:
        """Open the current file again (not looped: its end ends the recording) and record it
        from its first frame; the old run plays until the new one starts."""
        run = self._run
        if run is None:
            return
        self._open(run.spec, False)
        self._record_when_played = (run.spec, path)

    def _stop_recording(self, status: str, why: str, run: Run | None = None, by_user: bool = False) -> None:
        run = run or self._run
        stopped = self.outputs.stop_recording(status, why, run.pipeline.dropped_frames if run is not None else 0)
        stopped.add_done_callback(partial(report_stop, self._tell, why, by_user))
        stopped.add_done_callback(partial(add_baseline_columns, self._tell, self.calibrations.baselines.all()))

    def _shut_down(self) -> None:
        self.sources.cancel()
        run = self._run
        if run is not None:
            run.pipeline.request_stop()
            self._stop_recording("complete", "the app was closed", run=run)
        self._state = SessionState.CLOSED

    # -- on a run's `session` thread ------------------------------------------------------------
    def _consume(self, run: Run) -> None:
        pipeline = run.pipeline
        try:
            for result in pipeline.results():
                with self._results_lock:
                    if run is not self._run:
                        break  # replaced or closed: its last results go nowhere
                    now = time.perf_counter()
                    self._rates.add(now, (now - result.captured_at) * 1000)
                    self.results_seen += 1
                    self.history.add(result)
                    self.calibrations.add(result)
                    self._latest = result
                    self._values = {p.face_id: p for p in result.predictions}
                    self.outputs.write(result, self._closed)
        except Exception as exc:  # never a traceback for the user: one line, the detail in the log
            log.error("session thread failed", exc_info=True)
            pipeline.error = pipeline.error or f"session failed: {exc}"
        self._post(self._run_ended, run)
