"""`epochs` on a real recording: astronaut_motion.mp4 (30 fps, 120 frames, no face in frames
60-89) through `analyze` with the shipped model, and a stimulus log written here. Trial counts,
onset alignment, the pre-stimulus correction and the summary's intervals are checked against
arithmetic on the CSV read with the csv module; the face's absence is reported per trial."""

from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import cv2
import pytest
from scipy import stats

from affect_live.cli.parser import main
from affect_live.measures import MEASURES
from tests.conftest import CLIPS

PRE, POST = 0.5, 1.0
# (frame whose time is the onset, or a time between frames; marker)
ONSETS = ((20, "ad"), (45, "trailer"), (75, "ad"), (3.51, "ad"))


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _number(text: str) -> float:
    return math.nan if text == "" else float(text)


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("recording") / "astro.csv"
    assert main(["analyze", str(CLIPS / "astronaut_motion.mp4"), "--out", str(path), "--quiet"]) == 0
    return path


@pytest.fixture(scope="module")
def onsets(recording) -> list[tuple[float, str]]:
    times = {int(r["frame"]): r["time_s"] for r in _rows(recording)}
    # frame 75 has no face: its time is the frame index over the clip's 30 fps, as analyze writes it
    return [(float(times.get(at, f"{at / 30:.4f}")) if isinstance(at, int) else at, marker) for at, marker in ONSETS]


