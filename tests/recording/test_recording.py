"""The one recorder of `analyze` and the app: timer flush, failed writes cut back to whole rows,
honest sidecar statuses, no temporary files. Disk full is a 64 KB tmpfs (when the tests run as
root) or a file size limit (RLIMIT_FSIZE) in a child process."""

from __future__ import annotations

import csv
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from affect_live.recording.recording import Recording
from affect_live.recording.csv_writer import CsvRecorder
from affect_live.recording.rows import CSV_COLUMNS
from affect_live.recording.sidecar import sidecar_path
from affect_live.types import FrameResult
from tests.conftest import CLIPS, IMAGES, REPO, small_disk

TWO_FACES = CLIPS / "two_faces.mp4"  # 90 frames, about 19 KB of CSV


@pytest.fixture(scope="module")
def face_result(default_bundle) -> FrameResult:
    """A real result: the astronaut photo through the pipeline."""
    from affect_live.model.inference.engine import AffectEngine
    from affect_live.pipeline.threads import Pipeline, PipelineSettings
    from affect_live.pipeline.sources import open_source

    results = list(Pipeline(open_source(str(IMAGES / "astronaut.png")), AffectEngine([default_bundle]), PipelineSettings()).results())
    assert len(results) == 1 and len(results[0].predictions) == 1
    return results[0]


def assert_whole_rows(csv_path: Path, meta: dict) -> list[dict[str, str]]:
    data = csv_path.read_bytes()
    assert data.endswith(b"\n")  # never a partial line
    with open(csv_path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = meta.get("columns", CSV_COLUMNS)  # analyze: the fixed columns, then the actions
    assert all(list(row) == list(columns) and None not in row.values() and "" not in row.values() for row in rows)
    assert meta["rows"] == len(rows)
    assert not list(csv_path.parent.glob("*.partial"))  # no temporary file left behind
    return rows


def _analyze(out: Path, **popen: object) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "main.py"), "analyze", str(TWO_FACES), "--out", str(out), "--quiet"]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, **popen)  # type: ignore[call-overload]


def _assert_write_failure(proc: subprocess.CompletedProcess, out: Path, reason: str) -> None:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(lines) == 1 and reason in lines[0], proc.stderr
    meta = json.loads(sidecar_path(out).read_text())
    assert meta["status"] == "failed" and reason in meta["message"]
    rows = assert_whole_rows(out, meta)
    assert 0 < len(rows) < 180 and meta["frames_processed"] > 0
    assert {"dropped_frames", "timing", "model_changes"} <= set(meta)


def test_analyze_on_a_full_disk_keeps_whole_rows_and_says_failed(tmp_path):
    with small_disk(tmp_path / "disk", free_kb=24) as disk:
        out = disk / "two.csv"
        proc = _analyze(out)
        _assert_write_failure(proc, out, "No space left on device")


def test_analyze_into_a_full_device_says_so_in_one_line(tmp_path):
    """No mount needed: the CSV is /dev/full, where every write fails with ENOSPC."""
    out = tmp_path / "full.csv"
    out.symlink_to("/dev/full")
    proc = _analyze(out)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(lines) == 1 and "No space left on device" in lines[0], proc.stderr
    meta = json.loads(sidecar_path(out).read_text())
    assert meta["status"] == "failed" and "No space left on device" in meta["message"]


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (12_000, 12_000))  # room for the sidecar, not the CSV


def test_analyze_past_a_file_size_limit_keeps_whole_rows(tmp_path):
    out = tmp_path / "two.csv"
    proc = _analyze(out, preexec_fn=_limit_file_size)
    _assert_write_failure(proc, out, "File too large")
    assert out.stat().st_size <= 12_000


def test_rows_reach_the_disk_on_a_timer_while_idle(tmp_path, face_result):
    path = tmp_path / "idle.csv"
    recorder = CsvRecorder(path, flush_interval_s=0.05)
    try:
        recorder.write(face_result)  # write() itself never flushes: only the timer can
        deadline = time.monotonic() + 60  # a generous bound, not a speed requirement
        while path.read_bytes().count(b"\n") < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert path.read_bytes().count(b"\n") == 2 and recorder.rows_written == 1
    finally:
        recorder.close()
    assert recorder.rows_written == 1


def test_sidecar_says_how_the_recording_ended(tmp_path, face_result):
    path = tmp_path / "lost.csv"
    recording = Recording(path, {"csv": path.name})
    assert json.loads(sidecar_path(path).read_text())["status"] == "running"
    recording.note_model_change({"name": "other"})
    for _ in range(3):
        recording.write(face_result)
    outcome = recording.finish("source_lost", "camera 0 stopped delivering frames", dropped_frames=2)
    assert recording.finish("complete") is outcome  # finishing twice changes nothing
    meta = json.loads(sidecar_path(path).read_text())
    assert meta["status"] == "source_lost" and "camera 0" in meta["message"]
    assert meta["frames_processed"] == 3 and meta["dropped_frames"] == 2 and meta["face_ids"] == [face_result.predictions[0].face_id]
    assert meta["model_changes"][0]["after_row"] == 0 and meta["model_changes"][0]["model"] == {"name": "other"}
    assert meta["timing"]["fps"] > 0 and "write" in meta["timing"]["stage_ms_mean"]
    assert_whole_rows(path, meta)
