"""Facial actions on real faces: blendshapes, head pose and gaze from the Face Landmarker's
478 points (run on LiteRT), and their CSV columns, landmarks file and sidecar."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_live.cli.parser import main
from affect_live.faces.actions import ActionStage
from affect_live.faces.detector import FaceDetector
from affect_live.faces.face_mesh import FaceMesh478, roi_from_landmarks
from affect_live.faces.model_files import MESH_MODEL, SHIPPED_SHA256, FaceModelFileError, checked_model
from affect_live.faces.landmarks import roi_matrix
from affect_live.backends.flatbuffer import check_graph, sha256_hex
from affect_live.errors import BundleError
from affect_live.recording.rows import ACTION_COLUMNS, CSV_COLUMNS
from affect_live.resources import MODELS_DIR
from affect_live.types import BLENDSHAPE_NAMES, POSE_COLUMNS, FaceActions
from tests.conftest import CLIPS, IMAGES

PHOTOS = ("astronaut.png", "grace_hopper.jpg")


@pytest.fixture(scope="module")
def measure():
    """Actions of the largest face of an image: detect, mesh from the detection's ROI, then once
    more from the landmarks' ROI (what tracking does on the next frame), then the actions."""
    detector, mesh, stage = FaceDetector(), FaceMesh478(), ActionStage()

    def run(image: np.ndarray) -> FaceActions:
        detection = detector.detect(image)[0]
        points, _ = mesh.run(image, roi_matrix(detection, mesh.input_size))
        points, presence = mesh.run(image, roi_from_landmarks(points, mesh.input_size))
        assert presence > 0.9
        return stage.measure(points, presence)

    yield run
    detector.close()
    mesh.close()
    stage.close()


def photo(name: str) -> np.ndarray:
    image = cv2.imread(str(IMAGES / name))
    assert image is not None, name
    return image


def score(actions: FaceActions, name: str) -> float:
    return float(actions.blendshapes[BLENDSHAPE_NAMES.index(name)])


def test_smile_higher_on_the_smiling_astronaut_than_on_grace_hopper(measure):
    smiling, serious = measure(photo("astronaut.png")), measure(photo("grace_hopper.jpg"))
    for side in ("mouthSmileLeft", "mouthSmileRight"):
        assert score(smiling, side) > 0.5 > 0.1 > score(serious, side), side
    for actions in (smiling, serious):
        assert actions.blendshapes.shape == (52,) and actions.blendshapes.dtype == np.float32
        assert 0.0 <= actions.blendshapes.min() and actions.blendshapes.max() <= 1.0
        assert actions.landmarks is not None and actions.landmarks.shape == (478, 3)


@pytest.mark.parametrize("name", PHOTOS)
def test_roll_follows_an_in_plane_rotation_both_ways(measure, name):
    image = photo(name)
    h, w = image.shape[:2]
    upright = measure(image).roll
    for degrees in (-20, -10, 10, 20):  # OpenCV: positive angles turn the image anticlockwise
        matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
        turned = measure(cv2.warpAffine(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE))
        # Roll is positive clockwise as the viewer sees it: an anticlockwise turn lowers it.
        assert turned.roll == pytest.approx(upright - degrees, abs=3.0), degrees


@pytest.mark.parametrize("name", PHOTOS)
def test_mirroring_the_frame_mirrors_yaw_roll_and_gaze_yaw(measure, name):
    image = photo(name)
    plain, mirrored = measure(image), measure(np.ascontiguousarray(image[:, ::-1]))
    # Both photos are near frontal (|yaw| of 0.2-1 degrees), so this checks the mirror relation
    # and the sign where there is one to see.
    assert mirrored.yaw == pytest.approx(-plain.yaw, abs=2.0)
    assert mirrored.roll == pytest.approx(-plain.roll, abs=2.0)
    assert mirrored.gaze_yaw == pytest.approx(-plain.gaze_yaw, abs=3.0)
    assert mirrored.pitch == pytest.approx(plain.pitch, abs=2.0)
    # The left and right blendshapes swap sides with the mirror.
    for left in ("mouthSmileLeft", "eyeBlinkLeft", "browOuterUpLeft"):
        right = left.replace("Left", "Right")
        assert score(mirrored, left) == pytest.approx(score(plain, right), abs=0.1)


