"""Heads on the current frame only (`train --no-stat`, the paper's "Emotion VA Image"): the
manifest's `heads_input` says so, the bundle's flatbuffer takes [features, probabilities], and
the window statistics have no influence, live or in evaluation."""

from __future__ import annotations

import csv
import json
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from affect_live.cli.parser import main as cli_main
from affect_live.model.bundle.reading import DEFAULT_BUNDLE, load_bundle
from affect_live.backends.flatbuffer import inspect_flatbuffer
from affect_live.model.inference.heads import Heads, build_heads_model, heads_runner
from affect_live.errors import BundleError
from affect_live.model.bundle.manifest import Manifest, heads_input_dim, join_heads_input
from affect_live.backends.keras_runner import KerasRunner
from affect_live.model.inference.window import FaceWindows
from affect_live.train.affwild2 import AffWild2
from affect_live.train.evaluate import BundleRunner
from affect_live.train.windows import load_labelled
from tests.conftest import CLIPS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def no_stat(mini, cache_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("no_stat") / "image.affect"
    assert cli_main([
        "train", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--out", str(out), "--no-stat",
        "--hidden", "32", "--epochs", "2", "--batch-size", "64", "--learning-rate", "2e-3", "--quiet",
    ]) == 0  # fmt: skip
    return out


def test_the_bundle_says_what_its_heads_read(no_stat):
    bundle = load_bundle(no_stat)
    manifest = bundle.manifest
    assert manifest.heads_input == "current_frame" and manifest.prior_heads == ()
    width = manifest.feature_dim + 7
    assert manifest.heads_input_width == width == heads_input_dim(manifest.feature_dim, "current_frame")
    info = inspect_flatbuffer(bundle.heads_tflite, "heads.tflite")
    assert info.inputs["window_input"].shape == (-1, width)
    assert bundle.heads_model.input_shape == (None, width)
    assert "no window statistics" in manifest.heads["valence"].description


def _window_outputs(heads: Heads, history: np.ndarray, current: np.ndarray, features: np.ndarray, window: int):  # noqa: ANN202
    """Heads outputs for a face whose window holds `history` and then the current frame."""
    windows = FaceWindows(window)
    for i, row in enumerate(history):
        windows.push([1], row[None], [i == 0])
    windows.push([1], current[None], [False])
    stats = windows.stats([1])
    return stats, heads(stats, features[None], current[None])


def test_window_statistics_have_no_influence_live(no_stat):
    bundle = load_bundle(no_stat)
    heads = Heads(bundle.manifest, heads_runner(bundle))
    rng = np.random.default_rng(3)
    current = rng.dirichlet(np.ones(7)).astype(np.float32)
    features = rng.random(bundle.manifest.feature_dim).astype(np.float32)
    calm = np.tile(np.eye(7, dtype=np.float32)[0], (15, 1))
    busy = rng.dirichlet(np.ones(7) * 0.2, size=15).astype(np.float32)
    stats_a, a = _window_outputs(heads, calm, current, features, 16)
    stats_b, b = _window_outputs(heads, busy, current, features, 16)
    assert not np.allclose(stats_a, stats_b)  # two different windows...
    for name in ("expression", "valence", "arousal"):  # ...the same outputs
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # STAT heads (here untrained, seeded) given the same two windows do see the difference.
    import keras

    keras.utils.set_random_seed(0)
    stat = Heads(replace(bundle.manifest, heads_input="window_stats"), KerasRunner(build_heads_model(bundle.manifest.feature_dim, hidden=8)))
    _, c = _window_outputs(stat, calm, current, features, 16)
    _, d = _window_outputs(stat, busy, current, features, 16)
    assert not np.allclose(c.valence, d.valence)


def test_window_statistics_have_no_influence_in_evaluation(no_stat, mini, cache_dir):
    dataset = AffWild2(mini.root)
    bundle = load_bundle(no_stat)
    runners = [BundleRunner(bundle, cache_dir, window=w) for w in (1, 32)]
    cached, samples = load_labelled(runners[0].cache, dataset.labelled("VA", "Validation_Set"))
    short, long = (r.predict(cached, samples.rows) for r in runners)
    assert not np.allclose(cached.window_stats(samples.rows, 1), cached.window_stats(samples.rows, 32))
    np.testing.assert_array_equal(short.valence, long.valence)
    np.testing.assert_array_equal(short.expression, long.expression)


def test_the_no_stat_bundle_runs_in_analyze(no_stat, tmp_path, capsys):
    csv_path = tmp_path / "image.csv"
    assert cli_main(["analyze", str(CLIPS / "astronaut_motion.mp4"), "--weights", str(no_stat), "--out", str(csv_path), "--quiet"]) == 0
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) > 50 and all(-1 <= float(r["valence"]) <= 1 for r in rows)
    meta = json.loads(csv_path.with_suffix(".meta.json").read_text())
    assert meta["model"]["prior_heads"] == [] and meta["model"]["manifest"]["heads_input"] == "current_frame"
    assert cli_main(["models", "--brief", str(no_stat)]) == 0
    assert "current frame only" in capsys.readouterr().out


def test_no_stat_with_a_window_module_is_one_line(mini, cache_dir, tmp_path, capsys):
    for extra in (["--lstm"], ["--random-window"]):
        args = ["train", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--out", str(tmp_path / "x.affect"), "--no-stat", *extra]
        assert cli_main(args) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--no-stat" in err[0], err
    assert not (tmp_path / "x.affect").exists()


def _manifest_json(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


def test_manifest_field_is_validated_and_defaults_to_stat(no_stat, tmp_path):
    shipped = _manifest_json(DEFAULT_BUNDLE)
    assert "heads_input" not in shipped  # a format-2 bundle from before the field: STAT
    assert Manifest.from_dict(shipped).heads_input == "window_stats"
    with pytest.raises(BundleError, match="heads_input 'pooled' is not one of window_stats, current_frame"):
        Manifest.from_dict(shipped | {"heads_input": "pooled"})
    with pytest.raises(BundleError, match="cannot go with a temporal module"):
        Manifest.from_dict(shipped | {"heads_input": "current_frame", "temporal": "bilstm"})
    # A manifest that claims STAT heads for a flatbuffer built for [features, probabilities] is refused.
    members = {}
    with zipfile.ZipFile(no_stat) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    lying = json.loads(members["manifest.json"]) | {"heads_input": "window_stats"}
    members["manifest.json"] = json.dumps(lying).encode()
    bad = tmp_path / "lying.affect"
    with zipfile.ZipFile(bad, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(BundleError, match=r"heads.tflite: input window_input has shape \(N, \d+\), expected \(N, \d+\)"):
        load_bundle(bad)


def test_join_heads_input_is_the_one_layout():
    stats, features, probabilities = np.ones((2, 21)), np.full((2, 5), 2.0), np.full((2, 7), 3.0)
    stat = join_heads_input("window_stats", stats, features, probabilities)
    frame = join_heads_input("current_frame", None, features, probabilities)
    assert stat.shape == (2, heads_input_dim(5)) == (2, 33) and stat.dtype == np.float32
    assert frame.shape == (2, heads_input_dim(5, "current_frame")) == (2, 12)
    np.testing.assert_array_equal(stat[:, 21:], frame)
    with pytest.raises(ValueError, match="not one of"):
        join_heads_input("pooled", stats, features, probabilities)
