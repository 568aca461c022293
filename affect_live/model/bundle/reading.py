"""Weight bundles: one file per model, a zip of a manifest, TFLite flatbuffers and Keras archives.

Members (format 2): `manifest.json`; `frame_model.tflite` (image -> features, probabilities)
and `heads.tflite` (only when a head is learned), which the run time uses through LiteRT; the
same models as `frame_model.keras` / `heads.keras`, kept for training, fine-tuning and the GPU
path; `MODEL_CARD.md` (optional). The flatbuffers are made and checked against the Keras models
once, when the bundle is written. Format-1 bundles (Keras only) are converted once and cached
(`affect_live.model.bundle.legacy`).

Loading never imports TensorFlow and never executes code from the file: every member is
validated and any problem raises `BundleError` with a one-line message.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from affect_live.backends.flatbuffer import check_flatbuffer
from affect_live.backends.safe_keras import MAX_ARCHIVE_BYTES, check_keras_archive, load_keras_bytes
from affect_live.errors import BundleError
from affect_live.model.bundle.manifest import FRAME_ONNX, N_CLASSES, RUNTIME_FILES, Manifest
from affect_live.resources import DEFAULT_BUNDLE, MODELS_DIR  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)

BUNDLE_SUFFIX = ".affect"
_PLAIN_KERAS_SUFFIXES = {".h5", ".hdf5", ".keras"}
_KERAS_MEMBERS = ("frame_model.keras", "heads.keras")
_MEMBERS = ("manifest.json", *_KERAS_MEMBERS, *RUNTIME_FILES.values(), FRAME_ONNX, "MODEL_CARD.md")


@dataclass(frozen=True)
class LoadedBundle:
    """A validated bundle. The run time needs only the flatbuffers; the Keras models are read
    from the file (which must not have changed) and loaded with TensorFlow, in safe mode, the
    first time `frame_model` / `heads_model` is used (training, fine-tuning, the GPU path)."""

    path: Path
    sha256: str
    manifest: Manifest
    frame_tflite: bytes = field(repr=False)
    heads_tflite: bytes | None = field(repr=False)
    model_card: str = field(repr=False)
    frame_onnx: bytes | None = field(default=None, repr=False)  # a brought-in ONNX model

    @cached_property
    def frame_model(self) -> Any:
        """keras.Model: (N, H, W, C) -> {"features", "probabilities"}."""
        return self._keras("frame_model.keras")

    @cached_property
    def heads_model(self) -> Any | None:
        """keras.Model: (N, manifest.heads_input_width) -> {"expression", "valence", "arousal"},
        or None (priors)."""
        return self._keras("heads.keras") if self.manifest.has_learned_heads else None

    def _keras(self, name: str) -> Any:
        data = self.path.read_bytes()
        if hashlib.sha256(data).hexdigest() != self.sha256:
            raise BundleError(f"{self.path} changed since it was loaded: load it again")
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return load_keras_bytes(archive.read(name), f"{self.path}: {name}")


def read_members(path: Path) -> dict[str, bytes]:
    """The known members of a bundle file, with every structural problem as a BundleError."""
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
            if sum(infos[n].file_size for n in _MEMBERS if n in infos) > MAX_ARCHIVE_BYTES:
                raise BundleError(f"{path}: bundle unpacks to more than 2 GiB")
            return {name: archive.read(name) for name in _MEMBERS if name in infos}
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{path}: damaged bundle ({exc})") from None


def read_manifest(path: Path) -> tuple[Manifest, str]:
    """The manifest and model card of a bundle, without loading any model (for listings)."""
    members = read_members(Path(path))
    return parse_manifest(members, Path(path)), members.get("MODEL_CARD.md", b"").decode("utf-8", "replace")


def parse_manifest(members: dict[str, bytes], path: Path) -> Manifest:
    try:
        data = json.loads(members["manifest.json"])
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BundleError(f"{path}: manifest.json is not valid JSON") from None
    try:
        return Manifest.from_dict(data)
    except BundleError as exc:
        raise BundleError(f"{path}: {exc}") from None


def load_bundle(path: Path) -> LoadedBundle:
    """Read and fully validate a bundle, ready for the LiteRT run time. (Names of installed
    catalogue models are turned into paths before: `catalogue.store.resolve_weights`.)"""
    members = read_members(path)
    manifest = parse_manifest(members, path)
    if "frame_model.keras" not in members and not manifest.outputs:  # brought-in models have none
        raise BundleError(f"{path}: bundle has no frame_model.keras")
    if manifest.has_learned_heads and "heads.keras" not in members:
        raise BundleError(f"{path}: manifest marks learned heads but the bundle has no heads.keras")
    for name in _KERAS_MEMBERS:  # structure only: the models themselves load on demand
        if name in members:
            check_keras_archive(members[name], f"{path}: {name}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if manifest.format_version < 2:
        from affect_live.model.bundle.legacy import runtime_for_format1

        manifest, flatbuffers = runtime_for_format1(path, digest, manifest)
    else:
        flatbuffers = {name: members[name] for name in RUNTIME_FILES.values() if name in members}
    card = members.get("MODEL_CARD.md", b"").decode("utf-8", "replace")
    if manifest.outputs:
        from affect_live.model.bundle.brought_in import check_brought_in

        content = members.get(manifest.frame_file)
        if content is None:
            raise BundleError(f"{path}: bundle has no {manifest.frame_file}")
        check_brought_in(manifest, content, f"{path}: {manifest.frame_file}")
        onnx = manifest.frame_file == FRAME_ONNX
        heads = check_heads_file(manifest, flatbuffers, str(path)) if manifest.has_learned_heads else None
        return LoadedBundle(path, digest, manifest, b"" if onnx else content, heads, card, content if onnx else None)
    frame, heads = check_runtime_files(manifest, flatbuffers, str(path))
    return LoadedBundle(path, digest, manifest, frame, heads, card)


def check_runtime_files(manifest: Manifest, flatbuffers: dict[str, bytes], where: str) -> tuple[bytes, bytes | None]:
    """Validate the flatbuffers against the manifest, then run each once on zeros with LiteRT
    (a file LiteRT cannot load, or whose probabilities do not sum to 1, is refused here, not
    on the inference thread)."""
    frame_file = RUNTIME_FILES["frame_model"]
    if frame_file not in flatbuffers:
        raise BundleError(f"{where}: bundle has no {frame_file}")
    spec = manifest.input
    frame = flatbuffers[frame_file]
    check_flatbuffer(
        frame, manifest.runtime["frame_model"]["sha256"], {"": (spec.height, spec.width, spec.channels)},
        {"features": (manifest.feature_dim,), "probabilities": (len(manifest.classes),)}, f"{where}: {frame_file}",
    )  # fmt: skip
    out = _smoke_run(frame, np.zeros((2, spec.height, spec.width, spec.channels), np.float32), f"{where}: {frame_file}")
    if not np.allclose(out["probabilities"].sum(axis=1), 1.0, atol=1e-3):
        raise BundleError(f"{where}: per-frame probabilities do not sum to 1 (is the last layer a softmax?)")
    if not manifest.has_learned_heads:
        return frame, None
    return frame, check_heads_file(manifest, flatbuffers, where)


def check_heads_file(manifest: Manifest, flatbuffers: dict[str, bytes], where: str) -> bytes:
    """heads.tflite against the manifest, then one run on zeros."""
    heads_file = RUNTIME_FILES["heads"]
    if heads_file not in flatbuffers:
        raise BundleError(f"{where}: manifest marks learned heads but the bundle has no {heads_file}")
    heads = flatbuffers[heads_file]
    inputs = {"window_input": (manifest.heads_input_width,)}
    if manifest.temporal == "bilstm":
        inputs["window_sequence"] = (manifest.window, N_CLASSES)
    check_flatbuffer(heads, manifest.runtime["heads"]["sha256"], inputs, {"expression": (7,), "valence": (1,), "arousal": (1,)}, f"{where}: {heads_file}")
    _smoke_run(heads, {name: np.zeros((2, *shape), np.float32) for name, shape in inputs.items()}, f"{where}: {heads_file}")
    return heads


def _smoke_run(content: bytes, batch: np.ndarray | dict[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    from affect_live.backends.litert import LiteRtRunner

    try:
        return LiteRtRunner(content)(batch)
    except Exception as exc:  # LiteRT raises RuntimeError/ValueError with multi-line text
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BundleError(f"{where}: LiteRT cannot run it ({first[:200]})") from None
