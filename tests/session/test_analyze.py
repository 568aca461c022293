"""`analyze` end to end on real clips: CSV schema and ranges, sidecar, ids, bad inputs, crashes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_live.cli.parser import main
from affect_live.pipeline.threads import PipelineSettings
from affect_live.errors import RecordingError
from affect_live.recording.csv_writer import CsvRecorder
from affect_live.recording.rows import CSV_COLUMNS, csv_columns
from tests.conftest import CLIPS, REPO, running
from tests.pipeline.test_sources import truncated_avi

HEADER = "frame,time_s,face_id,x,y,w,h,det_score,valence,arousal,neutral,anger,disgust,fear,happiness,sadness,surprise,expression"
PROBS = ["neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise"]


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def two_faces_csv(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("analyze") / "two.csv"
    assert main(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(out), "--quiet"]) == 0
    return out


def test_csv_schema_and_ranges(two_faces_csv, clips_truth):
    assert two_faces_csv.read_text().splitlines()[0].startswith(HEADER)
    rows = read_rows(two_faces_csv)
    truth = clips_truth["two_faces.mp4"]
    visible = sum(len(frame["faces"]) for frame in truth["frames"])
    assert abs(len(rows) - visible) <= 0.05 * visible  # one row per visible face per frame
    for row in rows:
        probs = np.array([float(row[name]) for name in PROBS])
        assert abs(probs.sum() - 1.0) < 1e-4 and probs.min() >= 0
        assert row["expression"] == PROBS[int(probs.argmax())]
        assert -1 <= float(row["valence"]) <= 1 and -1 <= float(row["arousal"]) <= 1
        x, y, w, h = (float(row[k]) for k in "xywh")
        assert w > 20 and h > 20 and -w < x < truth["width"] and -h < y < truth["height"]
        assert 0 <= float(row["det_score"]) <= 1
        assert float(row["time_s"]) == pytest.approx(int(row["frame"]) / truth["fps"], abs=2e-3)


def _name_of(row: dict[str, str], frame_truth: dict) -> str:
    """The ground-truth face (visible or partly out of the frame) whose box centre is nearest
    to this row's box centre."""
    cx, cy = float(row["x"]) + float(row["w"]) / 2, float(row["y"]) + float(row["h"]) / 2
    return min(frame_truth["faces"] + frame_truth.get("partial", []), key=lambda f: (f["box"][0] + f["box"][2] / 2 - cx) ** 2 + (f["box"][1] + f["box"][3] / 2 - cy) ** 2)["name"]


def test_ids_stable_through_short_loss_and_kept_after_leaving(two_faces_csv, clips_truth):
    truth = clips_truth["two_faces.mp4"]
    frames = truth["frames"]
    (first, last), (back, _) = truth["visible"]["astronaut"]
    assert back - last - 1 > PipelineSettings().max_missed  # out longer than the tracker's grace
    ids_by_name: dict[str, dict[str, set[int]]] = {"astronaut": {"before": set(), "after": set()}, "hopper": {"before": set(), "after": set()}}
    for row in read_rows(two_faces_csv):
        frame = int(row["frame"])
        name = _name_of(row, frames[frame])
        period = "before" if frame <= last else "after"
        ids_by_name[name][period].add(int(row["face_id"]))
    hopper = ids_by_name["hopper"]["before"] | ids_by_name["hopper"]["after"]
    assert len(hopper) == 1  # kept through the 3-frame loss (frames 30-32)
    astronaut_before, astronaut_after = ids_by_name["astronaut"]["before"], ids_by_name["astronaut"]["after"]
    assert len(astronaut_before) == 1 and astronaut_after == astronaut_before  # re-identified
    assert not (astronaut_after & hopper)


def test_smiling_astronaut_reads_happiness(two_faces_csv, clips_truth):
    frames = clips_truth["two_faces.mp4"]["frames"]
    astronaut = [row for row in read_rows(two_faces_csv) if _name_of(row, frames[int(row["frame"])]) == "astronaut"]
    happy = sum(row["expression"] == "happiness" for row in astronaut)
    assert happy >= 0.9 * len(astronaut)
    assert np.mean([float(row["valence"]) for row in astronaut]) > 0.5


