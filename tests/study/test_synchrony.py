"""Synchrony between people on the dyad clips (tests/fixtures/README.md): the right face that
follows the left one by a known lag is found (sign and size) beyond chance; an unrelated right
face is not. Each clip is analysed once per test session (conftest.analysed_clip)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from affect_live.cli.parser import main
from affect_live.measures import SMILE
from affect_live.report.data import read_recording
from affect_live.study.synchrony import COLUMNS, recording_synchrony

DYADS = ("dyad_delayed.mp4", "dyad_control.mp4")


@pytest.fixture(scope="module")
def recordings(analysed_clip) -> dict[str, Path]:
    return {clip: analysed_clip(clip) for clip in DYADS}


@pytest.fixture(scope="module")
def results(recordings) -> dict[str, pd.DataFrame]:
    return {clip: recording_synchrony(read_recording(path)) for clip, path in recordings.items()}


def _sides(path: Path, width: int) -> dict[str, int]:
    """"left"/"right" -> the face id the pipeline gave that side."""
    rows = read_recording(path).rows
    centre = rows["x"] + rows["w"] / 2
    return {side: int(rows.loc[(centre < width / 2) == (side == "left"), "face_id"].mode()[0]) for side in ("left", "right")}


@pytest.mark.parametrize("clip", DYADS)
def test_each_side_keeps_one_face_id_and_its_expression_varies(recordings, clips_truth, clip):
    truth = clips_truth[clip]
    rows = read_recording(recordings[clip]).rows
    sides = _sides(recordings[clip], truth["width"])
    assert sorted(rows["face_id"].unique()) == sorted(sides.values())  # one id per side, the whole clip
    for side, face in sides.items():
        face_rows = rows[rows["face_id"] == face].sort_values("frame")
        assert face_rows["frame"].tolist() == list(range(truth["frame_count"]))
        centre = face_rows["x"] + face_rows["w"] / 2
        assert ((centre < truth["width"] / 2) == (side == "left")).all()
        # the mixing signal drives the expression: smile and valence follow it and span a range
        # (valence less closely: it saturates, and the model's window of 16 frames delays it)
        mixing = np.array(truth["mixing"][side])
        for measure, follows in (("valence", 0.4), (SMILE, 0.8)):
            values = face_rows[measure].to_numpy()
            assert values.max() - values.min() > 0.5, (side, measure)
            assert np.corrcoef(values, mixing)[0, 1] > follows, (side, measure)


def test_delayed_face_is_found_following_by_its_lag(results, recordings, clips_truth):
    truth = clips_truth["dyad_delayed.mp4"]
    sides = _sides(recordings["dyad_delayed.mp4"], truth["width"])
    table = results["dyad_delayed.mp4"].set_index("measure")
    for measure in ("valence", SMILE):
        row = table.loc[measure]
        # lag > 0 when face_b follows face_a; the right face follows the left one
        expected = truth["lag_frames"] if row.face_b == sides["right"] else -truth["lag_frames"]
        assert abs(row.lag_frames - expected) <= 1, (measure, row.lag_frames, expected)
        assert row.lag_s == pytest.approx(row.lag_frames / truth["fps"])
        assert row.r > 0.8 and row.p < 0.05, (measure, row.r, row.p)


def test_unrelated_face_is_within_chance(results):
    table = results["dyad_control.mp4"].set_index("measure")
    assert list(results["dyad_control.mp4"].columns) == list(COLUMNS)
    for measure in ("valence", SMILE):
        assert table.loc[measure, "p"] >= 0.05, (measure, table.loc[measure].to_dict())


def _shifted_pair(recording_csv: Path, out: Path, shift: int, frames: int = 150) -> Path:
    """A recording of two faces: the left face of a real recording (its first `frames` frames)
    as face 1, and the same series `shift` frames later as face 2."""
    rows = pd.read_csv(recording_csv)
    left = _sides(recording_csv, 480)["left"]
    one = rows[(rows["face_id"] == left) & (rows["frame"] < frames)].assign(face_id=1)
    two = one.assign(face_id=2, frame=one["frame"] + shift, time_s=(one["frame"] + shift) / 15.0)
    pair = pd.concat([one, two]).sort_values(["frame", "face_id"], kind="stable")
    pair.to_csv(out, index=False)
    return out


def test_lag_sign_convention_on_a_shifted_series(recordings, tmp_path):
    """lag > 0 when face_b follows face_a: face 2 is face 1's own series 5 frames later."""
    csv = _shifted_pair(recordings["dyad_control.mp4"], tmp_path / "shifted.csv", shift=5)
    result = recording_synchrony(read_recording(csv), ["valence", SMILE], surrogates=0).set_index("measure")
    assert (result["face_a"] == 1).all() and (result["face_b"] == 2).all()
    assert result["lag_frames"].tolist() == [5, 5]
    assert result["r"].min() > 0.999 and result["p"].isna().all()
    # with no sidecar the frame period comes from time_s: 1/15 s
    assert result["lag_s"].tolist() == pytest.approx([5 / 15.0] * 2)
    earlier = _shifted_pair(recordings["dyad_control.mp4"], tmp_path / "earlier.csv", shift=-5)
    assert recording_synchrony(read_recording(earlier), ["valence"], surrogates=0)["lag_frames"].tolist() == [-5]


def test_surrogate_test_is_reproducible(recordings):
    recording = read_recording(recordings["dyad_control.mp4"])
    first = recording_synchrony(recording, ["valence"], surrogates=49, seed=7)
    again = recording_synchrony(recording, ["valence"], surrogates=49, seed=7)
    pd.testing.assert_frame_equal(first, again)
    assert first["surrogates"].tolist() == [49] and 0 < first["p"].iloc[0] <= 1


def test_command_writes_synchrony_csv_once(recordings, results, tmp_path, capsys):
    out = tmp_path / "sync"
    assert main(["synchrony", str(recordings["dyad_delayed.mp4"]), "--out", str(out)]) == 0
    written = pd.read_csv(out / "synchrony.csv")
    pd.testing.assert_frame_equal(written, results["dyad_delayed.mp4"], check_dtype=False)
    printed = capsys.readouterr().out
    assert "valence" in printed and "beyond chance" in printed and f"wrote {out / 'synchrony.csv'}" in printed
    before = (out / "synchrony.csv").read_bytes()
    assert main(["synchrony", str(recordings["dyad_control.mp4"]), "--out", str(out)]) == 2
    assert (out / "synchrony.csv").read_bytes() == before  # never written over
    assert "exists" in capsys.readouterr().err


def test_command_refuses_bad_input_in_one_line(recordings, tmp_path, capsys):
    rows = pd.read_csv(recordings["dyad_delayed.mp4"])
    alone = tmp_path / "alone.csv"
    rows[rows["face_id"] == rows["face_id"].iloc[0]].to_csv(alone, index=False)
    cases = {
        "one face": ([str(alone)], "no two faces are together"),
        "missing file": ([str(tmp_path / "nope.csv")], "cannot read"),
        "unknown measure": ([str(recordings["dyad_delayed.mp4"]), "--measures", "valence,smiling"], "smiling"),
    }
    for case, (args, fragment) in cases.items():
        assert main(["synchrony", *args, "--out", str(tmp_path / case)]) == 2, case
        err = capsys.readouterr().err.strip()
        assert fragment in err and len(err.splitlines()) == 1 and "Traceback" not in err, (case, err)
        assert not (tmp_path / case / "synchrony.csv").exists()
