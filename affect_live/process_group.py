"""Ending a child process together with everything it started (its own process group): for the
tests' helpers and the benchmarks that start `ray start`, xvfb-run and the like."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def stop_group(proc: subprocess.Popen, grace_s: float = 30.0) -> None:
    """SIGTERM to the child's process group, SIGKILL to what is left after `grace_s` or after
    the leader has gone. The child must have been started with start_new_session=True."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
