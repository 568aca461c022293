"""The model catalogue: `models available`, `models fetch` from a server on loopback (resumed
after a cut, pins, refusals), `--file`, `--mirror` through a proxy, `--weights NAME`, and the
installed model's CSV checked against its own arithmetic.

The test model has the real models' signature (input "input", NCHW, one output of 8 expression
logits + valence + arousal from a final Gemm) with known weights; the real files cannot be had
here. A lab catalogue file (the documented format) names it, with its pins."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from affect_live.catalogue.entries import CATALOGUE_FILE, CatalogueError, load_catalogue, read_catalogue
from affect_live.catalogue.install import git_blob_sha1
from affect_live.catalogue.store import installed_names, installed_path, models_folder, resolve_weights
from affect_live.cli.parser import main
from affect_live.model.bundle.reading import load_bundle
from affect_live.types import EXPRESSIONS
from tests.conftest import IMAGES
from tests.helpers.model_server import ModelServer
from tests.model.test_byo_models import AFFECTNET, analyse, assert_csv_matches

RNG = np.random.default_rng(17)
FEATURES = 16
W1, B1 = RNG.normal(0, 1.5, (3, FEATURES)).astype(np.float32), RNG.normal(0, 0.2, FEATURES).astype(np.float32)
W2, B2 = RNG.normal(0, 0.8, (FEATURES, 10)).astype(np.float32), RNG.normal(0, 0.1, 10).astype(np.float32)
NAME = "test-mbf-va"
UPSTREAM = "mbf_like_va_mtl.onnx"


def mbf_like_onnx() -> bytes:
    """Image -> channel means -> 16 features (MatMul, Add, Tanh) -> Gemm -> [N, 10]."""
    image = helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", 3, 112, 112])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", 10])
    nodes = [
        helper.make_node("GlobalAveragePool", ["input"], ["pooled"]),
        helper.make_node("Flatten", ["pooled"], ["flat"]),
        helper.make_node("MatMul", ["flat", "W1"], ["projected"]),
        helper.make_node("Add", ["projected", "B1"], ["biased"]),
        helper.make_node("Tanh", ["biased"], ["/features/Tanh_output_0"]),
        helper.make_node("Gemm", ["/features/Tanh_output_0", "W2", "B2"], ["output"]),
    ]
    weights = [numpy_helper.from_array(a, n) for a, n in ((W1, "W1"), (B1, "B1"), (W2, "W2"), (B2, "B2"))]
    model = helper.make_model(helper.make_graph(nodes, "mbf_like", [image], [out], weights), opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def features_of(crop_bgr: np.ndarray) -> np.ndarray:
    """The input of the model's last layer, from its weights."""
    x = (crop_bgr[..., ::-1].astype(np.float64) / 255.0 - 0.5) / 0.5
    return np.tanh(x.mean(axis=(0, 1)) @ W1 + B1)


def expected(crop_bgr: np.ndarray) -> np.ndarray:
    """7 probabilities (Aff-Wild2 order, contempt dropped), valence, arousal from the weights."""
    out = features_of(crop_bgr) @ W2 + B2
    probs = np.exp(out[:8] - out[:8].max())
    ours = np.array([probs[AFFECTNET.index(name)] for name in EXPRESSIONS])
    return np.concatenate([ours / ours.sum(), out[8:10]])


def entry(data: bytes, **changes) -> dict:
    """A lab catalogue entry for the test model, in the shipped catalogue's format."""
    shipped = json.loads(CATALOGUE_FILE.read_text())["models"][0]
    item = dict(shipped, name=NAME, url=f"https://models.example.invalid/{UPSTREAM}", path=f"onnx/{UPSTREAM}",
                git_blob_sha1=git_blob_sha1(data), sha256=hashlib.sha256(data).hexdigest(), approx_size_mb=0.01)  # fmt: skip
    item["import"] = dict(shipped["import"], feature_dim=FEATURES)
    item.update(changes)
    return item


def write_catalogue(path: Path, *items: dict) -> Path:
    path.write_text(json.dumps({"format": "affect-live-catalogue", "version": 1, "models": list(items)}))
    return path


