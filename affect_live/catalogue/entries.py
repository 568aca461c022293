"""The model catalogue: published per-frame models that `models fetch` installs on request.

The catalogue is a JSON data file in the package (`catalogue.json`); a lab adds entries of its
own in files of the same format (`--catalogue FILE`, or the `AFFECT_LIVE_CATALOGUE` variable,
several paths separated by the OS path separator; docs/catalogue.md). Every file is untrusted
input and checked field by field: a problem is one `CatalogueError` line.

Standard library only, so that resolving `--weights NAME` costs nothing.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affect_live.errors import EXIT_BAD_WEIGHTS, UserError

CATALOGUE_FILE = Path(__file__).resolve().parent / "catalogue.json"
CATALOGUE_ENV = "AFFECT_LIVE_CATALOGUE"
FORMAT = "affect-live-catalogue"
MAX_FILE_BYTES = 1 << 20  # a catalogue is a few kB; anything near this is not one
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class CatalogueError(UserError):
    """A catalogue file or entry that cannot be used (one line, exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_BAD_WEIGHTS)


@dataclass(frozen=True)
class ImportSpec:
    """How the downloaded file becomes a bundle: the `import-weights` flags, as data."""

    format: str  # "onnx"
    width: int
    height: int
    color: str
    layout: str
    scale: tuple[float, float]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop: str
    margin: float
    classes: tuple[str, ...]
    logits: bool
    outputs: str
    features: str | None  # "last_layer_input": expose the last Gemm's input as an output
    feature_dim: int
    window: int


