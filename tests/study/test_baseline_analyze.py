"""`analyze --baseline` (issue 20 part 1) on real clips with the shipped models: a calibration
recording carried to another clip through re-identification, `first:Ns` and `markers:` equal to
arithmetic on the CSV, the online baselines for LSL, bad specs, and the atomic rewrite."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from affect_live.baselines import MIN_FRAMES, Z_MIN_SD, LiveBaselines
from affect_live.cli.parser import main
from affect_live.errors import RecordingError
from affect_live.measures import CORRECTED_COLUMNS, CORRECTED_MEASURES, delta_column, z_column
from affect_live.model.inference.engine import AffectEngine
from affect_live.pipeline.threads import PipelineSettings
from affect_live.recording.output_files import csv_temp_path, sidecar_path
from affect_live.session.analyze import analyze_source
from affect_live.study.baseline_sources import apply_baseline
from affect_live.study.baseline_spec import prepare_baseline
from tests.conftest import CLIPS, REPO, running
from tests.session.test_analyze import _long_clip, _wait_for_rows


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def meta_of(path: Path) -> dict:
    return json.loads(sidecar_path(path).read_text())


def expected_correction(rows: list[dict[str, str]], baseline_rows: list[dict[str, str]]) -> dict[str, list[str | float]]:
    """delta and z of every row from the baseline rows, by hand: mean and sample sd per measure
    (empty z where the sd is under Z_MIN_SD)."""
    out: dict[str, list[str | float]] = {}
    for m in CORRECTED_MEASURES:
        base = np.array([float(r[m]) for r in baseline_rows])
        mean, sd = base.mean(), base.std(ddof=1)
        deltas = [float(r[m]) - mean for r in rows]
        out[delta_column(m)] = deltas
        out[z_column(m)] = [d / sd if sd >= Z_MIN_SD else "" for d in deltas]
    return out


def assert_corrected(rows: list[dict[str, str]], baseline_rows: list[dict[str, str]]) -> None:
    assert len(baseline_rows) >= MIN_FRAMES
    for column, wanted in expected_correction(rows, baseline_rows).items():
        for row, value in zip(rows, wanted, strict=True):
            if value == "":
                assert row[column] == "", column
            else:
                assert float(row[column]) == pytest.approx(value, abs=2e-6, rel=1e-5), column


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> tuple[Path, Path]:
    """astronaut_motion.mp4 analysed as the calibration, then two_faces.mp4 (the astronaut and
    Hopper) with --baseline CALIBRATION.csv, through the CLI."""
    folder = tmp_path_factory.mktemp("calibration")
    calibration, session = folder / "calm.csv", folder / "session.csv"
    assert main(["analyze", str(CLIPS / "astronaut_motion.mp4"), "--out", str(calibration), "--quiet"]) == 0
    assert main(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(session), "--baseline", str(calibration), "--quiet"]) == 0
    return calibration, session


def test_a_calibration_recording_gives_its_person_a_baseline_through_reidentification(calibrated):
    calibration, session = calibrated
    rows = read_rows(session)
    assert list(rows[0]) == [*meta_of(session)["columns"]] and list(rows[0])[-len(CORRECTED_COLUMNS):] == list(CORRECTED_COLUMNS)
    # The astronaut is on the left of two_faces.mp4, Hopper on the right.
    by_face: dict[int, list[dict[str, str]]] = {}
    for row in rows:
        by_face.setdefault(int(row["face_id"]), []).append(row)
    assert len(by_face) == 2
    centre = {f: np.median([float(r["x"]) + float(r["w"]) / 2 for r in face_rows]) for f, face_rows in by_face.items()}
    astronaut, hopper = sorted(by_face, key=centre.get)
    calibration_rows = read_rows(calibration)
    assert {r["face_id"] for r in calibration_rows} == {"1"}
    assert_corrected(by_face[astronaut], calibration_rows)  # the calibration's mean subtracted
    # Hopper is nobody of the calibration: empty corrected cells (not zeros) and a note.
    assert all(row[c] == "" for row in by_face[hopper] for c in CORRECTED_COLUMNS)
    baselines = meta_of(session)["baselines"]
    assert [p["face_id"] for p in baselines["people"]] == [astronaut]
    person = baselines["people"][0]
    assert person["calibration"] == str(calibration.absolute()) and person["calibration_face_id"] == 1
    assert person["match_distance"] < person["match_threshold"] and person["frames"] == len(calibration_rows)
    [without] = baselines["without"]
    assert without["face_id"] == hopper and "not matched" in without["why"] and "distance" in without["why"]
    assert meta_of(session)["settings"]["baseline"] == f"calibration:{calibration.absolute()}"


@pytest.fixture(scope="module")
def engine(default_bundle) -> AffectEngine:
    return AffectEngine([default_bundle])


class ScriptedMarkers:
    """Another program's markers (what analyze_source takes from --lsl-markers), sent at given
    frames: `analyze_source` sets `target`, `on_frame` sends."""

    name = "test-markers"

    def __init__(self, at_frame: dict[int, str]) -> None:
        self.at_frame = at_frame
        self.target = None

    def on_frame(self, frames_done: int) -> None:
        text = self.at_frame.get(frames_done)
        if text is not None and self.target is not None:
            self.target(text, None)


@pytest.fixture(scope="module")
def first_second(tmp_path_factory, engine) -> tuple[Path, LiveBaselines]:
    """two_faces.mp4 with --baseline first:1s, and the online baselines the LSL stream gets."""
    out = tmp_path_factory.mktemp("first") / "two.csv"
    live = LiveBaselines()
    outcome = analyze_source(str(CLIPS / "two_faces.mp4"), out, engine, PipelineSettings(), quiet=True,
                             baseline=prepare_baseline("first:1s"), live_baselines=live)  # fmt: skip
    assert outcome.ok, outcome.message
    return out, live


def test_first_seconds_equal_arithmetic_on_the_csv(first_second):
    out, live = first_second
    rows = read_rows(out)
    faces = sorted({int(r["face_id"]) for r in rows})
    assert len(faces) == 2
    for face_id in faces:
        face_rows = [r for r in rows if int(r["face_id"]) == face_id]
        interval = [r for r in face_rows if float(r["time_s"]) <= 1.0]  # frame 0 is at 0 s
        assert_corrected(face_rows, interval)
        # The stream's baseline is the same interval, from the unrounded values.
        online = live.get(face_id)
        assert online is not None and online.frames == len(interval)
        csv_mean = np.array([np.mean([float(r[m]) for r in interval]) for m in CORRECTED_MEASURES])
        np.testing.assert_allclose(online.mean, csv_mean, atol=1e-4)
    assert [p["how"] for p in meta_of(out)["baselines"]["people"]] == ["first 1 s of the recording (0.00-1.00 s)"] * 2
    assert meta_of(out)["baselines"]["without"] == []


def test_markers_interval_equals_arithmetic_and_a_missing_end_leaves_empty_columns(tmp_path, engine):
    out = tmp_path / "leave.csv"
    markers = ScriptedMarkers({5: "calm", 20: "go"})
    live = LiveBaselines()
    outcome = analyze_source(str(CLIPS / "leave_return.mp4"), out, engine, PipelineSettings(), quiet=True, markers=markers,
                             on_frame=markers.on_frame, baseline=prepare_baseline("markers:calm,go"), live_baselines=live)  # fmt: skip
    assert outcome.ok, outcome.message
    events = {r["marker"]: float(r["time_s"]) for r in read_rows(out.with_suffix(".events.csv")) if r["origin"] == markers.name}
    assert events == {"calm": pytest.approx(4 / 30, abs=1e-4), "go": pytest.approx(19 / 30, abs=1e-4)}  # at the frame just recorded
    rows = read_rows(out)
    astronaut = [r for r in rows if r["face_id"] == "1"]  # the only face in frames 4-19
    interval = [r for r in astronaut if events["calm"] <= float(r["time_s"]) <= events["go"]]
    assert len(interval) == 16
    assert_corrected(astronaut, interval)
    later = {r["face_id"] for r in rows} - {"1"}  # Hopper walks in at frame 30: no baseline
    assert later and all(r[c] == "" for r in rows if r["face_id"] in later for c in CORRECTED_COLUMNS)
    assert {w["face_id"] for w in meta_of(out)["baselines"]["without"]} == {int(f) for f in later}
    assert live.get(1) is not None and live.get(1).frames == 15  # online: from the frame after "calm"
    # Again with an END marker that never came: the recording is kept, the columns are
    # replaced by empty ones, and the sidecar says why.
    raw = [{k: v for k, v in r.items() if k not in CORRECTED_COLUMNS} for r in rows]
    summary = apply_baseline(out, prepare_baseline("markers:calm,never"))
    assert summary["note"] == "the marker 'never' never came after 'calm'" and summary["people"] == []
    again = read_rows(out)
    assert [{k: v for k, v in r.items() if k not in CORRECTED_COLUMNS} for r in again] == raw
    assert list(again[0]).count("delta_valence") == 1 and all(r[c] == "" for r in again for c in CORRECTED_COLUMNS)
    assert meta_of(out)["baselines"]["note"] == summary["note"]


def test_an_interrupted_rewrite_leaves_the_raw_recording(first_second, tmp_path):
    out = tmp_path / "copy.csv"
    shutil.copy(first_second[0], out)
    shutil.copy(sidecar_path(first_second[0]), sidecar_path(out))
    before = out.read_bytes()
    csv_temp_path(out).mkdir()  # the temp file cannot be written
    with pytest.raises(RecordingError, match="cannot write the corrected columns"):
        apply_baseline(out, prepare_baseline("first:2s"))
    assert out.read_bytes() == before


@pytest.mark.parametrize("spec, said", [
    ("first:0s", "give a duration in seconds over 0"),
    ("first:ten", "give a duration in seconds over 0"),
    ("markers:calm", "give two marker labels"),
    ("baseline.txt", "is none of first:Ns, markers:START,END or a calibration recording"),
    ("missing.csv", "no calibration recording"),
])  # fmt: skip
def test_a_bad_spec_is_one_line_and_exit_2_with_nothing_written(tmp_path, capsys, spec, said):
    out = tmp_path / "out"
    assert main(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(out), "--baseline", spec, "--quiet"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("affect-live: error: --baseline:") and said in lines[0]
    assert not out.exists()


def test_a_calibration_from_a_camera_or_overwritten_is_one_line(calibrated, tmp_path, capsys):
    calibration = tmp_path / "camera.csv"
    shutil.copy(calibrated[0], calibration)
    meta = meta_of(calibrated[0])
    meta["source"] |= {"kind": "camera", "name": "0"}
    sidecar_path(calibration).write_text(json.dumps(meta))
    out = tmp_path / "out"
    assert main(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(out), "--baseline", str(calibration), "--quiet"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "came from camera 0: there is no video to re-read" in line and not out.exists()
    before = calibrated[0].read_bytes()
    assert main(["analyze", str(CLIPS / "astronaut_motion.mp4"), "--out", str(calibrated[0]), "--baseline", str(calibrated[0]), "--quiet"]) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert "would be overwritten" in line and calibrated[0].read_bytes() == before


def test_sigterm_still_adds_the_corrected_columns(tmp_path):
    clip = _long_clip(tmp_path)
    out = tmp_path / "long.csv"
    command = [sys.executable, str(REPO / "main.py"), "analyze", str(clip), "--out", str(out), "--baseline", "first:1s", "--quiet"]
    with running(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        _wait_for_rows(out, 100, proc)  # both faces' first second (60 rows) on disk
        os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM and "Traceback" not in stderr, stderr
    meta = meta_of(out)
    assert meta["status"] == "interrupted" and len(meta["baselines"]["people"]) == 2
    rows = read_rows(out)
    assert len(rows) == meta["rows"] and list(rows[0])[-len(CORRECTED_COLUMNS):] == list(CORRECTED_COLUMNS)
    assert all(not math.isnan(float(r["delta_valence"])) for r in rows)
    assert not csv_temp_path(out).exists()
