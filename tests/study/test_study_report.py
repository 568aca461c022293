"""`report RECORDING... --participants TABLE`: the study report on three real recordings
(astronaut_motion.mp4, two_faces.mp4 and leave_return.mp4 through `analyze` with the shipped
model) with a participants table and a stimulus log written here: every plot is rendered and
referenced, the tidy table reloads in pandas with one row per participant x condition x marker
x measure and its statistic is arithmetic on the CSV, priors are stated, bad input is one line."""

from __future__ import annotations

import csv
import importlib.util
import re
from pathlib import Path

import cv2
import pandas as pd
import pytest

from affect_live.cli.parser import main
from affect_live.measures import MEASURES
from affect_live.report.data import read_recording
from affect_live.study.responses import prior_measures
from affect_live.study.study_plots import erp_figure
from tests.conftest import CLIPS

PRE, POST = 0.3, 0.6
CLIP_NAMES = ("astronaut_motion", "two_faces", "leave_return")
# recording (stem, or CSV path relative to the table), participant, condition, face_id, group
PARTICIPANTS = (
    ("astronaut_motion", "P1", "calm", "", "g1"),
    ("two_faces.csv", "P2", "tense", "1", "g2"),
    ("two_faces.csv", "P3", "tense", "2", "g1"),
    ("leave_return", "P1", "tense", "1", "g1"),
    ("leave_return", "P4", "calm", "2", "g2"),
)
STIMULI = (("0.8", "ad", ""), ("1.6", "trailer", ""), ("3.2", "ad", "astronaut_motion"))


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("study")
    csvs = [folder / f"{name}.csv" for name in CLIP_NAMES]
    for name, path in zip(CLIP_NAMES, csvs):
        assert main(["analyze", str(CLIPS / f"{name}.mp4"), "--out", str(path), "--quiet"]) == 0
    table, log = folder / "participants.csv", folder / "stimuli.csv"
    with open(table, "w", newline="") as handle:
        csv.writer(handle).writerows([("recording", "participant", "condition", "face_id", "group"), *PARTICIPANTS])
    with open(log, "w", newline="") as handle:
        csv.writer(handle).writerows([("time_s", "marker", "recording"), *STIMULI])
    out = folder / "report"
    args = ["report", *map(str, csvs), "--participants", str(table), "--events", str(log), "--pre", str(PRE), "--post", str(POST), "--out", str(out)]
    assert main(args) == 0
    return {"out": out, "table": table, "log": log, "folder": folder, "args": args}


def test_every_plot_is_rendered_and_referenced(study):
    out = study["out"]
    index = (out / "index.html").read_text()
    images = re.findall(r"<img src='([^']+)'", index)
    expected = {"erp_01_ad.png", "erp_02_trailer.png"}  # one event-related plot per marker
    if importlib.util.find_spec("affect_live.study.synchrony") is not None:  # issue 20 part 3's module
        from affect_live.study.synchrony import recording_synchrony

        # a plot per recording with two faces whose synchrony has a row (a pair long enough together)
        dyads = ("two_faces", "leave_return")
        expected |= {f"synchrony_{n:02d}_{name}.png" for n, name in enumerate(dyads, 1) if len(recording_synchrony(read_recording(study["folder"] / f"{name}.csv")))}
    assert set(images) == expected == {p.name for p in out.glob("*.png")}
    for name in images:
        image = cv2.imread(str(out / name))
        assert image is not None and image.shape[0] > 200 and image.std() > 10, name  # a drawn PNG, not an empty one
    assert "<h2>Synchrony per dyad</h2><h3>two_faces</h3>" in index  # the dyads are listed
    for participant in {p[1] for p in PARTICIPANTS}:
        assert f"<td>{participant}</td>" in index  # the per-participant summary