def turned(image: np.ndarray, receding: str, amount: float = 0.5) -> np.ndarray:
    """The image as a flat face turned away from the camera on one side: the `receding` edge
    ("left", "right", "top" or "bottom") is shortened by `amount`, a perspective warp. A face
    turns towards the side that recedes (seen from above, its normal swings that way)."""
    h, w = image.shape[:2]
    corners = {"top_left": [0, 0], "top_right": [w, 0], "bottom_right": [w, h], "bottom_left": [0, h]}
    moved = dict(corners)
    if receding in ("left", "right"):
        x = 0 if receding == "left" else w
        moved[f"top_{receding}"], moved[f"bottom_{receding}"] = [x, h * amount / 2], [x, h * (1 - amount / 2)]
    else:
        y = 0 if receding == "top" else h
        moved[f"{receding}_left"], moved[f"{receding}_right"] = [w * amount / 2, y], [w * (1 - amount / 2), y]
    matrix = cv2.getPerspectiveTransform(np.float32(list(corners.values())), np.float32(list(moved.values())))
    return cv2.warpPerspective(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)


def face_square(image: np.ndarray) -> np.ndarray:
    """A square around the largest face, 1.6 times its box: the part a turn should move."""
    detector = FaceDetector()
    try:
        x, y, w, h = (int(v) for v in detector.detect(image)[0].box)
    finally:
        detector.close()
    side = int(max(w, h) * 1.6)
    left, top = max(x + w // 2 - side // 2, 0), max(y + h // 2 - side // 2, 0)
    return np.ascontiguousarray(image[top : top + side, left : left + side])


@pytest.mark.parametrize("name", PHOTOS)
def test_yaw_pitch_and_gaze_signs_follow_a_turn_of_the_face(measure, name):
    """docs/app.md: yaw positive when the face turns towards the image's right, pitch positive when it
    looks up; gaze with the same signs. The photos are near frontal, so each face is turned both ways by a perspective warp
    (measured on this model: about 8-11 degrees of yaw, 4-10 of pitch)."""
    face = face_square(photo(name))
    plain = measure(face)
    right, left = measure(turned(face, "right")), measure(turned(face, "left"))
    up, down = measure(turned(face, "top")), measure(turned(face, "bottom"))
    assert right.yaw > max(plain.yaw, 0) + 5 and left.yaw < min(plain.yaw, 0) - 5, (left.yaw, plain.yaw, right.yaw)
    assert up.pitch > plain.pitch + 2 and down.pitch < plain.pitch - 2, (down.pitch, plain.pitch, up.pitch)
    # Gaze is relative to the camera (docs/actions.md): a turned head turns it the same way, with
    # the same signs (measured: 8-21 degrees of gaze yaw, 5-10 of gaze pitch looking up).
    assert right.gaze_yaw > plain.gaze_yaw + 5 and left.gaze_yaw < plain.gaze_yaw - 5, (left.gaze_yaw, plain.gaze_yaw, right.gaze_yaw)
    assert up.gaze_pitch > plain.gaze_pitch + 5 and down.gaze_pitch < plain.gaze_pitch, (down.gaze_pitch, plain.gaze_pitch, up.gaze_pitch)


def test_a_changed_or_foreign_model_file_is_one_clear_error(tmp_path):
    data = checked_model(MESH_MODEL)
    with pytest.raises(BundleError, match="sha256 does not match"):
        check_graph(data[:-1] + bytes([data[-1] ^ 1]), SHIPPED_SHA256[MESH_MODEL], [(-1, 256, 256, 3)], [], "x")
    with pytest.raises(BundleError, match="inputs have shapes"):
        check_graph(data, SHIPPED_SHA256[MESH_MODEL], [(-1, 192, 192, 3)], [], "x")
    with pytest.raises(BundleError, match="not a TFLite flatbuffer"):
        check_graph(b"not a model", sha256_hex(b"not a model"), [], [], "x")
    assert issubclass(FaceModelFileError, BundleError)


# ---------------------------------------------------------------- the CSV, landmarks, sidecar


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("actions")
    clip = str(CLIPS / "two_faces.mp4")
    assert main(["analyze", clip, "--out", str(out / "with.csv"), "--landmarks", "--quiet"]) == 0
    assert main(["analyze", clip, "--out", str(out / "without.csv"), "--no-actions", "--quiet"]) == 0
    return {"with": out / "with.csv", "without": out / "without.csv"}


def test_action_columns_follow_the_fixed_ones_and_are_in_range(recorded):
    header = recorded["with"].read_text().splitlines()[0].split(",")
    assert tuple(header) == (*CSV_COLUMNS, *POSE_COLUMNS, *BLENDSHAPE_NAMES)
    rows = read_rows(recorded["with"])
    assert len(rows) > 100
    for row in rows:
        assert all(row[name] != "" for name in ACTION_COLUMNS)
        assert abs(float(row["yaw"])) <= 90 and abs(float(row["pitch"])) <= 90 and abs(float(row["roll"])) <= 180
        assert abs(float(row["gaze_yaw"])) <= 90 and abs(float(row["gaze_pitch"])) <= 90
        assert all(0.0 <= float(row[name]) <= 1.0 for name in BLENDSHAPE_NAMES)
    # Near-frontal, upright faces in this clip: the pose stays small.
    assert np.median([abs(float(r["yaw"])) for r in rows]) < 15 and np.median([abs(float(r["roll"])) for r in rows]) < 15
    # The astronaut (left half of the frame) smiles; Grace Hopper does not.
    smile = {side: np.median([float(r["mouthSmileLeft"]) for r in rows if (float(r["x"]) < 320) == (side == "left")]) for side in ("left", "right")}
    assert smile["left"] > 0.5 > 0.2 > smile["right"]


def test_landmarks_file_loads_with_numpy_and_matches_the_rows(recorded):
    path = recorded["with"].with_suffix(".landmarks.csv")
    table = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
    rows = read_rows(recorded["with"])
    assert table.shape == (len(rows), 2 + 478 * 3)
    assert [(int(f), int(i)) for f, i in table[:, :2]] == [(int(r["frame"]), int(r["face_id"])) for r in rows]
    points = table[:, 2:].reshape(-1, 478, 3)
    for row, face in zip(rows, points):  # the points lie around the face's box
        x, y, w, h = (float(row[k]) for k in "xywh")
        centre = face[:, :2].mean(axis=0)
        assert x < centre[0] < x + w and y < centre[1] < y + h


def test_no_actions_writes_only_the_fixed_columns_and_the_sidecar_says_what_was_computed(recorded):
    assert tuple(recorded["without"].read_text().splitlines()[0].split(",")) == CSV_COLUMNS
    assert not recorded["without"].with_suffix(".landmarks.csv").exists()
    without = json.loads(recorded["without"].with_suffix(".meta.json").read_text())
    assert without["outputs"]["actions"] is False and without["columns"] == list(CSV_COLUMNS)
    assert without["settings"]["detect_every"] == 1 and without["timing"]["stage_ms_mean"].get("detector_runs") is None
    meta = json.loads(recorded["with"].with_suffix(".meta.json").read_text())
    outputs = meta["outputs"]
    assert outputs["actions"] is True and outputs["landmarks_csv"] == "with.landmarks.csv"
    assert outputs["mesh"]["sha256"] == SHIPPED_SHA256[MESH_MODEL]
    for name in ("mesh", "blendshapes", "head_pose"):
        assert (MODELS_DIR / outputs[name]["file"]).is_file() and len(outputs[name]["sha256"]) == 64
    assert meta["columns"] == [*CSV_COLUMNS, *ACTION_COLUMNS]
    assert 0 < meta["timing"]["stage_ms_mean"]["detector_runs"] < 0.5


def test_landmarks_without_actions_is_refused(tmp_path, capsys):
    status = main(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(tmp_path / "x.csv"), "--landmarks", "--no-actions", "--quiet"])
    assert status != 0 and "--no-actions" in capsys.readouterr().err