def test_sidecar_records_model_settings_source_and_priors(two_faces_csv):
    meta = json.loads(two_faces_csv.with_suffix(".meta.json").read_text())
    assert meta["status"] == "complete"
    assert meta["columns"][: len(CSV_COLUMNS)] == list(CSV_COLUMNS)
    assert meta["source"]["frame_count"] == 90 and meta["frames_processed"] == 90
    assert meta["rows"] == len(read_rows(two_faces_csv))
    assert meta["model"]["name"] == "faceapi-expression" and len(meta["model"]["sha256"]) == 64
    assert meta["model"]["prior_heads"] == ["valence", "arousal"] and meta["model"]["per_frame_heads"] == ["expression"]
    assert meta["model"]["head_labels"] == {"expression": "learned per frame", "valence": "prior", "arousal": "prior"}
    assert "PRIOR" in meta["model"]["heads"]["valence"]["description"]
    assert meta["settings"]["window"] == 16 and meta["settings"]["max_faces"] == 4
    assert {"numpy", "ai-edge-litert", "opencv-contrib-python"} <= set(meta["packages"]) and "mediapipe" not in meta["packages"]
    assert meta["timing"]["fps"] > 0 and {"decode", "detect", "model", "heads", "write"} <= set(meta["timing"]["stage_ms_mean"])


def test_several_inputs_one_csv_each(tmp_path):
    folder = frames_folder(tmp_path)
    out = tmp_path / "results"
    status = main(["analyze", str(CLIPS / "two_faces.mp4"), str(folder), "--out", str(out), "--quiet", "--max-faces", "1", "--window", "4"])
    assert status == 0
    two, frames = read_rows(out / "two_faces.csv"), read_rows(out / "frames.csv")
    assert {row["frame"] for row in frames} == {str(n) for n in range(5)}
    per_frame = {}
    for row in two:
        per_frame[row["frame"]] = per_frame.get(row["frame"], 0) + 1
    assert max(per_frame.values()) == 1  # --max-faces 1
    assert json.loads((out / "frames.meta.json").read_text())["settings"]["window"] == 4


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "main.py"), *args], capture_output=True, text=True, timeout=300, **kwargs)


def test_bad_inputs_one_line_and_nonzero_exit_keep_rows(tmp_path):
    (tmp_path / "notes.mp4").write_text("not a video")
    (tmp_path / "empty").mkdir()
    cut = truncated_avi(tmp_path)
    proc = _run(["analyze", str(tmp_path / "missing.mp4"), str(tmp_path / "notes.mp4"), str(tmp_path / "empty"), str(cut), "99",
                 "--out", str(tmp_path / "out"), "--quiet"])
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr
    assert len(errors) == 6, proc.stderr  # one per input, then how many failed
    assert errors[-1].startswith("affect-live: error: 5 of 5 inputs failed")
    for fragment in ("no such file", "not a video", "no images", "ended early", "camera 99 could not be opened"):
        assert sum(fragment in line for line in errors) == 1, (fragment, errors)
    rows = read_rows(tmp_path / "out" / "cut.csv")  # what could be read was analysed and kept
    assert len(rows) > 20
    meta = json.loads((tmp_path / "out" / "cut.meta.json").read_text())
    assert meta["status"] == "ended_early" and meta["rows"] == len(rows)


def _long_clip(tmp_path: Path, frames: int = 1500) -> Path:
    """A long real-face video: the fixture clip played over and over."""
    path = tmp_path / "long.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 360))
    capture = cv2.VideoCapture(str(CLIPS / "two_faces.mp4"))
    images = []
    ok, image = capture.read()
    while ok:
        images.append(image)
        ok, image = capture.read()
    for n in range(frames):
        writer.write(images[n % len(images)])
    writer.release()
    return path


