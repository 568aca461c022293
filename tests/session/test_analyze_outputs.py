"""No output overwrites an input or another output of the run, and two runs never write the
same outputs at once (issue 19): real files, the real CLI."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from affect_live.cli.parser import main
from affect_live.errors import EXIT_REFUSED
from affect_live.recording.output_files import lock_path
from affect_live.recording.output_lock import OutputLock
from affect_live.recording.recording import EVENT_COLUMNS
from tests.conftest import CLIPS, IMAGES, REPO, running
from tests.recording.test_output_lock import HOLD
from tests.session.test_analyze import frames_folder, read_rows


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], capture_output=True, text=True, timeout=300)


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("affect-live: error: ")
    return lines[0]


def test_a_csv_out_that_is_the_input_is_refused_and_the_input_kept(tmp_path):
    video = tmp_path / "vid.csv"  # a video under a CSV's name
    shutil.copy(CLIPS / "two_faces.mp4", video)
    before = _sha(video)
    proc = _cli(["analyze", str(video), "--out", str(video), "--quiet"])
    assert proc.returncode == EXIT_REFUSED
    line = _one_error_line(proc)
    assert f"{video} is an input" in line and "the CSV of" in line
    assert _sha(video) == before and sorted(p.name for p in tmp_path.iterdir()) == ["vid.csv"]
    # Without --out its CSV would go beside it, under its own name: the same refusal.
    assert main(["analyze", str(video), "--quiet"]) == EXIT_REFUSED and _sha(video) == before


def test_an_annotated_video_over_an_input_or_a_hard_link_to_it_is_refused(tmp_path):
    clip, other = tmp_path / "clip.mp4", tmp_path / "other.mp4"
    shutil.copy(CLIPS / "two_faces.mp4", clip)
    os.link(clip, tmp_path / "link.mp4")  # another name of the same file
    shutil.copy(CLIPS / "astronaut_motion.mp4", other)
    before = _sha(clip)
    for video_out in (clip, tmp_path / "link.mp4"):
        assert main(["analyze", str(clip), "--out", str(tmp_path / "o.csv"), "--video-out", str(video_out), "--quiet"]) == EXIT_REFUSED
    proc = _cli(["analyze", str(other), str(clip), "--out", str(tmp_path / "o"), "--video-out", str(tmp_path), "--quiet"])
    assert proc.returncode == 0, proc.stderr  # other.annotated.mp4 and clip.annotated.mp4 beside them: no clash
    # A folder's inputs count one by one: clip.mp4's CSV may not be a second input (a video named so).
    shutil.copy(CLIPS / "two_faces.mp4", tmp_path / "clip.csv")
    proc = _cli(["analyze", str(clip), str(tmp_path / "clip.csv"), "--quiet"])
    assert proc.returncode == EXIT_REFUSED and "clip.csv is an input" in _one_error_line(proc)
    assert _sha(clip) == before == _sha(tmp_path / "clip.csv")
    assert not (tmp_path / "o.csv").exists()


def test_inputs_whose_files_would_meet_get_names_of_their_own(tmp_path):
    """a.jpg's events file is named a.events.csv, as a.events.png's CSV would be."""
    shutil.copy(IMAGES / "grace_hopper.jpg", tmp_path / "a.jpg")
    shutil.copy(IMAGES / "astronaut.png", tmp_path / "a.events.png")
    out = tmp_path / "out"
    assert main(["analyze", str(tmp_path / "a.jpg"), str(tmp_path / "a.events.png"), "--out", str(out), "--quiet"]) == 0
    with open(out / "a.events.csv", newline="") as handle:
        events = list(csv.reader(handle))
    assert tuple(events[0]) == EVENT_COLUMNS and ["", "", "", "affect-live", "recording started: a.csv"] in events
    batch = json.loads((out / "batch.json").read_text())
    csvs = [Path(item["csv"]).name for item in batch["items"]]
    assert csvs == ["a.csv", "a.events-2.csv"]
    for name in csvs:
        meta = json.loads((out / name).with_suffix(".meta.json").read_text())
        assert meta["status"] == "complete" and meta["rows"] == len(read_rows(out / name)) == 1
        assert meta["source"]["name"].endswith(("a.jpg", "a.events.png"))
    names = {json.loads((out / n).with_suffix(".meta.json").read_text())["source"]["name"] for n in csvs}
    assert len(names) == 2


def test_a_second_run_is_refused_while_the_first_holds_the_outputs(tmp_path):
    clip, out = CLIPS / "two_faces.mp4", tmp_path / "clip.csv"
    command = ["analyze", str(clip), "--out", str(out), "--quiet"]
    with OutputLock(lock_path(out), out):  # as a run writing clip.csv holds it
        proc = _cli(command)
        assert proc.returncode == EXIT_REFUSED
        line = _one_error_line(proc)
        assert f"{out} is being written by another affect-live run (pid {os.getpid()}" in line
        assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.lock"]  # nothing written
    proc = _cli(command)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.with_suffix(".meta.json").read_text())["status"] == "complete"
    assert not lock_path(out).exists()


def test_a_lock_left_by_a_killed_run_does_not_block_the_next(tmp_path):
    out = tmp_path / "clip.csv"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with running([sys.executable, "-c", HOLD, str(lock_path(out))], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env) as holder:
        assert holder.stdout.readline().strip() == "held"
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
    assert lock_path(out).exists()
    proc = _cli(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(out), "--quiet"])
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.with_suffix(".meta.json").read_text())["status"] == "complete"
    assert not lock_path(out).exists()


def test_a_folder_with_unreadable_images_analyses_the_rest_and_lists_them(tmp_path):
    folder = frames_folder(tmp_path)
    (folder / "img0.png").write_bytes(b"not a png")  # first in sorted order
    (folder / "img3.png").write_bytes(b"")
    out = tmp_path / "frames.csv"
    assert main(["analyze", str(folder), "--out", str(out), "--quiet", "--max-faces", "1"]) == 1  # ended early: some were skipped
    assert [row["frame"] for row in read_rows(out)] == ["1", "2", "4"]
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    assert meta["status"] == "ended_early" and "2 of 5 images" in meta["message"]
    assert meta["skipped_files"] == [
        {"file": str(folder / "img0.png"), "reason": "not an image OpenCV can decode (damaged or another format)"},
        {"file": str(folder / "img3.png"), "reason": "empty file"},
    ]
