"""Headless analysis of one source into a CSV and its sidecar, with a progress bar."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from tqdm import tqdm

from affect_live.baselines import LiveBaselines
from affect_live.errors import BundleError, RecordingError, UserError
from affect_live.lsl.inlet import MarkerInlet
from affect_live.lsl.outlets import LslStreams
from affect_live.model.inference.engine import AffectEngine
from affect_live.pipeline.sources import FrameSource, RealTimePlayback, open_source
from affect_live.pipeline.threads import Pipeline, PipelineSettings
from affect_live.recording.output_files import lock_path
from affect_live.recording.output_lock import OutputLock
from affect_live.recording.recording import RecordingOutcome, end_status
from affect_live.render.annotated_video import AnnotatedVideoWriter
from affect_live.session.metadata import session_metadata
from affect_live.session.outputs import OutputNotice, Outputs
from affect_live.stop_signals import interruption
from affect_live.study.baseline_live import LiveBaselineFeed
from affect_live.study.baseline_sources import apply_baseline, summary_line
from affect_live.study.baseline_spec import BaselinePlan

log = logging.getLogger(__name__)


def analyze_source(
    spec: str | FrameSource,
    csv_path: Path,
    engine: AffectEngine,
    settings: PipelineSettings,
    quiet: bool = False,
    realtime: bool = False,
    lsl: LslStreams | None = None,
    markers: MarkerInlet | None = None,
    video_out: Path | None = None,
    on_frame: Callable[[int], None] | None = None,
    baseline: BaselinePlan | None = None,
    live_baselines: LiveBaselines | None = None,
) -> RecordingOutcome:
    """Analyse one source. Never raises for bad input: the outcome says what happened.

    `realtime` plays a file at its own frame rate, as a camera would: only the newest frame is
    analysed, and frames the model is too slow for are dropped (and counted). `lsl` publishes
    every result and the session's markers; `markers` (another program's LSL marker stream) is
    recorded into the events file. `video_out` writes an annotated copy (affect_live.render.overlay,
    as the app draws it); `on_frame(frames_done)` is called after every frame (batch progress).
    `baseline` (--baseline): when the recording closes (its end, Ctrl-C or a stop signal too),
    the CSV gains its baseline-corrected columns and the sidecar its `baselines`
    (study/baseline_sources.py); `live_baselines` gets each baseline as soon as it is known, for
    the LSL stream's corrected channels.

    The outputs' lock (recording.output_lock, `<csv stem>.lock`) is held from before anything
    is opened until every file is closed; another live run holding it fails this one at once."""
    lock = OutputLock(lock_path(csv_path), csv_path)
    try:
        lock.acquire()
    except UserError as exc:
        return RecordingOutcome(csv_path, "failed", str(exc))
    try:
        return _analyze(spec, csv_path, engine, settings, quiet, realtime, lsl, markers, video_out, on_frame, baseline, live_baselines)
    finally:
        lock.release()


def _analyze(
    spec: str | FrameSource,
    csv_path: Path,
    engine: AffectEngine,
    settings: PipelineSettings,
    quiet: bool,
    realtime: bool,
    lsl: LslStreams | None,
    markers: MarkerInlet | None,
    video_out: Path | None,
    on_frame: Callable[[int], None] | None,
    baseline: BaselinePlan | None,
    live_baselines: LiveBaselines | None,
) -> RecordingOutcome:
    if live_baselines is not None:
        live_baselines.clear()  # face ids start again with each source
    try:
        feed = LiveBaselineFeed(baseline, live_baselines) if baseline is not None else None
    except BundleError as exc:  # the descriptor model, for a calibration
        return RecordingOutcome(csv_path, "failed", str(exc))
    try:
        source = spec if isinstance(spec, FrameSource) else open_source(spec)
    except Exception as exc:  # SourceError and OS errors alike end in one line
        return RecordingOutcome(csv_path, "failed", str(exc))
    if realtime and source.info.kind in ("video", "images"):
        source = RealTimePlayback(source)
    live = realtime or source.info.kind in ("camera", "stream")
    engine.reset()
    keep = video_out is not None or (feed is not None and feed.needs_images)
    pipeline = Pipeline(source, engine, PipelineSettings(**{**asdict(settings), "lossless": not live, "keep_images": keep}))
    try:
        video = AnnotatedVideoWriter(video_out, source.info.fps, bool(engine.info.prior_heads)) if video_out is not None else None
    except RecordingError as exc:
        pipeline.stop()
        return RecordingOutcome(csv_path, "failed", str(exc))
    failures: list[RecordingOutcome] = []  # a write that failed ends the analysis

    def on_notice(notice: OutputNotice) -> None:
        if notice.outcome is not None:
            failures.append(notice.outcome)
            pipeline.request_stop()

    outputs = Outputs(on_notice, lsl=lsl, video=video)
    meta = session_metadata(csv_path.name, source.info, settings, engine)
    meta["settings"]["realtime"] = realtime
    if baseline is not None:
        meta["settings"]["baseline"] = baseline.setting
    try:
        outputs.start_recording(csv_path, meta, source_name=source.info.name).result()
    except RecordingError as exc:
        pipeline.stop()
        outputs.close()
        return RecordingOutcome(csv_path, "failed", str(exc))
    if markers is not None:
        def on_marker(text: str, stamp: float | None) -> None:
            if feed is not None:
                feed.marker(text)
            outputs.mark(text, markers.name, stamp)

        markers.target = on_marker
    bar = tqdm(
        total=source.info.frame_count, unit="frame", desc=Path(source.info.name).name or source.info.name, disable=quiet, leave=True, dynamic_ncols=True
    )
    status, message = "failed", ""
    try:
        for frames, result in enumerate(pipeline.results(), start=1):
            outputs.write(result)
            if feed is not None:
                feed.feed(result)
            bar.update(1)
            bar.set_postfix(faces=len(result.predictions), refresh=False)
            if on_frame is not None:
                on_frame(frames)
        status, message = end_status(pipeline.error, pipeline.ended_early, source.info.kind)
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM or SIGHUP (stop_signals)
        status, message = "interrupted", interruption(exc)[0]
    finally:
        bar.close()
        pipeline.stop()
        if markers is not None:
            markers.target = None
    skipped = [(file.file, file.reason) for file in source.skipped]
    outcome = outputs.stop_recording(status, message, pipeline.dropped_frames, skipped).result()
    outputs.close()
    if failures:
        return failures[0]
    if feed is not None and outcome is not None:
        _add_baselines(outcome, feed)
    return outcome


def _add_baselines(outcome: RecordingOutcome, feed: LiveBaselineFeed) -> None:
    """The corrected columns, once every row is on disk; a recording that failed (its disk
    full, say) is left as it is."""
    if outcome.status == "failed":
        log.warning("%s: no corrected columns: the recording failed", outcome.csv_path.name)
        return
    try:
        summary = apply_baseline(outcome.csv_path, feed.plan, feed.start_s, feed.matches(outcome.face_ids))
    except RecordingError as exc:
        log.error("%s; the recording is kept without corrected columns", exc)
        return
    line = summary_line(outcome.csv_path, summary)
    if line:
        log.warning("%s", line)