def _wait_for_rows(csv_path: Path, rows: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if csv_path.exists() and csv_path.read_bytes().count(b"\n") > rows:
            return
        time.sleep(0.1)
    raise AssertionError(f"no {rows} rows before the run ended: {proc.poll()}")


def signal_mid_run(tmp_path: Path, sig: int, timeout: float) -> tuple[Path, subprocess.Popen, str]:
    """`analyze` of a long clip in its own process, sent `sig` once 50 rows are on disk (gated
    on the file, not on time): its CSV, the process (ended) and its stderr."""
    clip = _long_clip(tmp_path)
    out = tmp_path / "long.csv"
    command = [sys.executable, str(REPO / "main.py"), "analyze", str(clip), "--out", str(out), "--quiet"]
    with running(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        _wait_for_rows(out, 50, proc)
        os.kill(proc.pid, sig)
        _, stderr = proc.communicate(timeout=timeout)
    return out, proc, stderr


def frames_folder(tmp_path: Path, frames: int = 5) -> Path:
    """The first `frames` frames of astronaut_motion.mp4 as PNG files in tmp_path/frames."""
    folder = tmp_path / "frames"
    folder.mkdir()
    capture = cv2.VideoCapture(str(CLIPS / "astronaut_motion.mp4"))
    for n in range(frames):
        ok, image = capture.read()
        assert ok
        cv2.imwrite(str(folder / f"img{n}.png"), image)
    return folder


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_mid_video_leaves_complete_rows(tmp_path, sig):
    out, proc, stderr = signal_mid_run(tmp_path, sig, timeout=60)
    data = out.read_bytes()
    assert data.endswith(b"\n")  # no partial line
    rows = read_rows(out)
    assert 50 <= len(rows) < 1500 * 2
    assert all(len(row) == len(csv_columns(actions=True)) and None not in row.values() for row in rows)
    assert [int(r["frame"]) for r in rows] == sorted(int(r["frame"]) for r in rows)
    if sig == signal.SIGINT:
        assert proc.returncode == 130 and "Traceback" not in stderr
        meta = json.loads(out.with_suffix(".meta.json").read_text())
        assert meta["status"] == "interrupted" and meta["rows"] == len(rows)


def test_disk_full_is_a_clear_error():
    recorder = CsvRecorder.__new__(CsvRecorder)  # only the writer is under test: /dev/full cannot hold a sidecar
    with pytest.raises(RecordingError, match="No space left on device"):
        CsvRecorder.__init__(recorder, Path("/dev/full"))


def test_realtime_plays_a_file_at_its_own_frame_rate(tmp_path, clips_truth):
    out = tmp_path / "realtime.csv"
    assert main(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(out), "--quiet", "--realtime"]) == 0
    meta = json.loads(out.with_suffix(".meta.json").read_text())
    truth = clips_truth["two_faces.mp4"]
    assert meta["status"] == "complete" and meta["settings"]["realtime"] is True
    # paced by the clip's clock: never faster than its duration (a lower bound, not a speed)
    assert meta["timing"]["wall_s"] >= (len(truth["frames"]) - 1) / truth["fps"]
    assert meta["frames_processed"] + meta["dropped_frames"] == len(truth["frames"])
    rows = read_rows(out)
    assert rows and all(float(r["time_s"]) == pytest.approx(int(r["frame"]) / truth["fps"], abs=2e-3) for r in rows)


def test_the_events_file_marks_faces_coming_and_going(two_faces_csv):
    from affect_live.recording.recording import events_path

    with open(events_path(two_faces_csv), newline="") as handle:
        events = list(csv.DictReader(handle))
    said = [e["marker"] for e in events]
    assert said[0].startswith("source changed: ") and said[1] == "recording started: two.csv" and said[-1] == "recording stopped: complete"
    assert sum(m.endswith("appeared") for m in said) == 2  # two faces
    assert sum(m.endswith("re-identified") for m in said) == 2  # Hopper after her short loss, the astronaut back after leaving the frame
    faces = [e for e in events if e["marker"].startswith("face ")]
    assert all(e["origin"] == "affect-live" and e["frame"].isdigit() and e["lsl_time"] == "" for e in faces)


def test_without_out_csvs_go_beside_inputs_and_videos_into_a_video_out_folder(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("two_faces.mp4", "astronaut_motion.mp4"):
        (clips / name).write_bytes((CLIPS / name).read_bytes())
    videos = tmp_path / "annotated"
    assert main(["analyze", str(clips / "two_faces.mp4"), str(clips / "astronaut_motion.mp4"), "--video-out", str(videos), "--quiet"]) == 0
    for stem in ("two_faces", "astronaut_motion"):
        meta = json.loads((clips / f"{stem}.meta.json").read_text())
        assert meta["status"] == "complete" and read_rows(clips / f"{stem}.csv")
        capture = cv2.VideoCapture(str(videos / f"{stem}.annotated.mp4"))
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        capture.release()
        assert frames == meta["frames_processed"] > 0


def test_min_score_and_detect_every_reach_the_detector(tmp_path):
    """--detect-every 2 runs the detector on more frames than the default 10; --min-score 0.99
    keeps fewer faces than 0.5 (the shipped clip's faces score between the two)."""
    clip = str(CLIPS / "three_faces.mp4")
    runs = {"default": [], "every2": ["--detect-every", "2"], "strict": ["--min-score", "0.99"]}
    meta, rows = {}, {}
    for name, flags in runs.items():
        out = tmp_path / f"{name}.csv"
        assert main(["analyze", clip, "--out", str(out), "--quiet", *flags]) == 0
        meta[name], rows[name] = json.loads((tmp_path / f"{name}.meta.json").read_text()), read_rows(out)
    assert meta["every2"]["settings"]["detect_every"] == 2 and meta["strict"]["settings"]["min_score"] == 0.99
    runs_per_frame = {n: m["timing"]["stage_ms_mean"]["detector_runs"] for n, m in meta.items()}
    assert runs_per_frame["every2"] > runs_per_frame["default"]
    assert len(rows["strict"]) < len(rows["default"])
    assert all(float(r["det_score"]) >= 0.99 for r in rows["strict"] if r["frame"] == rows["strict"][0]["frame"])
