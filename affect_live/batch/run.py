"""A batch from plan to exit status: skip what a previous run finished, run the rest on the
chosen workers, show progress, write batch.json and say what failed."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affect_live.batch.plan import BatchItem, finished
from affect_live.batch.progress import BatchProgress
from affect_live.batch.summary import BATCH_FILE, BatchSummary, mark_sidecar
from affect_live.batch.worker import ItemResult, JobSpec
from affect_live.errors import EXIT_BAD_INPUT, UserError
from affect_live.recording.output_lock import check_free
from affect_live.recording.output_files import lock_path
from affect_live.stop_signals import interruption

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchOptions:
    jobs: int = 1  # local worker processes (1: this process)
    ray: str | None = None  # a Ray cluster address
    force: bool = False  # redo inputs a previous run finished
    quiet: bool = False
    verbosity: int = 0
    summary_dir: Path | None = None  # where batch.json goes (None: no batch.json)

    @property
    def mode(self) -> str:
        return "ray" if self.ray else "processes" if self.jobs > 1 else "serial"


def _say(text: str, quiet: bool = False) -> None:
    if not quiet:
        print(text, file=sys.stderr)


def _events(todo: list[BatchItem], job: JobSpec, options: BatchOptions, live: dict[str, Any]) -> Iterator[tuple[str, int, Any]]:
    if options.ray:
        from affect_live.batch.ray_loopback import keep_driver_on_loopback

        keep_driver_on_loopback(options.ray)  # before Ray is imported
        try:
            from affect_live.batch.ray_runner import (
                run_ray,  # the only place Ray is imported
            )
        except ImportError as exc:
            raise UserError(f"--ray needs Ray ({exc.name or exc}): pip install 'affect-live[cluster]' or -r requirements-cluster.txt") from None

        return run_ray(todo, job, options.ray)
    if options.jobs > 1:
        from affect_live.batch.local import run_processes

        return run_processes(todo, job, options.jobs, options.verbosity)
    from affect_live.batch.local import run_serial

    return run_serial(todo, job, options.quiet, **live)


def _outcome_line(result: ItemResult) -> tuple[str, bool]:
    """The line said about a finished input, and whether it is an error."""
    summary = f"{result.spec}: {result.frames} frames, {result.rows} rows, {result.faces} face ids -> {result.csv}"
    if result.ok:
        return summary, False
    if result.status == "failed" and result.frames == 0 and result.rows == 0 and not Path(result.csv).exists():
        return f"affect-live: error: {result.message}", True
    return f"affect-live: error: {result.message} ({summary})", True


def run_batch(items: list[BatchItem], job: JobSpec, expected: dict[str, Any], options: BatchOptions, **live: Any) -> int:  # noqa: ANN401
    """Analyse every item not already finished; the exit status is 0, EXIT_BAD_INPUT when any
    input failed (the last line says how many), or 128 + the signal that interrupted it (130
    for Ctrl-C). Raises OutputsBusy, before anything is written, when another live run holds
    an item's outputs (each item's worker then holds that lock itself while it writes)."""
    for item in items:
        check_free(lock_path(Path(item.csv)), Path(item.csv))
    workers = 1 if options.mode == "serial" else options.jobs
    summary = BatchSummary(options.summary_dir / BATCH_FILE if options.summary_dir else None, items, options.mode, workers)
    todo = []
    for item in items:
        if not options.force and finished(item, expected):
            _say(f"{item.spec}: complete already with this model and settings, skipped (--force analyses it again)", options.quiet)
            summary.results[item.index] = ItemResult(item.index, item.spec, item.csv, "complete", "skipped: complete already", skipped=True, attempts=0)
        else:
            todo.append(item)
    summary.write()
    # Serial runs keep one bar per input (as the worker shows it); parallel runs one for all.
    progress = BatchProgress(todo, disable=options.quiet or options.mode == "serial" or not todo)
    stopped, caught = False, None  # an input or the driver was interrupted (caught: the driver's exception)
    try:
        for kind, index, value in _events(todo, job, options, live):
            if kind == "start":
                progress.start(index, value)
            elif kind == "frames":
                progress.frames(index, value)
            elif kind == "done":
                progress.done(index, value.frames)
                _finish(value, summary, options, progress)
                stopped = stopped or value.status == "interrupted"
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM or SIGHUP (stop_signals)
        stopped, caught = True, exc
        message = interruption(exc)[0]
        by_index = {item.index: item for item in todo}
        for index in progress.running:  # workers ended mid-input: their rows so far are kept
            item = by_index[index]
            mark_sidecar(item.csv, "interrupted", message)
            summary.results[index] = ItemResult(index, item.spec, item.csv, "interrupted", message)
    finally:
        progress.close()
        summary.write()
    failed = [r for r in summary.failed() if r.status != "interrupted"]
    if stopped:  # one line: which signal, and what is left
        message, status = interruption(caught)
        left = len(items) - sum(r.ok for r in summary.results.values())
        _say(f"affect-live: {message}; {left} input(s) not complete: the same command again goes on from there")
        return status
    if failed and len(items) > 1:  # one input: its own error line says it all
        _say(f"affect-live: error: {len(failed)} of {len(items)} inputs failed" + (f" (see {summary.path})" if summary.path else ""))
    return EXIT_BAD_INPUT if failed else 0


def _finish(result: ItemResult, summary: BatchSummary, options: BatchOptions, progress: BatchProgress) -> None:
    if result.status == "failed" and result.attempts > 1:
        mark_sidecar(result.csv, "failed", result.message)
    summary.add(result)
    if result.status == "interrupted":
        return  # the batch's last line says it
    line, error = _outcome_line(result)
    if error or not options.quiet:
        progress.write(line)
