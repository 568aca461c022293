"""Weight bundles: one file per model, a zip of a manifest and Keras archives.

Members: `manifest.json`, `frame_model.keras` (image -> features, probabilities),
`heads.keras` (only when a head is learned), `MODEL_CARD.md` (optional). Everything read from a
bundle is validated; any problem raises `BundleError` with a one-line message.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affect_live import resources
from affect_live.model.manifest import HEAD_NAMES, BundleError, Manifest
from affect_live.model.safe_keras import MAX_ARCHIVE_BYTES, keras_to_bytes, load_keras_bytes

log = logging.getLogger(__name__)

BUNDLE_SUFFIX = ".affect"
MODELS_DIR = resources.MODELS_DIR  # located in a checkout and in an installed wheel alike
DEFAULT_BUNDLE = resources.DEFAULT_BUNDLE
_PLAIN_KERAS_SUFFIXES = {".h5", ".hdf5", ".keras"}


@dataclass(frozen=True)
class LoadedBundle:
    """A validated bundle, ready to be compiled for inference."""

    path: Path
    sha256: str
    manifest: Manifest
    frame_model: Any  # keras.Model: (N, H, W, C) -> {"features", "probabilities"}
    heads_model: Any | None  # keras.Model: (N, 28 + F) -> {"expression", "valence", "arousal"}
    model_card: str


def heads_input_dim(feature_dim: int, n_classes: int = 7) -> int:
    """Width of the heads' input: [max, min, mean] of the window, features, current probabilities."""
    return 3 * n_classes + feature_dim + n_classes


def write_bundle(
    path: Path,
    manifest: Manifest,
    frame_model: Any,
    heads_model: Any | None = None,
    model_card: str | None = None,
) -> None:
    """Validate the parts, then write the bundle atomically (a reader never sees half a file)."""
    validate_frame_model(frame_model, manifest)
    if manifest.has_learned_heads:
        if heads_model is None:
            raise BundleError("a manifest with learned heads needs a heads model")
        validate_heads_model(heads_model, manifest)
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest.to_dict(), indent=2))
        archive.writestr("frame_model.keras", keras_to_bytes(frame_model))
        if heads_model is not None:
            archive.writestr("heads.keras", keras_to_bytes(heads_model))
        if model_card:
            archive.writestr("MODEL_CARD.md", model_card)
    os.replace(tmp, path)


