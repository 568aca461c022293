"""The JSON sidecar beside each CSV: written atomically, and still written when the disk is full."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

from affect_live.errors import RecordingError
from affect_live.recording.output_files import SIDECAR_TEMP_SUFFIX, sidecar_path  # noqa: F401  (also imported from here)

log = logging.getLogger(__name__)

# What computes the numbers (those installed are listed; TensorFlow only with the train extra).
_VERSIONED_PACKAGES = ("affect-live", "numpy", "opencv-contrib-python", "ai-edge-litert", "onnxruntime", "tensorflow-cpu", "tensorflow", "keras")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _VERSIONED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def write_sidecar(path: Path, content: dict[str, Any]) -> None:
    """Write JSON atomically (temp file + rename); raises RecordingError (one line).

    Without room for a second copy (disk full, file size limit) the existing sidecar is
    overwritten in place, compact and padded with spaces to its old length, which needs no new
    disk space: the final status still gets written when the CSV filled the disk. The temp file
    never stays behind.
    """
    tmp = path.with_name(path.name + SIDECAR_TEMP_SUFFIX)
    try:
        tmp.write_text(json.dumps(content, indent=2, default=str))
        os.replace(tmp, path)
        return
    except OSError as exc:
        error = exc
    with contextlib.suppress(OSError):
        tmp.unlink()
    compact = json.dumps(content, separators=(",", ":"), default=str).encode()
    try:
        size = path.stat().st_size
        if len(compact) <= size:
            with open(path, "r+b") as handle:
                handle.write(compact + b" " * (size - len(compact)))  # trailing spaces are valid JSON
            return
    except OSError:
        log.debug("cannot overwrite %s in place", path, exc_info=True)
    raise RecordingError(f"cannot write {path}: {error.strerror}")
