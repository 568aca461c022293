"""Headless analysis of one source into a CSV and its sidecar, with a progress bar."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tqdm import tqdm

from affect_live.model.engine import AffectEngine
from affect_live.pipeline import Pipeline, PipelineSettings
from affect_live.metadata import session_metadata
from affect_live.recording import CsvRecorder, RecordingError, now_iso, sidecar_path, write_sidecar
from affect_live.sources import FrameSource, open_source

log = logging.getLogger(__name__)


@dataclass
class AnalysisOutcome:
    csv_path: Path
    status: str  # "complete", "ended_early", "interrupted" or "failed"
    message: str = ""
    frames: int = 0
    rows: int = 0
    face_ids: set[int] = field(default_factory=set)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "complete"


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


def analyze_source(
    spec: str | FrameSource,
    csv_path: Path,
    engine: AffectEngine,
    settings: PipelineSettings,
    quiet: bool = False,
) -> AnalysisOutcome:
    """Analyse one source. Never raises for bad input: the outcome says what happened."""
    outcome = AnalysisOutcome(csv_path=csv_path, status="failed")
    sidecar = sidecar_path(csv_path)
    try:
        source = spec if isinstance(spec, FrameSource) else open_source(spec)
    except Exception as exc:  # SourceError and OS errors alike end in one line
        outcome.message = str(exc)
        return outcome
    live = source.info.kind in ("camera", "stream")
    engine.reset()
    pipeline = Pipeline(source, engine, PipelineSettings(**{**asdict(settings), "lossless": not live}))
    meta = session_metadata(csv_path.name, source.info, settings, engine)
    try:
        recorder = CsvRecorder(csv_path)
    except RecordingError as exc:
        pipeline.stop()
        outcome.message = str(exc)
        return outcome
    write_sidecar(sidecar, meta)
    clock = StageClock()
    started = time.perf_counter()
    bar = tqdm(
        total=source.info.frame_count, unit="frame", desc=Path(source.info.name).name or source.info.name, disable=quiet, leave=True, dynamic_ncols=True
    )
    try:
        for result in pipeline.results():
            write_started = time.perf_counter()
            recorder.write(result)
            stage_ms = dict(result.stage_ms, write=(time.perf_counter() - write_started) * 1000)
            clock.add(stage_ms)
            outcome.frames += 1
            outcome.face_ids.update(p.face_id for p in result.predictions)
            bar.update(1)
            bar.set_postfix(faces=len(result.predictions), refresh=False)
        outcome.status, outcome.message = _end_state(pipeline)
    except KeyboardInterrupt:
        outcome.status, outcome.message = "interrupted", "interrupted by the user"
    except RecordingError as exc:
        outcome.status, outcome.message = "failed", str(exc)
    finally:
        bar.close()
        pipeline.stop()
        try:
            recorder.close()
        except RecordingError as exc:
            outcome.status, outcome.message = "failed", str(exc)
        outcome.rows = recorder.rows_written
        outcome.wall_s = time.perf_counter() - started
        meta.update(
            status=outcome.status,
            message=outcome.message,
            finished_at=now_iso(),
            frames_processed=outcome.frames,
            rows=outcome.rows,
            face_ids=sorted(outcome.face_ids),
            dropped_frames=pipeline.dropped_frames,
            timing={
                "wall_s": round(outcome.wall_s, 3),
                "fps": round(outcome.frames / outcome.wall_s, 2) if outcome.wall_s > 0 else None,
                "stage_ms_mean": clock.means(),
            },
        )
        write_sidecar(sidecar, meta)
    return outcome


def _end_state(pipeline: Pipeline) -> tuple[str, str]:
    if pipeline.error:
        return "failed", pipeline.error
    if pipeline.ended_early:
        return "ended_early", pipeline.ended_early
    return "complete", ""
