"""A brought-in ONNX model with its own valence/arousal in the desktop app (offscreen Qt): loaded
with Load weights, labelled "learned per frame" rather than "prior", and fused with the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.app_window import TWO_FACES, WAIT_MS, open_and_wait, open_window, store, wait_for_frames  # noqa: F401  (fixtures)
from tests.model.test_byo_models import HSE_FLAGS, hse_like_onnx

from affect_live.cli.parser import main as cli_main  # noqa: E402  (after test_app's Qt preparation)
from affect_live.model.bundle.reading import DEFAULT_BUNDLE  # noqa: E402

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def hse_bundle(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("byo_app")
    out = folder / "hse-va.affect"
    model = hse_like_onnx(folder / "enet_like.onnx")
    assert cli_main(["import-weights", str(model), "--input", "112x112", *HSE_FLAGS, "--name", "hse-like", "--out", str(out)]) == 0
    return out


def test_load_weights_takes_an_onnx_bundle_and_says_learned_per_frame(qtbot, open_window, hse_bundle):  # noqa: F811
    window = open_window()
    open_and_wait(qtbot, window, TWO_FACES, loop=True)
    wait_for_frames(qtbot, window, faces=1)
    window.load_weights(hse_bundle)
    qtbot.waitUntil(lambda: window.settings.weights == str(hse_bundle), timeout=WAIT_MS)
    window.refresh_status()
    stats = window.session.stats()
    assert stats.model_name == "hse-like" and stats.device == "CPU (onnxruntime)"
    assert stats.prior_heads == () and stats.per_frame_heads == ("expression", "valence", "arousal")
    assert window.status_panel.model.text() == "hse-like [learned per frame: expression, valence, arousal]"
    assert "Learned per frame (window mean): expression, valence, arousal" in window.faces.note.text()
    assert "(learned per frame)" in window.faces.plane.note and "(prior)" not in window.faces.plane.note
    wait_for_frames(qtbot, window, n=5, faces=1)  # predictions go on from the ONNX model
    assert all(-1 <= p.valence <= 1 for p in window.video.predictions)
    # Fused with the default model (the same 112x112 box crop): both names, both kinds of heads.
    window.load_weights([DEFAULT_BUNDLE, hse_bundle])
    qtbot.waitUntil(lambda: window.session.stats().model_name == "faceapi-expression + hse-like", timeout=WAIT_MS)
    stats = window.session.stats()
    # A head is as much a prior as its most prior member: fused with the default, valence and arousal are.
    assert stats.prior_heads == ("valence", "arousal") and stats.per_frame_heads == ("expression",)
    assert stats.device == "CPU (LiteRT) + CPU (onnxruntime)"
    wait_for_frames(qtbot, window, n=5, faces=1)
