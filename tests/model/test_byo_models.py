"""Bring your own per-frame model: ONNX and TFLite (and Keras with an output mapping) imported,
analysed on a real clip, checked against the model's own arithmetic, refused when unsafe.

The ONNX models are built here with onnx.helper from known weights, the TFLite one is exported
from a small Keras model; the expected outputs are computed from those weights with numpy."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from affect_live.session.analyze import analyze_source
from affect_live.cli.parser import main
from affect_live.model.bundle.reading import DEFAULT_BUNDLE, load_bundle
from affect_live.model.inference.engine import AffectEngine
from affect_live.pipeline.threads import PipelineSettings
from affect_live.types import EXPRESSIONS, FacePacket, FrameResult
from tests.conftest import CLIPS, IMAGES, assert_each_refused

AFFECTNET = ("anger", "contempt", "disgust", "fear", "happiness", "neutral", "sadness", "surprise")
IMAGENET_MEAN, IMAGENET_STD = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
HSE_FLAGS = [
    "--layout", "nchw", "--scale=0,1", "--mean", "0.485,0.456,0.406", "--std", "0.229,0.224,0.225",
    "--classes", ",".join(AFFECTNET), "--outputs", "expression=0:8,valence=8,arousal=9", "--logits",
]  # fmt: skip
RNG = np.random.default_rng(12)
W_ONNX = RNG.normal(0, 0.4, (3, 10)).astype(np.float32)
B_ONNX = RNG.normal(0, 0.1, (10,)).astype(np.float32)


def hse_like_onnx(path: Path, outputs: int = 10, domain: str = "") -> Path:
    """An HSEmotion-shaped model: NCHW image -> channel means -> Gemm -> [1, 10] (8 logits, V, A)."""
    image = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, "height", "width"])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", outputs])
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["pooled"], domain=domain),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("Gemm", ["flat", "W", "B"], ["output"]),
    ]
    weights = [numpy_helper.from_array(W_ONNX[:, :outputs], "W"), numpy_helper.from_array(B_ONNX[:outputs], "B")]
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    model = helper.make_model(helper.make_graph(nodes, "hse_like", [image], [out], weights), opset_imports=opsets)
    model.ir_version = 8
    onnx.save(model, path)
    return path


def hse_like_expected(crop_bgr: np.ndarray) -> tuple[np.ndarray, float, float]:
    """What the ONNX model gives on one crop, computed from its weights: (7 probabilities in
    Aff-Wild2 order, contempt dropped and renormalised; valence; arousal)."""
    x = (crop_bgr[..., ::-1].astype(np.float64) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    out = x.mean(axis=(0, 1)) @ W_ONNX + B_ONNX
    probs = np.exp(out[:8] - out[:8].max())
    probs /= probs.sum()
    ours = np.array([probs[AFFECTNET.index(name)] for name in EXPRESSIONS])
    return ours / ours.sum(), float(out[8]), float(out[9])


class RecordingEngine(AffectEngine):
    """The real engine; it also keeps each frame's crops, so the test can compute independently
    what the model gives on exactly those crops."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[int, int, bool, np.ndarray]] = []

    def process(self, packet: FacePacket) -> FrameResult:
        self.seen += [(packet.frame_index, f.face_id, f.new_track, f.crop.copy()) for f in packet.faces]
        return super().process(packet)


def window_means(seen, per_crop, window: int) -> dict[tuple[int, int], np.ndarray]:
    """The STAT window mean per (frame, face): the ring buffer starts filled with a face's first
    frame, then holds its last `window` frames."""
    buffers: dict[int, list[np.ndarray]] = {}
    means = {}
    for frame, face, fresh, crop in seen:
        value = per_crop(crop)
        if fresh or face not in buffers:
            buffers[face] = [value] * window
        else:
            buffers[face] = buffers[face][1:] + [value]
        means[(frame, face)] = np.mean(buffers[face], axis=0)
    return means


def analyse(bundles: Path | list[Path], csv_path: Path, clip: str = "two_faces.mp4") -> tuple[list[dict[str, str]], RecordingEngine]:
    engine = RecordingEngine([load_bundle(path) for path in (bundles if isinstance(bundles, list) else [bundles])])
    outcome = analyze_source(str(CLIPS / clip), csv_path, engine, PipelineSettings(), quiet=True)
    assert outcome.status == "complete", outcome
    with open(csv_path, newline="") as handle:
        return list(csv.DictReader(handle)), engine