def _read_members(path: Path) -> dict[str, bytes]:
    if not path.exists():
        raise BundleError(f"weights file not found: {path}")
    if path.is_dir():
        raise BundleError(f"{path} is a folder, not a weight bundle")
    if not zipfile.is_zipfile(path):
        if path.suffix.lower() in _PLAIN_KERAS_SUFFIXES:
            raise BundleError(f"{path} is a plain Keras file: wrap it first with `affect-live import-weights`")
        raise BundleError(f"{path} is not an affect-live weight bundle (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {info.filename: info for info in archive.infolist()}
            if "manifest.json" not in infos:
                if "config.json" in infos:
                    raise BundleError(f"{path} is a plain Keras file: wrap it first with `affect-live import-weights`")
                raise BundleError(f"{path} is not an affect-live weight bundle (no manifest.json)")
            wanted = ("manifest.json", "frame_model.keras", "heads.keras", "MODEL_CARD.md")
            if sum(infos[n].file_size for n in wanted if n in infos) > MAX_ARCHIVE_BYTES:
                raise BundleError(f"{path}: bundle unpacks to more than 2 GiB")
            return {name: archive.read(name) for name in wanted if name in infos}
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{path}: damaged bundle ({exc})") from None


def read_manifest(path: Path) -> tuple[Manifest, str]:
    """The manifest and model card of a bundle, without loading any model (for listings)."""
    members = _read_members(Path(path))
    return _parse_manifest(members, Path(path)), members.get("MODEL_CARD.md", b"").decode("utf-8", "replace")


def _parse_manifest(members: dict[str, bytes], path: Path) -> Manifest:
    try:
        data = json.loads(members["manifest.json"])
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BundleError(f"{path}: manifest.json is not valid JSON") from None
    try:
        return Manifest.from_dict(data)
    except BundleError as exc:
        raise BundleError(f"{path}: {exc}") from None


def load_bundle(path: Path) -> LoadedBundle:
    """Read and fully validate a bundle. Never executes code from the file."""
    path = Path(path)
    members = _read_members(path)
    manifest = _parse_manifest(members, path)
    if "frame_model.keras" not in members:
        raise BundleError(f"{path}: bundle has no frame_model.keras")
    frame_model = load_keras_bytes(members["frame_model.keras"], f"{path}: frame_model.keras")
    heads_model = None
    if manifest.has_learned_heads:
        if "heads.keras" not in members:
            raise BundleError(f"{path}: manifest marks learned heads but the bundle has no heads.keras")
        heads_model = load_keras_bytes(members["heads.keras"], f"{path}: heads.keras")
    try:
        validate_frame_model(frame_model, manifest)
        if heads_model is not None:
            validate_heads_model(heads_model, manifest)
    except BundleError as exc:
        raise BundleError(f"{path}: {exc}") from None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    card = members.get("MODEL_CARD.md", b"").decode("utf-8", "replace")
    return LoadedBundle(path, digest, manifest, frame_model, heads_model, card)


def _call(model: Any, batch: np.ndarray | dict[str, np.ndarray], names: tuple[str, ...], what: str) -> dict[str, np.ndarray]:
    """One eager test call at load time (never on the hot path) to check real output shapes."""
    try:
        outputs = model(batch, training=False)
    except Exception as exc:
        shape = {k: v.shape[1:] for k, v in batch.items()} if isinstance(batch, dict) else batch.shape[1:]
        raise BundleError(f"{what} does not accept input of shape {shape} ({type(exc).__name__})") from None
    if not isinstance(outputs, dict) or set(outputs) != set(names):
        got = sorted(outputs) if isinstance(outputs, dict) else type(outputs).__name__
        raise BundleError(f"{what} must output {', '.join(names)}; it outputs {got}")
    return {name: np.asarray(value) for name, value in outputs.items()}


def validate_frame_model(model: Any, manifest: Manifest) -> None:
    spec = manifest.input
    batch = np.zeros((2, spec.height, spec.width, spec.channels), dtype=np.float32)
    out = _call(model, batch, ("features", "probabilities"), "the per-frame model")
    if out["features"].shape != (2, manifest.feature_dim):
        raise BundleError(
            f"per-frame features have shape {out['features'].shape[1:]}, manifest says ({manifest.feature_dim},)"
        )
    if out["probabilities"].shape != (2, len(manifest.classes)):
        raise BundleError(
            f"per-frame model outputs {out['probabilities'].shape[1:]} probabilities, "
            f"manifest lists {len(manifest.classes)} classes"
        )
    if not np.allclose(out["probabilities"].sum(axis=1), 1.0, atol=1e-3):
        raise BundleError("per-frame probabilities do not sum to 1 (is the last layer a softmax?)")


def validate_heads_model(model: Any, manifest: Manifest) -> None:
    flat = np.zeros((2, heads_input_dim(manifest.feature_dim)), dtype=np.float32)
    if manifest.temporal == "bilstm":
        batch: Any = {"window_input": flat, "window_sequence": np.zeros((2, manifest.window, 7), dtype=np.float32)}
    else:
        batch = flat
    out = _call(model, batch, HEAD_NAMES, "the heads model")
    expected = {"expression": (2, 7), "valence": (2, 1), "arousal": (2, 1)}
    for name, shape in expected.items():
        if out[name].shape != shape:
            raise BundleError(f"heads output {name} has shape {out[name].shape[1:]}, expected {shape[1:]}")
