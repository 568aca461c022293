"""Loading Keras models from untrusted bytes without running code from them.

Keras' own `safe_mode` refuses Lambda bytecode; on top of that we read the archive's
config.json before Keras sees it (bounded in size and nesting depth: `safe_archive`) and refuse
anything that is not a built-in Keras object (custom classes would make Keras import modules
named by the file).
"""

from __future__ import annotations

import io
import logging
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from affect_live.backends.safe_archive import ZIP_ERRORS, MiB, check_archive, load_json, read_member
from affect_live.errors import BundleError
from affect_live.extras import tensorflow_installed, tensorflow_missing

log = logging.getLogger(__name__)

# A Keras model's config.json is tens of kB (the default bundle's: 51 kB, 11 levels deep);
# these limits only stop files built to exhaust memory or Python's recursion.
MAX_CONFIG_BYTES = 16 * MiB
MAX_CONFIG_DEPTH = 100
_REFUSED_CLASSES = {"Lambda", "TFSMLayer"}


def check_config(node: Any, where: str) -> None:
    """Raise BundleError for any serialized object that is not plain built-in Keras."""
    if isinstance(node, dict):
        class_name = node.get("class_name")
        if class_name in _REFUSED_CLASSES:
            raise BundleError(f"{where}: refusing a {class_name} layer (it would run code from the file)")
        module = node.get("module")
        if isinstance(module, str) and class_name is not None and not (module == "keras" or module.startswith("keras.")):
            raise BundleError(f"{where}: refusing custom object {class_name!r} from module {module!r}")
        registered = node.get("registered_name")
        if isinstance(registered, str) and ">" in registered:
            raise BundleError(f"{where}: refusing custom object {registered!r}")
        for value in node.values():
            check_config(value, where)
    elif isinstance(node, list):
        for value in node:
            check_config(value, where)


def check_keras_archive(data: bytes, where: str) -> None:
    """Validate the structure of a `.keras` archive (bytes) without loading it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "config.json" not in check_archive(archive, where):
                raise BundleError(f"{where}: not a Keras 3 model archive (no config.json)")
            config_bytes = read_member(archive, "config.json", MAX_CONFIG_BYTES, where)
    except ZIP_ERRORS as exc:
        raise BundleError(f"{where}: not a readable Keras model archive ({exc})") from None
    check_config(parse_config(config_bytes, f"{where}: config.json"), where)


def parse_config(data: bytes | str, what: str) -> object:
    """A Keras model config (config.json, or an HDF5 file's model_config) as JSON, bounded."""
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_CONFIG_BYTES:
        raise BundleError(f"{what} is larger than {MAX_CONFIG_BYTES // MiB} MiB")
    return load_json(raw, what, MAX_CONFIG_DEPTH)


def load_keras_bytes(data: bytes, where: str) -> Any:
    """Load a `.keras` archive given as bytes, with every safety check on."""
    check_keras_archive(data, where)
    if not tensorflow_installed():
        raise BundleError(f"{where}: {tensorflow_missing('loading a Keras model')}")
    import keras  # deferred: importing TensorFlow costs seconds

    with tempfile.TemporaryDirectory(prefix="affect-live-") as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(data)
        try:
            return keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:  # Keras raises many types for a bad file
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BundleError(f"{where}: Keras could not load the model ({first_line[:200]})") from None


def keras_to_bytes(model: Any) -> bytes:
    """Serialize a Keras model to `.keras` archive bytes."""
    with tempfile.TemporaryDirectory(prefix="affect-live-") as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        return path.read_bytes()
