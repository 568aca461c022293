"""Heads that also take the facial actions (`extract` caches head pose and blendshapes, `train
--with-actions`): the cache on the mini Aff-Wild2's real-face crops, the bundle's manifest and
input width, analyze's outputs against the heads run here on window statistics computed from
the CSV's own action columns, and the refusal with the face mesh off."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from affect_live.session.analyze import analyze_source
from affect_live.cli.parser import main as cli_main
from affect_live.faces import model_files
from affect_live.model.bundle.reading import load_bundle
from affect_live.backends.flatbuffer import inspect_flatbuffer
from affect_live.model.inference.frame_model import FrameModel
from affect_live.errors import BundleError
from affect_live.model.bundle.manifest import Manifest
from affect_live.backends.litert import LiteRtRunner
from affect_live.pipeline.threads import PipelineSettings
from affect_live.train.action_cache import ActionCache, actions_fingerprint
from affect_live.train.affwild2 import AffWild2
from affect_live.train.cache import FeatureCache
from affect_live.train.evaluate import BundleRunner
from affect_live.train.windows import load_labelled
from affect_live.types import BLENDSHAPE_NAMES, EXPRESSIONS
from tests.conftest import CLIPS
from tests.model.test_byo_models import RecordingEngine

pytestmark = pytest.mark.slow

SMILE = [BLENDSHAPE_NAMES.index("mouthSmileLeft"), BLENDSHAPE_NAMES.index("mouthSmileRight")]
POSE = ("yaw", "pitch", "roll")


@pytest.fixture(scope="module")
def with_actions(mini, cache_dir, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("with_actions") / "actions.affect"
    assert cli_main([
        "train", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--out", str(out), "--with-actions",
        "--hidden", "32", "--epochs", "2", "--batch-size", "64", "--learning-rate", "2e-3", "--quiet",
    ]) == 0  # fmt: skip
    return out


def test_extract_caches_pose_and_blendshapes_of_every_crop(mini, cache_dir):
    dataset = AffWild2(mini.root)
    cache = ActionCache(cache_dir)
    assert cache.folder.name == f"actions-{actions_fingerprint()}"
    smiles: dict[str, list[float]] = {"astronaut": [], "grace_hopper": []}
    for video in dataset.image_videos():
        actions = cache.load(video)
        n = len(dataset.image_frames(video))
        assert np.array_equal(actions.frames, dataset.image_frames(video))
        assert actions.pose.shape == (n, 3) and actions.blendshapes.shape == (n, 52) and actions.presence.shape == (n,)
        assert np.isfinite(actions.pose).all() and (np.abs(actions.pose) <= 180).all()
        assert ((actions.blendshapes >= 0) & (actions.blendshapes <= 1)).all()
        assert np.median(actions.presence) > 0.5  # every crop is a face
        truth = mini.videos[video]
        # Roll follows the generator's in-plane tilt: cv2 turns a positive tilt counter-clockwise
        # on screen, and roll is positive clockwise, so the slope is about -1.
        tilt = truth.tilt[actions.frames - 1]
        slope = np.polyfit(tilt, actions.pose[:, 2], 1)[0]
        assert -1.3 < slope < -0.7, (video, slope)
        if truth.mirror:  # yaw changes sign when the face is flipped horizontally
            plain = next(v for v in mini.videos.values() if v.crop == truth.crop and not v.mirror)
            assert np.sign(actions.pose[:, 0].mean()) == -np.sign(cache.load(plain.name).pose[:, 0].mean())
        for face in smiles:
            if truth.crop.startswith(face):
                smiles[face] += actions.blendshapes[:, SMILE].mean(axis=1).tolist()
    # The smiling astronaut smiles more than Grace Hopper, on every frame's average.
    assert np.mean(smiles["astronaut"]) > np.mean(smiles["grace_hopper"]) + 0.3, {k: np.mean(v) for k, v in smiles.items()}


def test_the_action_cache_is_keyed_by_the_model_files(cache_dir, default_bundle, monkeypatch):
    features = FeatureCache(cache_dir, default_bundle)
    with_actions = FeatureCache(cache_dir, default_bundle, actions=True)
    assert features.folder == with_actions.folder  # the per-frame model's cache is the same one
    before = actions_fingerprint()
    monkeypatch.setitem(model_files.SHIPPED_SHA256, model_files.BLENDSHAPE_MODEL, "0" * 64)
    assert actions_fingerprint() != before  # other landmarker files: another cache


def test_the_bundle_records_that_its_heads_take_the_actions(with_actions, capsys):
    bundle = load_bundle(with_actions)
    manifest = bundle.manifest
    assert manifest.heads_extra_inputs == ("actions",) and manifest.needs_actions
    paper = 3 * 7 + manifest.feature_dim + 7
    assert manifest.heads_input_width == paper + 165
    assert inspect_flatbuffer(bundle.heads_tflite, "heads.tflite").inputs["window_input"].shape == (-1, paper + 165)
    # The conversion check ran on the wider input (real crops' actions) and passed.
    assert 0 <= manifest.runtime["heads"]["max_abs_diff"] <= 1e-5
    assert "blendshapes" in manifest.heads["valence"].description
    assert manifest.provenance["training"]["with_actions"] is True
    assert cli_main(["models", "--brief", str(with_actions)]) == 0
    assert "facial actions" in capsys.readouterr().out


def test_the_manifest_field_is_validated_and_old_bundles_take_none(with_actions, default_bundle):
    old = default_bundle.manifest.to_dict()
    del old["heads_extra_inputs"]
    assert Manifest.from_dict(old).heads_extra_inputs == ()
    data = load_bundle(with_actions).manifest.to_dict()
    for bad, message in (
        (["gaze"], "'gaze' is not one of actions"),
        (["actions", "actions"], "lists a name twice"),
        ("actions", "must be a list of names"),
    ):
        with pytest.raises(BundleError, match=message):
            Manifest.from_dict(data | {"heads_extra_inputs": bad})
    with pytest.raises(BundleError, match="need learned heads on the window statistics"):
        Manifest.from_dict(data | {"heads_input": "current_frame"})


def _window_stats(values: list[np.ndarray]) -> np.ndarray:
    stacked = np.stack(values)
    return np.concatenate([stacked.max(axis=0), stacked.min(axis=0), stacked.mean(axis=0)])


def test_analyze_gives_what_the_heads_give_on_the_csvs_own_actions(with_actions, tmp_path):
    bundle = load_bundle(with_actions)
    window = bundle.manifest.window
    engine = RecordingEngine([bundle])
    csv_path = tmp_path / "actions.csv"
    assert analyze_source(str(CLIPS / "astronaut_motion.mp4"), csv_path, engine, PipelineSettings(), quiet=True).status == "complete"
    with open(csv_path, newline="") as handle:
        rows = {(int(r["frame"]), int(r["face_id"])): r for r in csv.DictReader(handle)}
    assert len(rows) == len(engine.seen) > 50
    frame_model = FrameModel(bundle)
    heads = LiteRtRunner(bundle.heads_tflite)
    buffers: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
    worst = 0.0
    for frame, face, fresh, crop in engine.seen:
        row = rows[(frame, face)]
        features, probabilities, _ = frame_model.infer_all([crop])
        # The documented per-frame action input: pose in radians, then the 52 scores.
        action = np.concatenate([np.radians([float(row[c]) for c in POSE]), [float(row[c]) for c in BLENDSHAPE_NAMES]])
        current = (probabilities[0], action)
        buffers[face] = [current] * window if fresh or face not in buffers else buffers[face][1:] + [current]
        flat = np.concatenate([
            _window_stats([p for p, _ in buffers[face]]), features[0], probabilities[0], _window_stats([a for _, a in buffers[face]]),
        ]).astype(np.float32)[None]  # fmt: skip
        out = heads(flat)
        want = np.concatenate([out["expression"][0], np.clip([out["valence"][0, 0], out["arousal"][0, 0]], -1, 1)])
        got = np.array([float(row[n]) for n in EXPRESSIONS] + [float(row["valence"]), float(row["arousal"])])
        worst = max(worst, float(np.abs(got - want).max()))
    # The CSV rounds outputs to 4 decimals and pose to 0.01 degree, blendshapes to 4 decimals.
    assert worst < 2e-4, worst
    sidecar = json.loads(csv_path.with_suffix(".meta.json").read_text())["model"]["manifest"]
    assert sidecar["heads_extra_inputs"] == ["actions"]


def test_without_the_face_mesh_it_is_refused_with_one_line(with_actions, tmp_path, capsys):
    out = tmp_path / "refused.csv"
    clip = str(CLIPS / "astronaut_motion.mp4")
    assert cli_main(["analyze", clip, "--weights", str(with_actions), "--no-actions", "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--with-actions" in err[0] and "--no-actions" in err[0], err
    assert not out.exists()
    # Where no flag stops it first (the app with actions off), the engine refuses the first face.
    engine = RecordingEngine([load_bundle(with_actions)])
    outcome = analyze_source(clip, out, engine, PipelineSettings(actions=False), quiet=True)
    assert outcome.status == "failed" and "--with-actions" in outcome.message and "\n" not in outcome.message


def test_evaluation_and_submissions_feed_the_cached_actions_to_the_heads(with_actions, mini, cache_dir, tmp_path):
    bundle = load_bundle(with_actions)
    runner = BundleRunner(bundle, cache_dir)
    assert runner.cache.actions is not None
    dataset = AffWild2(mini.root)
    cached, samples = load_labelled(runner.cache, dataset.labelled("VA", "Validation_Set"))
    predicted = runner.predict(cached, samples.rows)
    # Independently: the window statistics of the raw cached actions, by rows of each video.
    heads = LiteRtRunner(bundle.heads_tflite)
    stats = cached.window_stats(samples.rows, runner.window)
    raw = []
    for video in cached.videos:
        loaded = ActionCache(cache_dir).load(video)
        raw.append(np.concatenate([np.radians(loaded.pose.astype(np.float64)), loaded.blendshapes], axis=1))
    raw = np.concatenate(raw)
    window_rows = cached.window_rows(samples.rows, runner.window)
    action_stats = np.concatenate([raw[window_rows].max(axis=1), raw[window_rows].min(axis=1), raw[window_rows].mean(axis=1)], axis=1)
    flat = np.concatenate([stats, cached.features[samples.rows], cached.probabilities[samples.rows], action_stats], axis=1).astype(np.float32)
    out = heads(flat)
    np.testing.assert_allclose(predicted.valence, np.clip(out["valence"].ravel(), -1, 1), atol=1e-5)
    np.testing.assert_allclose(predicted.expression, out["expression"], atol=1e-5)
    report = tmp_path / "eval.json"
    assert cli_main(["evaluate", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--weights", str(with_actions),
                     "--json", str(report), "--quiet"]) == 0  # fmt: skip
    assert "va" in json.loads(report.read_text())
    submission = tmp_path / "submission"
    assert cli_main(["predict-set", "--affwild2", str(mini.root), "--cache", str(cache_dir), "--weights", str(with_actions),
                     "--out", str(submission), "--quiet"]) == 0  # fmt: skip
    for video in dataset.videos("VA", "Validation_Set"):
        lines = (submission / "VA" / f"{video}.txt").read_text().splitlines()
        assert lines[0] == "valence,arousal" and len(lines) == 1 + dataset.frame_counts(video)
