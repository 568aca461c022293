"""Which device runs the models: `auto` (a GPU when one is usable), `cpu` or `gpu`.

The CPU path is LiteRT and never imports TensorFlow. A GPU is looked for through the NVIDIA
driver's device files first, so that `auto` on a machine without one costs nothing; only when
they exist, and the train-gpu extra installed TensorFlow, is TensorFlow imported to confirm it
can use the GPU. `auto` on a GPU that cannot be used runs on the CPU, and the device label (status
bar, sidecar) says why.
"""

from __future__ import annotations

import functools
import glob
import logging

from affect_live.extras import TRAIN_GPU_EXTRA, tensorflow_installed

log = logging.getLogger(__name__)

DEVICE_CHOICES = ("auto", "cpu", "gpu")


class DeviceError(RuntimeError):
    """The requested device cannot be used; the message is one line for the user."""


def nvidia_gpu_present() -> bool:
    """True when the NVIDIA driver exposes a GPU (its /dev/nvidiaN files), without TensorFlow."""
    return bool(glob.glob("/dev/nvidia[0-9]*"))


def tensorflow_sees_gpu() -> bool:
    import tensorflow as tf

    return bool(tf.config.list_physical_devices("GPU"))


def gpu_missing_reason() -> str | None:
    """Why the GPU path surely cannot run here, found without importing TensorFlow (the app's
    Device box asks this after Qt started), or None when it may."""
    if not nvidia_gpu_present():
        return "no NVIDIA GPU found on this machine (no /dev/nvidia* device)"
    if not tensorflow_installed():
        return f"TensorFlow is not installed: {TRAIN_GPU_EXTRA}"
    return None


@functools.cache
def gpu_unusable_reason() -> str | None:
    """Why the GPU path cannot run here, in a few words, or None when it can (asked once)."""
    missing = gpu_missing_reason()
    if missing is not None:
        return missing
    if not tensorflow_sees_gpu():
        return f"TensorFlow cannot use the NVIDIA GPU: {TRAIN_GPU_EXTRA}"
    return None


def resolve_device(requested: str = "auto") -> str:
    """'CPU' or 'GPU' for a request of auto, cpu or gpu; raises DeviceError for an unusable gpu."""
    requested = requested.lower()
    if requested not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device {requested!r}: use one of {', '.join(DEVICE_CHOICES)}")
    if requested == "cpu":
        return "CPU"
    reason = gpu_unusable_reason()
    if reason is None:
        return "GPU"
    if requested == "gpu":
        raise DeviceError(f"--device gpu: {reason}; use --device cpu")
    if nvidia_gpu_present():
        log.warning("GPU unused (%s); running on the CPU", reason)
    return "CPU"


def device_label(device: str) -> str:
    """What the status bar and the sidecar say ran the models, with the reason when a GPU is
    present but the models run on the CPU."""
    if device == "GPU":
        return "GPU (TensorFlow)"
    reason = gpu_unusable_reason() if nvidia_gpu_present() else None
    return "CPU (LiteRT)" if reason is None else f"CPU (LiteRT); GPU unused, {reason}"
