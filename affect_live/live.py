"""A live analysis session: the pipeline run on one source at a time, for the desktop app.

The session is the controller the UI talks to; it never draws. A session thread takes every
result of the pipeline, feeds the plots' history and the recorder, and keeps the newest result;
the display polls `display_frame()`, `latest()`, `stats()` and `events()` on its own timer.
Capture hands only the newest frame to the model (latest-wins), and the display shows the newest
captured frame with its tracked boxes and each face's newest values, so a slow model never
freezes the video: only its numbers update less often.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from affect_live.history import FaceHistory
from affect_live.meters import RateMeter
from affect_live.metadata import stream_model_description
from affect_live.live_lsl import LiveLsl
from affect_live.live_recording import LiveRecorder
from affect_live.live_types import DisplayFrame, LiveStats, SessionEvent
from affect_live.lsl_inlet import MarkerInlet
from affect_live.markers import OWN, FaceEvents
from affect_live.recorder import RecordingOutcome, end_status
from affect_live.model.bundle import DEFAULT_BUNDLE, load_bundle
from affect_live.model.engine import AffectEngine, EngineInfo
from affect_live.pipeline import Pipeline, PipelineSettings
from affect_live.recording import RecordingError
from affect_live.sources import FrameSource, LoopingVideoSource, RealTimePlayback, SourceError, open_source
from affect_live.types import FacePrediction, FrameResult

log = logging.getLogger(__name__)

RECONNECT_INTERVAL_S = 2.0
LIVE_SETTINGS = PipelineSettings(lossless=False, keep_images=True)


class LiveSession:
    """Starts without a model when given none: sources play at once and `load_weights` brings
    the model in the background (the app's start-up)."""

    def __init__(
        self, engine: AffectEngine | None = None, settings: PipelineSettings = LIVE_SETTINGS, history_span_s: float = 30.0, device: str = "CPU"
    ) -> None:
        self._engine = engine
        self._device = device
        self._window: int | None = None  # asked for before a model was there
        self._settings = settings
        self.history = FaceHistory(history_span_s)
        self._events: queue.SimpleQueue[SessionEvent] = queue.SimpleQueue()
        self._lock = threading.RLock()  # guards the pipeline switch
        self._pipeline: Pipeline | None = None
        self._threads: list[threading.Thread] = []  # session threads, joined by close()
        self._source_spec: str | None = None
        self._source_name = ""
        self._source_kind = ""
        self._latest: FrameResult | None = None
        self._values: dict[int, FacePrediction] = {}  # the newest result's faces, by id
        self._ended = False  # the current source has ended (the pipeline object stays for stats)
        self._results = RateMeter()
        self.results_seen = 0  # results taken from pipelines so far (for benchmarks)
        self._closed = threading.Event()
        self._loading = False
        self.recorder = LiveRecorder()
        self._faces = FaceEvents()
        self._marker_inlet: MarkerInlet | None = None
        self.lsl = LiveLsl(
            lambda level, message: self._events.put(SessionEvent(level, message, "lsl")),
            lambda: stream_model_description(self._engine) if self._engine is not None else None,
        )

    # -- sources ---------------------------------------------------------------------------
    def open(self, spec: str | int, loop: bool = False) -> None:
        """Analyse another source; raises SourceError (one line) and keeps the current one then."""
        text = str(spec)
        if loop:
            source: FrameSource = LoopingVideoSource(Path(text))
        else:
            source = open_source(text)
        self.play(source, text)

    def play(self, source: FrameSource, spec: str) -> None:
        """Analyse an opened source (files at their own frame rate, like a camera)."""
        if source.info.kind in ("video", "images"):
            source = RealTimePlayback(source)
        self._start(source, spec)

    def _start(self, source: FrameSource, spec: str) -> None:
        """Switch to `source` without waiting for anything: the old pipeline is asked to stop
        and winds down on its own threads (which close its source and detector)."""
        with self._lock:
            previous = self._pipeline
            self._retire("complete", "source changed")
            self.history.clear()
            self._results.clear()
            self._latest = None
            self._values = {}
            self._source_spec, self._source_name, self._source_kind = spec, source.info.name, source.info.kind
            self._ended = False
            self._faces = FaceEvents()
            pipeline = Pipeline(source, self._engine, replace(self._settings), after=previous)
            pipeline.on_engine(self._prepare_engine)  # on the inference thread, before its first frame
            self._pipeline = pipeline
            thread = threading.Thread(target=self._consume, args=(pipeline,), name="session", daemon=True)
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
            thread.start()
        self.mark(f"source changed: {source.info.name}", OWN)
        log.info("analysing %s (%s)", source.info.name, source.info.kind)

    def _prepare_engine(self, engine: AffectEngine) -> None:
        """A new source starts every face's window afresh, at the session's window length."""
        window = self._window
        if window is not None and window != engine.windows.window:
            engine.set_window(window)
        else:
            engine.reset()

    def _retire(self, status: str, why: str) -> None:
        """Stop the current pipeline without waiting (called with the lock held) and close the
        recording with the rows it has."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.request_stop()
            self._finish_recording(status, why, pipeline)

    def _consume(self, pipeline: Pipeline) -> None:
        try:
            for result in pipeline.results():
                with self._lock:
                    if pipeline is not self._pipeline:
                        break  # replaced or closed: its last results go nowhere
                    now = time.perf_counter()
                    self._results.add(now, (now - result.captured_at) * 1000)
                    self.results_seen += 1
                    self.history.add(result)
                    self._latest = result
                    self._values = {p.face_id: p for p in result.predictions}
                    self._write(result)
                    faces = self._faces.update(result)
                self.lsl.push(result)
                for text in faces:
                    self.mark(text, OWN)
        except Exception as exc:  # never a traceback for the user: one line, the detail in the log
            log.error("session thread failed", exc_info=True)
            pipeline.error = pipeline.error or f"session failed: {exc}"
        with self._lock:
            if pipeline is not self._pipeline:
                return
            status, message = end_status(pipeline.error, pipeline.ended_early, self._source_kind)
            message = message or f"{self._source_name} ended"
            self._ended = True
            self._finish_recording(status, message, pipeline)
        if pipeline.error:
            if pipeline.error_traceback:
                log.error("analysis of %s failed: %s\n%s", self._source_name, pipeline.error, pipeline.error_traceback.rstrip())
            self._events.put(SessionEvent("error", f"analysis of {self._source_name} failed: {pipeline.error}", "source_failed"))
            return
        self._events.put(SessionEvent("warning" if pipeline.ended_early else "info", message, "source_ended"))
        if self._source_kind == "camera":
            self._reconnect(pipeline)

    def _reconnect(self, lost: Pipeline) -> None:
        """Retry the camera until it is back, the user picks another source, or the app closes.
        Opening runs outside the lock (a camera can take seconds), so nothing waits for it."""
        spec = str(self._source_spec)
        self._events.put(SessionEvent("warning", f"waiting for camera {spec} to come back..."))
        while not self._closed.wait(RECONNECT_INTERVAL_S):
            if self._pipeline is not lost:
                return
            try:
                source = open_source(spec)
            except SourceError:
                continue
            with self._lock:
                current = self._pipeline is lost and not self._closed.is_set()
                if current:
                    self._start(source, spec)
            if not current:
                source.close()  # the user picked another source meanwhile
                return
            self._events.put(SessionEvent("info", f"camera {spec} is back"))
            return

    # -- controls ---------------------------------------------------------------------------
    def pause(self) -> None:
        if self._pipeline is not None:
            self._pipeline.pause()

    def resume(self) -> None:
        if self._pipeline is not None:
            self._pipeline.resume()

    @property
    def paused(self) -> bool:
        return self._pipeline is not None and self._pipeline.paused

    def set_window(self, window: int) -> None:
        """A new window length restarts every face's window (on the inference thread)."""
        with self._lock:
            self._window = window  # session state: every new pipeline starts with it
            if self._engine is None:
                return  # the model still loading gets it
            if self._pipeline is not None and not self._ended:
                self._pipeline.on_engine(lambda engine: engine.set_window(window))
            else:
                self._engine.set_window(window)  # no inference thread runs it now

    def set_max_faces(self, max_faces: int) -> None:
        with self._lock:
            self._settings = replace(self._settings, max_faces=max_faces)  # for every new pipeline
            if self._pipeline is not None:
                self._pipeline.faces.set_max_faces(max_faces)

    def load_weights(self, paths: Path | Sequence[Path] | None) -> None:
        """Load a bundle (several: their fusion; None: the bundled default) in the background;
        the running model keeps going until it is ready, and stays if a file is bad (with no
        model yet, a bad file falls back to the default). The outcome arrives as an event."""
        if self._loading:
            self._events.put(SessionEvent("warning", "still loading the previous weights"))
            return
        self._loading = True
        paths = [] if paths is None else [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
        window = self._engine.windows.window if self._engine is not None else self._window
        threading.Thread(target=self._load, args=(paths, window), name="weights", daemon=True).start()

    def _load(self, paths: list[Path], window: int | None) -> None:
        try:
            engine = self._engine_or_fallback(paths, window)
        finally:
            self._loading = False
        if engine is None:
            return
        with self._lock:
            if self._window is not None and self._window != engine.windows.window:
                engine.set_window(self._window)  # changed while it loaded
            self.recorder.note_model_change(engine)
            self.mark(f"model changed: {engine.info.label}", OWN)
            if self._pipeline is not None:
                self._pipeline.replace_engine(engine)
            self._engine = engine
        detail = os.pathsep.join(str(p) for p in paths)  # "" = the default model
        self._events.put(SessionEvent("info", f"model {engine.info.name} ready ({engine.info.device})", "model_loaded", detail))

    def _engine_or_fallback(self, paths: list[Path], window: int | None) -> AffectEngine | None:
        """The engine for `paths` ([] = the default); a bad file keeps the running model, or,
        with none yet, falls back to the default. Failures are events (one line each)."""
        names = " + ".join(p.name for p in paths) or "the default model"
        try:
            return self._build_engine(paths, window)
        except Exception as exc:  # BundleError, OSError, ...: all one line
            log.debug("loading %s failed", names, exc_info=True)
            if self._engine is not None:
                self._events.put(SessionEvent("error", f"could not load {names}: {exc}; keeping {self._engine.info.name}"))
                return None
            if not paths:
                self._events.put(SessionEvent("error", f"could not load {names}: {exc}"))
                return None
            self._events.put(SessionEvent("error", f"could not load {names}: {exc}; using the default model"))
        return self._engine_or_fallback([], window)

    def _build_engine(self, paths: list[Path], window: int | None) -> AffectEngine:
        return AffectEngine([load_bundle(p) for p in paths or [DEFAULT_BUNDLE]], window=window, device=self._device)

    @property
    def engine(self) -> AffectEngine | None:
        """The model the session runs (the newest loaded, even before its first frame); None
        while the first one loads."""
        return self._engine

    # -- recording ----------------------------------------------------------------------------
    def start_recording(self, csv_path: Path) -> None:
        """Record every result from now on; raises RecordingError (one line) if it cannot start."""
        with self._lock:
            if self._pipeline is None:
                raise RecordingError("nothing to record: no source is running")
            if self._ended:
                raise RecordingError(f"nothing to record: {self._source_name} has ended; open a source first")
            if self._engine is None:
                raise RecordingError("the model is still loading: start the recording in a moment")
            self.recorder.start(Path(csv_path), self._pipeline.source.info, self._settings, self._engine, self._pipeline.dropped_frames)
            self.mark(f"recording started: {Path(csv_path).name}", OWN)

    def stop_recording(self) -> RecordingOutcome | None:
        with self._lock:
            return self._stop_recorder("complete", "stopped by the user")

    def _stop_recorder(self, status: str, message: str, pipeline: Pipeline | None = None) -> RecordingOutcome | None:
        pipeline = pipeline or self._pipeline
        if self.recorder.active:
            self.mark(f"recording stopped: {status}", OWN)
        return self.recorder.stop(status, message, pipeline.dropped_frames if pipeline is not None else 0)

    def follow_markers(self, name: str) -> None:
        """Record another program's LSL marker stream (found whenever it appears) into every
        recording's events file; raises LslError (one line) without LSL."""
        self._marker_inlet = MarkerInlet(name, lambda text, stamp: self.mark(text, name, stamp))

    def mark(self, text: str, origin: str = "user", lsl_time: float | None = None) -> None:
        """A marker (the user's M key, another program's LSL marker, affect-live's own): onto
        the Markers stream when streaming (unless it came from LSL) and into the recording's
        events file when recording. Any thread."""
        with self._lock:
            self.recorder.mark(text, origin, self.lsl.streams, lsl_time)

    def _finish_recording(self, status: str, why: str, pipeline: Pipeline) -> None:
        outcome = self._stop_recorder(status, why, pipeline)
        if outcome is None:
            return
        if outcome.status == "failed" and status != "failed":  # the last rows could not be written
            self._events.put(SessionEvent("error", f"recording stopped: {outcome.message}; {outcome.rows} rows saved in {outcome.csv_path}"))
        else:
            self._events.put(SessionEvent("info", f"recording stopped ({why}): {outcome.rows} rows in {outcome.csv_path}"))

    def _write(self, result: FrameResult) -> None:
        try:
            self.recorder.write(result)
        except RecordingError as exc:
            outcome = self._stop_recorder("failed", str(exc))
            rows = outcome.rows if outcome else 0
            self._events.put(SessionEvent("error", f"recording stopped: {exc}; {rows} rows already saved"))

    # -- what the UI polls ----------------------------------------------------------------------
    def latest(self) -> FrameResult | None:
        return self._latest

    def display_frame(self) -> DisplayFrame | None:
        """The newest frame for the video view, at capture rate whatever the model's speed."""
        pipeline = self._pipeline
        packet = pipeline.latest_packet if pipeline is not None else None
        if packet is None or packet.image is None:
            return None
        values = self._values
        # The packet's own landmarks (when capture measured them) fit its image; older ones lag.
        predictions = tuple(
            replace(values[face.face_id], detection=face.detection, actions=face.actions or values[face.face_id].actions)
            for face in packet.faces
            if face.face_id in values
        )
        return DisplayFrame(packet.frame_index, packet.image, predictions)

    def events(self) -> list[SessionEvent]:
        drained = []
        while True:
            try:
                drained.append(self._events.get_nowait())
            except queue.Empty:
                return drained

    def stats(self) -> LiveStats:
        pipeline = self._pipeline
        now = time.perf_counter()
        p50, p95 = self._results.latency_percentiles()
        engine = self._engine
        info = engine.info if engine is not None else EngineInfo("loading model...", "", self._window or 0, ())
        return LiveStats(
            source=self._source_name,
            source_kind=self._source_kind,
            running=pipeline is not None and not self._ended,
            paused=self.paused,
            capture_fps=pipeline.capture_meter.rate(now) if pipeline else 0.0,
            inference_fps=self._results.rate(now),
            latency_ms_p50=p50,
            latency_ms_p95=p95,
            dropped_frames=pipeline.dropped_frames if pipeline else 0,
            device=info.device,
            model_name=info.name,
            prior_heads=info.prior_heads,
            per_frame_heads=info.per_frame_heads,
            window=info.window,
            max_faces=self._settings.max_faces,
            recording=self.recorder.status(),
            loading_model=engine is None,
        )

    def close(self) -> None:
        """Stop everything; a recording in progress is closed with every row on disk."""
        self._closed.set()
        with self._lock:
            self._retire("complete", "the app was closed")
            threads, self._threads = self._threads, []
        for thread in threads:  # each ends once its pipeline's threads have
            thread.join(timeout=10)
            if thread.is_alive():
                log.warning("%s is still waiting for its source", thread.name)
        self.lsl.close()
        if self._marker_inlet is not None:
            self._marker_inlet.close()
