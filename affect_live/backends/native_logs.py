"""Keep the native libraries' own console chatter out of the user's terminal.

TensorFlow, MediaPipe, OpenCV and FFmpeg print C++ logs and notices (for example TFLite's
"Created TensorFlow Lite XNNPACK delegate for CPU."); affect-live's own messages say what
matters in one line, and `-vv` brings the native logs back.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator


def quiet_native_logs() -> None:
    """Set the libraries' log levels; must run before they are imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET


# fds 1 and 2 are process-wide, so the muting is shared by every thread: the first entrant saves
# the real fds and redirects, later (nested or overlapping) ones only count, and the last one out
# restores. Saving per call instead lets an overlapping call save /dev/null as "the real fd".
_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int] | None = None


@contextlib.contextmanager
def quiet_native_output() -> Iterator[None]:
    """Mute the whole process's fd 1 and 2 (C++ prints bypass Python) while any thread is inside.

    Thread-safe and re-entrant: the real stdout/stderr come back when the last caller leaves,
    also on an exception. Everything written to fd 1/2 meanwhile is lost, by any thread,
    Python's print(), logging and warnings included; so only short model-loading calls belong
    in it, never a loop.
    """
    _enter()
    try:
        yield
    finally:
        _leave()


def _flush() -> None:
    # Python's buffered text must reach the fd it was written for: before muting, the terminal;
    # before unmuting, /dev/null. A failing stream (closed, broken pipe) fails again on its next
    # write, where its owner can see it; here it must not stop the fds being restored.
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()


def _enter() -> None:
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _flush()
            saved: list[int] = []
            try:
                saved.append(os.dup(1))
                saved.append(os.dup(2))
                devnull = os.open(os.devnull, os.O_WRONLY)
                try:
                    os.dup2(devnull, 1)
                    os.dup2(devnull, 2)
                finally:
                    os.close(devnull)
            except BaseException:
                for fd, copy in zip((1, 2), saved):
                    os.dup2(copy, fd)
                    os.close(copy)
                raise
            _saved = (saved[0], saved[1])
        _depth += 1


def _leave() -> None:
    global _depth, _saved
    with _lock:
        _depth -= 1
        if _depth == 0 and _saved is not None:
            saved, _saved = _saved, None
            _flush()
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)
