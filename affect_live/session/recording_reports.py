"""What the user is told when a recording the session asked for starts or stops, and where a
marker went: one line each, from the Futures the output thread completes."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from affect_live.recording.recording import RecordingOutcome, events_path
from affect_live.recording.sidecar import sidecar_path
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
    csv_path = Path(outcome.csv_path)
    # The three files of a recording, named, so that none is forgotten when it is copied.
    where = f"{csv_path} (with {events_path(csv_path).name} and {sidecar_path(csv_path).name})"
    if outcome.status == "failed":
        tell(SessionEvent("error", f"recording stopped: {outcome.message}; {outcome.rows} rows saved in {where}", "recording_stopped", str(csv_path)))
    elif by_user:
        tell(SessionEvent("info", f"recording saved: {outcome.rows} rows in {where}", "recording_stopped", str(csv_path)))
    else:
        tell(SessionEvent("info", f"recording saved ({why}): {outcome.rows} rows in {where}", "recording_stopped", str(csv_path)))


def report_marker(tell: Callable[[SessionEvent], None], text: str, went: Future[list[str]]) -> None:
    """A marker is never dropped without a word: where it went, or why it went nowhere."""
    where = went.result() if went.exception() is None else []
    if where:
        tell(SessionEvent("info", f"marker \"{text}\" saved: {' and '.join(where)}", "marker", text))
    else:
        tell(SessionEvent("warning", f"marker \"{text}\" not saved: nothing is recording or streaming (start Record or LSL first)", "marker_lost", text))
