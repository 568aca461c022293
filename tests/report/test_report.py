"""`report`: index.html and per-face PNGs that show the recording's data; pose and blendshape
summaries when the CSV has those columns; the model's prior heads from the sidecar; no Qt."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_live.cli.parser import main
from affect_live.render.overlay import face_color_tuple
from affect_live.report.plots import EXPRESSION_COLORS
from affect_live.types import EXPRESSIONS, POSE_COLUMNS
from tests.conftest import CLIPS, REPO


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> list[Path]:
    """two_faces.mp4 analysed without facial actions, and with them (pose and blendshape columns
    after the fixed ones)."""
    out = tmp_path_factory.mktemp("recordings")
    plain, actions = out / "two.csv", out / "actions.csv"
    assert main(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(plain), "--quiet", "--no-actions"]) == 0
    assert main(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(actions), "--quiet"]) == 0
    assert set(POSE_COLUMNS) <= set(_rows(actions)[0]) and not set(POSE_COLUMNS) & set(_rows(plain)[0])
    return [plain, actions]


@pytest.fixture(scope="module")
def report(recordings, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report")
    # results/*.csv also matches the events files: they are passed over, not errors
    assert main(["report", *map(str, recordings), str(recordings[0].with_suffix(".events.csv")), "--out", str(out)]) == 0
    return out


def test_index_links_every_plot_per_face(report, recordings):
    index = (report / "index.html").read_text()
    images = re.findall(r"<img src='([^']+)'", index)
    assert images and all((report / name).is_file() for name in images)
    assert sorted(images) == sorted(p.name for p in report.glob("*.png"))
    faces = sorted({int(r["face_id"]) for r in _rows(recordings[0])})
    for n, recording in enumerate(("two", "actions"), start=1):
        for face in faces:
            kinds = {name.split(f"face{face}_")[1] for name in images if name.startswith(f"{n:02d}_{recording}_face{face}_")}
            expected = {"va_time.png", "va_plane.png", "expressions.png"} | ({"pose.png", "blendshapes.png"} if recording == "actions" else set())
            assert kinds == expected, (recording, face, kinds)


def test_table_means_and_priors_from_the_recording(report, recordings):
    index = (report / "index.html").read_text()
    rows = _rows(recordings[0])
    for face in {r["face_id"] for r in rows}:
        valence = np.mean([float(r["valence"]) for r in rows if r["face_id"] == face])
        assert f"<td>{valence:+.3f}</td>" in index
    meta = json.loads(recordings[0].with_suffix(".meta.json").read_text())
    assert "<th>outputs</th><td>expression learned per frame; valence prior; arousal prior" in index
    assert meta["model"]["name"] in index
    assert "mean yaw" in index  # pose columns are summarised where present


def test_settings_and_model_read_as_a_table(report, recordings):
    index = (report / "index.html").read_text()
    settings = json.loads(recordings[0].with_suffix(".meta.json").read_text())["settings"]
    assert "{'" not in index and "{&#x27;" not in index  # no Python dict's text anywhere
    assert f"<th>max_faces</th><td>{settings['max_faces']}</td>" in index
    # nested settings are a table inside the cell
    assert f"<th>reidentification</th><td><table class='settings'><tr><th>enabled</th><td>yes</td></tr>" in index
    assert f"<th>threshold</th><td>{settings['reidentification']['threshold']}</td>" in index


def test_plots_show_the_data(report, recordings):
    face = int(_rows(recordings[0])[0]["face_id"])
    image = cv2.imread(str(report / f"01_two_face{face}_va_time.png"))[..., ::-1].astype(int)
    colour = np.array(face_color_tuple(face))
    assert (np.abs(image - colour).max(axis=2) < 30).sum() > 200  # the valence line, in the face's colour
    # The stacked shares: the face's most probable expression covers much of the plot in its colour.
    shares = cv2.imread(str(report / f"01_two_face{face}_expressions.png"))[..., ::-1].astype(int)
    rows = [r for r in _rows(recordings[0]) if int(r["face_id"]) == face]
    top = int(np.argmax([np.mean([float(r[name]) for r in rows]) for name in EXPRESSIONS]))
    hex_colour = EXPRESSION_COLORS[top].lstrip("#")
    area = np.array([int(hex_colour[k : k + 2], 16) for k in (0, 2, 4)]) * 0.9 + 255 * 0.1  # alpha 0.9 on white
    assert (np.abs(shares - area).max(axis=2) < 12).mean() > 0.2
    bars = cv2.imread(str(report / f"02_actions_face{face}_blendshapes.png"))[..., ::-1].astype(int)
    assert (np.abs(bars - colour).max(axis=2) < 30).sum() > 500


def test_bad_csv_is_one_line_and_the_report_needs_no_qt(recordings, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    code = (
        "import sys; from affect_live.cli.parser import main; rc = main(sys.argv[1:]);"
        "print(sorted(m for m in ('PyQt5', 'tensorflow', 'mediapipe', 'ray') if sys.modules.get(m) is not None)); sys.exit(rc)"
    )
    proc = subprocess.run([sys.executable, "-c", code, "report", str(bad), str(recordings[0]), "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=300, cwd=REPO)  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("affect-live: error:")]
    assert len(errors) == 1 and "not an affect-live recording" in errors[0]
    assert (tmp_path / "r" / "index.html").is_file()  # the good recording is still reported
