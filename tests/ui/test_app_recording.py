"""The app's recordings, markers and LSL, driven for real (offscreen Qt): the analyze format, a
clean close, a write that fails, markers into the events file, the LSL toggle."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from affect_live.recording.rows import csv_columns
from affect_live.recording.sidecar import sidecar_path
from affect_live.types import EXPRESSIONS
from affect_live.ui.settings import AppSettings
from tests.helpers.app_window import DEMO_WINDOW_IN_A_CHILD, TWO_FACES, WAIT_MS, open_window, read_rows, recorded_rows, start_and_wait, store, wait_for_frames  # noqa: F401 (fixtures)
from tests.recording.test_recording import assert_whole_rows

pytestmark = pytest.mark.gui


def test_recording_writes_the_analyze_format(qtbot, open_window, tmp_path):
    window = open_window()
    wait_for_frames(qtbot, window, faces=1)
    csv_path = tmp_path / "session.csv"
    assert window.start_recording(csv_path)
    assert window.controls.record_action.isChecked()
    qtbot.waitUntil(lambda: recorded_rows(window) >= 40, timeout=WAIT_MS)
    window.refresh_status()
    assert "REC" in window.status_panel.recording.text() and "rows" in window.status_panel.recording.text()
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


def test_closing_while_recording_leaves_a_complete_csv(qtbot, open_window, tmp_path, store):
    window = open_window()
    window.controls.window_spin.setValue(8)
    window.controls.max_faces_spin.setValue(2)
    wait_for_frames(qtbot, window, faces=1)
    csv_path = tmp_path / "closing.csv"
    start_and_wait(qtbot, window, csv_path, 20)
    window.ask_before_quit = False  # as when a script or a signal ends the app (the question: test_app_session)
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


APP_UNDER_A_FILE_SIZE_LIMIT = """
import resource, signal

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (12_000, 12_000))  # room for the sidecar, not the CSV
""" + DEMO_WINDOW_IN_A_CHILD + """
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
    face_id = data.get_sinfo().get_channel_names().index("face_id")  # channels are read by label
    assert stamps == sorted(stamps) and {int(s[face_id]) for s in samples} <= set(window.session.history.face_ids())
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
    start_and_wait(qtbot, window, csv_path, 5)
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


