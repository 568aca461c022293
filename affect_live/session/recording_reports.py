"""What the user is told when a recording the session asked for starts or stops: one line each,
from the Futures the output thread completes."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from affect_live.recording.recording import RecordingOutcome
from affect_live.session.events import SessionEvent


def report_start(tell: Callable[[SessionEvent], None], path: Path, started: Future[None]) -> None:
    failure = started.exception()
    if failure is not None:
        tell(SessionEvent("error", str(failure), "recording_failed", str(path)))
    else:
        tell(SessionEvent("info", f"recording to {path}", "recording_started", str(path)))


def report_stop(tell: Callable[[SessionEvent], None], why: str, by_user: bool, stopped: Future[RecordingOutcome | None]) -> None:
    """Nothing when no recording was open (or the session closed first)."""
    outcome = stopped.result() if stopped.exception() is None else None
    if outcome is None:
        return
    where = str(outcome.csv_path)
    if outcome.status == "failed":
        tell(SessionEvent("error", f"recording stopped: {outcome.message}; {outcome.rows} rows saved in {where}", "recording_stopped", where))
    elif by_user:
        tell(SessionEvent("info", f"recording saved: {outcome.rows} rows in {where}", "recording_stopped", where))
    else:
        tell(SessionEvent("info", f"recording stopped ({why}): {outcome.rows} rows in {where}", "recording_stopped", where))
