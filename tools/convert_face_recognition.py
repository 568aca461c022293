"""Convert face-api's FaceRecognitionNet into ``models/face-recognition/`` (re-identification).

Source: the npm package ``@vladmandic/face-api@1.7.15`` (MIT), files
``model/face_recognition_model.bin`` and ``model/face_recognition_model-weights_manifest.json``,
checked against pinned sha256 values (docs: stack.md "Face identity"). The network is rebuilt in
Keras (:mod:`tools/faceapi_recognition_net.py`), converted once to TFLite with float16
weights (11 MB instead of 23 MB; the weights were uint8-quantised to begin with, and the
float16 file is as close to the JavaScript model as the float32 one: 4.1e-4 vs 4.2e-4), checked
(builtin operators only; the TFLite descriptors within 2e-3 of Keras on real face chips, and
within 1e-3 of the original JavaScript model's on ``tests/fixtures/conversion/
recognition_crops.npy`` when ``reference_descriptors.json`` is there) and written as
``face_recognition.tflite`` with ``descriptor.json`` (sha256, input normalisation, provenance,
measured differences). The package's LICENSE is copied beside it.

Run from the repository root (TensorFlow needed; not at run time)::

    python tools/convert_face_recognition.py                       # npm pack + convert
    python tools/convert_face_recognition.py --package-dir /tmp/faceapi/package
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # allow ``python tools/convert_face_recognition.py``
    sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from faceapi_package import (  # noqa: E402
    PACKAGE_SPEC,
    copy_license,
    fetch_package,
    pinned_files,
    read_pinned_weights,
)
from faceapi_recognition_net import (  # noqa: E402
    RECOGNITION_MEAN_RGB,
    RECOGNITION_SCALE,
    build_face_recognition_net,
    recognition_preprocess,
)

from affect_live.backends.flatbuffer import inspect_flatbuffer, sha256_hex  # noqa: E402
from affect_live.backends.keras_runner import KerasRunner
from affect_live.backends.litert import LiteRtRunner  # noqa: E402
from affect_live.backends.native_logs import quiet_native_output  # noqa: E402

LOG = logging.getLogger("convert_face_recognition")

STEM = "face_recognition_model"
OUT_DIR = REPO_ROOT / "models" / "face-recognition"
TFLITE_NAME = "face_recognition.tflite"
CONVERSION = REPO_ROOT / "tests" / "fixtures" / "conversion"
MAX_KERAS_DIFF = 2e-3  # float16 TFLite vs Keras, descriptor values (of magnitude up to ~0.45)
MAX_REFERENCE_DIFF = 1e-3  # TFLite vs the JavaScript model (tfjs cpu backend)


def check_crops() -> np.ndarray:
    """Real 150x150 RGB face chips: the committed recognition fixture."""
    return np.load(CONVERSION / "recognition_crops.npy")


def to_float16_tflite(model) -> bytes:  # noqa: ANN001 (a keras.Model)
    """TFLite flatbuffer with float16 weights (DEQUANTIZE to float32 at load; builtin ops)."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_types = [tf.float16]
    with quiet_native_output():
        return converter.convert()


def max_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package-dir", type=Path,
                        help=f"an unpacked {PACKAGE_SPEC} (default: fetch it with npm pack)")
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR, help="default: %(default)s")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    with tempfile.TemporaryDirectory(prefix="faceapi-") as tmp:
        package_dir = args.package_dir or fetch_package(Path(tmp))
        weights = read_pinned_weights(Path(package_dir), STEM)
        copy_license(package_dir, args.out_dir / "LICENSE-face-api.txt")
    model = build_face_recognition_net(weights)
    LOG.info("built %s with %d parameters", model.name, model.count_params())

    content = to_float16_tflite(model)
    info = inspect_flatbuffer(content, TFLITE_NAME)  # refuses custom operators
    batch = recognition_preprocess(check_crops())
    keras_out = KerasRunner(model)(batch)["descriptor"]
    lite_out = LiteRtRunner(content)(batch)["descriptor"]
    keras_diff = max_diff(keras_out, lite_out)
    if keras_diff > MAX_KERAS_DIFF:
        raise SystemExit(f"TFLite differs from Keras by {keras_diff:.2e} (> {MAX_KERAS_DIFF:g})")
    checks: dict[str, object] = {"keras_max_abs_diff": keras_diff, "checked_on": f"{len(batch)} real face chips"}
    reference_path = CONVERSION / "reference_descriptors.json"
    if reference_path.is_file():
        reference = np.asarray(json.loads(reference_path.read_text())["descriptors"], np.float32)
        ref_diff = max_diff(reference, lite_out)
        if ref_diff > MAX_REFERENCE_DIFF:
            raise SystemExit(f"TFLite differs from the JavaScript model by {ref_diff:.2e} (> {MAX_REFERENCE_DIFF:g})")
        checks["javascript_max_abs_diff"] = ref_diff
        checks["javascript_reference"] = "tests/fixtures/conversion/reference_descriptors.json"
    LOG.info("TFLite vs Keras %.2e; checks %s; operators %s", keras_diff, checks, ", ".join(info.operators))

    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / TFLITE_NAME).write_bytes(content)
    description = {
        "name": "face-api FaceRecognitionNet (dlib ResNet, 128-d descriptor)",
        "file": TFLITE_NAME,
        "sha256": sha256_hex(content),
        "input": "(N, 150, 150, 3) float32 RGB face chips, (rgb - mean_rgb) / scale",
        "mean_rgb": list(RECOGNITION_MEAN_RGB),
        "scale": RECOGNITION_SCALE,
        "output": "descriptor (N, 128) float32; same person when Euclidean distance < ~0.6",
        "operators": list(info.operators),
        "checks": checks,
        "provenance": {"package": PACKAGE_SPEC, "files_sha256": pinned_files(STEM),
                       "converted_by": "tools/convert_face_recognition.py", "license": "MIT"},
    }
    (args.out_dir / "descriptor.json").write_text(json.dumps(description, indent=1) + "\n", encoding="utf-8")
    LOG.info("wrote %s (%d bytes)", args.out_dir / TFLITE_NAME, len(content))
    return 0


if __name__ == "__main__":
    sys.exit(main())
