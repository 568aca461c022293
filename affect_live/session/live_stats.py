"""The live session's status snapshot (`LiveStats`), put together from what each part of the
session owns; read by the GUI's status bar a few times a second."""

from __future__ import annotations

import time

from affect_live.model.inference.engine import AffectEngine, EngineInfo
from affect_live.pipeline.meters import RateMeter
from affect_live.pipeline.threads import PipelineSettings
from affect_live.session.events import LiveStats, SessionState
from affect_live.session.outputs import Outputs
from affect_live.session.run import Run

NO_RUN = {"source": "", "source_kind": "", "running": False, "capture_fps": 0.0, "dropped_frames": 0}


def live_stats(
    run: Run | None,
    rates: RateMeter,
    engine: AffectEngine | None,
    window: int | None,
    settings: PipelineSettings,
    paused: bool,
    state: SessionState,
    outputs: Outputs,
) -> LiveStats:
    """`window`: the one asked for while no model is there yet."""
    p50, p95 = rates.latency_percentiles()
    info = engine.info if engine is not None else EngineInfo("loading model...", "", window or 0, ())
    return LiveStats(
        **(run.figures() if run is not None else NO_RUN),
        paused=paused,
        inference_fps=rates.rate(time.perf_counter()),
        latency_ms_p50=p50,
        latency_ms_p95=p95,
        device=info.device,
        model_name=info.name,
        prior_heads=info.prior_heads,
        per_frame_heads=info.per_frame_heads,
        window=info.window,
        max_faces=settings.max_faces,
        recording=outputs.recording_status,
        loading_model=engine is None,
        state=state,
        lsl=outputs.lsl_state,
        lsl_consumer=outputs.lsl_consumer and outputs.lsl_state == "on",
        actions=settings.actions,
    )
