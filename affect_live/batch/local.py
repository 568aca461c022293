"""Running a batch's inputs in this process (serial) or in N local worker processes (--jobs).

Both yield the same events as the Ray runner: ("start", index, where), ("frames", index, n)
and ("done", index, ItemResult). Worker processes are started with `spawn` (a clean
interpreter: no threads or model inherited from the driver), load the model once, and take one
input at a time from the standard library's ProcessPoolExecutor.
"""

from __future__ import annotations

import logging
import multiprocessing
import queue
import signal
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from types import FrameType
from typing import Any

from affect_live.batch.plan import BatchItem
from affect_live.batch.worker import ItemResult, JobSpec, run_item
from affect_live.stop_signals import STOP_SIGNALS, StopSignal

log = logging.getLogger(__name__)

Event = tuple[str, int, Any]
WORKER_DIED = "the worker process died (killed or out of memory)"
_reports: Any = None  # the worker process's queue back to the driver
_busy = False  # the worker process is analysing an input


def run_serial(items: list[BatchItem], job: JobSpec, quiet: bool, **live: Any) -> Iterator[Event]:  # noqa: ANN401
    """One input after another in this process, each with its own progress bar; stops after an
    interrupted input (Ctrl-C)."""
    for item in items:
        yield ("start", item.index, "this process")
        result = run_item(item, job, quiet=quiet, **live)
        yield ("done", item.index, result)
        if result.status == "interrupted":
            return


def _init_worker(reports: Any, verbosity: int) -> None:  # noqa: ANN401
    global _reports
    _reports = reports
    # Ctrl-C is the driver's: it ends the workers (their inputs are redone next time) instead of
    # each worker printing its own KeyboardInterrupt traceback. The driver ends them with SIGTERM,
    # which (as SIGHUP) ends the input under way as `analyze` ends on it: every row on disk, the
    # sidecar `interrupted`, the lock released.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop_worker)
    from affect_live.backends.native_logs import quiet_native_logs

    if verbosity < 2:
        quiet_native_logs()
    # As the CLI logs (cli.configure_logging; the package must not import the CLI back).
    logging.basicConfig(level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbosity, 2)], format="affect-live: %(levelname)s: %(message)s")


def _report(kind: str, index: int, value: Any) -> None:  # noqa: ANN401
    _reports.put((kind, index, value))


def _stop_worker(signum: int, frame: FrameType | None) -> None:
    if _busy:
        raise StopSignal(signum)  # caught by the input's own clean-up
    raise SystemExit(128 + signum)  # idle: nothing to save


def _run_in_worker(item: BatchItem, job: JobSpec) -> ItemResult:
    global _busy
    _busy = True
    try:
        return run_item(item, job, report=_report)
    finally:
        _busy = False


def run_processes(items: list[BatchItem], job: JobSpec, jobs: int, verbosity: int = 0) -> Iterator[Event]:
    """The inputs on `jobs` worker processes. A worker that dies breaks the pool: the inputs it
    held are tried once more in a fresh pool, then marked failed."""
    context = multiprocessing.get_context("spawn")
    reports = context.Queue()
    attempts = {item.index: 0 for item in items}
    pending = list(items)
    try:
        while pending:
            pool = ProcessPoolExecutor(max_workers=min(jobs, len(pending)), mp_context=context, initializer=_init_worker, initargs=(reports, verbosity))
            drained = False
            try:
                pending = yield from _drain_pool(pool, pending, job, reports, attempts)
                drained = True
            finally:
                if not drained:  # interrupted (or the driver failed): do not wait for whole videos
                    for process in list(getattr(pool, "_processes", {}).values()):
                        process.terminate()
                pool.shutdown(wait=True, cancel_futures=True)
    finally:
        reports.close()
        reports.join_thread()


def _drain_pool(pool: ProcessPoolExecutor, items: list[BatchItem], job: JobSpec, reports: Any, attempts: dict[int, int]) -> Iterator[Event]:  # noqa: ANN401
    """Run `items` on the pool; returns the items to retry after the pool broke."""
    futures: dict[Future, BatchItem] = {}
    for item in items:
        attempts[item.index] += 1
        futures[pool.submit(_run_in_worker, item, job)] = item
    retry: list[BatchItem] = []
    while futures:
        done, _ = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
        yield from _events(reports)
        for future in done:
            item = futures.pop(future)
            try:
                result = future.result()
            except BrokenProcessPool:
                if attempts[item.index] < 2:
                    log.warning("%s: %s; trying it again", item.spec, WORKER_DIED)
                    retry.append(item)
                    continue
                result = ItemResult(item.index, item.spec, item.csv, "failed", WORKER_DIED)
            result.attempts = attempts[item.index]
            yield ("done", item.index, result)
    yield from _events(reports)
    return retry


def _events(reports: Any) -> Iterator[Event]:  # noqa: ANN401
    while True:
        try:
            yield reports.get_nowait()
        except queue.Empty:
            return
