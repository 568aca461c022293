"""Weight bundles: one file per model, a zip of a manifest, TFLite flatbuffers and Keras archives.

Members (format 2): `manifest.json`; `frame_model.tflite` (image -> features, probabilities)
and `heads.tflite` (only when a head is learned), which the run time uses through LiteRT; the
same models as `frame_model.keras` / `heads.keras`, kept for training, fine-tuning and the GPU
path; `MODEL_CARD.md` (optional). The flatbuffers are made and checked against the Keras models
once, when the bundle is written. Format-1 bundles (Keras only) are converted once and cached
(`affect_live.model.bundle.legacy`).

Loading never imports TensorFlow and never executes code from the file: every member is
validated and any problem raises `BundleError` with a one-line message. What a file can cost is
bounded before it is unpacked: at most `MAX_MEMBERS` members, each read only up to its kind's
limit below (`backends.safe_archive`), the manifest's JSON nesting bounded before parsing. The
limits are far above any real bundle's (docs/models.md, "Limits").
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from affect_live.backends.flatbuffer import check_flatbuffer
from affect_live.backends.safe_archive import ZIP_ERRORS, GiB, MiB, check_archive, load_json, read_member
from affect_live.backends.safe_keras import check_keras_archive, load_keras_bytes
from affect_live.errors import BundleError
from affect_live.model.bundle.manifest import FRAME_ONNX, N_CLASSES, RUNTIME_FILES, Manifest
from affect_live.resources import DEFAULT_BUNDLE, MODELS_DIR  # noqa: F401  (re-exported)

log = logging.getLogger(__name__)

BUNDLE_SUFFIX = ".affect"
_PLAIN_KERAS_SUFFIXES = {".h5", ".hdf5", ".keras"}
_KERAS_MEMBERS = ("frame_model.keras", "heads.keras")
MODEL_CARD = "MODEL_CARD.md"
# Per kind of member, the most it may unpack to. The shipped bundle's manifest is 3 kB (4 levels
# deep), its card 4 kB, its largest model file 1.5 MB; other members are never read.
MAX_MANIFEST_BYTES = MiB
MAX_MANIFEST_DEPTH = 32
MAX_CARD_BYTES = MiB
MAX_MODEL_BYTES = GiB  # each Keras archive, flatbuffer or ONNX file (the catalogue's download limit)
_LIMITS = {"manifest.json": MAX_MANIFEST_BYTES} | dict.fromkeys((*_KERAS_MEMBERS, *RUNTIME_FILES.values(), FRAME_ONNX), MAX_MODEL_BYTES)


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
    frame_onnx: bytes | None = field(default=None, repr=False)  # a brought-in ONNX model

    @property
    def model_card(self) -> str:
        """MODEL_CARD.md, read from the file each time it is shown (never kept)."""
        return read_model_card(self.path)

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
            return load_keras_bytes(read_member(archive, name, MAX_MODEL_BYTES, str(self.path)), f"{self.path}: {name}")


@contextlib.contextmanager
def _open_bundle(path: Path) -> Iterator[tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]]:
    """The bundle's zip and its members by name (their count and total size checked), with
    every structural problem as a BundleError."""
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
            infos = check_archive(archive, str(path))
            if "manifest.json" not in infos:
                if "config.json" in infos:
                    raise BundleError(f"{path} is a plain Keras file: wrap it first with `affect-live import-weights`")
                raise BundleError(f"{path} is not an affect-live weight bundle (no manifest.json)")
            yield archive, infos
    except ZIP_ERRORS as exc:
        raise BundleError(f"{path}: damaged bundle ({exc})") from None


def read_members(path: Path) -> dict[str, bytes]:
    """The manifest and model files of a bundle, each refused when it unpacks to more than its
    limit (the model card is read only when shown: `read_model_card`)."""
    with _open_bundle(path) as (archive, infos):
        return {name: read_member(archive, name, limit, str(path)) for name, limit in _LIMITS.items() if name in infos}


def read_model_card(path: Path) -> str:
    """MODEL_CARD.md of a bundle ("" when it has none), at most MAX_CARD_BYTES."""
    with _open_bundle(Path(path)) as (archive, infos):
        if MODEL_CARD not in infos:
            return ""
        return read_member(archive, MODEL_CARD, MAX_CARD_BYTES, str(path)).decode("utf-8", "replace")


def read_manifest(path: Path) -> Manifest:
    """The manifest of a bundle, without loading any model (for listings)."""
    with _open_bundle(Path(path)) as (archive, _):
        data = read_member(archive, "manifest.json", MAX_MANIFEST_BYTES, str(path))
    return parse_manifest({"manifest.json": data}, Path(path))


def parse_manifest(members: dict[str, bytes], path: Path) -> Manifest:
    data = load_json(members["manifest.json"], f"{path}: manifest.json", MAX_MANIFEST_DEPTH)
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
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    if manifest.format_version < 2:
        from affect_live.model.bundle.legacy import runtime_for_format1

        manifest, flatbuffers = runtime_for_format1(path, digest, manifest)
    else:
        flatbuffers = {name: members[name] for name in RUNTIME_FILES.values() if name in members}
    if manifest.outputs:
        from affect_live.model.bundle.brought_in import check_brought_in

        content = members.get(manifest.frame_file)
        if content is None:
            raise BundleError(f"{path}: bundle has no {manifest.frame_file}")
        check_brought_in(manifest, content, f"{path}: {manifest.frame_file}")
        onnx = manifest.frame_file == FRAME_ONNX
        heads = check_heads_file(manifest, flatbuffers, str(path)) if manifest.has_learned_heads else None
        return LoadedBundle(path, digest, manifest, b"" if onnx else content, heads, content if onnx else None)
    frame, heads = check_runtime_files(manifest, flatbuffers, str(path))
    return LoadedBundle(path, digest, manifest, frame, heads)


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
