"""quiet_native_output: the process's fd 1/2 are muted while any thread is inside, and restored,
exactly as they were, when the last one leaves, whatever the order of entries and exits."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from affect_live.backends import native_logs
from affect_live.backends.native_logs import quiet_native_output

THREADS = 16
WAIT_S = 30.0  # only a guard against hanging on a bug; the threads are coordinated by events

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs Linux /proc")


def _targets() -> tuple[str, str]:
    return os.readlink("/proc/self/fd/1"), os.readlink("/proc/self/fd/2")


def _open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")}


def _run_threads(body: Callable[[int], None], count: int = THREADS) -> None:
    errors: list[BaseException] = []

    def main(i: int) -> None:
        try:
            body(i)
        except BaseException as exc:  # noqa: BLE001  (re-raised in the test thread)
            errors.append(exc)

    threads = [threading.Thread(target=main, args=(i,), name=f"quiet-{i}") for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT_S)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    if errors:
        raise errors[0]


class _Turns:
    """Lets threads pass one point strictly in a given order: thread `order[k]` goes k-th."""

    def __init__(self, order: list[int]) -> None:
        self._position = {thread: k for k, thread in enumerate(order)}
        self._events = [threading.Event() for _ in range(len(order) + 1)]
        self._events[0].set()

    def wait(self, thread: int) -> None:
        assert self._events[self._position[thread]].wait(WAIT_S), "turn never came"

    def done(self, thread: int) -> None:
        self._events[self._position[thread] + 1].set()


def _assert_output_arrives(capfd: pytest.CaptureFixture[str], tag: str) -> None:
    os.write(1, f"fd1-{tag}\n".encode())
    os.write(2, f"fd2-{tag}\n".encode())
    print(f"print-{tag}", flush=True)
    print(f"stderr-{tag}", file=sys.stderr, flush=True)
    out, err = capfd.readouterr()
    assert f"fd1-{tag}" in out and f"print-{tag}" in out
    assert f"fd2-{tag}" in err and f"stderr-{tag}" in err
    assert "inside" not in out + err


def _inside(i: int) -> None:
    os.write(1, f"inside-out-{i}\n".encode())
    os.write(2, f"inside-err-{i}\n".encode())


@pytest.mark.parametrize("seed", range(6))
def test_overlapping_threads_in_any_order_restore_the_fds(capfd: pytest.CaptureFixture[str], seed: int) -> None:
    rng = random.Random(seed)
    enter_order = rng.sample(range(THREADS), THREADS)
    leave_order = rng.sample(range(THREADS), THREADS)
    if seed == 0:  # the original failure: first in is first out, the later ones "restore" /dev/null
        leave_order = enter_order
    elif seed == 1:  # last in, first out
        leave_order = enter_order[::-1]
    entering, leaving = _Turns(enter_order), _Turns(leave_order)
    all_inside = threading.Barrier(THREADS)
    raising = set(rng.sample(range(THREADS), THREADS // 4))
    before, fds = _targets(), _open_fds()
    capfd.readouterr()

    def body(i: int) -> None:
        entering.wait(i)
        try:
            with quiet_native_output():
                entering.done(i)
                _inside(i)
                all_inside.wait(WAIT_S)  # everyone is inside at once before anyone leaves
                leaving.wait(i)
                _inside(i)
                if i in raising:
                    raise RuntimeError(i)
        except RuntimeError:
            pass
        finally:
            leaving.done(i)

    _run_threads(body)
    assert _targets() == before
    assert _open_fds() == fds  # the saved copies are closed
    _assert_output_arrives(capfd, f"after-{seed}")


def test_threads_racing_in_and_out_restore_the_fds(capfd: pytest.CaptureFixture[str]) -> None:
    """No imposed order: all threads start together, several rounds, in and out at will."""
    before, fds = _targets(), _open_fds()
    start = threading.Barrier(THREADS)
    capfd.readouterr()

    def body(i: int) -> None:
        start.wait(WAIT_S)
        for _ in range(50):
            with quiet_native_output():
                _inside(i)
                with quiet_native_output():
                    _inside(i)

    _run_threads(body)
    assert _targets() == before
    assert _open_fds() == fds
    assert native_logs._depth == 0
    _assert_output_arrives(capfd, "race")


def test_an_exception_inside_restores_the_fds(capfd: pytest.CaptureFixture[str]) -> None:
    before, fds = _targets(), _open_fds()
    capfd.readouterr()
    with pytest.raises(ValueError, match="model failed"):
        with quiet_native_output():
            _inside(0)
            raise ValueError("model failed")
    assert _targets() == before
    assert _open_fds() == fds
    _assert_output_arrives(capfd, "exception")


def test_nested_use_in_one_thread(capfd: pytest.CaptureFixture[str]) -> None:
    before = _targets()
    capfd.readouterr()
    with quiet_native_output():
        _inside(1)
        with quiet_native_output():
            _inside(2)
        _inside(3)  # the inner exit must not unmute: the outer call is still inside
        assert _targets() != before
    assert _targets() == before
    _assert_output_arrives(capfd, "nested")


def test_python_level_output_is_muted_inside_and_back_after() -> None:
    """With the real sys.stdout/sys.stderr (capfd replaces them), in a fresh process:
    print(), warnings and logging from any thread go to /dev/null inside, and arrive after."""
    script = r"""
import logging, sys, threading, warnings
from affect_live.backends.native_logs import quiet_native_output
logging.basicConfig(format="%(message)s")
print("before", end=" ")  # buffered, not yet flushed: must reach the terminal, not /dev/null
inside, release = threading.Barrier(4), threading.Event()
def body(i):
    with quiet_native_output():
        inside.wait(30)
        print("inside-print", i)
        print("inside-stderr", i, file=sys.stderr)
        warnings.warn("inside-warning")
        logging.getLogger("x").warning("inside-log %d", i)
        release.wait(30)
threads = [threading.Thread(target=body, args=(i,)) for i in range(3)]
for t in threads:
    t.start()
inside.wait(30)
print("inside-main")  # another thread, not in the context: muted too
release.set()
for t in threads:
    t.join(30)
print("after")
print("after-stderr", file=sys.stderr)
"""
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["before", "after"]
    assert result.stderr.split() == ["after-stderr"]


def test_the_command_lines_log_still_arrives_while_another_thread_mutes() -> None:
    """affect-live's own log lines (the app's "analysing ...", logged on the GUI thread while
    the capture thread loads the detector) have their own copy of fd 2: muting does not eat
    them."""
    script = r"""
import logging, threading
from affect_live.cli.parser import configure_logging
from affect_live.backends.native_logs import quiet_native_output
configure_logging(1)
inside, done = threading.Event(), threading.Event()
def loader():
    with quiet_native_output():
        inside.set()
        done.wait(30)
thread = threading.Thread(target=loader)
thread.start()
inside.wait(30)
logging.getLogger("affect_live").info("logged while muted")
done.set()
thread.join(30)
"""
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", script], cwd=repo, capture_output=True, text=True, timeout=60, check=True)
    assert "logged while muted" in result.stderr