def assert_csv_matches(rows, engine, per_crop, window: int) -> None:
    expected = window_means(engine.seen, per_crop, window)
    assert len(rows) == len(expected) > 20
    for row in rows:
        want = expected[(int(row["frame"]), int(row["face_id"]))]
        got = np.array([float(row[name]) for name in EXPRESSIONS] + [float(row["valence"]), float(row["arousal"])])
        want = np.concatenate([want[:7], np.clip(want[7:], -1, 1)])
        np.testing.assert_allclose(got, want, atol=2e-4)


@pytest.fixture(scope="module")
def hse_bundle(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("byo")
    out = folder / "hse-va.affect"
    status = main(["import-weights", str(hse_like_onnx(folder / "enet_like.onnx")), "--input", "112x112", *HSE_FLAGS,
                   "--name", "hse-like", "--license", "Apache-2.0", "--source", "https://example.org/hse", "--out", str(out)])  # fmt: skip
    assert status == 0
    return out


def test_an_onnx_model_with_valence_arousal_analyses_a_clip_as_its_own_arithmetic_says(hse_bundle, tmp_path):
    bundle = load_bundle(hse_bundle)
    manifest = bundle.manifest
    # AffectNet's 8 classes map onto our 7: contempt is dropped, as the manifest records.
    assert sorted(manifest.classes) == sorted(EXPRESSIONS) and manifest.provenance["dropped_classes"] == ["contempt"]
    assert manifest.prior_heads == () and manifest.per_frame_heads == ("expression", "valence", "arousal")
    assert "LEARNED PER FRAME by hse-like (https://example.org/hse)" in manifest.heads["valence"].description
    assert manifest.feature_dim == 9  # the 7 probabilities serve as features, then V and A
    rows, engine = analyse(hse_bundle, tmp_path / "hse.csv")

    def per_crop(crop):
        probs, valence, arousal = hse_like_expected(crop)
        return np.concatenate([probs, [valence, arousal]])

    assert_csv_matches(rows, engine, per_crop, manifest.window)
    sidecar = json.loads((tmp_path / "hse.meta.json").read_text())["model"]
    assert sidecar["device"] == "CPU (onnxruntime)"
    assert sidecar["prior_heads"] == [] and sidecar["per_frame_heads"] == ["expression", "valence", "arousal"]
    assert sidecar["heads"]["arousal"]["kind"] == "per_frame" and "https://example.org/hse" in sidecar["heads"]["arousal"]["description"]
    assert "learned per frame" in bundle.model_card.lower() and "contempt" in bundle.model_card


def keras_va_model():
    """A small Keras network with two outputs: 7 probabilities and (valence, arousal)."""
    import keras

    inputs = keras.Input((48, 48, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    probabilities = keras.layers.Dense(7, activation="softmax", name="expression")(pooled)
    va = keras.layers.Dense(2, activation="tanh", name="va")(pooled)
    model = keras.Model(inputs, [probabilities, va])
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0, s, w.shape).astype(np.float32) for w, s in zip(model.get_weights(), (3.0, 0.2, 3.0, 0.2))])
    return model


def test_a_tflite_model_runs_as_given_and_a_keras_one_with_a_mapping_too(tmp_path):
    import tensorflow as tf

    model = keras_va_model()
    (kernel_p, bias_p, kernel_va, bias_va) = model.get_weights()
    tflite = tmp_path / "va.tflite"
    tflite.write_bytes(tf.lite.TFLiteConverter.from_keras_model(model).convert())
    classes = "fear,anger,disgust,happy,sad,surprise,neutral"
    flags = ["--input", "48x48", "--bgr", "--scale=-1,1", "--classes", classes, "--outputs", "expression=0/:,valence=1/0,arousal=1/1"]
    assert main(["import-weights", str(tflite), *flags, "--out", str(tmp_path / "lite.affect")]) == 0
    bundle = load_bundle(tmp_path / "lite.affect")
    assert bundle.manifest.runtime["runs_on"] == "ai-edge-litert (CPU)" and bundle.manifest.per_frame_heads == ("expression", "valence", "arousal")
    order = [classes.replace("happy", "happiness").replace("sad", "sadness").split(",").index(n) for n in EXPRESSIONS]

    def per_crop(crop):
        x = crop.astype(np.float64) / 127.5 - 1.0  # BGR as the model takes it, -1..1
        pooled = x.mean(axis=(0, 1))
        logits = pooled @ kernel_p + bias_p
        probs = np.exp(logits - logits.max())
        return np.concatenate([(probs / probs.sum())[order], np.tanh(pooled @ kernel_va + bias_va)])

    rows, engine = analyse(tmp_path / "lite.affect", tmp_path / "lite.csv", "astronaut_motion.mp4")
    assert_csv_matches(rows, engine, per_crop, bundle.manifest.window)
    # The same network as a Keras file takes the same path (converted once, checked against Keras).
    model.save(tmp_path / "va.keras")
    assert main(["import-weights", str(tmp_path / "va.keras"), *flags, "--out", str(tmp_path / "keras.affect")]) == 0
    from_keras = load_bundle(tmp_path / "keras.affect")
    assert from_keras.manifest.runtime["frame_model"]["max_abs_diff"] <= 1e-5
    assert from_keras.manifest.per_frame_heads == ("expression", "valence", "arousal")


