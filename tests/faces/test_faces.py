"""Face detection, landmarks, crops and the capture-side face stage, on real images."""

from __future__ import annotations

import math
from functools import lru_cache

import cv2
import numpy as np
import pytest
from tests.conftest import CLIPS, IMAGES, REPO

from affect_live.faces.align import (
    ALIGNED_TEMPLATE_112,
    CropStyle,
    aligned_matrix,
    aligned_template,
    box_matrix,
    crop_aligned,
    crop_box,
    make_crop,
)
from affect_live.faces.capture import FaceStage
from affect_live.faces.detector import FaceDetector
from affect_live.faces.face_mesh import FaceMesh478, roi_from_landmarks
from affect_live.faces.landmarks import FiveLandmarks, five_from_mesh, roi_matrix
from affect_live.faces.model_files import DETECTOR_SHORT, model_path
from affect_live.types import Detection, Frame, TrackedFace

PHOTOS = ["astronaut.png", "grace_hopper.jpg"]


@lru_cache(maxsize=None)
def read_clip(name: str) -> tuple[np.ndarray, ...]:
    capture = cv2.VideoCapture(str(CLIPS / name))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return tuple(frames)


def read_photo(name: str) -> np.ndarray:
    image = cv2.imread(str(IMAGES / name))
    assert image is not None, name
    return image


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / (aw * ah + bw * bh - inter)


@pytest.fixture(scope="module")
def detector():
    with FaceDetector() as d:
        yield d


@pytest.fixture(scope="module")
def landmarks():
    with FiveLandmarks() as lm:
        yield lm