def test_a_damaged_shipped_model_stops_analyze_with_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    import shutil

    from affect_live.faces import model_files

    damaged = tmp_path / "face-landmarker"
    shutil.copytree(model_files.LANDMARKER_DIR, damaged)
    data = bytearray((damaged / MESH_MODEL).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (damaged / MESH_MODEL).write_bytes(bytes(data))
    monkeypatch.setattr(model_files, "LANDMARKER_DIR", damaged)
    status = main(["analyze", str(IMAGES / "astronaut.png"), "--out", str(tmp_path / "a.csv"), "--quiet"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert status == 2 and len(lines) == 1 and "sha256" in lines[0] and MESH_MODEL in lines[0]
    assert not (tmp_path / "a.csv").exists()
    # --no-actions does not need the file.
    assert main(["analyze", str(IMAGES / "astronaut.png"), "--out", str(tmp_path / "b.csv"), "--quiet", "--no-actions"]) == 0


def test_blendshape_names_are_the_models_own_labels():
    # The model file carries its 52 category names (its metadata's label list; the flatbuffer
    # writer stores the strings last to first); ours must be those, in that order, which is
    # also kBlendshapeNames of MediaPipe's face_blendshapes_graph.cc.
    import re

    data = checked_model("face_blendshapes.tflite")
    in_file = [m.group().decode() for m in re.finditer(rb"[_A-Za-z][A-Za-z]{3,30}", data)]
    ours = [name for name in in_file if name in BLENDSHAPE_NAMES]
    assert len(BLENDSHAPE_NAMES) == 52 and ours[::-1] == list(BLENDSHAPE_NAMES)
