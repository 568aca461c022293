"""Keep the native libraries' own console chatter out of the user's terminal.

TensorFlow, MediaPipe, OpenCV and FFmpeg print C++ logs and notices (for example TFLite's
"Created TensorFlow Lite XNNPACK delegate for CPU."); affect-live's own messages say what
matters in one line, and `-vv` brings the native logs back.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator


def quiet_native_logs() -> None:
    """Set the libraries' log levels; must run before they are imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET


@contextlib.contextmanager
def quiet_native_output() -> Iterator[None]:
    """Silence stdout/stderr at the file-descriptor level (C++ prints bypass Python).

    Only for short, one-off calls such as model loading: it mutes the whole process meanwhile.
    """
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as devnull:
        try:
            os.dup2(devnull.fileno(), 1)
            os.dup2(devnull.fileno(), 2)
            with contextlib.redirect_stdout(devnull), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