@pytest.fixture(scope="module")
def mediapipe_tasks_detector():
    """MediaPipe's own Tasks FaceDetector (a dev dependency, never the run time's) on the shipped
    short-range model file: the reference our direct LiteRT decoding must reproduce."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    options = vision.FaceDetectorOptions(base_options=BaseOptions(model_asset_path=str(model_path(DETECTOR_SHORT))))
    with vision.FaceDetector.create_from_options(options) as task:
        yield lambda rgb: task.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb)))


def test_shipped_face_models_match_their_pins():
    """Every shipped face model file is the one pinned, and the pins agree with the tools that
    write the files (tools/fetch_mediapipe_face_models.py, tools/fetch_face_landmarker.py)."""
    import hashlib
    import importlib.util

    from affect_live.faces import model_files

    for name, pinned in model_files.SHIPPED_SHA256.items():
        assert hashlib.sha256(model_files.model_path(name).read_bytes()).hexdigest() == pinned, name
    spec = importlib.util.spec_from_file_location("fetch_mp", REPO / "tools" / "fetch_mediapipe_face_models.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    written = set(tool.MEMBERS.values()) - {"LICENSE"}
    assert written == {model_files.DETECTOR_SHORT, model_files.DETECTOR_FULL, model_files.FACE_MESH_468}
    licence = model_files.MEDIAPIPE_FACE_DIR / "LICENSE"
    assert hashlib.sha256(licence.read_bytes()).hexdigest() == tool.LICENSE_SHA256
    model_files.check_model_files()  # sha256, builtin operators and shapes of all six


# ---------------------------------------------------------------- detection


@pytest.mark.parametrize("photo", PHOTOS)
def test_one_face_in_photo_matches_mediapipe(detector, mediapipe_tasks_detector, photo):
    """Our direct TFLite run reproduces MediaPipe's own face detection on the same model file
    (the Tasks API loads only the short-range model; the full-range one differs in anchors)."""
    image = read_photo(photo)
    height, width = image.shape[:2]
    with FaceDetector(model_range="short") as short:
        found = short.detect(image)
    assert len(found) == 1
    face = found[0]
    assert face.score > 0.7
    assert face.keypoints.shape == (6, 2)

    result = mediapipe_tasks_detector(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    assert len(result.detections) == 1
    ref = result.detections[0]
    box = ref.bounding_box  # whole pixels in the Tasks API
    ref_box = (box.origin_x, box.origin_y, box.width, box.height)
    ref_kps = np.array([[k.x * width, k.y * height] for k in ref.keypoints])
    assert np.allclose(face.box, ref_box, atol=1.0)
    assert np.abs(face.keypoints - ref_kps).max() < 0.01
    assert face.score == pytest.approx(ref.categories[0].score, abs=1e-4)

    # The default (full-range) detector finds the same face (its boxes sit a little higher).
    (full,) = detector.detect(image)
    assert iou(full.box, face.box) > 0.6

    x, y, w, h = face.box
    assert 0.1 * width < w < 0.6 * width and w == pytest.approx(h, rel=0.05)
    # Eyes, nose and mouth inside the box; subject's right eye (keypoint 0) on image left.
    inner = face.keypoints[:4]
    assert np.all((inner[:, 0] > x) & (inner[:, 0] < x + w) & (inner[:, 1] > y) & (inner[:, 1] < y + h))
    assert face.keypoints[0, 0] < face.keypoints[1, 0]


@pytest.mark.parametrize("clip", ["astronaut_motion.mp4", "two_faces.mp4", "three_faces.mp4", "leave_return.mp4", "swap_return.mp4"])
def test_clip_face_counts_match_ground_truth(detector, clips_truth, clip):
    # Frames with a face partly out of the frame are left out: finding it or not are both right.
    pairs = [(image, expected) for image, expected in zip(read_clip(clip), clips_truth[clip]["frames"], strict=True) if not expected.get("partial")]
    assert len(pairs) >= 0.8 * len(clips_truth[clip]["frames"])
    frames = [image for image, _ in pairs]
    right = 0
    found_per_name: dict[str, list[bool]] = {}
    for image, expected in pairs:
        found = detector.detect(image)
        boxes = [d.box for d in found]
        assert boxes == sorted(boxes, key=lambda b: -b[2] * b[3])  # largest first
        hits = []
        for face in expected["faces"]:
            hit = any(iou(face["box"], box) > 0.4 for box in boxes)
            found_per_name.setdefault(face["name"], []).append(hit)
            hits.append(hit)
        right += len(found) == len(expected["faces"]) and all(hits)
    assert right >= 0.95 * len(frames), f"{right}/{len(frames)} frames right"
    for name, hits in found_per_name.items():
        assert sum(hits) >= 0.95 * len(hits), f"{name} found in {sum(hits)}/{len(hits)} frames"


def test_small_group_face_found_and_needs_full_range(detector, clips_truth):
    """The ~10%-of-width face of three_faces.mp4: the default finds it, short range does not
    (the reason the full-range model is the default)."""
    truth = clips_truth["three_faces.mp4"]
    frames = read_clip("three_faces.mp4")
    small = [
        next(f["box"] for f in frame["faces"] if f["name"] == "astronaut_small")
        for frame in truth["frames"]
    ]
    assert max(b[2] for b in small) <= 0.12 * truth["width"]
    with FaceDetector(model_range="short") as short:
        full_hits = short_hits = 0
        for image, box in zip(frames, small):
            full_hits += any(iou(box, d.box) > 0.4 for d in detector.detect(image))
            short_hits += any(iou(box, d.box) > 0.4 for d in short.detect(image))
    assert full_hits >= 0.95 * len(frames)
    assert short_hits < 0.5 * len(frames)


def test_frame_filling_face(detector):
    """A face wider than the frame is tall (webcam close-up) is still found."""
    image = read_photo("astronaut.png")
    (face,) = detector.detect(image)
    x, y, w, h = face.box
    height, width = 480, 640
    scale = 1.2 * height / w  # face box 20% taller than the frame
    cx, cy = x + w / 2, y + h / 2
    matrix = np.float32([[scale, 0, width / 2 - cx * scale], [0, scale, height / 2 - cy * scale]])
    close_up = cv2.warpAffine(image, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
    found = detector.detect(close_up)
    assert len(found) == 1
    bx, by, bw, bh = found[0].box
    assert 0 <= bx and 0 <= by and bx + bw <= width + 1e-6 and by + bh <= height + 1e-6
    assert bw > 0.6 * width  # clipped to the frame, but clearly the big face
    assert bx < width / 2 < bx + bw and by < height / 2 < by + bh


def test_no_face_and_closed_detector():
    image = read_clip("astronaut_motion.mp4")[75]  # a frame without a face
    detector = FaceDetector(min_score=0.5)
    assert detector.detect(image) == []
    detector.close()
    with pytest.raises(RuntimeError):
        detector.detect(image)
    with pytest.raises(ValueError):
        FaceDetector(min_score=1.5)


# ---------------------------------------------------------------- landmarks


@pytest.mark.parametrize("photo", PHOTOS)
def test_five_points_agree_with_face_mesh(detector, landmarks, photo):
    """The 468-point mesh's five points agree with those of an independent network, the Face
    Landmarker's 478-point mesh, run on the ROI it gives itself (as when tracking)."""
    image = read_photo(photo)
    detection = detector.detect(image)[0]
    points = landmarks.locate(image, detection)
    assert points.shape == (5, 2) and points.dtype == np.float32

    mesh = FaceMesh478()
    try:
        first, _ = mesh.run(image, roi_matrix(detection, 256))
        ref_mesh, presence = mesh.run(image, roi_from_landmarks(first, 256))
    finally:
        mesh.close()
    assert presence > 0.9
    reference = five_from_mesh(ref_mesh[:468, :2])
    errors = np.linalg.norm(points - reference, axis=1)
    assert errors.max() < 0.03 * detection.box[2], errors  # two networks: within 3% of the face width
    # Layout: eyes above nose above mouth; "left" is image left.
    assert points[0, 0] < points[1, 0] and points[3, 0] < points[4, 0]
    assert points[:2, 1].max() < points[2, 1] < points[3:, 1].min()


