"""Format-1 bundles (Keras archives only): converted to TFLite once, then cached per user.

The conversion needs TensorFlow, which the run time never imports, so it runs in a child
process (`python -m affect_live.model.making.upgrade`); the flatbuffers it makes are checked against
the Keras models there exactly as when a format-2 bundle is written. The cache is keyed by the
bundle file's sha256, so a changed file is converted again. Cached files are validated on every
load like a bundle's own (sha256, builtin operators, shapes).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from affect_live.errors import BundleError
from affect_live.extras import tensorflow_installed, tensorflow_missing
from affect_live.model.bundle.manifest import RUNTIME_FILES, Manifest, check_runtime

log = logging.getLogger(__name__)

RUNTIME_JSON = "runtime.json"
CONVERSION_TIMEOUT_S = 900


def cache_root() -> Path:
    """$XDG_CACHE_HOME/affect-live/tflite (by default ~/.cache/affect-live/tflite)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "affect-live" / "tflite"


def _read_cached(folder: Path) -> tuple[dict[str, Any], dict[str, bytes]] | None:
    try:
        runtime = json.loads((folder / RUNTIME_JSON).read_text())
        files = {name: (folder / name).read_bytes() for name in RUNTIME_FILES.values() if (folder / name).is_file()}
    except (OSError, ValueError):
        return None
    return (runtime, files) if isinstance(runtime, dict) else None


def runtime_for_format1(path: Path, digest: str, manifest: Manifest) -> tuple[Manifest, dict[str, bytes]]:
    """The manifest with its `runtime` section, and the flatbuffers, of a format-1 bundle: from
    the cache or converted now (one log line says so)."""
    folder = cache_root() / digest
    cached = _read_cached(folder)
    if cached is not None:
        log.info("%s: format-1 bundle, using its TFLite conversion cached in %s", path, folder)
    else:
        cached = _convert(path, folder)
    runtime, files = cached
    upgraded = dataclasses.replace(manifest, runtime=runtime)
    try:
        check_runtime(upgraded)
    except BundleError as exc:
        raise BundleError(f"{path}: the cached conversion in {folder} is damaged ({exc}); delete that folder to convert again") from None
    return upgraded, files


def _convert(path: Path, folder: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    if not tensorflow_installed():
        raise BundleError(f"{path} is a format-1 bundle: {tensorflow_missing('converting it')}")
    log.warning("%s is a format-1 bundle: converting its models to TFLite once (needs TensorFlow, takes a while); cached in %s", path, folder)
    command = [sys.executable, "-m", "affect_live.model.making.upgrade", str(path), str(folder)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CONVERSION_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise BundleError(f"{path}: converting the format-1 bundle took longer than {CONVERSION_TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise BundleError(f"{path}: converting the format-1 bundle failed ({lines[-1] if lines else f'exit {done.returncode}'})")
    cached = _read_cached(folder)
    if cached is None:
        raise BundleError(f"{path}: the converted files could not be read back from {folder}")
    return cached
