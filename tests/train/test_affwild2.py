"""The Aff-Wild2 reader against a generated miniature data set (tests/affwild2_mini.py; the
session's `mini` fixture, conftest.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from affect_live.train.affwild2 import SPLITS, TASKS, AffWild2, DatasetError, LabelledVideo
from tests.helpers.affwild2_mini import TRAIN, VAL, MiniAffWild2, arousal_of, valence_of


@pytest.fixture(scope="session")
def dataset(mini: MiniAffWild2) -> AffWild2:
    return AffWild2(mini.root)


def _by_name(videos: list[LabelledVideo]) -> dict[str, LabelledVideo]:
    return {v.video: v for v in videos}


def test_video_listings_follow_each_task_partition(mini, dataset):
    assert dataset.videos("MTL", TRAIN) == mini.train_videos
    assert dataset.videos("MTL", VAL) == mini.val_videos
    expr, va = dataset.videos("EXPR", TRAIN), dataset.videos("VA", TRAIN)
    # The two task partitions differ: one video only in EXPR_Set, one only in VA_Set.
    assert "7-30-640x480" in expr and "7-30-640x480" not in va
    assert "8-30-640x480" in va and "8-30-640x480" not in expr
    assert sorted(set(expr) & set(va)) == mini.train_videos
    assert expr == sorted(expr)
    assert dataset.image_videos() == sorted(mini.videos)
    with pytest.raises(ValueError, match="unknown task"):
        dataset.videos("AU", TRAIN)
    with pytest.raises(ValueError, match="unknown split"):
        dataset.videos("EXPR", "Test_Set")


@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("split", SPLITS)
def test_labelled_frames_match_the_generator(mini, dataset, task, split):
    videos = dataset.labelled(task, split)
    assert [v.video for v in videos] == dataset.videos(task, split)
    for v in videos:
        truth = mini.videos[v.video]
        assert v.n_frames == truth.n_frames
        assert v.frames.dtype == np.int64
        np.testing.assert_array_equal(v.frames, mini.expected_frames(v.video, task))
        k = v.frames - 1
        if task == "VA":
            assert v.expression is None
        else:
            assert v.expression.dtype == np.int64
            np.testing.assert_array_equal(v.expression, truth.expression[k])
        if task == "EXPR":
            assert v.valence is None and v.arousal is None
        else:
            assert v.valence.dtype == v.arousal.dtype == np.float32
            np.testing.assert_array_equal(v.valence, truth.va[k, 0])
            np.testing.assert_array_equal(v.arousal, truth.va[k, 1])


def test_frame_n_is_line_n_after_header_and_image_n(mini, dataset):
    """Frame n: annotation line n + 1 (1-based, header = line 1), image {n:05d}.jpg, label of image n."""
    for name in ("1-30-640x480", "2-30-1280x720", "video4_right", "9-30-640x480"):
        truth = mini.videos[name]
        split = truth.expr_split
        video = _by_name(dataset.labelled("MTL", split))[name]
        lines = (mini.root / "annotations" / "VA_Set" / split / f"{name}.txt").read_text().splitlines()
        for n, valence, arousal in zip(video.frames, video.valence, video.arousal, strict=True):
            assert [float(x) for x in lines[n].split(",")] == pytest.approx([valence, arousal], abs=1e-6)
            # The label of frame n is the function of how image n was drawn.
            assert valence == pytest.approx(valence_of(int(truth.expression[n - 1]), truth.tilt[n - 1]), abs=1e-6)
            assert arousal == pytest.approx(arousal_of(int(truth.expression[n - 1]), truth.shift[n - 1, 1]), abs=1e-6)
        # Image n on disk is the render of frame n, not of its neighbours (per-frame jitter).
        path = dataset.image_path(name, 7)
        assert path == mini.root / "cropped_aligned" / name / "00007.jpg"
        for n in (int(video.frames[0]), 7, 24, int(video.frames[-1])):
            image = cv2.imread(str(dataset.image_path(name, n))).astype(np.float32)
            neighbours = [k for k in (n - 1, n, n + 1) if 1 <= k <= truth.n_frames]
            errors = {k: np.abs(image - mini.render(name, k)).mean() for k in neighbours}
            assert min(errors, key=errors.get) == n, (name, n, errors)


def test_frames_without_an_image_are_skipped(mini, dataset):
    # Images 1-3 and 20-22 of this video were deleted; their annotation lines stay.
    name = "2-30-1280x720"
    assert dataset.frame_counts(name) == mini.videos[name].n_frames
    images = dataset.image_frames(name)
    assert images[0] == 4 and not {1, 2, 3, 20, 21, 22} & set(images.tolist())
    for task in ("EXPR", "VA", "MTL"):
        frames = _by_name(dataset.labelled(task, TRAIN))[name].frames
        assert frames[0] == 4 and not {1, 2, 3, 20, 21, 22} & set(frames.tolist())
    # Images past the annotation length are ignored; stray files in the folder are not frames.
    extra = "3-25-640x360"
    n_frames = mini.videos[extra].n_frames
    assert dataset.image_frames(extra)[-1] == n_frames + 2
    assert _by_name(dataset.labelled("VA", TRAIN))[extra].frames[-1] == n_frames
    assert (mini.root / "cropped_aligned" / "1-30-640x480" / "Thumbs.db").exists()
    full = np.arange(1, mini.videos["1-30-640x480"].n_frames + 1)
    np.testing.assert_array_equal(dataset.image_frames("1-30-640x480"), full)
    assert dataset.image_frames("no-such-video").size == 0


def test_ignore_labels_are_excluded(mini, dataset):
    name = "1-30-640x480"  # expression -1 on frames 5-7, VA -5 on frames 12-13
    assert dataset.expression_labels(name, TRAIN)[4:7].tolist() == [-1, -1, -1]
    assert (dataset.va_labels(name, TRAIN)[11:13] == -5).all()
    expr = set(_by_name(dataset.labelled("EXPR", TRAIN))[name].frames.tolist())
    va = set(_by_name(dataset.labelled("VA", TRAIN))[name].frames.tolist())
    mtl = set(_by_name(dataset.labelled("MTL", TRAIN))[name].frames.tolist())
    assert not {5, 6, 7} & expr and {12, 13} <= expr
    assert not {12, 13} & va and {5, 6, 7} <= va
    assert mtl == expr & va and not {5, 6, 7, 12, 13} & mtl
    # Arousal alone at -5 already ignores the frame.
    other = "3-25-640x360"
    raw = dataset.va_labels(other, TRAIN)
    assert raw[8, 1] == -5 and -1 <= raw[8, 0] <= 1
    assert 9 not in _by_name(dataset.labelled("VA", TRAIN))[other].frames
    assert 9 in _by_name(dataset.labelled("EXPR", TRAIN))[other].frames


def test_left_and_right_are_separate_videos(mini, dataset):
    videos = _by_name(dataset.labelled("MTL", TRAIN))
    left, right = videos["video4_left"], videos["video4_right"]
    assert "video4" not in videos
    assert mini.videos["video4_left"].crop != mini.videos["video4_right"].crop
    np.testing.assert_array_equal(left.frames, mini.expected_frames("video4_left", "MTL"))
    np.testing.assert_array_equal(right.frames, mini.expected_frames("video4_right", "MTL"))
    assert left.expression[0] != right.expression[0]  # a smiling and a neutral face
    a = cv2.imread(str(dataset.image_path("video4_left", 5)))
    b = cv2.imread(str(dataset.image_path("video4_right", 5)))
    assert np.abs(a.astype(int) - b).mean() > 10


def test_frame_counts(mini, dataset):
    for name, truth in mini.videos.items():
        assert dataset.frame_counts(name) == truth.n_frames, name
    assert dataset.frame_counts("no-such-video") is None


def _annotations_copy(mini: MiniAffWild2, tmp_path: Path, images: bool = False) -> Path:
    """A writable copy of the annotations; crops linked (read-only use) or an empty folder."""
    root = tmp_path / "aw2"
    shutil.copytree(mini.root / "annotations", root / "annotations")
    if images:
        (root / "cropped_aligned").symlink_to(mini.root / "cropped_aligned", target_is_directory=True)
    else:
        (root / "cropped_aligned").mkdir()
    return root


def test_windows_line_endings_header_spelling_and_trailing_blank_lines(mini, dataset, tmp_path):
    root = _annotations_copy(mini, tmp_path, images=True)
    name = "1-30-640x480"
    headers = {"EXPR": "neutral, anger, disgust, fear, happiness, sadness, surprise", "VA": "Valence, Arousal"}
    for task, header in headers.items():
        path = root / "annotations" / f"{task}_Set" / TRAIN / f"{name}.txt"
        lines = path.read_text().splitlines()
        path.write_bytes(("\r\n".join([header, *lines[1:]]) + "\r\n\r\n").encode())
    copy = AffWild2(root)
    np.testing.assert_array_equal(copy.expression_labels(name, TRAIN), dataset.expression_labels(name, TRAIN))
    np.testing.assert_array_equal(copy.va_labels(name, TRAIN), dataset.va_labels(name, TRAIN))
    assert copy.frame_counts(name) == mini.videos[name].n_frames
    np.testing.assert_array_equal(
        _by_name(copy.labelled("MTL", TRAIN))[name].frames, _by_name(dataset.labelled("MTL", TRAIN))[name].frames
    )


def _one_line_error(excinfo: pytest.ExceptionInfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


def test_wrong_root_and_missing_folders(mini, tmp_path):
    with pytest.raises(DatasetError) as excinfo:
        AffWild2(tmp_path / "nowhere")
    message = _one_line_error(excinfo)
    assert "nowhere" in message and "not a folder" in message and "cropped_aligned/<video>/00001.jpg" in message
    (tmp_path / "cropped_aligned").mkdir()
    with pytest.raises(DatasetError) as excinfo:
        AffWild2(tmp_path)
    message = _one_line_error(excinfo)
    assert "missing annotations/" in message and "annotations/{EXPR_Set,VA_Set}" in message
    root = _annotations_copy(mini, tmp_path)
    shutil.rmtree(root / "annotations" / "VA_Set" / VAL)
    with pytest.raises(DatasetError, match=r"annotations/VA_Set/Validation_Set/: missing"):
        AffWild2(root).videos("MTL", VAL)
    missing = r"^annotations/EXPR_Set/Training_Set/8-30-640x480\.txt: annotation file not found$"
    with pytest.raises(DatasetError, match=missing):
        AffWild2(root).expression_labels("8-30-640x480", TRAIN)


def _break_line(root: Path, task: str, video: str, line: int, text: str) -> None:
    path = root / "annotations" / f"{task}_Set" / TRAIN / f"{video}.txt"
    lines = path.read_text().splitlines()
    lines[line - 1] = text
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("task", "line", "text", "expected"),
    [
        ("EXPR", 1, "Neutral,Anger,Disgust,Fear,Happy,Sadness,Surprise", r":1: expected the header 'Neutral,Anger,"),
        ("VA", 1, "arousal,valence", r":1: expected the header 'valence,arousal', got 'arousal,valence'"),
        ("EXPR", 11, "x", r":11: expected an integer -1\.\.6, got 'x'$"),
        ("EXPR", 20, "4.0", r":20: expected an integer -1\.\.6, got '4\.0'$"),
        ("EXPR", 31, "7", r":31: expected an integer -1\.\.6, got '7'$"),
        ("VA", 15, "0.2,1.5", r":15: values must be in \[-1, 1\] or exactly -5 \(ignore\), got '0\.2,1\.5'$"),
        ("VA", 16, "-4,0.1", r":16: values must be in \[-1, 1\]"),
        ("VA", 17, "0.25", r":17: expected 2 values 'valence,arousal', got '0\.25'$"),
        ("VA", 18, "0.1,0.2,0.3", r":18: expected 2 values"),
        ("VA", 19, "0.1,abc", r":19: expected 2 numbers 'valence,arousal', got '0\.1,abc'$"),
        ("VA", 21, "nan,0.1", r":21: values must be in \[-1, 1\]"),
    ],
)
def test_malformed_files_name_file_and_line(mini, tmp_path, task, line, text, expected):
    root = _annotations_copy(mini, tmp_path)
    video = "5-60-1920x1080"
    _break_line(root, task, video, line, text)
    reader = AffWild2(root)
    read = reader.expression_labels if task == "EXPR" else reader.va_labels
    with pytest.raises(DatasetError, match=f"^annotations/{task}_Set/Training_Set/{video}\\.txt{expected}") as excinfo:
        read(video, TRAIN)
    _one_line_error(excinfo)
    with pytest.raises(DatasetError, match=expected):  # the same error reaches whole-split reads
        reader.labelled(task, TRAIN)


def _ccc(x: np.ndarray, y: np.ndarray) -> float:
    cov = ((x - x.mean()) * (y - y.mean())).mean()
    return float(2 * cov / (x.var() + y.var() + (x.mean() - y.mean()) ** 2))


def _macro_f1(truth: np.ndarray, pred: np.ndarray) -> float:
    scores = []
    for c in range(7):
        tp = np.sum((pred == c) & (truth == c))
        denominator = np.sum(pred == c) + np.sum(truth == c)
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores))


def _model_inputs(dataset: AffWild2, model, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x, expression, va = [], [], []
    for v in dataset.labelled("MTL", split):
        crops = [cv2.imread(str(dataset.image_path(v.video, n))) for n in v.frames]
        features, probabilities = model.infer(crops)
        x.append(np.hstack([features, probabilities]))
        expression.append(v.expression)
        va.append(np.stack([v.valence, v.arousal], axis=1))
    return np.vstack(x), np.concatenate(expression), np.vstack(va)


def test_labels_are_learnable_from_the_default_model(dataset, default_bundle):
    """Linear heads on the real per-frame model's [features, probabilities] beat constants on held-back videos."""
    from affect_live.model.inference.frame_model import FrameModel
    model = FrameModel(default_bundle)
    x_train, e_train, va_train = _model_inputs(dataset, model, TRAIN)
    x_val, e_val, va_val = _model_inputs(dataset, model, VAL)
    # Standardise; ReLU units dead on the training faces keep scale 1 instead of exploding.
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    std = np.where(std < 1e-3, 1.0, std)
    z_train, z_val = (x_train - mean) / std, (x_val - mean) / std

    design = np.hstack([z_train, np.ones((len(z_train), 1))])
    weights = np.linalg.solve(design.T @ design + 100.0 * np.eye(design.shape[1]), design.T @ va_train)
    va_pred = np.hstack([z_val, np.ones((len(z_val), 1))]) @ weights
    for i, name in enumerate(("valence", "arousal")):
        ridge = _ccc(va_pred[:, i], va_val[:, i])
        constant = _ccc(np.full(len(va_val), va_train[:, i].mean()), va_val[:, i])  # 0 by definition
        assert ridge > max(0.5, constant + 0.5), f"{name}: ridge CCC {ridge:.3f}, constant {constant:.3f}"

    classes = np.unique(e_train)
    centroids = np.stack([z_train[e_train == c].mean(axis=0) for c in classes])
    e_pred = classes[((z_val[:, None] - centroids[None]) ** 2).sum(axis=-1).argmin(axis=1)]
    majority = np.full_like(e_val, np.bincount(e_train).argmax())
    accuracy, base_accuracy = float((e_pred == e_val).mean()), float((majority == e_val).mean())
    f1, base_f1 = _macro_f1(e_val, e_pred), _macro_f1(e_val, majority)
    assert accuracy > base_accuracy + 0.3, f"accuracy {accuracy:.3f}, majority {base_accuracy:.3f}"
    assert f1 > base_f1 + 0.2, f"macro-F1 {f1:.3f}, majority {base_f1:.3f}"
