"""`import-weights`: wrap a plain Keras per-frame classifier into a weight bundle.

The classifier's last layer gives the probabilities; the tensor that feeds it (pooled if it is
still a feature map) becomes the `features` the heads see.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from affect_live.backends.safe_keras import check_config, load_keras_bytes, parse_config
from affect_live.errors import BundleError
from affect_live.model.bundle.manifest import InputSpec, Manifest
from affect_live.model.bundle.priors import VA_POSITIONS, VA_POSITIONS_SOURCE, prior_heads
from affect_live.model.making.writing import write_bundle

log = logging.getLogger(__name__)

_ACTIVATION_LAYERS = {"Activation", "Softmax"}


def scale_to_mean_std(low: float, high: float) -> tuple[float, float]:
    """Mean and std that map pixel values 0..255 linearly onto low..high."""
    if high <= low:
        raise ValueError("scale must be LOW,HIGH with LOW < HIGH")
    std = 255.0 / (high - low)
    return -low * std, std


def pixel_mean_std(
    scale: tuple[float, ...] | None, mean: tuple[float, ...] | None, std: tuple[float, ...] | None
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The manifest's mean/std (in pixel units 0..255) from --scale and/or --mean/--std. With
    both, --mean/--std apply after --scale, in its units (ImageNet's 0.485/0.229 after 0,1)."""
    if scale is None:
        return mean or (0.0,), std or (1.0,)
    if len(scale) != 2:
        raise ValueError("--scale must be LOW,HIGH")
    m0, s0 = scale_to_mean_std(*scale)  # pixel -> scaled: (x - m0) / s0
    means, stds = mean or (0.0,), std or (1.0,)
    if len(means) != len(stds) and 1 not in (len(means), len(stds)):
        raise ValueError("--mean and --std need the same number of values")
    count = max(len(means), len(stds))
    means, stds = means * (count // len(means)), stds * (count // len(stds))
    # ((x - m0) / s0 - m) / s == (x - (m0 + m * s0)) / (s * s0)
    return tuple(m0 + m * s0 for m in means), tuple(s * s0 for s in stds)


def load_plain_keras(path: Path) -> Any:
    """Load a .keras or legacy .h5 classifier without running code from it."""
    path = Path(path)
    if not path.exists():
        raise BundleError(f"model file not found: {path}")
    data = path.read_bytes()
    if data[:4] == b"PK\x03\x04":
        return load_keras_bytes(data, str(path))
    if data[:8] != b"\x89HDF\r\n\x1a\n":
        raise BundleError(f"{path} is neither a Keras .keras archive nor an HDF5 model")
    import h5py
    import keras

    try:
        with h5py.File(path, "r") as handle:
            config = handle.attrs.get("model_config")
    except OSError as exc:
        raise BundleError(f"{path}: unreadable HDF5 file ({exc})") from None
    if config is None:
        raise BundleError(f"{path} holds weights only, no model architecture")
    check_config(parse_config(config, f"{path}: model_config"), str(path))
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises many types for a bad file
        raise BundleError(f"{path}: Keras could not load the model ({str(exc).splitlines()[0][:200]})") from None


def wrap_classifier(model: Any) -> Any:
    """A model with outputs {"features", "probabilities"} built from a plain classifier."""
    import keras

    last = model.layers[-1]
    probabilities = model.outputs[0]
    feeder = model.layers[-2] if last.__class__.__name__ in _ACTIVATION_LAYERS and len(model.layers) > 1 else last
    features = feeder.input
    if len(features.shape) > 2:
        features = keras.layers.GlobalAveragePooling2D(name="features_pool")(features)
    if getattr(last, "activation", None) is not keras.activations.softmax and last.__class__.__name__ != "Softmax":
        probabilities = keras.layers.Softmax(name="to_probabilities")(probabilities)
    features = keras.layers.Identity(name="features")(features)
    probabilities = keras.layers.Identity(name="probabilities")(probabilities)
    return keras.Model(model.inputs[0], {"features": features, "probabilities": probabilities}, name=f"{model.name}_wrapped")


def import_weights(
    source: Path,
    out: Path,
    *,
    width: int,
    height: int,
    color: str,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    classes: tuple[str, ...],
    crop: str,
    margin: float,
    name: str,
    license: str,
    trained_on: str,
    window: int,
) -> Manifest:
    """Validate and wrap `source` into the bundle `out`; BundleError on any problem."""
    model = load_plain_keras(source)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise BundleError(f"{source}: expected a classifier with one input and one output")
    shape = tuple(model.inputs[0].shape[1:])
    channels = 1 if color == "gray" else 3
    for got, want, what in zip(shape, (height, width, channels), ("height", "width", "channels")):
        if got is not None and got != want:
            raise BundleError(f"{source}: model input {what} is {got}, but --input/colour say {want}")
    n_out = model.outputs[0].shape[-1]
    if n_out != len(classes):
        raise BundleError(f"{source}: model has {n_out} outputs but --classes names {len(classes)}")
    wrapped = wrap_classifier(model)
    manifest = Manifest(
        name=name,
        version="1",
        license=license,
        description=f"Imported from {Path(source).name} with affect-live import-weights.",
        input=InputSpec(width, height, color, mean, std, crop, margin),  # type: ignore[arg-type]
        classes=classes,
        feature_dim=int(wrapped.get_layer("features").output.shape[-1]),
        window=window,
        frame_model=trained_on,
        heads=prior_heads(),
        va_positions=dict(VA_POSITIONS),
        va_positions_source=VA_POSITIONS_SOURCE,
        provenance={"imported_from": Path(source).name},
    )
    return write_bundle(out, manifest, wrapped)