@pytest.fixture()
def lab(tmp_path, monkeypatch):
    """A user data folder of its own, the model on a loopback server and a lab catalogue."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    data = mbf_like_onnx()
    served = tmp_path / "served"
    (served / "onnx").mkdir(parents=True)
    (served / "onnx" / UPSTREAM).write_bytes(data)
    catalogue = write_catalogue(tmp_path / "lab-catalogue.json", entry(data))
    monkeypatch.setenv("AFFECT_LIVE_CATALOGUE", str(catalogue))
    with ModelServer(served) as server:
        yield server, data, tmp_path


def fetch(*args: str) -> int:
    return main(["models", "fetch", NAME, "--quiet", *args])


def nothing_installed() -> bool:
    folder = models_folder()
    return not folder.exists() or not [p for p in folder.rglob("*") if p.is_file()]


def test_the_shipped_catalogue_lists_the_three_models_with_their_pins(capsys):
    entries = read_catalogue(CATALOGUE_FILE)
    assert [e.upstream_file for e in entries] == ["mbf_va_mtl.onnx", "enet_b0_8_va_mtl.onnx", "mobilevit_va_mtl.onnx"]
    assert [e.git_blob_sha1 for e in entries] == [
        "194db927ec135679e5cd0a267c5605e2e9d68e7e", "7ce9d6dd5b82b260bc19bfe7822a6ffa1abb6011", "bed5781a1af9924536638ac3786603e124ee900e",
    ]  # fmt: skip
    assert all(e.commit == "f1df0e8548c666d268826e50b7de107fd5553e9d" and e.license == "Apache-2.0" for e in entries)
    assert all(e.url.startswith("https://") and e.url.endswith(e.path) and e.commit in e.url for e in entries)
    assert [e.name for e in entries if e.recommended] == ["hsemotion-mbf-va"]
    assert git_blob_sha1(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"  # `git hash-object` of it
    assert main(["models", "available"]) == 0
    shown = capsys.readouterr().out
    for e in entries:
        assert e.name in shown and e.upstream_file in shown and f"not installed: affect-live models fetch {e.name}" in shown
    assert "licence: Apache-2.0" in shown and "ms per face" in shown


def test_fetch_installs_and_the_csv_is_the_models_own_arithmetic(lab, tmp_path, capsys):
    server, data, _ = lab
    assert main(["models", "fetch", NAME, "--quiet", "--mirror", server.url + "/onnx"]) == 0
    assert "use it with --weights test-mbf-va" in capsys.readouterr().out
    assert installed_names() == [NAME]
    assert [p.name for p in models_folder().rglob("*") if p.is_file()] == [f"{NAME}.affect"]  # no partial or staging file
    bundle = load_bundle(resolve_weights(NAME))  # the name works wherever a bundle path does
    manifest = bundle.manifest
    assert bundle.path == installed_path(NAME)
    assert manifest.per_frame_heads == ("expression", "valence", "arousal") and manifest.prior_heads == ()
    assert manifest.feature_dim == FEATURES + 2  # the last layer's input, then V and A
    provenance = manifest.provenance
    assert provenance["catalogue"] == NAME and provenance["git_blob_sha1"] == git_blob_sha1(data)
    assert provenance["downloaded_sha256"] == hashlib.sha256(data).hexdigest() and provenance["fetched_from"].endswith(UPSTREAM)
    card = bundle.model_card
    assert "Cite:" in card and "clips them to [-1, 1]" in card and "git blob SHA-1" in card
    rows, engine = analyse(installed_path(NAME), tmp_path / "fetched.csv")
    assert_csv_matches(rows, engine, expected, manifest.window)
    image = IMAGES / "astronaut.png"
    assert main(["analyze", str(image), "--out", str(tmp_path / "one.csv"), "--weights", NAME, "--quiet"]) == 0
    sidecar = json.loads((tmp_path / "one.meta.json").read_text())["model"]
    assert sidecar["name"] == NAME and sidecar["per_frame_heads"] == ["expression", "valence", "arousal"] and sidecar["prior_heads"] == []
    assert sidecar["manifest"]["provenance"]["commit"] == json.loads(CATALOGUE_FILE.read_text())["models"][0]["commit"]


def test_a_connection_cut_half_way_resumes_with_a_range_request(lab, monkeypatch):
    server, data, _ = lab
    server.cut_after = len(data) // 2
    monkeypatch.setenv("AFFECT_LIVE_MIRROR", server.url + "/onnx")  # the lab's mirror, set once
    assert fetch() == 0
    assert [r for _, r in server.requests] == [None, f"bytes={len(data) // 2}-"]
    assert load_bundle(resolve_weights(NAME)).manifest.provenance["downloaded_sha256"] == hashlib.sha256(data).hexdigest()


def test_refusals_are_one_line_and_install_nothing(lab, tmp_path, capsys):
    server, data, _ = lab
    cases = {
        "not found": (["--mirror", server.url + "/elsewhere"], "answered 404"),
        "server down": (["--mirror", "http://127.0.0.1:9/x"], "cannot reach 127.0.0.1:9"),
        "plain http without --mirror": (["--mirror", "ftp://127.0.0.1/x"], "only https://"),
    }
    for label, (args, message) in cases.items():
        assert fetch(*args) == 2, label
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(err) == 1 and message in err[0], (label, err)
        assert nothing_installed(), label
    # A file that is not the pinned one.
    (tmp_path / "served" / "onnx" / UPSTREAM).write_bytes(data[:-8] + b"\0" * 8)
    assert fetch("--mirror", server.url + "/onnx") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is not the pinned" in err[0] and nothing_installed()


def test_a_file_that_fails_the_import_checks_is_refused(lab, tmp_path, capsys, monkeypatch):
    _, _, _ = lab
    model = onnx.load_from_string(mbf_like_onnx())
    model.graph.node[0].domain = "evil.ops"  # a custom operator domain: native code
    model.opset_import.append(helper.make_opsetid("evil.ops", 1))
    bad = model.SerializeToString()
    (tmp_path / "bad.onnx").write_bytes(bad)
    write_catalogue(tmp_path / "bad.json", entry(bad, name="bad-model"))
    monkeypatch.setenv("AFFECT_LIVE_CATALOGUE", str(tmp_path / "bad.json"))
    assert main(["models", "fetch", "bad-model", "--file", str(tmp_path / "bad.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "evil.ops" in err[0] and nothing_installed()


def test_file_installs_a_copy_from_elsewhere_with_the_same_checks(lab, tmp_path, capsys):
    _, data, _ = lab
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(data)
    assert main(["models", "fetch", NAME, "--file", str(copy)]) == 0
    assert load_bundle(resolve_weights(NAME)).manifest.provenance["fetched_from"] == str(copy)
    copy.write_bytes(data + b"\0")
    assert main(["models", "fetch", NAME, "--file", str(copy)]) == 2
    assert "is not the pinned" in capsys.readouterr().err


def test_the_http_proxy_from_the_environment_is_used(lab, monkeypatch):
    server, _, _ = lab
    monkeypatch.setenv("http_proxy", server.url)
    monkeypatch.setenv("no_proxy", "")
    assert fetch("--mirror", "http://models.lab.invalid/onnx") == 0  # reached only through the proxy
    assert server.requests[0][0] == f"http://models.lab.invalid/onnx/{UPSTREAM}"


def test_lab_catalogues_are_checked_as_the_shipped_one(tmp_path, monkeypatch):
    data = b"x"
    cases = {
        "http url": (entry(data, url="http://example.org/m.onnx"), "url must be https://"),
        "no pin": (entry(data, git_blob_sha1=None, sha256=None), "needs a pin"),
        "bad pin": (entry(data, sha256="XYZ"), "hex digits"),
        "number as text": (entry(data, approx_size_mb="5"), "approx_size_mb must be"),
        "boolean as number": (entry(data, approx_size_mb=True), "approx_size_mb must be"),
        "same name as shipped": (entry(data, name="hsemotion-mbf-va"), "already in"),
        "bad name": (entry(data, name="../x"), "must be lower-case"),
    }
    for label, (item, message) in cases.items():
        monkeypatch.setenv("AFFECT_LIVE_CATALOGUE", str(write_catalogue(tmp_path / "c.json", item)))
        with pytest.raises(CatalogueError, match=message):
            load_catalogue()
    (tmp_path / "deep.json").write_text("[" * 100000 + "]" * 100000)
    monkeypatch.setenv("AFFECT_LIVE_CATALOGUE", str(tmp_path / "deep.json"))
    with pytest.raises(CatalogueError, match="not valid JSON"):
        load_catalogue()


def test_a_name_that_is_not_installed_says_how_to_install_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    image = IMAGES / "astronaut.png"
    assert main(["analyze", str(image), "--out", str(tmp_path / "a.csv"), "--weights", "hsemotion-mbf-va"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["affect-live: error: hsemotion-mbf-va is in the model catalogue but not installed: affect-live models fetch hsemotion-mbf-va"]
    assert not os.path.exists(tmp_path / "a.csv")


def test_extract_caches_the_last_layers_features_and_train_fits_stat_heads_on_them(lab, mini, tmp_path):
    """The paper's model on top of a catalogue model: extract caches its features (the input of
    its last layer) with its probabilities and valence/arousal, train fits STAT heads on them,
    and the live engine feeds those heads."""
    from affect_live.train.affwild2 import AffWild2
    from affect_live.train.cache import FeatureCache, read_frame_image

    server, _, _ = lab
    assert fetch("--mirror", server.url + "/onnx") == 0
    cache = tmp_path / "cache"
    assert main(["extract", "--affwild2", str(mini.root), "--cache", str(cache), "--weights", NAME, "--no-actions", "--quiet"]) == 0
    dataset = AffWild2(mini.root)
    video = dataset.image_videos()[0]
    outputs = FeatureCache(cache, load_bundle(resolve_weights(NAME))).load(video)
    images = [read_frame_image(dataset.image_path(video, int(n)), (112, 112)) for n in outputs.frames]
    want = np.array([features_of(image) for image in images])
    assert outputs.features.shape[1] == FEATURES + 2
    np.testing.assert_allclose(outputs.features[:, :FEATURES], want, atol=1e-2)  # cached as float16
    np.testing.assert_allclose(outputs.valence_arousal, np.array([expected(i)[7:] for i in images]), atol=1e-4)
    trained = tmp_path / "stat-on-mbf.affect"
    assert main([
        "train", "--affwild2", str(mini.root), "--cache", str(cache), "--weights", NAME, "--out", str(trained),
        "--hidden", "16", "--epochs", "2", "--quiet",
    ]) == 0  # fmt: skip
    bundle = load_bundle(trained)
    assert bundle.manifest.has_learned_heads and bundle.manifest.heads_input_width == 21 + FEATURES + 2 + 7
    assert bundle.manifest.prior_heads == () and bundle.manifest.provenance["catalogue"] == NAME
    rows, engine = analyse(trained, tmp_path / "trained.csv", "astronaut_motion.mp4")
    assert rows and all(-1 <= float(r["valence"]) <= 1 for r in rows)
    assert engine.info.label.endswith("[learned heads]") and engine.info.prior_heads == ()


def test_lsl_metadata_names_the_catalogue_model_its_source_and_what_each_output_is(lab):
    """desc/model of the data stream, as an inlet (LabRecorder, XDF) reads it."""
    import xml.etree.ElementTree as ET

    from tests.lsl.test_lsl import inlet

    from affect_live.lsl.outlets import DATA_STREAM, LslStreams
    from affect_live.session.metadata import stream_model_description
    from affect_live.model.inference.engine import AffectEngine

    server, data, _ = lab
    assert fetch("--mirror", server.url + "/onnx") == 0
    streams = LslStreams(source_id=f"catalogue-{os.getpid()}", model=stream_model_description(AffectEngine([load_bundle(resolve_weights(NAME))])))
    try:
        model = ET.fromstring(inlet(DATA_STREAM).get_sinfo().as_xml).find("desc/model")
    finally:
        streams.close()
    assert model.findtext("name") == NAME and model.findtext("label") == f"{NAME} [learned per frame: expression, valence, arousal]"
    assert {h.tag: h.text for h in model.find("heads")} == {"expression": "learned per frame", "valence": "learned per frame", "arousal": "learned per frame"}
    source = model.find("members/member/source")
    shipped = json.loads(CATALOGUE_FILE.read_text())["models"][0]
    assert source.findtext("catalogue") == NAME and source.findtext("commit") == shipped["commit"] and source.findtext("license") == "Apache-2.0"
    assert source.findtext("git_blob_sha1") == git_blob_sha1(data) and source.findtext("downloaded_sha256") == hashlib.sha256(data).hexdigest()
