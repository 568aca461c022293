"""Write ``affect_live/assets/face_crops.npz``: a few real face crops shipped in the package.

They are a subset of ``tests/fixtures/conversion/crops.npy`` (made by
``tools/faceapi_reference/make_crops.py``), taken only from the two public-domain photos
(NASA's portrait of Eileen Collins from scikit-image, the US Navy portrait of Grace Hopper from
matplotlib; see tests/fixtures/README.md): uint8 (N, 112, 112, 3) RGB crops under ``crops`` and
their names under ``names``. ``affect_live.resources.face_crops()`` reads them (the benchmark's
model-only timing, checks of converted models).

The archive is written deterministically (fixed member dates, no pickle): rerunning gives a
byte-identical file. Run from the repository root::

    python tools/ship_face_crops.py
"""

from __future__ import annotations

import argparse
import io
import json
import zipfile
from pathlib import Path

import numpy as np

from affect_live.resources import FACE_CROPS

CONVERSION = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "conversion"
SHIPPED = (
    "astronaut_tight",  # the first three are what `affect-live bench` times the model on
    "astronaut_loose",
    "astronaut_closer",
    "astronaut_shifted",
    "grace_hopper_tight",
    "grace_hopper_loose",
    "grace_hopper_closer",
    "grace_hopper_shifted",
)
_DATE = (1980, 1, 1, 0, 0, 0)


def _member(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
    info = zipfile.ZipInfo(f"{name}.npy", date_time=_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, buffer.getvalue(), compresslevel=9)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=Path, default=CONVERSION, help="folder with crops.npy and crops.json")
    parser.add_argument("--out", type=Path, default=FACE_CROPS, help="the .npz to write")
    args = parser.parse_args(argv)
    crops = np.load(args.crops / "crops.npy")
    names = json.loads((args.crops / "crops.json").read_text())
    picked = np.stack([crops[names.index(name)] for name in SHIPPED]).astype(np.uint8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(args.out, "w") as archive:
        _member(archive, "crops", picked)
        _member(archive, "names", np.array(SHIPPED))
    print(f"wrote {args.out}: crops {picked.shape} {picked.dtype}, {args.out.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
