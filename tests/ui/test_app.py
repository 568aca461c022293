"""The desktop app, driven for real: window, pipeline, model and fixture clips (offscreen Qt).

Files play at their own frame rate in the app (as a camera would), so each test waits for
results with qtbot.waitUntil rather than sleeping.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import CLIPS, small_classifier
from tests.helpers.app_window import TWO_FACES, WAIT_MS, open_and_wait, open_window, read_rows, store, wait_for_frames  # noqa: F401 (fixtures)
from tests.helpers.live_helpers import GatedEngine

from PyQt5.QtCore import Qt  # noqa: E402  (after app_window prepared Qt)

from affect_live.cli.parser import main as cli_main  # noqa: E402
from affect_live.model.bundle.reading import DEFAULT_BUNDLE  # noqa: E402
from affect_live.recording.sidecar import sidecar_path  # noqa: E402
from affect_live.resources import DEMO_CLIP  # noqa: E402
from affect_live.session.live import LiveSession  # noqa: E402
from affect_live.ui.main_window import MainWindow  # noqa: E402
from affect_live.ui.settings import AppSettings  # noqa: E402

pytestmark = pytest.mark.gui

@pytest.fixture(scope="module")
def small_bundle(tmp_path_factory) -> Path:
    """A second, different model, made the way users make one: import-weights."""
    folder = tmp_path_factory.mktemp("weights")
    small_classifier().save(folder / "tiny_fer.h5")
    out = folder / "tiny_fer.affect"
    status = cli_main([
        "import-weights", str(folder / "tiny_fer.h5"), "--input", "64x64", "--gray", "--scale=-1,1",
        "--classes", "angry,disgust,fear,happy,sad,surprise,neutral", "--out", str(out),
    ])  # fmt: skip
    assert status == 0
    return out


def test_predictions_arrive_and_plots_receive_data(qtbot, open_window):
    window = open_window()
    wait_for_frames(qtbot, window, n=20, faces=2)
    # Hold the analysis so the plots and the history are compared on the same newest result.
    window.set_paused(True)
    qtbot.wait(300)
    qtbot.waitUntil(lambda: window.session.latest() is window._last_result, timeout=WAIT_MS)
    face = window.selected_face
    assert face is not None
    x, y = window.faces.timeline.valence_curve.getData()
    assert len(x) >= 5 and np.all((x >= -30) & (x <= 0))
    heights = window.faces.bars.heights
    assert heights.shape == (7,) and heights.sum() == pytest.approx(1.0, abs=1e-3)
    series = window.session.history.series(face)
    assert np.allclose(heights, series.probabilities, atol=1e-6)
    # Honesty: the default heads are priors, and the window says so.
    window.refresh_status()
    assert window.status_panel.model.text() == "faceapi-expression [prior: valence, arousal; learned per frame: expression]"
    assert "Prior (never fitted to labels): valence, arousal" in window.faces.note.text()
    assert "(learned per frame)" in window.faces.bars.note and "(prior)" in window.faces.plane.note


def test_clicking_another_face_switches_the_plots(qtbot, open_window):
    window = open_window()
    wait_for_frames(qtbot, window, n=5, faces=2)
    predictions = window.video.predictions
    other = next(p for p in predictions if p.face_id != window.selected_face)
    x, y, w, h = other.detection.box
    point = window.video.frame_to_widget(x + w / 2, y + h / 2).toPoint()
    qtbot.mouseClick(window.video, Qt.LeftButton, pos=point)
    assert window.selected_face == other.face_id
    wait_for_frames(qtbot, window, n=3, faces=2)
    expected = window.session.history.series(other.face_id)
    assert window.faces.face_box.currentData() == other.face_id
    assert np.allclose(window.faces.bars.heights, expected.probabilities, atol=0.2)
    # The selection sticks while that face stays in view.
    wait_for_frames(qtbot, window, n=5, faces=1)
    assert window.selected_face == other.face_id


def test_loading_a_good_bundle_switches_the_model(qtbot, open_window, small_bundle):
    window = open_window()
    open_and_wait(qtbot, window, TWO_FACES, loop=True)  # looped: two model loads outlast the 3 s clip
    wait_for_frames(qtbot, window, faces=1)
    assert window.session.stats().model_name == "faceapi-expression"
    window.load_weights(small_bundle)
    qtbot.waitUntil(lambda: window.settings.weights == str(small_bundle), timeout=WAIT_MS)  # event handled
    window.refresh_status()
    assert window.session.stats().model_name == "tiny_fer"
    assert "tiny_fer" in window.status_panel.model.text()
    # Predictions continue, now from the new model (its 64x64 grey crops).
    first = wait_for_frames(qtbot, window, n=10, faces=1)
    assert window.session.engine.manifest.name == "tiny_fer"
    assert window.session.stats().crop_size == (64, 64)
    assert wait_for_frames(qtbot, window, n=5, faces=1) > first
    # Several files at once are fused; the name says so and predictions go on.
    window.load_weights([DEFAULT_BUNDLE, DEFAULT_BUNDLE])
    qtbot.waitUntil(lambda: " + " in window.session.stats().model_name, timeout=WAIT_MS)
    wait_for_frames(qtbot, window, n=5, faces=1)


def test_bad_weights_show_an_error_and_keep_the_model(qtbot, open_window, tmp_path):
    window = open_window()
    wait_for_frames(qtbot, window, faces=1)
    bad = tmp_path / "broken.affect"
    bad.write_bytes(b"this is not a weight bundle")
    window.load_weights(bad)
    qtbot.waitUntil(lambda: window.banner.level == "error" and window.banner.isVisible(), timeout=WAIT_MS)
    assert "broken.affect" in window.banner.text() and "\n" not in window.banner.text()
    assert "keeping faceapi-expression" in window.banner.text()
    assert window.session.stats().model_name == "faceapi-expression"
    wait_for_frames(qtbot, window, n=10, faces=1)  # still analysing


def test_pause_stops_new_predictions_and_resume_restarts(qtbot, open_window):
    window = open_window()
    wait_for_frames(qtbot, window, faces=1)
    window.controls.pause_action.trigger()  # the Space shortcut's action
    assert window.session.flush() and window.session.paused and window.session.stats().state.value == "paused"
    # A frame in flight still arrives; once capture is parked the newest result is the newest frame read.
    session = window.session
    qtbot.waitUntil(lambda: session.stats().capture_parked and session.latest().frame_index == session.display_frame().frame_index, timeout=WAIT_MS)
    frozen, read, ticks = window.session.latest().frame_index, window.session.stats().frames_read, window._ticks
    qtbot.waitUntil(lambda: window._ticks >= ticks + 20, timeout=WAIT_MS)  # 20 display ticks later
    assert window.session.latest().frame_index == frozen and window.session.stats().frames_read == read
    window.controls.pause_action.trigger()
    assert window.session.flush() and not window.session.paused
    wait_for_frames(qtbot, window, n=5)
    assert window.session.latest().frame_index > frozen


def test_no_camera_plays_the_demo_clip(qtbot, open_window):
    window = open_window(source=None)
    assert "no camera found" in window.banner.text()
    wait_for_frames(qtbot, window, n=10, faces=1)
    assert window.session.stats().source == DEMO_CLIP.name


def test_file_that_ends_and_bad_source_keep_the_app_usable(qtbot, open_window, tmp_path):
    window = open_window(source=str(CLIPS / "astronaut_motion.mp4"))  # 4 s, not looped
    wait_for_frames(qtbot, window, faces=1)
    csv_path = tmp_path / "until_end.csv"
    assert window.start_recording(csv_path)
    qtbot.waitUntil(lambda: not window.session.stats().running, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.controls.record_action.isChecked(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: any("recording saved" in m for _, m in window.messages), timeout=WAIT_MS)
    said = " ".join(message for _, message in window.messages)
    assert "recording saved (end of file: astronaut_motion.mp4 played to its end)" in said and "rows in" in said
    _, rows = read_rows(csv_path)
    assert len(rows) > 30 and json.loads(sidecar_path(csv_path).read_text())["status"] == "complete"
    # A missing file: one clear line, and the app still opens another source.
    open_and_wait(qtbot, window, str(tmp_path / "missing.mp4"))
    assert window.banner.level == "error" and "no such file" in window.banner.text()
    open_and_wait(qtbot, window, TWO_FACES)
    wait_for_frames(qtbot, window, n=5, faces=1)


def test_space_pauses_and_shortcuts_are_bound(qtbot, open_window):
    window = open_window()
    wait_for_frames(qtbot, window, faces=1)
    window.activateWindow()
    window.video.setFocus()
    qtbot.keyClick(window.video, Qt.Key_Space)
    assert window.session.flush() and window.session.paused and window.controls.pause_action.isChecked()
    qtbot.keyClick(window.video, Qt.Key_Space)
    assert window.session.flush() and not window.session.paused
    c = window.controls
    bound = {a.shortcut().toString() for a in (c.record_action, c.open_action, c.load_action, c.quit_action)}
    assert bound == {"R", "Ctrl+O", "Ctrl+L", "Ctrl+Q"}


def test_without_a_display_the_app_says_so_in_one_line(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    proc = subprocess.run([sys.executable, str(REPO / "main.py")], env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "no display found" in lines[0] and "analyze" in lines[0]


def test_a_slow_model_never_freezes_the_video(qtbot, store, default_bundle):
    """While the model holds a frame (gated by the test, as a model far slower than the camera
    would), the video keeps drawing new frames; those the model had no time for are dropped and
    counted, never queued."""
    permits = threading.Semaphore(0)
    session = LiveSession(GatedEngine(default_bundle, permits))
    window = MainWindow(session, AppSettings.load(store), store, cameras=[])
    qtbot.addWidget(window)
    window.show()
    try:
        window.open_demo()
        permits.release()  # one frame through the model, then it holds the next one
        qtbot.waitUntil(lambda: session.results_seen == 1, timeout=WAIT_MS)
        shown = window.frames_shown
        qtbot.waitUntil(lambda: window.frames_shown >= shown + 30, timeout=WAIT_MS)  # drawn meanwhile
        assert session.results_seen == 1 and session.stats().dropped_frames >= 28
    finally:
        for _ in range(10_000):
            permits.release()
        window.close()


@pytest.mark.parametrize("display", ["offscreen", "xvfb"])
def test_main_py_runs_the_app_until_the_clip_ends(tmp_path, display):
    """The real entry point, in its own process: it analyses the clip and says when it ended.
    Under a real X server (Xvfb, where installed) this also guards the TensorFlow-after-Qt crash."""
    import os
    import shutil
    import subprocess
    import sys
    import time

    from tests.conftest import REPO, running

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "QT_QPA_PLATFORM")} | {"HOME": str(tmp_path)}
    command = [sys.executable, str(REPO / "main.py"), "-v", "--source", TWO_FACES]
    if display == "offscreen":
        env["QT_QPA_PLATFORM"] = "offscreen"
    elif shutil.which("xvfb-run"):
        command = ["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", *command]
    else:
        pytest.skip("no Xvfb on this machine (Debian: apt-get install xvfb)")
    log_path = tmp_path / "app.log"
    with open(log_path, "w") as log_file, running(command, env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=tmp_path) as proc:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None and "two_faces.mp4 played to its end" not in log_path.read_text():
            time.sleep(0.5)
        alive = proc.poll() is None
    text = log_path.read_text()
    assert alive, text
    assert "two_faces.mp4 (video)" in text and "end of file: two_faces.mp4 played to its end" in text and "Traceback" not in text


def test_bad_startup_weights_fall_back_to_the_default_and_say_so(qtbot, open_window, tmp_path):
    bad = tmp_path / "remembered.affect"
    bad.write_bytes(b"not a bundle")
    window = open_window(weights=[bad])
    qtbot.waitUntil(lambda: any("using the default model" in m for _, m in window.messages), timeout=WAIT_MS)
    said = next(m for _, m in window.messages if "using the default model" in m)
    assert "remembered.affect" in said and "\n" not in said
    wait_for_frames(qtbot, window, n=3, faces=1)
    assert window.session.stats().model_name == "faceapi-expression"


def test_screenshot_saves_the_window_as_a_png(qtbot, open_window, tmp_path):
    window = open_window()
    wait_for_frames(qtbot, window, n=3, faces=1)
    png = tmp_path / "plots.png"
    assert window.save_screenshot(png)
    header = png.read_bytes()[:8]
    assert header == b"\x89PNG\r\n\x1a\n"
    from PyQt5.QtGui import QImage

    image = QImage(str(png))
    assert (image.width(), image.height()) == (window.width(), window.height())  # video, overlay and plots
    assert window.messages[-1] == ("info", f"saved {png}")


def test_the_device_chosen_is_remembered_for_the_next_start(qtbot, open_window, store):
    window = open_window()
    window.set_device("cpu")
    assert "applies the next time" in window.messages[-1][1]
    window.close()
    assert AppSettings.load(store).device == "cpu"
    from affect_live.ui.app import resolve_app_device

    assert resolve_app_device(AppSettings.load(store).device) == "CPU"


def test_a_remembered_device_that_cannot_run_never_stops_the_app(store):
    from affect_live.backends.device import gpu_unusable_reason
    from affect_live.ui.app import AppError, AppOptions, startup_device

    reason = gpu_unusable_reason()
    if reason is None:
        pytest.skip("this machine runs the GPU path: nothing to fall back from")
    settings = AppSettings.load(store)
    settings.device = "gpu"  # chosen in the Device box on another day
    device, warning = startup_device(AppOptions(), settings)
    assert device == "CPU" and reason in warning and "remembered" in warning and settings.device == "auto"
    with pytest.raises(AppError, match="gpu"):  # typed on the command line now: an error
        startup_device(AppOptions(device="gpu"), AppSettings.load(store))


def test_the_device_box_greys_out_a_gpu_that_cannot_run(qtbot, open_window):
    from affect_live.backends.device import gpu_missing_reason

    box = open_window().controls.device_box
    item = box.model().item(box.findText("gpu"))
    reason = gpu_missing_reason()
    assert item.isEnabled() == (reason is None)
    assert reason is None or reason in item.toolTip()

