"""One input analysed by a worker: this process, a local worker process (--jobs) or a Ray task
(--ray). Each worker process loads the model once and keeps it for every input it gets."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from affect_live.batch.plan import BatchItem
from affect_live.pipeline.meters import peak_rss_mb
from affect_live.pipeline.threads import PipelineSettings

log = logging.getLogger(__name__)

# (kind, item index, value): ("start", i, where), ("frames", i, frames done)
Report = Callable[[str, int, Any], None]
REPORT_EVERY_S = 0.5


@dataclass(frozen=True)
class JobSpec:
    """How every input of a batch is analysed; the same in every worker."""

    weights: tuple[str, ...]  # absolute bundle paths; () = the bundled default
    window: int | None
    device: str  # "CPU" or "GPU", resolved by the driver
    settings: PipelineSettings
    realtime: bool = False
    # --baseline (study/baseline_spec.py): applied to each input's recording when it closes.
    baseline: Any = field(default=None, compare=False)
    # The bundles' bytes (sha256, name, data) for nodes that do not see the driver's files.
    shipped: tuple[tuple[str, str, bytes], ...] = field(default=(), compare=False, repr=False)

    def key(self) -> tuple[object, ...]:
        return (self.weights, self.window, self.device, self.settings)


@dataclass
class ItemResult:
    """How one input went; what batch.json records for it."""

    index: int
    spec: str
    csv: str
    status: str
    message: str = ""
    frames: int = 0
    rows: int = 0
    faces: int = 0
    seconds: float = 0.0
    worker: str = ""  # host:pid where it ran
    startup_s: float | None = None  # model load in a fresh worker (None: the model was loaded already)
    process_age_s: float | None = None  # the worker process's age when its model was ready
    peak_rss_mb: float = 0.0
    package_dir: str = ""  # where the worker's affect_live came from (Ray: its runtime env)
    skipped: bool = False
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.status == "complete"


def where() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc), for start-up figures."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError):
        return None


_ENGINES: dict[tuple[object, ...], tuple[Any, Any]] = {}  # one per job spec in this process


def preload(job: JobSpec, engine: Any) -> None:  # noqa: ANN401 (AffectEngine, imported lazily)
    """Use an engine the caller already loaded (the driver's, in a serial run)."""
    _ENGINES[job.key()] = (engine, job.settings)


def _bundle_path(path: str, job: JobSpec) -> Path:
    """The bundle at the driver's path when this node sees the same file, else the shipped copy."""
    shipped = {name: (sha, data) for sha, name, data in job.shipped}
    local = Path(path)
    entry = shipped.get(local.name)
    if entry is None:
        return local
    sha, data = entry
    try:
        if hashlib.sha256(local.read_bytes()).hexdigest() == sha:
            return local
    except OSError:
        pass
    copy = Path(tempfile.gettempdir()) / "affect-live-bundles" / sha / local.name
    if not copy.is_file():
        copy.parent.mkdir(parents=True, exist_ok=True)
        partial = copy.with_suffix(f".{os.getpid()}.part")
        partial.write_bytes(data)
        partial.replace(copy)
    return copy


def _engine(job: JobSpec) -> tuple[Any, Any, float | None]:
    """The engine and pipeline settings of this job, loaded once per process."""
    cached = _ENGINES.get(job.key())
    if cached is not None:
        return (*cached, None)
    started = time.perf_counter()
    from affect_live.model.bundle.reading import DEFAULT_BUNDLE, load_bundle
    from affect_live.model.inference.engine import AffectEngine

    paths = [_bundle_path(p, job) for p in job.weights] or [DEFAULT_BUNDLE]
    engine = AffectEngine([load_bundle(p) for p in paths], window=job.window, device=job.device)
    _ENGINES[job.key()] = (engine, job.settings)
    return (*_ENGINES[job.key()], time.perf_counter() - started)


def _throttled(report: Report | None, index: int) -> Callable[[int], None] | None:
    if report is None:
        return None
    last = [0.0]

    def on_frame(frames: int) -> None:
        now = time.monotonic()
        if now - last[0] >= REPORT_EVERY_S:
            last[0] = now
            report("frames", index, frames)

    return on_frame


def run_item(item: BatchItem, job: JobSpec, report: Report | None = None, quiet: bool = True, **live: Any) -> ItemResult:  # noqa: ANN401
    """Analyse one input into its CSV, sidecar (and annotated video). Never raises for a bad
    input or model: the result says what happened. `live` (lsl=, markers=) only in this process."""
    import affect_live
    from affect_live.session.analyze import analyze_source

    started = time.perf_counter()
    package_dir = str(Path(affect_live.__file__).resolve().parent)
    if report is not None:
        report("start", item.index, where())
    try:
        engine, settings, startup = _engine(job)
    except Exception as exc:  # BundleError and OS errors alike: this input fails, with the reason
        log.debug("model load failed", exc_info=True)
        return ItemResult(item.index, item.spec, item.csv, "failed", f"cannot load the model: {exc}", worker=where(), package_dir=package_dir)
    age = process_age_s() if startup is not None else None
    video = Path(item.video_out) if item.video_out else None
    outcome = analyze_source(
        item.spec, Path(item.csv), engine, settings, quiet=quiet, realtime=job.realtime, video_out=video, on_frame=_throttled(report, item.index),
        baseline=job.baseline, **live,
    )
    if report is not None:
        report("frames", item.index, outcome.frames)
    return ItemResult(
        index=item.index,
        spec=item.spec,
        csv=item.csv,
        status=outcome.status,
        message=outcome.message,
        frames=outcome.frames,
        rows=outcome.rows,
        faces=len(outcome.face_ids),
        seconds=round(time.perf_counter() - started, 3),
        worker=where(),
        startup_s=None if startup is None else round(startup, 3),
        process_age_s=age,
        peak_rss_mb=round(peak_rss_mb(), 1),
        package_dir=package_dir,
    )
