"""Weight bundles are untrusted input: validated, never executed, one clear error line."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from affect_live.cli.parser import main
from affect_live.model.bundle.reading import DEFAULT_BUNDLE, load_bundle, read_manifest
from tests.conftest import CLIPS, REPO, assert_each_refused, small_classifier


def _rewrite_bundle(src: Path, dst: Path, **replace: bytes | None) -> Path:
    """Copy a bundle, replacing (or with None, removing) members."""
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w") as new:
        for name in old.namelist():
            if name in replace:
                continue
            new.writestr(name, old.read(name))
        for name, data in replace.items():
            if data is not None:
                new.writestr(name, data)
    return dst


def _default_manifest() -> dict:
    with zipfile.ZipFile(DEFAULT_BUNDLE) as archive:
        return json.loads(archive.read("manifest.json"))


def test_default_bundle_is_honest_about_priors(default_bundle):
    manifest = default_bundle.manifest
    assert manifest.prior_heads == ("valence", "arousal") and manifest.per_frame_heads == ("expression",)
    assert "PRIOR" in manifest.heads["valence"].description and "LEARNED PER FRAME" in manifest.heads["expression"].description
    assert "Russell" in manifest.va_positions_source
    assert "prior" in default_bundle.model_card.lower()
    assert manifest.input.crop == "box" and (manifest.input.width, manifest.input.height) == (112, 112)


def _bad_bundles(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each case: a file and a fragment its error line must contain."""
    text = tmp_path / "notes.affect"
    text.write_text("not a model")
    plain = tmp_path / "plain.keras"
    small_classifier().save(plain)
    no_manifest = tmp_path / "no_manifest.affect"
    with zipfile.ZipFile(no_manifest, "w") as archive:
        archive.writestr("readme.txt", "hello")
    manifest = _default_manifest()
    six_classes = dict(manifest, classes=manifest["classes"][:6])
    wrong_dim = dict(manifest, feature_dim=128)
    lambda_model = tmp_path / "lambda.keras"
    small_classifier(lambda_layer=True).save(lambda_model)
    # A config naming a module outside Keras: loading it would import that module.
    with zipfile.ZipFile(DEFAULT_BUNDLE) as archive:
        frame_bytes = archive.read("frame_model.keras")
    with zipfile.ZipFile(io.BytesIO(frame_bytes)) as inner:
        config = json.loads(inner.read("config.json"))
        members = {name: inner.read(name) for name in inner.namelist()}
    config["config"]["layers"][1]["module"] = "os"
    members["config.json"] = json.dumps(config).encode()
    evil = io.BytesIO()
    with zipfile.ZipFile(evil, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return {
        "missing": (tmp_path / "nope.affect", "not found"),
        "folder": (tmp_path, "folder"),
        "text": (text, "not a zip"),
        "plain keras": (plain, "import-weights"),
        "no manifest": (no_manifest, "no manifest"),
        "class count": (_rewrite_bundle(DEFAULT_BUNDLE, tmp_path / "six.affect", **{"manifest.json": json.dumps(six_classes).encode()}), "exactly 7"),
        "shape": (_rewrite_bundle(DEFAULT_BUNDLE, tmp_path / "dim.affect", **{"manifest.json": json.dumps(wrong_dim).encode()}), "output features has shape"),
        "bad json": (_rewrite_bundle(DEFAULT_BUNDLE, tmp_path / "json.affect", **{"manifest.json": b"{nope"}), "not valid JSON"),
        "no model": (_rewrite_bundle(DEFAULT_BUNDLE, tmp_path / "empty.affect", **{"frame_model.keras": None}), "no frame_model"),
        "lambda": (_rewrite_bundle(DEFAULT_BUNDLE, tmp_path / "lambda.affect", **{"frame_model.keras": lambda_model.read_bytes()}), "Lambda"),
        "custom module": (_rewrite_bundle(DEFAULT_BUNDLE, tmp_path / "evil.affect", **{"frame_model.keras": evil.getvalue()}), "'os'"),
    }


def test_every_bad_bundle_gets_one_clear_error(tmp_path):
    assert_each_refused(_bad_bundles(tmp_path), load_bundle)


def test_cli_bad_weights_exit_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.affect"
    bad.write_bytes(b"PK\x03\x04 truncated")
    proc = subprocess.run(
        [sys.executable, str(REPO / "main.py"), "analyze", str(CLIPS / "two_faces.mp4"),
         "--out", str(tmp_path / "x.csv"), "--weights", str(bad), "--quiet"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("affect-live: error:"), proc.stderr
    assert not (tmp_path / "x.csv").exists()


def test_import_weights_wraps_a_keras_classifier(tmp_path, capsys):
    source = tmp_path / "emotion_model.h5"
    model = small_classifier()
    model.save(source)
    out = tmp_path / "small.affect"
    status = main([
        "import-weights", str(source), "--input", "64x64", "--gray", "--scale=-1,1",
        "--classes", "angry,disgust,fear,happy,sad,surprise,neutral", "--out", str(out), "--license", "MIT",
    ])
    assert status == 0, capsys.readouterr().err
    bundle = load_bundle(out)
    manifest = bundle.manifest
    assert manifest.input.color == "gray" and manifest.input.crop == "box"
    # --scale=-1,1 maps pixel 0 to -1 and 255 to +1.
    assert (0 - manifest.input.mean[0]) / manifest.input.std[0] == pytest.approx(-1)
    assert (255 - manifest.input.mean[0]) / manifest.input.std[0] == pytest.approx(1)
    assert manifest.feature_dim == 16 and manifest.prior_heads == ("valence", "arousal") and manifest.per_frame_heads == ("expression",)
    # The wrapped model still computes what the original did.
    x = np.random.default_rng(0).random((3, 64, 64, 1)).astype(np.float32)
    wrapped = bundle.frame_model(x, training=False)
    np.testing.assert_allclose(np.asarray(wrapped["probabilities"]), np.asarray(model(x)), rtol=1e-5, atol=1e-6)
    listing_manifest = read_manifest(out)
    assert listing_manifest.name == "emotion_model"


def test_import_weights_refuses_bad_models(tmp_path, capsys):
    with_lambda = tmp_path / "lambda.keras"
    small_classifier(lambda_layer=True).save(with_lambda)
    good = tmp_path / "good.keras"
    small_classifier().save(good)
    base = ["--input", "64x64", "--gray", "--out", str(tmp_path / "x.affect")]
    seven = "angry,disgust,fear,happy,sad,surprise,neutral"
    cases = {
        "Lambda": ["import-weights", str(with_lambda), *base, "--classes", seven],
        "7 outputs": ["import-weights", str(good), *base, "--classes", "angry,happy,sad"],
        "input height": ["import-weights", str(good), "--input", "48x48", "--gray", "--classes", seven, "--out", str(tmp_path / "y.affect")],
        "unknown expression": ["import-weights", str(good), *base, "--classes", "angry,disgust,fear,happy,sad,surprise,bored"],
        "not found": ["import-weights", str(tmp_path / "missing.h5"), *base, "--classes", seven],
    }
    for fragment, argv in cases.items():
        assert main(argv) == 2, fragment
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and fragment in err, (fragment, err)
    assert not (tmp_path / "x.affect").exists()


def test_models_lists_bundles_with_cards(tmp_path, capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "faceapi-expression" in out and "prior heads: valence, arousal; learned per frame: expression" in out
    assert "Russell" in out  # the model card is printed
    assert main(["models", "--brief", str(tmp_path / "missing.affect")]) == 2
