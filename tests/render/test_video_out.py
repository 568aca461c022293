"""`analyze --video-out`: the input's frame count and rate, each face's box drawn where the CSV
says, by the same drawer as the app's video pane (affect_live.render.overlay)."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_live.cli.parser import main
from affect_live.render.overlay import face_color_bgr
from affect_live.pipeline.sources import read_frames
from tests.conftest import CLIPS


def _frames(path: Path) -> tuple[list[np.ndarray], float]:
    capture = cv2.VideoCapture(str(path))
    fps = capture.get(cv2.CAP_PROP_FPS)
    capture.release()
    return read_frames(path), fps


@pytest.fixture(scope="module")
def annotated_run(tmp_path_factory) -> tuple[Path, Path]:
    out = tmp_path_factory.mktemp("video")
    csv_path, video = out / "two.csv", out / "two.annotated.mp4"
    assert main(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(csv_path), "--video-out", str(video), "--quiet"]) == 0
    return csv_path, video


def test_same_frame_count_and_rate_as_the_input(annotated_run):
    _, video = annotated_run
    source, source_fps = _frames(CLIPS / "two_faces.mp4")
    written, fps = _frames(video)
    assert len(written) == len(source) and fps == pytest.approx(source_fps)
    assert written[0].shape == source[0].shape


def test_boxes_drawn_where_the_csv_says(annotated_run):
    csv_path, video = annotated_run
    source, _ = _frames(CLIPS / "two_faces.mp4")
    written, _ = _frames(video)
    by_frame: dict[int, list[dict[str, str]]] = defaultdict(list)
    with open(csv_path, newline="") as handle:
        for row in csv.DictReader(handle):
            by_frame[int(row["frame"])].append(row)
    drawn, before = [], []  # per box edge: median distance to the face's colour
    for frame_index in sorted(by_frame)[::10]:
        image, original = written[frame_index].astype(int), source[frame_index].astype(int)
        for row in by_frame[frame_index]:
            x, y, w, h = (float(row[k]) for k in "xywh")
            color = np.array(face_color_bgr(int(row["face_id"])))
            left, right = round(x), round(x + w)
            rows = np.linspace(y + 0.3 * h, y + 0.8 * h, 8).astype(int)
            for column in (left, right):
                drawn.append(np.median(np.abs(image[rows, column] - color).max(axis=1)))
                before.append(np.median(np.abs(original[rows, column] - color).max(axis=1)))
                assert drawn[-1] < 60, (frame_index, row["face_id"])  # mp4v is lossy: near the colour
        # Far from every face the frame is the input's (within the codec's loss).
        assert np.median(np.abs(image[-20:, :40] - original[-20:, :40])) < 12
    assert len(drawn) >= 20
    assert np.mean(before) > np.mean(drawn) + 40  # the input did not have those colours there
