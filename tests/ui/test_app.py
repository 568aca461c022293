"""The desktop app, driven for real: window, pipeline, model and fixture clips (offscreen Qt).

Files play at their own frame rate in the app (as a camera would), so each test waits for
results with qtbot.waitUntil rather than sleeping.
"""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from affect_live.ui.app import AppOptions, build_window, prepare_qt_environment
from tests.conftest import CLIPS, small_classifier
from tests.helpers.live_helpers import GatedEngine
from tests.recording.test_recording import assert_whole_rows

prepare_qt_environment()  # drop OpenCV's Qt plugin path before the QApplication exists

from PyQt5.QtCore import QSettings, Qt  # noqa: E402

from affect_live.cli.parser import main as cli_main  # noqa: E402
from affect_live.model.bundle.reading import DEFAULT_BUNDLE  # noqa: E402
from affect_live.recording.rows import csv_columns
from affect_live.recording.sidecar import sidecar_path  # noqa: E402
from affect_live.resources import DEMO_CLIP  # noqa: E402
from affect_live.types import EXPRESSIONS  # noqa: E402
from affect_live.session.live import LiveSession  # noqa: E402
from affect_live.ui.main_window import MainWindow  # noqa: E402
from affect_live.ui.settings import AppSettings  # noqa: E402

pytestmark = pytest.mark.gui

TWO_FACES = str(CLIPS / "two_faces.mp4")
WAIT_MS = 180_000  # a bound for a broken build, not a speed: a loaded machine fuses two bundles in over 20 s


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


@pytest.fixture
def store(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def open_window(qtbot, store):
    windows = []

    def make(source: str | None = TWO_FACES, **options):
        window = build_window(AppOptions(source=source, **options), AppSettings.load(store), store, cameras=[])
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close()


def wait_for_frames(qtbot, window, n: int = 1, faces: int = 1) -> int:
    """Wait until `n` more results with at least `faces` faces were drawn; their count."""
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown >= start + n and len(window.video.predictions) >= faces, timeout=WAIT_MS)
    return window.frames_shown


def open_and_wait(qtbot, window, spec: str, **options) -> None:  # noqa: ANN001
    """Open a source and wait until the window has switched to it (or said why not)."""
    window.open_source(spec, **options)
    qtbot.waitUntil(lambda: not window.source_pending(), timeout=WAIT_MS)


def recorded_rows(window) -> int:  # noqa: ANN001
    status = window.session.stats().recording
    return status.rows if status is not None else -1


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


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def test_recording_writes_the_analyze_format(qtbot, open_window, tmp_path):
    window = open_window()
    wait_for_frames(qtbot, window, faces=1)
    csv_path = tmp_path / "session.csv"
    assert window.start_recording(csv_path)
    assert window.controls.record_action.isChecked()
    qtbot.waitUntil(lambda: recorded_rows(window) >= 40, timeout=WAIT_MS)
    window.refresh_status()
    assert "REC" in window.controls.recording_label.text() and "rows" in window.controls.recording_label.text()
    window.stop_recording()
    qtbot.waitUntil(lambda: any("recording saved" in m for _, m in window.messages), timeout=WAIT_MS)
    header, rows = read_rows(csv_path)
    assert tuple(header) == csv_columns(actions=True)  # the app computes the actions too
    assert len(rows) >= 40
    for row in rows:
        probs = np.array([float(row[name]) for name in EXPRESSIONS])
        assert probs.sum() == pytest.approx(1.0, abs=1e-4)
        assert row["expression"] == EXPRESSIONS[int(np.argmax(probs))]
        assert -1 <= float(row["valence"]) <= 1 and -1 <= float(row["arousal"]) <= 1
    frames = [int(row["frame"]) for row in rows]
    assert frames == sorted(frames)
    meta = json.loads(sidecar_path(csv_path).read_text())
    assert meta["status"] == "complete" and meta["mode"] == "live" and meta["rows"] == len(rows)
    assert meta["model"]["prior_heads"] == ["valence", "arousal"] and meta["model"]["per_frame_heads"] == ["expression"]


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