def refused(argv: list[str], capsys) -> str:
    assert main(argv) == 2
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("affect-live: error:"), lines
    return lines[0]


def test_unsafe_or_mismatched_models_are_refused_with_one_line(tmp_path, capsys):
    base = ["--input", "112x112", *HSE_FLAGS, "--out", str(tmp_path / "x.affect")]
    custom = hse_like_onnx(tmp_path / "custom.onnx", domain="com.example.evil")
    assert "custom operator domain 'com.example.evil'" in refused(["import-weights", str(custom), *base], capsys)
    nine = hse_like_onnx(tmp_path / "nine.onnx", outputs=9)
    assert "does not fit output 'output' of 9 values" in refused(["import-weights", str(nine), *base], capsys)
    noise = tmp_path / "noise.onnx"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    assert "not an ONNX model" in refused(["import-weights", str(noise), *base], capsys)
    lite_noise = tmp_path / "noise.tflite"
    lite_noise.write_bytes(np.random.default_rng(1).bytes(4096))
    assert "not a TFLite flatbuffer" in refused(["import-weights", str(lite_noise), *base], capsys)
    # Weights in a file outside the model's folder: refused, never read.
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "w.bin").write_bytes(W_ONNX.tobytes())
    (tmp_path / "model").mkdir()
    external = onnx.load(hse_like_onnx(tmp_path / "model" / "ext.onnx"))
    tensor = next(t for t in external.graph.initializer if t.name == "W")
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="../outside/w.bin")
    onnx.save(external, tmp_path / "model" / "ext.onnx")
    assert "external data file '../outside/w.bin'" in refused(["import-weights", str(tmp_path / "model" / "ext.onnx"), *base], capsys)
    # Logits imported as probabilities: the check on a real face says so.
    no_logits = [a for a in base if a != "--logits"]
    assert "--logits" in refused(["import-weights", str(hse_like_onnx(tmp_path / "ok.onnx")), *no_logits], capsys)
    assert not (tmp_path / "x.affect").exists()


def test_a_bundle_whose_onnx_member_was_swapped_is_refused_at_load(hse_bundle, tmp_path):
    """Bundles are untrusted too: the checks of import run again on every load."""
    evil_model = hse_like_onnx(tmp_path / "c.onnx", domain="com.example.evil").read_bytes()
    for name, update_sha in (("changed.affect", False), ("evil.affect", True)):
        with zipfile.ZipFile(hse_bundle) as source, zipfile.ZipFile(tmp_path / name, "w") as target:
            manifest = json.loads(source.read("manifest.json"))
            if update_sha:
                manifest["runtime"]["frame_model"]["sha256"] = hashlib.sha256(evil_model).hexdigest()
            target.writestr("manifest.json", json.dumps(manifest))
            target.writestr("frame_model.onnx", evil_model)
    cases = {"sha256": (tmp_path / "changed.affect", "sha256 does not match"), "custom domain": (tmp_path / "evil.affect", "custom operator domain")}
    assert_each_refused(cases, load_bundle)


def test_fused_with_the_default_model_the_outputs_are_the_mean(hse_bundle, tmp_path):
    fused_rows, fused = analyse([DEFAULT_BUNDLE, hse_bundle], tmp_path / "fused.csv")  # type: ignore[arg-type]
    default_rows, _ = analyse(DEFAULT_BUNDLE, tmp_path / "default.csv")
    hse_rows, _ = analyse(hse_bundle, tmp_path / "hse.csv")
    key = lambda row: (row["frame"], row["face_id"])  # noqa: E731
    default, hse = {key(r): r for r in default_rows}, {key(r): r for r in hse_rows}
    assert len(fused_rows) > 20 and fused.info.prior_heads == ("valence", "arousal") and fused.info.per_frame_heads == ("expression",)
    for row in fused_rows:
        for column in (*EXPRESSIONS, "valence", "arousal"):
            mean = (float(default[key(row)][column]) + float(hse[key(row)][column])) / 2
            assert float(row[column]) == pytest.approx(mean, abs=2e-4)