def test_landmarks_follow_rotation(detector, landmarks):
    """The ROI is rotated by the eye keypoints: points of a rotated photo are the rotated
    points of the photo."""
    image = read_photo("astronaut.png")
    points = landmarks.locate(image, detector.detect(image)[0])
    centre = tuple(points[:2].mean(axis=0))
    rotation = cv2.getRotationMatrix2D(centre, 25.0, 1.0)
    rotated = cv2.warpAffine(image, rotation, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
    found = detector.detect(rotated)
    assert len(found) == 1
    moved = landmarks.locate(rotated, found[0])
    expected = points @ rotation[:, :2].T + rotation[:, 2]
    assert np.linalg.norm(moved - expected, axis=1).max() < 4.0


# ---------------------------------------------------------------- crops


@pytest.mark.parametrize("photo", PHOTOS)
def test_aligned_crop_puts_eyes_on_template(detector, landmarks, photo):
    image = read_photo(photo)
    points = landmarks.locate(image, detector.detect(image)[0])
    size = (112, 112)
    matrix = aligned_matrix(points, size)
    mapped = points @ matrix[:, :2].T + matrix[:, 2]
    eye_error = np.linalg.norm(mapped[:2] - ALIGNED_TEMPLATE_112[:2], axis=1)
    assert eye_error.max() < 4.0, eye_error

    crop = crop_aligned(image, points, size)
    assert crop.shape == (112, 112, 3) and crop.dtype == np.uint8
    # Independently: find the face again in an aligned crop (zoomed out, as the detector
    # wants some context around a face) and compare its eyes with the template's.
    wide_size, margin = (224, 224), 1.0
    wide = crop_aligned(image, points, wide_size, margin=margin)
    found = detector.detect(wide)
    assert len(found) == 1
    again = landmarks.locate(wide, found[0])
    template = aligned_template(wide_size, margin)
    assert np.linalg.norm(again[:2] - template[:2], axis=1).max() < 4.5


def test_aligned_template_scales_with_size():
    assert np.allclose(aligned_template((112, 112)), ALIGNED_TEMPLATE_112)
    assert np.allclose(aligned_template((224, 224)), ALIGNED_TEMPLATE_112 * 2)
    wide = aligned_template((160, 112))  # same scale, centred horizontally
    assert np.allclose(wide, ALIGNED_TEMPLATE_112 + [24, 0])
    zoomed_out = aligned_template((112, 112), margin=1.0)
    assert np.allclose(zoomed_out, 56 + (ALIGNED_TEMPLATE_112 - 56) / 2)


def test_box_crop_matches_plain_resize_and_keeps_bgr():
    image = read_photo("astronaut.png")

    def crop_and_plain(x: int, y: int, side: int, size: int, interp: int):
        crop = crop_box(image, (float(x), float(y), float(side), float(side)), (size, size))
        assert crop.shape == (size, size, 3) and crop.dtype == np.uint8
        plain = cv2.resize(image[y : y + side, x : x + side], (size, size), interpolation=interp)
        return crop.astype(int), plain

    # Integer boxes and scales: the same pixels as slicing + cv2.resize.
    crop, plain = crop_and_plain(96, 32, 384, 96, cv2.INTER_AREA)  # 4x smaller
    assert np.abs(crop - plain).mean() < 0.5
    crop, plain = crop_and_plain(170, 60, 100, 200, cv2.INTER_LINEAR)  # 2x larger
    assert np.abs(crop - plain).mean() < 0.5
    # A 4.7x reduction: area-filtered, so far closer to INTER_AREA than bilinear sampling.
    crop, plain = crop_and_plain(100, 40, 300, 64, cv2.INTER_AREA)
    bilinear = cv2.warpAffine(image, box_matrix((100, 40, 300, 300), (64, 64)), (64, 64))
    assert np.abs(crop - plain).mean() < 0.7 * np.abs(bilinear.astype(int) - plain).mean()

    # A rectangular box: square side from its long edge, output size (width, height).
    crop = crop_box(image, (200.0, 100.0, 60.0, 100.0), (96, 112), margin=0.0)
    assert crop.shape == (112, 96, 3)

    coloured = np.zeros((100, 100, 3), np.uint8)
    coloured[:, :50] = (255, 0, 0)  # blue in BGR
    coloured[:, 50:] = (0, 0, 255)  # red
    crop = crop_box(coloured, (20.0, 20.0, 60.0, 60.0), (60, 60))
    assert (crop[:, :25] == (255, 0, 0)).all() and (crop[:, 35:] == (0, 0, 255)).all()


def test_box_crop_pads_outside_with_black():
    image = np.full((200, 300, 3), 200, np.uint8)
    box = (-40.0, -20.0, 100.0, 100.0)  # 40 px left and 20 px above the frame
    for margin in (0.0, 0.2):
        crop = crop_box(image, box, (112, 112), margin)
        side = 100 * (1 + margin)
        left = (-40 + 50 - side / 2) * -112 / side  # crop columns that lie left of x = 0
        top = (-20 + 50 - side / 2) * -112 / side
        cols, rows = int(math.floor(left)), int(math.floor(top))
        assert (crop[:, : cols - 1] == 0).all() and (crop[: rows - 1] == 0).all()
        assert (crop[rows + 1 :, cols + 1 :] == 200).all()
    assert (crop_box(image, (500.0, 500.0, 50.0, 50.0), (32, 32)) == 0).all()


def test_box_matrix_maps_box_onto_crop():
    matrix = box_matrix((10.0, 30.0, 40.0, 80.0), (112, 112), margin=0.5)
    side = 80 * 1.5
    corners = np.array([[30 - side / 2, 70 - side / 2], [30 + side / 2, 70 + side / 2]])
    # The matrix works on pixel indices (pixel centres at integers): the continuous corners
    # (index - 0.5) land on the crop's outer edges, -0.5 and 111.5.
    mapped = (corners - 0.5) @ matrix[:, :2].T + matrix[:, 2]
    assert np.allclose(mapped, [[-0.5, -0.5], [111.5, 111.5]])


def test_crop_style_and_make_crop(detector, landmarks):
    image = read_photo("grace_hopper.jpg")
    face = detector.detect(image)[0]
    box_style = CropStyle("box", (112, 112), margin=0.1)
    assert make_crop(image, face, box_style).shape == (112, 112, 3)
    aligned = CropStyle("aligned", (96, 112))
    assert make_crop(image, face, aligned, landmarks).shape == (112, 96, 3)
    with pytest.raises(ValueError):
        make_crop(image, face, aligned, None)
    for bad in (("oval", (112, 112), 0.0), ("box", (0, 112), 0.0), ("box", (112, 112), -0.5)):
        with pytest.raises(ValueError):
            CropStyle(*bad)
    with pytest.raises(Exception):
        box_style.margin = 0.3  # frozen


# ---------------------------------------------------------------- the capture-side stage


def test_face_stage_on_three_faces(clips_truth):
    frames = read_clip("three_faces.mp4")
    truth = clips_truth["three_faces.mp4"]["frames"]
    with FaceStage(CropStyle("box", (112, 112)), max_faces=2) as stage:
        ids = set()
        for index in range(10):
            faces, ended, timings = stage.process(Frame(index, index / 30, frames[index]))
            assert set(timings) == {"detect", "reid", "align"} and all(v >= 0 for v in timings.values())
            assert ended == ()
            assert len(faces) == 2 and all(isinstance(f, TrackedFace) for f in faces)
            areas = [f.detection.box[2] * f.detection.box[3] for f in faces]
            assert areas[0] >= areas[1]
            # The two largest ground-truth faces, in order.
            expected = sorted(truth[index]["faces"], key=lambda f: -f["box"][2])[:2]
            assert all(iou(e["box"], f.detection.box) > 0.4 for e, f in zip(expected, faces))
            assert all(f.crop.shape == (112, 112, 3) and f.crop.dtype == np.uint8 for f in faces)
            assert all(f.new_track == (index == 0) for f in faces)
            ids.update(f.face_id for f in faces)
        assert len(ids) == 2

        stage.set_max_faces(3)
        stage.set_style(CropStyle("aligned", (112, 112)))
        faces, _, timings = stage.process(Frame(10, 10 / 30, frames[10]))
        assert len(faces) == 3 and sum(f.new_track for f in faces) == 1
        assert all(f.crop.shape == (112, 112, 3) for f in faces)

        ended = stage.reset()
        assert sorted(ended) == sorted(f.face_id for f in faces)
        faces, _, _ = stage.process(Frame(11, 11 / 30, frames[11]))
        assert all(f.new_track and f.face_id > max(ended) for f in faces)
        with pytest.raises(ValueError):
            stage.set_max_faces(0)
    with pytest.raises(RuntimeError):
        stage.process(Frame(12, 12 / 30, frames[12]))


def test_detection_record_is_what_types_declare(detector):
    face = detector.detect(read_photo("astronaut.png"))[0]
    assert isinstance(face, Detection)
    assert all(isinstance(v, float) for v in face.box) and isinstance(face.score, float)