def test_closing_while_recording_leaves_a_complete_csv(qtbot, open_window, tmp_path, store):
    window = open_window()
    window.controls.window_spin.setValue(8)
    window.controls.max_faces_spin.setValue(2)
    wait_for_frames(qtbot, window, faces=1)
    csv_path = tmp_path / "closing.csv"
    assert window.start_recording(csv_path)
    qtbot.waitUntil(lambda: recorded_rows(window) >= 20, timeout=WAIT_MS)
    window.close()
    text = csv_path.read_text()
    assert text.endswith("\n")
    header, rows = read_rows(csv_path)
    meta = json.loads(sidecar_path(csv_path).read_text())
    assert meta["status"] == "complete" and meta["rows"] == len(rows) >= 20
    assert meta["settings"]["window"] == 8 and meta["settings"]["max_faces"] == 2
    # Settings are remembered for the next run.
    remembered = AppSettings.load(store)
    assert (remembered.window, remembered.max_faces, remembered.source) == (8, 2, TWO_FACES)
    again = open_window(source=None)  # the next run starts where this one ended
    qtbot.waitUntil(lambda: again.session.stats().source == TWO_FACES, timeout=WAIT_MS)
    assert (again.controls.window_spin.value(), again.controls.max_faces_spin.value()) == (8, 2)
    wait_for_frames(qtbot, again, faces=1)
    assert again.session.stats().window == 8


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
    qtbot.waitUntil(lambda: any("recording stopped" in m for _, m in window.messages), timeout=WAIT_MS)
    said = " ".join(message for _, message in window.messages)
    assert "astronaut_motion.mp4 ended" in said and "recording stopped" in said and "rows in" in said
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
        while time.monotonic() < deadline and proc.poll() is None and "two_faces.mp4 ended" not in log_path.read_text():
            time.sleep(0.5)
        alive = proc.poll() is None
    text = log_path.read_text()
    assert alive, text
    assert "two_faces.mp4 (video)" in text and "two_faces.mp4 ended" in text and "Traceback" not in text


APP_UNDER_A_FILE_SIZE_LIMIT = """
import json, resource, signal, sys, time
from pathlib import Path

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (12_000, 12_000))  # room for the sidecar, not the CSV
from affect_live.ui.app import AppOptions, build_window, prepare_qt_environment
prepare_qt_environment()
from PyQt5.QtCore import QSettings
from PyQt5.QtWidgets import QApplication
from affect_live.ui.settings import AppSettings

app = QApplication([])
folder = Path(sys.argv[1])
store = QSettings(str(folder / "settings.ini"), QSettings.IniFormat)
window = build_window(AppOptions(source=None), AppSettings.load(store), store, cameras=[])  # the demo, looped
window.show()

def run_until(condition):  # a bound for a broken build, not a speed
    deadline = time.monotonic() + 240
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        app.processEvents()
        time.sleep(0.01)

run_until(lambda: window.video.predictions)
assert window.start_recording(folder / "limited.csv")
run_until(lambda: not window.controls.record_action.isChecked())
shown = window.frames_shown
run_until(lambda: window.frames_shown >= shown + 5)  # the analysis goes on
window.close()
print(json.dumps([message for _, message in window.messages]))
"""


