"""The lightweight run time: bundles of format 2 run on LiteRT, never on TensorFlow.

Covers the shipped flatbuffers against their Keras models, untrusted flatbuffers (random bytes,
a custom operator, a wrong output size, a changed file), format-1 bundles (converted once and
cached) and the commands' imports (no TensorFlow, Keras or MediaPipe in `analyze`, `models`,
`bench` or the app).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
import flatbuffers

from affect_live.model.bundle.reading import DEFAULT_BUNDLE, MODELS_DIR, load_bundle
from affect_live.backends.flatbuffer import sha256_hex
from affect_live.model.inference.frame_model import FrameModel
from affect_live.model.bundle.input_batch import preprocess
from affect_live.errors import BundleError
from affect_live.model.bundle.manifest import MAX_CONVERSION_DIFF
from affect_live.backends.keras_runner import KerasRunner
from affect_live.backends.litert import LiteRtRunner
from tests.conftest import CLIPS, FIXTURES, IMAGES, REPO, assert_each_refused
from tests.helpers.without_train_extra import PRELUDE

CROPS_RGB = np.load(FIXTURES / "conversion" / "crops.npy")


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _with_frame_tflite(tmp_path: Path, name: str, content: bytes, update_sha: bool = True) -> Path:
    """The default bundle with another frame_model.tflite (and, normally, its sha256 in the manifest)."""
    members = _members(DEFAULT_BUNDLE)
    manifest = json.loads(members["manifest.json"])
    if update_sha:
        manifest["runtime"]["frame_model"]["sha256"] = sha256_hex(content)
    members["manifest.json"] = json.dumps(manifest).encode()
    members["frame_model.tflite"] = content
    return _write(tmp_path / name, members)


def _edited_flatbuffer(edit) -> bytes:  # noqa: ANN001
    """The default frame model's flatbuffer, changed through LiteRT's schema object API."""
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAs(_members(DEFAULT_BUNDLE)["frame_model.tflite"], 0))
    edit(model)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _custom_operator(model) -> None:  # noqa: ANN001
    code = model.operatorCodes[0]
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    code.customCode = "EvilNativeOp"


def _six_probabilities(model) -> None:  # noqa: ANN001
    signature = model.signatureDefs[0]
    index = next(o.tensorIndex for o in signature.outputs if o.name == b"probabilities" or o.name == "probabilities")
    tensor = model.subgraphs[signature.subgraphIndex].tensors[index]
    tensor.shape = np.array([1, 6], dtype=np.int32)
    tensor.shapeSignature = np.array([-1, 6], dtype=np.int32)


def test_shipped_flatbuffers_match_their_keras_models():
    bundles = sorted(MODELS_DIR.glob("*/*.affect"))
    assert DEFAULT_BUNDLE in bundles
    for path in bundles:
        bundle = load_bundle(path)
        batch = preprocess(list(np.ascontiguousarray(CROPS_RGB[..., ::-1])), bundle.manifest.input)
        lite = LiteRtRunner(bundle.frame_tflite)(batch)
        keras = KerasRunner(bundle.frame_model)(batch)
        diff = np.abs(lite["probabilities"] - keras["probabilities"]).max()
        assert diff <= MAX_CONVERSION_DIFF, (path, diff)
        recorded = bundle.manifest.runtime["frame_model"]
        assert recorded["sha256"] == sha256_hex(bundle.frame_tflite) and recorded["max_abs_diff"] <= MAX_CONVERSION_DIFF


def test_bad_flatbuffers_are_refused_with_one_line(tmp_path):
    random_bytes = np.random.default_rng(0).bytes(4096)
    cases = {
        "random bytes": (_with_frame_tflite(tmp_path, "random.affect", random_bytes), "not a TFLite flatbuffer"),
        "random with header": (_with_frame_tflite(tmp_path, "header.affect", random_bytes[:4] + b"TFL3" + random_bytes[8:]), "damaged"),
        "custom operator": (_with_frame_tflite(tmp_path, "custom.affect", _edited_flatbuffer(_custom_operator)), "custom operator 'EvilNativeOp'"),
        "output size": (_with_frame_tflite(tmp_path, "six.affect", _edited_flatbuffer(_six_probabilities)), "output probabilities has shape (N, 6), expected (N, 7)"),
        "sha256": (_with_frame_tflite(tmp_path, "changed.affect", _edited_flatbuffer(_six_probabilities), update_sha=False), "sha256 does not match"),
        "missing": (_write(tmp_path / "none.affect", {k: v for k, v in _members(DEFAULT_BUNDLE).items() if k != "frame_model.tflite"}), "no frame_model.tflite"),
    }
    assert_each_refused(cases, load_bundle)


def test_cli_refuses_a_custom_operator_with_exit_2(tmp_path):
    bad = _with_frame_tflite(tmp_path, "custom.affect", _edited_flatbuffer(_custom_operator))
    proc = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "analyze", str(IMAGES / "astronaut.png"), "--out", str(tmp_path / "x.csv"), "--weights", str(bad)],
        capture_output=True, text=True, timeout=300,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "custom operator" in lines[0], proc.stderr
    assert not (tmp_path / "x.csv").exists()


def _format1_bundle(tmp_path: Path) -> Path:
    """The default bundle as an affect-live release before format 2 wrote it: Keras only."""
    members = _members(DEFAULT_BUNDLE)
    manifest = json.loads(members["manifest.json"])
    manifest["format_version"] = 1
    del manifest["runtime"]
    kept = {"manifest.json": json.dumps(manifest).encode(), "frame_model.keras": members["frame_model.keras"], "MODEL_CARD.md": members["MODEL_CARD.md"]}
    return _write(tmp_path / "format1.affect", kept)


def test_format1_bundle_is_converted_once_and_cached(tmp_path, monkeypatch, caplog, default_bundle):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    old = _format1_bundle(tmp_path)
    with caplog.at_level(logging.INFO, logger="affect_live.model.bundle.legacy"):
        first = load_bundle(old)
    converting = [r for r in caplog.records if "converting its models to TFLite once" in r.getMessage()]
    assert len(converting) == 1 and converting[0].levelno == logging.WARNING
    cached = tmp_path / "cache" / "affect-live" / "tflite" / first.sha256
    assert (cached / "frame_model.tflite").is_file() and (cached / "runtime.json").is_file()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="affect_live.model.bundle.legacy"):
        second = load_bundle(old)
    assert not any("converting" in r.getMessage() for r in caplog.records)
    assert any("cached in" in r.getMessage() for r in caplog.records)
    assert second.frame_tflite == first.frame_tflite
    crops = list(np.ascontiguousarray(CROPS_RGB[..., ::-1]))
    _, old_probs = FrameModel(second).infer(crops)
    _, new_probs = FrameModel(default_bundle).infer(crops)
    np.testing.assert_allclose(old_probs, new_probs, atol=MAX_CONVERSION_DIFF)
    # A cached file that was changed is refused like a bundle's own.
    (cached / "frame_model.tflite").write_bytes(b"\0" * 64)
    with pytest.raises(BundleError, match="sha256 does not match"):
        load_bundle(old)
    (cached / "runtime.json").write_text("{}")
    with pytest.raises(BundleError, match="cached conversion .* is damaged .*runtime.frame_model is missing"):
        load_bundle(old)


_MODULES_SCRIPT = PRELUDE + """
import json, sys
from affect_live.cli.parser import main
status = main(sys.argv[1:])
heavy = sorted(m for m in ("tensorflow", "keras", "mediapipe", "mne_lsl", "mne") if sys.modules.get(m) is not None)
benchmarks = any(m.startswith("affect_live.benchmarks") for m in sys.modules)
print(json.dumps({"status": status, "heavy": heavy, "benchmarks": benchmarks}))
"""


def _run_without_heavy_imports(args: list[str], cwd: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _MODULES_SCRIPT, *args], capture_output=True, text=True, timeout=300, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_analyze_models_and_bench_import_no_tensorflow(tmp_path):
    analyzed = _run_without_heavy_imports(["analyze", str(IMAGES / "astronaut.png"), "--out", str(tmp_path / "a.csv"), "--quiet"], tmp_path)
    assert analyzed == {"status": 0, "heavy": [], "benchmarks": False}
    rows = (tmp_path / "a.csv").read_text().splitlines()
    assert len(rows) == 2 and rows[1].split(",")[17] == "happiness"  # the expression column
    assert json.loads((tmp_path / "a.meta.json").read_text())["model"]["device"] == "CPU (LiteRT)"
    assert _run_without_heavy_imports(["models", "--brief"], tmp_path) == {"status": 0, "heavy": [], "benchmarks": False}
    assert _run_without_heavy_imports(["bench", "--frames", "8", "--long", "8"], tmp_path) == {"status": 0, "heavy": [], "benchmarks": True}


_APP_SCRIPT = PRELUDE + """
import json, os, sys
from PyQt5.QtWidgets import QApplication
from affect_live.ui.app import AppOptions, build_window, prepare_qt_environment
from affect_live.ui.settings import AppSettings
from PyQt5.QtCore import QSettings
prepare_qt_environment()
app = QApplication([])
store = QSettings(sys.argv[2], QSettings.IniFormat)
window = build_window(AppOptions(source=sys.argv[1]), AppSettings.load(store), store, cameras=[])
window.show()
import time
deadline = time.monotonic() + 120
while window.session.latest() is None or not window.session.latest().predictions:
    app.processEvents()
    if time.monotonic() > deadline:
        sys.exit("no prediction")
    time.sleep(0.01)
