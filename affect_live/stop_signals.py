"""SIGTERM and SIGHUP end a command as Ctrl-C does: the exception unwinds to the code that finishes
the recording (every row on disk, the sidecar `interrupted` with the signal's name), and the exit
status is the shell's 128 + signal number (143, 129; 130 for Ctrl-C).

A leaf module (the standard library and errors.py only): the CLI installs the handlers, `analyze` and the batch
runner read which signal came. Python runs a handler on the main thread, between bytecodes, so
the exception comes out of whatever the main thread was waiting on, as KeyboardInterrupt does.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType

from affect_live.errors import EXIT_INTERRUPTED

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_received: list[int] = []  # the stop signal this process got (at most one: later ones are ignored)


class StopSignal(KeyboardInterrupt):
    """A stop signal as an exception: every `except KeyboardInterrupt` that saves work catches it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


def interruption(exc: BaseException | None = None) -> tuple[str, int]:
    """What to say about an interrupted command, and its exit status: the signal that came (from
    `exc` or, when a lower layer caught the exception, as recorded here), else Ctrl-C."""
    return describe(exc.signum if isinstance(exc, StopSignal) else (_received[0] if _received else None))


def describe(signum: int | None) -> tuple[str, int]:
    """The message and exit status for a stop by `signum` (None or SIGINT: Ctrl-C)."""
    if signum is None or signum == signal.SIGINT:
        return "interrupted by the user", EXIT_INTERRUPTED
    return f"interrupted by {signal_name(signum)}", 128 + signum


def _raise(signum: int, frame: FrameType | None) -> None:
    if _received:  # already stopping: let the clean-up finish (SIGKILL still ends the process)
        log.info("%s ignored: already stopping", signal_name(signum))
        return
    _received.append(signum)
    raise StopSignal(signum)


@contextlib.contextmanager
def stopping_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP raise StopSignal while the block runs; the previous handlers come back
    after it. Only the main thread can install handlers: elsewhere this does nothing."""
    _received.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _received.clear()