def test_a_write_error_mid_recording_stops_it_with_whole_rows(tmp_path):
    """The real window in a child process whose files may not grow past 12 kB (no mount or root
    needed): the CSV write that fails ends the recording as failed, rows before it whole."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", APP_UNDER_A_FILE_SIZE_LIMIT, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    said = " ".join(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert "recording stopped" in said and "File too large" in said and "rows already saved" in said
    csv_path = tmp_path / "limited.csv"
    meta = json.loads(sidecar_path(csv_path).read_text())
    assert meta["status"] == "failed" and "File too large" in meta["message"] and meta["mode"] == "live"
    assert {"dropped_frames", "timing", "model_changes", "frames_processed"} <= set(meta)
    assert assert_whole_rows(csv_path, meta) and csv_path.stat().st_size <= 12_000


def test_the_lsl_toggle_streams_results_and_markers_and_is_remembered(qtbot, open_window, store, tmp_path):
    from affect_live.lsl.outlets import DATA_STREAM, MARKER_STREAM
    from tests.lsl.test_lsl import inlet, pull_until

    window = open_window()
    window.controls.lsl_action.trigger()
    qtbot.waitUntil(lambda: window.session.stats().lsl == "on", timeout=WAIT_MS)
    data, markers = inlet(DATA_STREAM), inlet(MARKER_STREAM)
    samples, stamps = pull_until(data, lambda s: len(s) >= 20, "20 samples")
    assert stamps == sorted(stamps) and {int(s[0]) for s in samples} <= set(window.session.history.face_ids())
    assert window.start_recording(tmp_path / "lsl.csv")
    window.stop_recording()
    texts, _ = pull_until(markers, lambda s: any(m[0] == "recording stopped: complete" for m in s), "the recording's markers")
    assert "recording started: lsl.csv" in [m[0] for m in texts]
    window.close()
    assert AppSettings.load(store).lsl is True
    assert window.session.stats().lsl == "off"


def test_markers_go_into_the_events_file(qtbot, open_window, tmp_path):
    from affect_live.recording.recording import EVENT_COLUMNS, events_path

    window = open_window()
    wait_for_frames(qtbot, window, faces=1)
    csv_path = tmp_path / "marked.csv"
    assert window.start_recording(csv_path)
    qtbot.waitUntil(lambda: recorded_rows(window) >= 5, timeout=WAIT_MS)
    window.controls.marker_text.setText("stimulus, A")
    window.controls.marker_action.trigger()
    window.add_marker()
    window.stop_recording()
    assert window.session.flush()
    with open(events_path(csv_path), newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == EVENT_COLUMNS
        events = list(reader)
    user = [e for e in events if e["origin"] == "user"]
    assert [e["marker"] for e in user] == ["stimulus, A", "marker"]
    assert all(e["frame"].isdigit() and float(e["time_s"]) >= 0 for e in user)
    said = [e["marker"] for e in events]
    assert said[0] == "recording started: marked.csv" and said[-1] == "recording stopped: complete"
    meta = json.loads(sidecar_path(csv_path).read_text())
    assert meta["events_csv"] == "marked.events.csv" and meta["events"] == len(events)


def test_bad_startup_weights_fall_back_to_the_default_and_say_so(qtbot, open_window, tmp_path):
    bad = tmp_path / "remembered.affect"
    bad.write_bytes(b"not a bundle")
    window = open_window(weights=[bad])
    qtbot.waitUntil(lambda: any("using the default model" in m for _, m in window.messages), timeout=WAIT_MS)
    said = next(m for _, m in window.messages if "using the default model" in m)
    assert "remembered.affect" in said and "\n" not in said
    wait_for_frames(qtbot, window, n=3, faces=1)
    assert window.session.stats().model_name == "faceapi-expression"


def test_screenshot_saves_the_plots_as_a_png(qtbot, open_window, tmp_path):
    window = open_window()
    wait_for_frames(qtbot, window, n=3, faces=1)
    png = tmp_path / "plots.png"
    assert window.save_screenshot(png)
    header = png.read_bytes()[:8]
    assert header == b"\x89PNG\r\n\x1a\n"
    from PyQt5.QtGui import QImage

    image = QImage(str(png))
    assert (image.width(), image.height()) == (window.faces.width(), window.faces.height())
    assert window.messages[-1] == ("info", f"saved {png}")


def test_the_device_chosen_is_remembered_for_the_next_start(qtbot, open_window, store):
    window = open_window()
    window.set_device("cpu")
    assert "applies the next time" in window.messages[-1][1]
    window.close()
    assert AppSettings.load(store).device == "cpu"
    from affect_live.ui.app import resolve_app_device

    assert resolve_app_device(AppSettings.load(store).device) == "CPU"
