"""SIGTERM and SIGHUP end `analyze` as Ctrl-C does (issue 19): whole rows on disk, the sidecar
`interrupted` with the signal's name, exit 128 + the signal and one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from affect_live.recording.output_files import lock_path
from affect_live.recording.rows import csv_columns
from tests.conftest import REPO, running
from tests.session.test_analyze import _long_clip, _wait_for_rows, read_rows, signal_mid_run


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_saves_every_row_and_says_which_signal(tmp_path, sig):
    out, proc, stderr = signal_mid_run(tmp_path, sig, timeout=120)
    name = signal.Signals(sig).name
    assert proc.returncode == 128 + sig, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == [f"affect-live: interrupted by {name}; 1 input(s) not complete: the same command again goes on from there"]
    data = out.read_bytes()
    assert data.endswith(b"\n")  # whole rows only
    rows = read_rows(out)
    assert 50 <= len(rows) < 1500 * 2
    assert all(len(row) == len(csv_columns(actions=True)) and None not in row.values() for row in rows)
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert meta["status"] == "interrupted" and meta["message"] == f"interrupted by {name}"
    assert meta["rows"] == len(rows) and meta["frames_processed"] >= len({r["frame"] for r in rows})
    events = out.with_suffix(".events.csv").read_text().splitlines()
    assert events[-1].endswith("recording stopped: interrupted")
    assert not lock_path(out).exists()  # released on the way out


def test_a_stop_signal_to_a_jobs_run_saves_the_workers_rows_too(tmp_path):
    """With --jobs the driver ends its workers with SIGTERM: each ends its input as `analyze`
    does (whole rows, sidecar rows equal to the CSV's, the lock released), not killed mid-write."""
    sessions, results = tmp_path / "sessions", tmp_path / "results"
    sessions.mkdir()
    _long_clip(sessions, 900)
    out = results / "long.csv"
    command = [sys.executable, str(REPO / "main.py"), "analyze", str(sessions), "--out", str(results), "--jobs", "2", "--quiet"]
    with running(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        _wait_for_rows(out, 50, proc)
        os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143 and "Traceback" not in stderr, stderr
    rows = read_rows(out)
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert meta["status"] == "interrupted" and meta["message"].startswith("interrupted by")
    assert out.read_bytes().endswith(b"\n") and meta["rows"] == len(rows) >= 50
    assert out.with_suffix(".events.csv").read_text().splitlines()[-1].endswith("recording stopped: interrupted")
    assert not lock_path(out).exists()