@pytest.fixture(scope="module")
def epochs(recording, onsets, tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("epochs")
    log = folder / "stimuli.csv"
    with open(log, "w", newline="") as handle:  # out of time order, with a column that is ignored
        writer = csv.writer(handle)
        writer.writerow(["time_s", "marker", "stimulus_file"])
        writer.writerows((time_s, marker, f"{marker}.mp4") for time_s, marker in reversed(onsets))
    out = folder / "out"
    assert main(["epochs", str(recording), "--events", str(log), "--pre", str(PRE), "--post", str(POST), "--out", str(out)]) == 0
    return out


def _expected_trials(onsets) -> list[tuple[str, int, float]]:
    counts: dict[str, int] = {}
    trials = []
    for time_s, marker in sorted(onsets):
        counts[marker] = counts.get(marker, 0) + 1
        trials.append((marker, counts[marker], time_s))
    return trials


def test_trial_counts_and_onset_alignment(recording, onsets, epochs):
    rows = _rows(recording)
    table = _rows(epochs / "epochs.csv")
    assert {(r["marker"], int(r["trial"]), float(r["onset_s"])) for r in table} == set(_expected_trials(onsets))
    assert len(_rows(epochs / "trials.csv")) == len(onsets)  # one face, every trial
    for marker, trial, onset in _expected_trials(onsets):
        mine = [r for r in table if r["marker"] == marker and int(r["trial"]) == trial]
        inside = [r for r in rows if -PRE <= round(float(r["time_s"]) - onset, 6) <= POST]
        assert [int(r["frame"]) for r in mine] == [int(r["frame"]) for r in inside]
        assert all(float(r["t_s"]) == pytest.approx(float(r["time_s"]) - onset, abs=1e-6) for r in mine)
        at_onset = [int(r["frame"]) for r in mine if float(r["t_s"]) == 0]
        assert at_onset == [int(r["frame"]) for r in rows if float(r["time_s"]) == onset]


def test_pre_stimulus_correction_is_arithmetic_on_the_csv(recording, onsets, epochs):
    rows = _rows(recording)
    table = _rows(epochs / "epochs.csv")
    measures = [m for m in MEASURES if m in rows[0]]
    assert len(measures) == len(MEASURES)  # the recording has the facial actions too
    corrected = 0
    for marker, trial, onset in _expected_trials(onsets):
        before = [r for r in rows if onset - PRE - 1e-9 <= float(r["time_s"]) < onset]
        for r in (r for r in table if r["marker"] == marker and int(r["trial"]) == trial):
            for m in measures:
                assert float(r[m]) == float(next(c for c in rows if c["frame"] == r["frame"])[m])  # raw as in the CSV
                if before:
                    mean = sum(float(b[m]) for b in before) / len(before)
                    assert float(r[f"change_{m}"]) == pytest.approx(float(r[m]) - mean, abs=1e-9)
                else:
                    assert r[f"change_{m}"] == ""  # no pre-stimulus frame: no correction, not zero
        corrected += bool(before)
    assert corrected == len(onsets) - 1  # the onset at frame 75 follows 15 frames without the face


def test_a_face_missing_during_a_trial_is_reported(recording, onsets, epochs, capsys):
    rows = _rows(recording)
    trials = {(r["marker"], int(r["trial"])): r for r in _rows(epochs / "trials.csv")}
    for marker, trial, onset in _expected_trials(onsets):
        report = trials[(marker, trial)]
        present = [r for r in rows if -PRE <= round(float(r["time_s"]) - onset, 6) <= POST]
        expected = math.floor(PRE * 30 + 1e-6) + math.floor(POST * 30 + 1e-6) + 1
        assert (int(report["frames_present"]), int(report["frames_expected"])) == (len(present), expected)
        assert float(report["share_present"]) == pytest.approx(len(present) / expected, abs=1e-4)
    absent_before = trials[("ad", 2)]  # onset at frame 75: no face in frames 60-89
    assert absent_before["corrected"] == "False" and "no pre-stimulus frame (the face was absent before the onset)" in absent_before["note"]
    assert "frames missing: 16" in trials[("trailer", 1)]["note"]  # no face in frames 60-75 of 30-75
    assert trials[("ad", 1)]["note"] == "" and trials[("ad", 1)]["share_present"] == "1.0"


def _trial_bin_means(table: list[dict[str, str]], marker: str, measure: str, bin_: int) -> list[float]:
    """Each corrected trial's mean change in one bin of the 30 fps grid (round(t_s * 30))."""
    values: dict[str, list[float]] = {}
    for r in table:
        if r["marker"] == marker and r[f"change_{measure}"] != "" and round(float(r["t_s"]) * 30) == bin_:
            values.setdefault(r["trial"], []).append(float(r[f"change_{measure}"]))
    return [sum(v) / len(v) for v in values.values()]


@pytest.mark.parametrize(("measure", "bin_"), [("valence", 0), ("arousal", 9), ("mouthSmileLeft", -3)])
def test_summary_intervals_over_trials_and_people(epochs, measure, bin_):
    table = _rows(epochs / "epochs.csv")
    summary = {(r["marker"], r["measure"], r["level"], round(float(r["t_s"]) * 30)): r for r in _rows(epochs / "summary.csv")}
    means = _trial_bin_means(table, "ad", measure, bin_)
    assert len(means) == 2  # ad 1 and ad 3; ad 2 has no correction
    mean = sum(means) / 2
    half = stats.t.ppf(0.975, 1) * math.sqrt(sum((m - mean) ** 2 for m in means)) / math.sqrt(2)
    row = summary[("ad", measure, "trials", bin_)]
    assert (int(row["n"]), float(row["mean"])) == (2, pytest.approx(mean, abs=1e-12))
    assert (_number(row["ci_low"]), _number(row["ci_high"])) == (pytest.approx(mean - half, abs=1e-9), pytest.approx(mean + half, abs=1e-9))
    assert float(row["t_s"]) == pytest.approx(bin_ / 30, abs=1e-6)
    people = summary[("ad", measure, "people", bin_)]  # one person: the mean of its trials, no interval
    assert (int(people["n"]), float(people["mean"]), people["ci_low"]) == (1, pytest.approx(mean, abs=1e-12), "")


def test_the_recordings_own_user_markers_and_marker_choice(recording, tmp_path, capsys):
    copy = tmp_path / recording.name
    for path in (recording, recording.with_suffix(".meta.json"), recording.with_suffix(".events.csv")):
        shutil.copy(path, tmp_path / path.name)
    rows = {int(r["frame"]): r["time_s"] for r in _rows(recording)}
    with open(copy.with_suffix(".events.csv"), "a", newline="") as handle:
        writer = csv.writer(handle)  # as the app's M key files them, and one from another program's LSL stream
        writer.writerows([[10, rows[10], "", "user", "ad"], [40, rows[40], "", "PsychoPy", "ad"], [50, rows[50], "", "user", "other"]])
    out = tmp_path / "out"
    assert main(["epochs", str(copy), "--marker", "ad", "--pre", str(PRE), "--post", str(POST), "--out", str(out)]) == 0
    trials = _rows(out / "trials.csv")
    assert [(r["marker"], r["trial"], float(r["onset_s"])) for r in trials] == [("ad", "1", float(rows[10])), ("ad", "2", float(rows[40]))]
    # affect-live's own markers (face lost, recording started) are never onsets
    assert main(["epochs", str(recording), "--pre", str(PRE), "--post", str(POST), "--out", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == ["affect-live: error: no stimulus onsets in the recordings' events files (user markers): nothing to epoch"]


def test_bad_stimulus_log_and_existing_outputs_are_one_line(recording, epochs, tmp_path, capsys):
    log = tmp_path / "stimuli.csv"
    log.write_text("time_s,marker\n1.0,ad\nabc,ad\n")
    out = tmp_path / "out"
    assert main(["epochs", str(recording), "--events", str(log), "--pre", "1", "--post", "1", "--out", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [f"affect-live: error: {log} line 3: time_s 'abc' is not a number of seconds"]
    assert not out.exists()
    before = (epochs / "epochs.csv").read_bytes()
    log.write_text("time_s,marker\n1.0,ad\n")
    assert main(["epochs", str(recording), "--events", str(log), "--pre", "1", "--post", "1", "--out", str(epochs)]) == 2
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1 and "exists: outputs are never overwritten" in error[0]
    assert (epochs / "epochs.csv").read_bytes() == before


def test_recordings_of_different_frame_rates_combine_on_the_lowest(recording, tmp_path):
    """astronaut_motion at 15 fps (every other frame, written here) beside the 30 fps
    recording: the summary's bins are 1/15 s; a 30 fps trial's two frames in a bin are
    averaged first, so each trial counts once per bin."""
    clip = tmp_path / "astro15.mp4"
    source = cv2.VideoCapture(str(CLIPS / "astronaut_motion.mp4"))
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 15.0, (640, 480))
    for n in range(120):
        ok, frame = source.read()
        if ok and n % 2 == 0:
            writer.write(frame)
    writer.release()
    source.release()
    slow = tmp_path / "astro15.csv"
    assert main(["analyze", str(clip), "--out", str(slow), "--quiet", "--no-actions"]) == 0
    log = tmp_path / "stimuli.csv"
    log.write_text("time_s,marker\n1.0,ad\n")
    out = tmp_path / "out"
    assert main(["epochs", str(recording), str(slow), "--events", str(log), "--pre", "0.4", "--post", "0.6", "--out", str(out)]) == 0
    table = _rows(out / "epochs.csv")
    summary = [r for r in _rows(out / "summary.csv") if (r["measure"], r["level"]) == ("valence", "trials")]
    assert {round(float(r["t_s"]) * 15) for r in summary} == set(range(-6, 10))  # -0.4 .. 0.6 s in 1/15 s steps
    assert all(abs(float(r["t_s"]) * 15 - round(float(r["t_s"]) * 15)) < 1e-4 for r in summary)
    for r in summary:
        k = round(float(r["t_s"]) * 15)
        means = []
        for name in ("astro", "astro15"):
            values = [float(e["change_valence"]) for e in table if e["recording"] == name and round(float(e["t_s"]) * 15) == k]
            if values:
                means.append(sum(values) / len(values))
        assert int(r["n"]) == len(means) and float(r["mean"]) == pytest.approx(sum(means) / len(means), abs=1e-12)
    assert {r["fps"] for r in _rows(out / "trials.csv")} == {"30.0", "15.0"}
