"""SIGTERM, SIGHUP and Ctrl-C close the app as its close button does (issue 19): the recording in
progress is saved whole, its sidecar `interrupted` with the signal's name."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from affect_live.recording.sidecar import sidecar_path
from tests.conftest import REPO, running
from tests.helpers.app_window import DEMO_WINDOW_IN_A_CHILD
from tests.recording.test_recording import assert_whole_rows
from tests.session.test_analyze import _wait_for_rows

pytestmark = pytest.mark.gui

# The real window in a child process, recording the looped demo clip inside app.exec_() with the
# app's signal watch (ui/app.StopSignalWatch, as run_app installs it).
APP_RECORDING = DEMO_WINDOW_IN_A_CHILD + """deadline = time.monotonic() + 240  # a bound for a broken build, not a speed
while not window.video.predictions and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
assert window.start_recording(folder / "rec.csv")
watch = StopSignalWatch(window)
status = app.exec_()
watch.restore()
print(json.dumps({"status": status, "received": watch.received}), flush=True)
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_signal_saves_the_recording_and_closes_the_window(tmp_path, sig):
    csv_path = tmp_path / "rec.csv"
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-c", APP_RECORDING, str(tmp_path)]
    with running(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        _wait_for_rows(csv_path, 20, proc)  # gated on the file's content: recording under way
        os.kill(proc.pid, sig)
        stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr[-2000:]
    assert json.loads(stdout.strip().splitlines()[-1]) == {"status": 0, "received": sig}
    meta = json.loads(sidecar_path(csv_path).read_text())
    expected = "interrupted by the user" if sig == signal.SIGINT else f"interrupted by {signal.Signals(sig).name}"
    assert meta["status"] == "interrupted" and meta["message"] == expected and meta["mode"] == "live"
    assert meta["rows"] >= 20 and assert_whole_rows(csv_path, meta)
