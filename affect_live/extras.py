"""Optional dependency sets: whether one is installed, and the one line that says which to install.

The run time (requirements.txt) has no TensorFlow, Keras, jax or mediapipe. What needs
TensorFlow (training, Keras import, bundle conversion, the TensorFlow GPU path) comes with the
`train` extra, or `train-gpu` for CUDA; without it each of those stops with the line below.
A leaf module (standard library and affect_live.errors only).
"""

from __future__ import annotations

import importlib.util

from affect_live.errors import EXIT_MISSING_EXTRA, UserError

TRAIN_EXTRA = "pip install 'affect-live[train]' (or pip install -r requirements-train.txt)"
TRAIN_GPU_EXTRA = "pip install 'affect-live[train-gpu]' (TensorFlow with CUDA, instead of the train extra)"


def installed(module: str) -> bool:
    """True when `module` can be imported, without importing it (TensorFlow costs seconds)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: a module blocked with sys.modules[name] = None
        return False


def tensorflow_installed() -> bool:
    return installed("tensorflow") and installed("keras")


def tensorflow_missing(what: str) -> str:
    """The one line for `what` (e.g. "train") when TensorFlow is not installed."""
    return f"{what} needs TensorFlow, which the run time does not install: {TRAIN_EXTRA}"


class MissingExtraError(UserError):
    """A command needs an extra that is not installed (exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_MISSING_EXTRA)


def require_tensorflow(what: str) -> None:
    """Stop at once, in one line, when `what` needs TensorFlow and it is not installed."""
    if not tensorflow_installed():
        raise MissingExtraError(tensorflow_missing(what))