@dataclass(frozen=True)
class CatalogueEntry:
    name: str
    title: str
    measures: str
    trained_on: str
    license: str
    repository: str
    commit: str
    path: str  # the file in the repository
    url: str
    git_blob_sha1: str | None
    sha256: str | None
    approx_size_mb: float
    speed: str
    cpu_ms_per_face: float | None
    recommended: bool
    citations: tuple[str, ...]
    reported: str
    spec: ImportSpec
    catalogue: Path  # the file it came from

    @property
    def upstream_file(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def _field(data: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, optional: bool = False) -> Any:
    if key not in data:
        if optional:
            return None
        raise CatalogueError(f"{where}: {key} is missing")
    value = data[key]
    if value is None and optional:
        return None
    if isinstance(value, bool) and kind is not bool:  # true is not a number
        raise CatalogueError(f"{where}: {key} must be {_kind_name(kind)}, got {type(value).__name__}")
    if not isinstance(value, kind):
        raise CatalogueError(f"{where}: {key} must be {_kind_name(kind)}, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise CatalogueError(f"{where}: {key} must be a finite number")
    if isinstance(value, str) and len(value) > 2000:
        raise CatalogueError(f"{where}: {key} is longer than 2000 characters")
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", bool: "true or false", int: "an integer", float: "a number", list: "a list", dict: "an object"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _numbers(data: dict[str, Any], key: str, where: str, count: tuple[int, ...]) -> tuple[float, ...]:
    values = _field(data, key, list, where)
    if len(values) not in count or any(isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) for v in values):
        raise CatalogueError(f"{where}: {key} must be a list of {' or '.join(map(str, count))} finite numbers")
    return tuple(float(v) for v in values)


def _spec(data: Any, where: str) -> ImportSpec:
    if not isinstance(data, dict):
        raise CatalogueError(f"{where}: import must be an object")
    where = f"{where}.import"
    fmt = _field(data, "format", str, where)
    if fmt != "onnx":
        raise CatalogueError(f"{where}: format {fmt!r} is not supported (onnx)")
    width, height = (int(v) for v in _numbers(data, "input", where, (2,)))
    if not (8 <= width <= 1024 and 8 <= height <= 1024):
        raise CatalogueError(f"{where}: input must be between 8 and 1024 pixels a side")
    channels = {"color": ("rgb", "bgr", "gray"), "layout": ("nchw", "nhwc"), "crop": ("box", "aligned")}
    text = {}
    for key, allowed in channels.items():
        text[key] = _field(data, key, str, where)
        if text[key] not in allowed:
            raise CatalogueError(f"{where}: {key} must be one of {', '.join(allowed)}")
    classes = _field(data, "classes", list, where)
    if not 2 <= len(classes) <= 64 or not all(isinstance(c, str) and _NAME.match(c) for c in classes):
        raise CatalogueError(f"{where}: classes must be 2 to 64 lower-case names")
    features = _field(data, "features", str, where, optional=True)
    if features not in (None, "last_layer_input"):
        raise CatalogueError(f"{where}: features must be \"last_layer_input\" or absent")
    feature_dim, window = _field(data, "feature_dim", int, where), _field(data, "window", int, where)
    margin = float(_field(data, "margin", (int, float), where))
    if not (1 <= feature_dim <= 65536 and 1 <= window <= 1024 and 0.0 <= margin <= 1.0):
        raise CatalogueError(f"{where}: feature_dim, window or margin is out of range")
    return ImportSpec(
        fmt, width, height, text["color"], text["layout"], _numbers(data, "scale", where, (2,)),  # type: ignore[arg-type]
        _numbers(data, "mean", where, (1, 3)), _numbers(data, "std", where, (1, 3)), text["crop"], margin,
        tuple(classes), _field(data, "logits", bool, where), _field(data, "outputs", str, where), features, feature_dim, window,
    )  # fmt: skip


def parse_entry(data: Any, catalogue: Path, index: int) -> CatalogueEntry:
    where = f"{catalogue}: models[{index}]"
    if not isinstance(data, dict):
        raise CatalogueError(f"{where} must be an object")
    name = _field(data, "name", str, where)
    if not _NAME.match(name):
        raise CatalogueError(f"{where}: name {name!r} must be lower-case letters, digits, '.', '_' or '-'")
    where = f"{catalogue}: {name}"
    url = _field(data, "url", str, where)
    if not url.startswith("https://"):
        raise CatalogueError(f"{where}: url must be https:// (a lab's own http server goes in --mirror)")
    blob, sha256 = _field(data, "git_blob_sha1", str, where, optional=True), _field(data, "sha256", str, where, optional=True)
    if blob is None and sha256 is None:
        raise CatalogueError(f"{where}: needs a pin: git_blob_sha1 or sha256")
    if (blob is not None and not _HEX40.match(blob)) or (sha256 is not None and not _HEX64.match(sha256)):
        raise CatalogueError(f"{where}: git_blob_sha1 must be 40 and sha256 64 lower-case hex digits")
    citations = _field(data, "citations", list, where, optional=True) or []
    if not all(isinstance(c, str) for c in citations):
        raise CatalogueError(f"{where}: citations must be strings")
    size = float(_field(data, "approx_size_mb", (int, float), where))
    ms = _field(data, "cpu_ms_per_face", (int, float), where, optional=True)
    return CatalogueEntry(
        name, _field(data, "title", str, where), _field(data, "measures", str, where), _field(data, "trained_on", str, where),
        _field(data, "license", str, where), _field(data, "repository", str, where), _field(data, "commit", str, where),
        _field(data, "path", str, where), url, blob, sha256, size, _field(data, "speed", str, where),
        None if ms is None else float(ms), bool(_field(data, "recommended", bool, where, optional=True)), tuple(citations),
        _field(data, "reported", str, where, optional=True) or "", _spec(data.get("import"), where), catalogue,
    )  # fmt: skip


def read_catalogue(path: Path) -> list[CatalogueEntry]:
    path = Path(path)
    try:
        raw = path.read_bytes()[: MAX_FILE_BYTES + 1]
    except OSError as exc:
        raise CatalogueError(f"cannot read the catalogue {path}: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise CatalogueError(f"{path}: larger than {MAX_FILE_BYTES // 1024} kB, not a catalogue")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise CatalogueError(f"{path}: not valid JSON") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("version") != 1:
        raise CatalogueError(f"{path}: not an affect-live catalogue (format {FORMAT!r}, version 1)")
    models = data.get("models")
    if not isinstance(models, list):
        raise CatalogueError(f"{path}: models must be a list")
    return [parse_entry(item, path, i) for i, item in enumerate(models)]


def catalogue_paths(extra: list[Path] | None = None) -> list[Path]:
    """The package's catalogue, then those named by AFFECT_LIVE_CATALOGUE, then `extra`."""
    from_env = [Path(p) for p in os.environ.get(CATALOGUE_ENV, "").split(os.pathsep) if p]
    return [CATALOGUE_FILE, *from_env, *(extra or [])]


def load_catalogue(extra: list[Path] | None = None) -> dict[str, CatalogueEntry]:
    """Every entry by name; a lab's entry of the same name as a shipped one is refused."""
    entries: dict[str, CatalogueEntry] = {}
    for path in catalogue_paths(extra):
        for entry in read_catalogue(path):
            if entry.name in entries:
                raise CatalogueError(f"{path}: {entry.name} is already in {entries[entry.name].catalogue}")
            entries[entry.name] = entry
    return entries