window.close()
heavy = sorted(m for m in ("tensorflow", "keras", "mediapipe", "mne_lsl", "mne") if sys.modules.get(m) is not None)
benchmarks = any(m.startswith("affect_live.benchmarks") for m in sys.modules)
print(json.dumps({"heavy": heavy, "benchmarks": benchmarks, "device": window.session.stats().device}))
"""


def test_the_app_predicts_without_tensorflow(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, "-c", _APP_SCRIPT, str(CLIPS / "astronaut_motion.mp4"), str(tmp_path / "settings.ini")],
        capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {"heavy": [], "benchmarks": False, "device": "CPU (LiteRT)"}


def test_device_gpu_without_a_gpu_is_one_error_line(tmp_path):
    from affect_live.backends.device import nvidia_gpu_present

    if nvidia_gpu_present():
        pytest.skip("this machine has an NVIDIA GPU")
    proc = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "analyze", str(IMAGES / "astronaut.png"), "--out", str(tmp_path / "x.csv"), "--device", "gpu"],
        capture_output=True, text=True, timeout=300,
    )
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and len(lines) == 1 and "no NVIDIA GPU found" in lines[0], proc.stderr


def test_the_tensorflow_path_gives_the_litert_results(default_bundle):
    """The GPU path (the Keras models in tf.function) runs on the CPU too when forced: it must
    predict what LiteRT predicts. (No GPU on CI: this checks that code path, not a GPU.)"""
    from affect_live.model.inference.engine import AffectEngine

    crops = list(np.ascontiguousarray(CROPS_RGB[:4, ..., ::-1]))
    lite, keras = AffectEngine(default_bundle), AffectEngine(default_bundle, device="GPU")
    assert (lite.info.device, keras.info.device) == ("CPU (LiteRT)", "GPU (TensorFlow)")
    (f1, p1), (f2, p2) = lite.frame_model.infer(crops), keras.frame_model.infer(crops)
    np.testing.assert_allclose(p1, p2, atol=MAX_CONVERSION_DIFF)
    np.testing.assert_allclose(f1, f2, atol=1e-4 * max(1.0, float(np.abs(f2).max())))
