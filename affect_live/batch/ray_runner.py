"""--ray ADDRESS: one Ray task per input on an existing cluster (Ray schedules and retries).

Where things are: every node reads the inputs and writes the CSV, sidecar and annotated video
at the driver's absolute paths, so inputs and --out must be on a folder all nodes see (a shared
file system; on one machine, any folder). Rows are not sent back through the driver: a task
writes them as it goes, so a task that dies leaves its rows and a `running` sidecar (done again
next time). The affect_live package itself travels with the job (Ray's runtime environment,
`py_modules`, with the shipped face models inside it), and the weight bundles with the job
spec, so nodes need only Python and the
packages of requirements.txt; nothing is installed on them.

This module imports Ray; nothing else in affect-live does (the plain analyze path never loads it).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import ray

import affect_live
from affect_live.batch.plan import BatchItem
from affect_live.batch.worker import ItemResult, JobSpec, run_item
from affect_live.errors import UserError
from affect_live.resources import MODELS_DIR, PACKAGED_MODELS_DIR

log = logging.getLogger(__name__)

Event = tuple[str, int, Any]
PACKAGE_DIR = Path(affect_live.__file__).resolve().parent
RAY_EXCLUDES = ("__pycache__", "*.pyc")
WORKER_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "TF_CPP_MIN_LOG_LEVEL": "3", "GLOG_minloglevel": "2"}


@ray.remote(num_cpus=0)
class ProgressSink:
    """Collects the tasks' progress reports; the driver drains it twice a second."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def put(self, event: Event) -> None:
        self.events.append(event)

    def drain(self) -> list[Event]:
        events, self.events = self.events, []
        return events


def _run_task(item: BatchItem, job: JobSpec, sink: Any) -> ItemResult:  # noqa: ANN401 (an actor handle)
    return run_item(item, job, report=lambda kind, index, value: sink.put.remote((kind, index, value)))


def with_shipped_bundles(job: JobSpec) -> JobSpec:
    """The job with its bundles' bytes inside, for nodes that do not see the driver's files."""
    shipped = []
    for path in job.weights:
        data = Path(path).read_bytes()
        shipped.append((hashlib.sha256(data).hexdigest(), Path(path).name, data))
    return replace(job, shipped=tuple(shipped))


def _package_for_nodes(staging: Path) -> Path:
    """The affect_live folder the nodes get. An installed wheel has its models inside the
    package (shipped_models/); a checkout keeps them in models/ beside it, so the package is
    copied to `staging` with the models put where a wheel has them (resources.py finds them)."""
    if PACKAGED_MODELS_DIR.is_dir():
        return PACKAGE_DIR
    ignore = shutil.ignore_patterns(*RAY_EXCLUDES)
    package = staging / "affect_live"
    shutil.copytree(PACKAGE_DIR, package, ignore=ignore)
    shutil.copytree(MODELS_DIR, package / PACKAGED_MODELS_DIR.name, ignore=ignore)
    return package


def connect(address: str) -> None:
    """ray.init on an existing cluster (host:port, auto, or ray://host:port), with affect_live
    (and its face models) in the runtime environment; a cluster that cannot be reached is one
    error line."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    with tempfile.TemporaryDirectory(prefix="affect-live-ray-") as staging:  # uploaded by ray.init
        _init(address, _package_for_nodes(Path(staging)))


def _init(address: str, package: Path) -> None:
    runtime_env = {"py_modules": [str(package)], "excludes": list(RAY_EXCLUDES), "env_vars": WORKER_ENV}
    options: dict[str, Any] = {"address": address, "runtime_env": runtime_env, "logging_level": logging.WARNING, "log_to_driver": False}
    host, _, port = address.split("://")[-1].rpartition(":")
    if host and port.isdigit():
        _check_reachable(address, host, int(port))
    if host in ("127.0.0.1", "localhost") and not address.startswith("ray://"):
        options["_node_ip_address"] = "127.0.0.1"  # a local cluster: the driver listens on loopback only
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot connect to the Ray cluster at {address}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def _check_reachable(address: str, host: str, port: int, timeout_s: float = 10.0) -> None:
    """Ray keeps retrying an address nobody listens on for minutes; one TCP connect says it."""
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        raise UserError(f"cannot connect to the Ray cluster at {address}: {exc.strerror or exc}") from None


def run_ray(items: list[BatchItem], job: JobSpec, address: str) -> Iterator[Event]:
    """The inputs as Ray tasks (one CPU each); a task whose worker dies is retried once by Ray
    (max_retries=1), then its input is marked failed."""
    connect(address)
    try:
        task = ray.remote(num_cpus=1, max_retries=1)(_run_task)
        sink = ProgressSink.remote()
        job_ref = ray.put(with_shipped_bundles(job))  # stored once, not once per task
        refs = {task.remote(item, job_ref, sink): item for item in items}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1, timeout=0.5)
            yield from ray.get(sink.drain.remote())
            for ref in ready:
                item = refs.pop(ref)
                try:
                    result = ray.get(ref)
                except ray.exceptions.RayError as exc:
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    result = ItemResult(item.index, item.spec, item.csv, "failed", f"the Ray task failed: {reason}", attempts=2)
                yield ("done", item.index, result)
        yield from ray.get(sink.drain.remote())
    finally:
        ray.shutdown()