def test_extract_caches_the_per_frame_valence_arousal_and_train_uses_it(mini, hse_bundle, tmp_path):
    from affect_live.train.affwild2 import AffWild2
    from affect_live.train.cache import FeatureCache, read_frame_image

    cache = tmp_path / "cache"
    assert main(["extract", "--affwild2", str(mini.root), "--cache", str(cache), "--weights", str(hse_bundle), "--no-actions", "--quiet"]) == 0
    dataset = AffWild2(mini.root)
    video = dataset.image_videos()[0]
    outputs = FeatureCache(cache, load_bundle(hse_bundle)).load(video)
    images = [read_frame_image(dataset.image_path(video, int(n)), (112, 112)) for n in outputs.frames]
    expected = np.array([hse_like_expected(image)[1:] for image in images])
    np.testing.assert_allclose(outputs.valence_arousal, expected, atol=1e-4)
    np.testing.assert_allclose(outputs.features[:, -2:], expected, atol=1e-2)  # the heads' input holds them (float16)
    # Evaluating the untrained bundle scores the window mean of the model's own valence/arousal.
    report = tmp_path / "eval.json"
    assert main(["evaluate", "--affwild2", str(mini.root), "--cache", str(cache), "--weights", str(hse_bundle), "--json", str(report), "--quiet"]) == 0
    assert json.loads(report.read_text())["prior_heads"] == []
    trained = tmp_path / "trained.affect"
    assert main([
        "train", "--affwild2", str(mini.root), "--cache", str(cache), "--weights", str(hse_bundle), "--out", str(trained),
        "--hidden", "16", "--epochs", "2", "--quiet",
    ]) == 0  # fmt: skip
    bundle = load_bundle(trained)
    assert bundle.manifest.has_learned_heads and bundle.manifest.heads_input_width == 21 + 9 + 7
    assert bundle.frame_onnx == load_bundle(hse_bundle).frame_onnx  # the brought-in model stays as given
    rows, _ = analyse(trained, tmp_path / "trained.csv", "astronaut_motion.mp4")
    assert rows and all(-1 <= float(r["valence"]) <= 1 for r in rows)


def test_the_lsl_stream_metadata_says_learned_per_frame(hse_bundle):
    from tests.lsl.test_lsl import channel_metadata, inlet

    from affect_live.lsl.outlets import DATA_STREAM, LslStreams
    from affect_live.session.metadata import stream_model_description

    engine = AffectEngine(load_bundle(hse_bundle))
    label = engine.info.label
    assert label == "hse-like [learned per frame: expression, valence, arousal]"
    streams = LslStreams(source_id=f"byo-{os.getpid()}", model=stream_model_description(engine))
    try:
        data = inlet(DATA_STREAM)
        info = data.get_sinfo()
        assert info.desc.child("model").child_value("label") == label
        channels = {m["label"]: m for m in channel_metadata(info)}
        assert {channels[c]["head_label"] for c in ("valence", "arousal", "happiness")} == {"learned per frame"}
        data.close_stream()
    finally:
        streams.close()


def test_analyze_with_an_onnx_bundle_imports_no_tensorflow(hse_bundle, tmp_path):
    from tests.backends.test_runtime import _run_without_heavy_imports

    args = ["analyze", str(IMAGES / "astronaut.png"), "--weights", str(hse_bundle), "--out", str(tmp_path / "a.csv"), "--quiet"]
    assert _run_without_heavy_imports(args, tmp_path) == {"status": 0, "heavy": [], "benchmarks": False}
    assert json.loads((tmp_path / "a.meta.json").read_text())["model"]["device"] == "CPU (onnxruntime)"


def test_outputs_are_named_by_index_or_by_names_that_hold_slashes():
    from affect_live.model.bundle.output_map import OutputSlice, parse_outputs

    names, widths = ["/fc/Gemm_output_0", "va"], {"/fc/Gemm_output_0": 8, "va": 2}
    slices = parse_outputs("expression=/fc/Gemm_output_0/:,valence=va/0,arousal=1/1", names, widths)
    assert slices == {
        "expression": OutputSlice("/fc/Gemm_output_0", 0, 8), "valence": OutputSlice("va", 0, 1), "arousal": OutputSlice("va", 1, 2),
    }  # fmt: skip
    assert parse_outputs(None, names, widths) == {"expression": OutputSlice("/fc/Gemm_output_0", 0, None)}
