"""The outputs' lock (recording/output_lock.py): one holder at a time, the holder named, a lock
left by a killed process taken over, the lock file gone after a clean release."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from affect_live.errors import EXIT_REFUSED
from affect_live.recording.output_lock import OutputLock, OutputsBusy, check_free
from tests.conftest import REPO, running

# A process that takes the lock, says so, and waits (on stdin) until it is killed.
HOLD = "import sys; from pathlib import Path; from affect_live.recording.output_lock import OutputLock; " \
       "lock = OutputLock(Path(sys.argv[1])); lock.acquire(); print('held', flush=True); sys.stdin.read()"


def test_a_held_lock_refuses_a_second_holder_with_one_line_naming_it(tmp_path):
    path = tmp_path / "clip.lock"
    with OutputLock(path, tmp_path / "clip.csv"):
        with pytest.raises(OutputsBusy) as info:
            OutputLock(path, tmp_path / "clip.csv").acquire()  # another open file: flock refuses it, even in one process
        with pytest.raises(OutputsBusy):
            check_free(path, tmp_path / "clip.csv")
        assert path.read_text().split()[0] == str(os.getpid())
    message = str(info.value)
    assert info.value.status == EXIT_REFUSED and "\n" not in message
    assert f"pid {os.getpid()}" in message and str(tmp_path / "clip.csv") in message
    assert not path.exists()  # released: the lock file is removed
    with OutputLock(path):  # and free again
        pass


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    path = tmp_path / "clip.lock"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with running([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env) as proc:
        assert proc.stdout.readline().strip() == "held"
        with pytest.raises(OutputsBusy, match=f"pid {proc.pid}"):
            OutputLock(path).acquire()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert path.read_text().split()[0] == str(proc.pid)  # the dead holder's file is still there
    check_free(path, tmp_path / "clip.csv")  # but nobody holds it
    with OutputLock(path):
        assert path.read_text().split()[0] == str(os.getpid())
    assert not path.exists()
