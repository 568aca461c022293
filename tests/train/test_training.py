"""The Aff-Wild2 toolkit end to end on a miniature data set in the real layout, made from real
face crops: feature cache (and resuming it), causal windows equal to the app's ring buffers,
training that learns, the exported bundle in `analyze`, evaluation, fusion, submissions. The
data set and its feature cache are the session's (`mini`, `cache_dir` in conftest.py)."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pytest

from affect_live.cli.parser import main as cli_main
from affect_live.model.bundle.reading import DEFAULT_BUNDLE, load_bundle
from affect_live.model.inference.window import FaceWindows
from affect_live.train.affwild2 import AffWild2
from affect_live.train.cache import FeatureCache
from affect_live.train.metrics import expression_score
from affect_live.train.windows import CachedRows
from tests.conftest import CLIPS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained(mini, cache_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("trained") / "mini_heads.affect"
    status = cli_main([
        "train", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--out", str(out),
        "--hidden", "64", "--epochs", "12", "--batch-size", "64", "--learning-rate", "2e-3", "--patience", "12", "--quiet",
    ])  # fmt: skip
    assert status == 0
    return out


def test_cache_has_every_video_and_resumes(mini, cache_dir, default_bundle):
    dataset = AffWild2(mini.root)
    cache = FeatureCache(cache_dir, default_bundle)
    videos = dataset.image_videos()
    assert videos and all(cache.has(v) for v in videos)
    outputs = cache.load(videos[0])
    assert np.array_equal(outputs.frames, dataset.image_frames(videos[0]))
    assert np.allclose(outputs.probabilities.sum(axis=1), 1.0, atol=1e-4)
    # Resume: only the missing video is computed again, the others are left alone.
    stamps = {v: os.stat(cache.path(v)).st_mtime_ns for v in videos}
    cache.path(videos[1]).unlink()
    done = cache.extract(dataset, quiet=True)
    assert done["videos"] == 1 and done["skipped"] == len(videos) - 1
    assert all(os.stat(cache.path(v)).st_mtime_ns == stamps[v] for v in videos if v != videos[1])
    again = cache.load(videos[1])
    assert again.frames.tolist() == dataset.image_frames(videos[1]).tolist()


def test_training_windows_equal_the_apps_ring_buffers(mini, cache_dir, default_bundle):
    """What the heads are trained on is exactly what the app feeds them live."""
    dataset = AffWild2(mini.root)
    outputs = FeatureCache(cache_dir, default_bundle).load(dataset.image_videos()[0])
    cached = CachedRows.from_outputs([outputs])
    for window in (1, 4, 16):
        rows = np.arange(len(outputs.frames))
        trained_inputs = cached.heads_inputs(rows, window)
        live = FaceWindows(window)
        for row in rows:
            live.push([7], outputs.probabilities[row : row + 1], [row == 0])
            stats = live.stats([7])[0]
            assert np.allclose(trained_inputs[row, :21], stats, atol=1e-6)
        # Plain numpy on one row: the window's last rows, padded with the first.
        k = min(5, len(rows) - 1)
        block = outputs.probabilities[[max(0, i) for i in range(k - window + 1, k + 1)]]
        assert np.allclose(trained_inputs[k, :21], np.concatenate([block.max(0), block.min(0), block.mean(0)]), atol=1e-6)


def test_training_learns_and_beats_a_constant_predictor(trained):
    bundle = load_bundle(trained)
    manifest = bundle.manifest
    assert manifest.prior_heads == () and "Aff-Wild2" in manifest.heads["valence"].description
    history = manifest.provenance["training"]["history"]
    assert history[-1]["loss"] < history[0]["loss"]
    metrics = manifest.metrics
    # A constant prediction has CCC 0; the majority class scores 0.33 * its share + 0.67 * F1.
    assert metrics["va_score"] > 0.3, metrics
    assert "Aff-Wild2" in bundle.model_card and f"{metrics['va_score']:.4f}" in bundle.model_card


def test_evaluate_fusion_and_constant_baseline(mini, cache_dir, trained, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert cli_main(["evaluate", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--weights", str(trained), "--json", str(out), "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "authors' variant" in table
    results = json.loads(out.read_text())
    dataset = AffWild2(mini.root)
    truth = np.concatenate([v.expression for v in dataset.labelled("EXPR", "Validation_Set")])
    majority = np.bincount(np.concatenate([v.expression for v in dataset.labelled("EXPR", "Training_Set")])).argmax()
    constant = expression_score(truth, np.full_like(truth, majority))["abaw2020_expr_score"]
    assert results["expression"]["abaw2020_expr_score"] > constant + 0.1, (results["expression"], constant)
    assert results["va"]["va_score"] > 0.3 and results["expression"]["frames"] == len(truth)
    # Fusion with the default (prior) bundle: the mean of both models' outputs.
    fused_json = tmp_path / "fused.json"
    assert cli_main([
        "evaluate", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--weights", str(trained), str(DEFAULT_BUNDLE),
        "--json", str(fused_json), "--quiet",
    ]) == 0  # fmt: skip
    fused = json.loads(fused_json.read_text())
    assert fused["fusion"] and fused["models"] == ["mini_heads", "faceapi-expression"]
    assert fused["va"]["va_score"] != results["va"]["va_score"]


def test_predict_set_writes_every_frame(mini, cache_dir, trained, tmp_path):
    out = tmp_path / "submission"
    assert cli_main(["predict-set", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--weights", str(trained), "--out", str(out), "--quiet"]) == 0
    dataset = AffWild2(mini.root)
    for video in dataset.videos("EXPR", "Validation_Set"):
        lines = (out / "EXPR" / f"{video}.txt").read_text().splitlines()
        assert lines[0] == "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise"
        assert len(lines) - 1 == dataset.frame_counts(video)
        assert all(0 <= int(x) <= 6 for x in lines[1:])
    for video in dataset.videos("VA", "Validation_Set"):
        lines = (out / "VA" / f"{video}.txt").read_text().splitlines()
        assert lines[0] == "valence,arousal" and len(lines) - 1 == dataset.frame_counts(video)
        values = np.array([[float(x) for x in line.split(",")] for line in lines[1:]])
        assert np.all(np.abs(values) <= 1.0)


def test_trained_bundle_runs_in_analyze(trained, tmp_path):
    csv_path = tmp_path / "trained.csv"
    assert cli_main(["analyze", str(CLIPS / "astronaut_motion.mp4"), "--weights", str(trained), "--out", str(csv_path), "--quiet"]) == 0
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 50
    meta = json.loads(csv_path.with_suffix(".meta.json").read_text())
    assert meta["model"]["name"] == "mini_heads" and meta["model"]["prior_heads"] == []


def read_valence(path: Path) -> dict[tuple[str, str], float]:
    with open(path, newline="") as handle:
        return {(row["frame"], row["face_id"]): float(row["valence"]) for row in csv.DictReader(handle)}


def test_fusion_in_analyze_is_the_mean_of_the_models(trained, tmp_path, capsys):
    clip = str(CLIPS / "astronaut_motion.mp4")
    runs = {"trained": [str(trained)], "default": [str(DEFAULT_BUNDLE)], "fused": [str(trained), str(DEFAULT_BUNDLE)]}
    for name, weights in runs.items():
        assert cli_main(["analyze", clip, "--weights", *weights, "--out", str(tmp_path / f"{name}.csv"), "--quiet"]) == 0
    a, b, fused = (read_valence(tmp_path / f"{n}.csv") for n in runs)
    assert fused.keys() == a.keys() == b.keys() and len(fused) > 50
    assert all(abs(fused[k] - (a[k] + b[k]) / 2) < 2e-4 for k in fused)
    meta = json.loads((tmp_path / "fused.meta.json").read_text())
    assert [m["name"] for m in meta["model"]["fusion"]] == ["mini_heads", "faceapi-expression"]
    # Models that need different face crops cannot be fused: one line, exit status 2.
    from tests.conftest import small_classifier

    small_classifier().save(tmp_path / "small.h5")
    assert cli_main([
        "import-weights", str(tmp_path / "small.h5"), "--input", "64x64", "--gray", "--scale=-1,1",
        "--classes", "neutral,anger,disgust,fear,happiness,sadness,surprise", "--out", str(tmp_path / "small.affect"),
    ]) == 0  # fmt: skip
    capsys.readouterr()
    assert cli_main(["analyze", clip, "--weights", str(trained), str(tmp_path / "small.affect"), "--out", str(tmp_path / "x.csv")]) == 2
    assert "cannot fuse" in capsys.readouterr().err


def test_bad_dataset_root_is_one_clear_line(tmp_path, capsys):
    assert cli_main(["extract", "--affwild2", str(tmp_path), "--cache", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("affect-live: error:")


def test_resnet50_backbone_has_the_papers_shape():
    from affect_live.model.making.convert import validate_frame_model
    from affect_live.train.backbones import build_resnet50, resnet50_manifest

    model = build_resnet50(imagenet_weights=False)
    manifest = resnet50_manifest("resnet50-test", "untrained")
    validate_frame_model(model, manifest)  # features (2048,), 7 probabilities summing to 1
    assert manifest.input.color == "bgr" and manifest.input.mean == (91.4953, 103.8827, 131.0912)
    assert (manifest.input.width, manifest.input.height) == (224, 224)


def test_finetune_writes_a_bundle_with_prior_heads(mini, tmp_path):
    from tests.conftest import small_classifier

    small_classifier().save(tmp_path / "small.h5")
    base = tmp_path / "small.affect"
    assert cli_main([
        "import-weights", str(tmp_path / "small.h5"), "--input", "64x64", "--gray", "--scale=-1,1",
        "--classes", "neutral,anger,disgust,fear,happiness,sadness,surprise", "--out", str(base),
    ]) == 0  # fmt: skip
    out = tmp_path / "tuned.affect"
    assert cli_main(["finetune", "--affwild2", str(mini.root), "--weights", str(base), "--out", str(out), "--epochs", "1", "--learning-rate", "1e-2", "--quiet"]) == 0
    before, after = load_bundle(base), load_bundle(out)
    assert "fine-tuned end to end on Aff-Wild2" in after.manifest.frame_model
    assert after.manifest.prior_heads == ("valence", "arousal") and after.manifest.per_frame_heads == ("expression",)
    changed = [not np.allclose(a, b) for a, b in zip(before.frame_model.get_weights(), after.frame_model.get_weights())]
    assert any(changed)


def test_lstm_variant_trains_evaluates_and_runs_live(mini, cache_dir, tmp_path, capsys):
    out = tmp_path / "lstm.affect"
    assert cli_main([
        "train", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--out", str(out), "--lstm", "--lstm-units", "16",
        "--window", "8", "--hidden", "32", "--epochs", "2", "--batch-size", "64", "--learning-rate", "2e-3", "--quiet",
    ]) == 0  # fmt: skip
    bundle = load_bundle(out)
    assert bundle.manifest.temporal == "bilstm" and bundle.manifest.window == 8
    assert "BiLSTM" in bundle.manifest.heads["valence"].description
    json_path = tmp_path / "lstm.json"
    assert cli_main(["evaluate", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--weights", str(out), "--json", str(json_path), "--quiet"]) == 0
    assert json.loads(json_path.read_text())["window"] == 8
    # Live: the engine feeds the heads each face's window in time order.
    csv_path = tmp_path / "lstm.csv"
    assert cli_main(["analyze", str(CLIPS / "astronaut_motion.mp4"), "--weights", str(out), "--window", "16", "--out", str(csv_path), "--quiet"]) == 0
    meta = json.loads(csv_path.with_suffix(".meta.json").read_text())
    assert meta["settings"]["window"] == 8  # an LSTM keeps the window it was trained on
    assert len(read_valence(csv_path)) > 50
    capsys.readouterr()
    assert cli_main(["train", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--out", str(out), "--lstm", "--random-window"]) == 1
    assert "one window length" in capsys.readouterr().err
