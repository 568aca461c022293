"""Convert face-api's FaceExpressionNet weights into affect-live's default weight bundle.

Source: the npm package ``@vladmandic/face-api@1.7.15`` (MIT), files
``model/face_expression_model.bin`` and
``model/face_expression_model-weights_manifest.json``.  Both are checked
against pinned sha256 values before use.  By default the tarball is fetched
with ``npm pack`` (no dependencies are installed); ``--package-dir`` uses an
already unpacked package instead.

The package's LICENSE is copied to ``models/faceapi-expression/LICENSE-face-api.txt``.

Run from the repository root::

    python tools/convert_faceapi.py                          # npm pack + convert
    python tools/convert_faceapi.py --package-dir /tmp/faceapi/package --out build/x.keras

The resulting model expects float32 input ``(N, 112, 112, 3)`` normalised as
face-api does: ``(RGB - (122.782, 117.001, 104.298)) / 255``
(:func:`tools/faceapi_net.py.faceapi_preprocess`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # allow ``python tools/convert_faceapi.py``
    sys.path.insert(0, str(REPO_ROOT))

import keras  # noqa: E402
from faceapi_net import (  # noqa: E402
    FACEAPI_CLASSES,
    FACEAPI_INPUT_SIZE,
    FACEAPI_MEAN_RGB,
    FACEAPI_STD,
    build_faceapi_expression_net,
)

from affect_live.model.bundle.manifest import InputSpec, Manifest  # noqa: E402
from affect_live.model.bundle.priors import (  # noqa: E402
    VA_POSITIONS,
    VA_POSITIONS_SOURCE,
    prior_heads,
)
from affect_live.model.making.writing import write_bundle  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from faceapi_package import (  # noqa: E402
    PACKAGE_SPEC,
    copy_license,
    fetch_package,
    pinned_files,
    read_pinned_weights,
)

LOG = logging.getLogger("convert_faceapi")

STEM = "face_expression_model"
PINNED_SHA256 = pinned_files(STEM)
DEFAULT_OUT = REPO_ROOT / "models" / "faceapi-expression" / "faceapi-expression.affect"
MODEL_CARD = REPO_ROOT / "models" / "faceapi-expression" / "MODEL_CARD.md"
LICENSE_OUT = REPO_ROOT / "models" / "faceapi-expression" / "LICENSE-face-api.txt"


def convert(package_dir: str | Path) -> keras.Model:
    """Build the Keras FaceExpressionNet from an unpacked, pinned face-api package.

    Args:
        package_dir: directory holding face-api's ``package.json`` and ``model/``.

    Returns:
        the ``faceapi_expression_net`` model with face-api's weights loaded.
    """
    weights = read_pinned_weights(Path(package_dir), STEM)
    model = build_faceapi_expression_net(weights)
    LOG.info("built %s with %d parameters", model.name, model.count_params())
    return model


def default_manifest() -> Manifest:
    """The manifest of the shipped bundle: a learned per-frame model, prior heads."""
    return Manifest(
        name="faceapi-expression",
        version="1.7.15-1",
        license="MIT",
        description="face-api FaceExpressionNet (per-frame, learned) with documented prior heads.",
        input=InputSpec(
            width=FACEAPI_INPUT_SIZE,
            height=FACEAPI_INPUT_SIZE,
            color="rgb",
            mean=FACEAPI_MEAN_RGB,
            std=(FACEAPI_STD,),
            crop="box",
            margin=0.0,
        ),
        classes=FACEAPI_CLASSES,
        feature_dim=256,
        window=16,
        frame_model=(
            "face-api FaceExpressionNet by Vincent Muehler / Vladimir Mandic, trained by its authors on "
            "crops from face-api's own face detector; training data not published; not trained on Aff-Wild2."
        ),
        heads=prior_heads(),
        va_positions=dict(VA_POSITIONS),
        va_positions_source=VA_POSITIONS_SOURCE,
        provenance={
            "package": PACKAGE_SPEC,
            "files_sha256": dict(PINNED_SHA256),
            "converted_by": "tools/convert_faceapi.py",
            "reference_check": "tests/fixtures/conversion (tfjs 4.22.0 CPU backend), max |dp| 3.6e-7",
        },
    )


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-dir", type=Path,
                        help=f"an unpacked {PACKAGE_SPEC} (default: fetch it with npm pack)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="output weight bundle (default: %(default)s)")
    parser.add_argument("--license-out", type=Path, default=LICENSE_OUT,
                        help="where to copy face-api's LICENSE (default: %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    with tempfile.TemporaryDirectory(prefix="faceapi-") as tmp:
        package_dir = args.package_dir or fetch_package(Path(tmp))
        model = convert(package_dir)
        copy_license(package_dir, args.license_out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_bundle(args.out, default_manifest(), model, model_card=MODEL_CARD.read_text(encoding="utf-8"))
    LOG.info("saved %s", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
