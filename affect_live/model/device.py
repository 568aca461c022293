"""Which device runs the models: `auto` (a GPU when one is present), `cpu` or `gpu`.

The CPU path is LiteRT and never imports TensorFlow. A GPU is looked for through the NVIDIA
driver's device files first, so that `auto` on a machine without one costs nothing; only when
they exist is TensorFlow imported to confirm it can use the GPU.
"""

from __future__ import annotations

import glob
import logging

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


def resolve_device(requested: str = "auto") -> str:
    """'CPU' or 'GPU' for a request of auto, cpu or gpu; raises DeviceError for an unusable gpu."""
    requested = requested.lower()
    if requested not in DEVICE_CHOICES:
        raise DeviceError(f"unknown device {requested!r}: use one of {', '.join(DEVICE_CHOICES)}")
    if requested == "cpu":
        return "CPU"
    if not nvidia_gpu_present():
        if requested == "gpu":
            raise DeviceError("--device gpu: no NVIDIA GPU found on this machine (no /dev/nvidia* device); use --device cpu")
        return "CPU"
    if tensorflow_sees_gpu():
        return "GPU"
    message = "TensorFlow cannot use the NVIDIA GPU (install tensorflow[and-cuda]==2.19.1 instead of tensorflow-cpu)"
    if requested == "gpu":
        raise DeviceError(f"--device gpu: {message}")
    log.warning("%s; running on the CPU", message)
    return "CPU"


def device_label(device: str) -> str:
    """What the status bar and the sidecar say ran the models."""
    return "GPU (TensorFlow)" if device == "GPU" else "CPU (LiteRT)"