def test_tidy_table_reloads_with_one_row_per_participant_condition_marker_measure(study):
    tidy = pd.read_csv(study["out"] / "tidy.csv")
    header = _rows(study["folder"] / "two_faces.csv")[0]
    measures = [m for m in MEASURES if m in header]
    pairs = {(p[1], p[2]) for p in PARTICIPANTS}
    markers = {s[1] for s in STIMULI}
    assert len(tidy) == len(pairs) * len(markers) * len(measures)
    assert set(zip(tidy["participant"], tidy["condition"])) == pairs and set(tidy["marker"]) == markers
    assert list(tidy.columns[:4]) == ["participant", "condition", "group", "marker"]
    assert not tidy.duplicated(["participant", "condition", "marker", "measure"]).any()
    # P1 calm saw "ad" twice (0.8 s, and 3.2 s in astronaut_motion only)
    assert set(tidy[(tidy["participant"] == "P1") & (tidy["condition"] == "calm") & (tidy["marker"] == "ad")]["trials"]) == {2}
    assert set(tidy[tidy["measure"].isin(["valence", "arousal"])]["prior"]) == {True}  # the shipped model's prior heads
    assert set(tidy[tidy["measure"] == "mouthSmileLeft"]["prior"]) == {False}


@pytest.mark.parametrize("measure", ["valence", "mouthSmileLeft", "yaw"])
def test_the_tidy_statistic_is_arithmetic_on_the_csv(study, measure):
    """P2 is face 1 of two_faces.csv, one "ad" trial at 0.8 s: its mean change over [0, post]
    from its mean over [-pre, 0)."""
    rows = [r for r in _rows(study["folder"] / "two_faces.csv") if r["face_id"] == "1"]
    t = [(round(float(r["time_s"]) - 0.8, 6), float(r[measure])) for r in rows]
    before = [v for s, v in t if -PRE <= s < 0]
    after = [v for s, v in t if 0 <= s <= POST]
    expected = sum(v - sum(before) / len(before) for v in after) / len(after)
    tidy = pd.read_csv(study["out"] / "tidy.csv")
    row = tidy[(tidy["participant"] == "P2") & (tidy["marker"] == "ad") & (tidy["measure"] == measure)]
    assert len(row) == 1 and row["mean_response"].iloc[0] == pytest.approx(expected, abs=1e-9) and row["trials"].iloc[0] == 1


def test_priors_are_stated_at_the_top_and_in_every_affected_plot(study):
    index = (study["out"] / "index.html").read_text()
    top = index[: index.index("<img")]
    assert "<b>Priors</b>" in top and "<b>valence, arousal</b>: prior in every recording" in top
    summary = pd.read_csv(study["out"] / "summary.csv")
    priors = prior_measures([read_recording(study["folder"] / f"{name}.csv") for name in CLIP_NAMES])
    assert set(priors) == {"valence", "arousal"}
    for marker in ("ad", "trailer"):
        titles = {axes.get_title() for axes in erp_figure(summary, marker, priors, PRE, POST).axes}
        assert titles == {"valence (PRIOR: not trained on labels)", "arousal (PRIOR: not trained on labels)", "mouthSmileLeft", "browInnerUp"}


def test_bad_participants_table_and_existing_outputs_are_one_line(study, tmp_path, capsys):
    bad = tmp_path / "participants.csv"
    bad.write_text("recording,participant,condition\nastronaut_motion,P1,calm\nnobody,P9,calm\n")
    args = list(study["args"])
    args[args.index("--participants") + 1] = str(bad)
    args[args.index("--out") + 1] = str(tmp_path / "out")
    assert main(args) == 2
    assert capsys.readouterr().err.splitlines() == [f"affect-live: error: {bad} line 3: recording 'nobody' is none of the recordings given (name one by its CSV's stem or path)"]
    assert not (tmp_path / "out").exists()
    before = (study["out"] / "index.html").read_bytes()
    assert main(study["args"]) == 2  # the same report again: refused, nothing overwritten
    error = capsys.readouterr().err.splitlines()
    assert len(error) == 1 and "index.html exists: outputs are never overwritten" in error[0]
    assert (study["out"] / "index.html").read_bytes() == before
