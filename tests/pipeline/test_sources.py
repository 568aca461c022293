"""Frame sources on real files, and every bad-input path."""

from __future__ import annotations

import shutil

import cv2
import pytest

from affect_live.pipeline.sources import SourceError, open_source
from tests.conftest import CLIPS, IMAGES


def test_video_file_frames_carry_index_and_container_time(clips_truth):
    truth = clips_truth["two_faces.mp4"]
    with open_source(str(CLIPS / "two_faces.mp4")) as source:
        frames = list(source.frames())
        assert source.ended_early is None
    assert source.info.kind == "video" and source.info.frame_count == truth["frame_count"]
    assert [f.index for f in frames] == list(range(truth["frame_count"]))
    times = [f.time_s for f in frames]
    assert times[0] == pytest.approx(0.0, abs=1e-6)
    assert all(b > a for a, b in zip(times, times[1:]))
    assert times[30] == pytest.approx(30 / truth["fps"], abs=1e-3)
    assert frames[0].image.shape == (truth["height"], truth["width"], 3)


def test_image_folder_in_natural_order(tmp_path):
    image = cv2.imread(str(IMAGES / "astronaut.png"))
    for n in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"frame{n}.png"), cv2.resize(image, (64 * n, 64)))
    (tmp_path / "notes.txt").write_text("not an image")
    with open_source(str(tmp_path)) as source:
        widths = [f.image.shape[1] for f in source.frames()]
    assert widths == [64, 128, 640] and source.info.kind == "images"


def test_single_image_is_one_frame():
    with open_source(str(IMAGES / "grace_hopper.jpg")) as source:
        assert len(list(source.frames())) == 1


def truncated_avi(tmp_path):
    """The fixture clip re-encoded as MJPG AVI (readable without its index), cut in half."""
    capture = cv2.VideoCapture(str(CLIPS / "astronaut_motion.mp4"))
    full = tmp_path / "full.avi"
    writer = cv2.VideoWriter(str(full), cv2.VideoWriter_fourcc(*"MJPG"), 30, (640, 480))
    ok, image = capture.read()
    while ok:
        writer.write(image)
        ok, image = capture.read()
    writer.release()
    cut = tmp_path / "cut.avi"
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    return cut


def test_truncated_video_reads_what_it_can_and_says_so(tmp_path):
    with open_source(str(truncated_avi(tmp_path))) as source:
        frames = list(source.frames())
    assert source.info.frame_count == 120
    assert 0 < len(frames) < 120
    assert source.ended_early == f"{source.info.name} ended early: read {len(frames)} of 120 frames (truncated or damaged file)"


def test_truncated_mp4_without_index_fails_clearly(tmp_path):
    data = (CLIPS / "astronaut_motion.mp4").read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])  # mp4v files keep their index at the end: it is lost
    with pytest.raises(SourceError, match="cut.mp4 is not a video OpenCV can read"):
        open_source(str(cut))


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda tmp: tmp / "missing.mp4", "no such file"),
        (lambda tmp: (tmp / "notes.mp4").write_text("hello") and tmp / "notes.mp4", "not a video"),
        (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "no images"),
        (lambda tmp: "7", "camera 7 could not be opened"),
    ],
)
def test_bad_sources_fail_with_one_line(tmp_path, make, fragment):
    with pytest.raises(SourceError) as info:
        open_source(str(make(tmp_path)))
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_copied_clip_is_still_readable(tmp_path):
    copy = tmp_path / "clip with spaces.mp4"
    shutil.copy(CLIPS / "two_faces.mp4", copy)
    with open_source(str(copy)) as source:
        assert source.info.frame_count == 90


@pytest.mark.parametrize("bad", [0, 2, 4])
def test_an_unreadable_image_is_skipped_wherever_it_sorts(tmp_path, bad):
    image = cv2.imread(str(IMAGES / "astronaut.png"))
    for n in range(5):
        cv2.imwrite(str(tmp_path / f"frame{n}.png"), image)
    (tmp_path / f"frame{bad}.png").write_bytes(b"\x89PNG but cut short")
    with open_source(str(tmp_path)) as source:
        indices = [f.index for f in source.frames()]
    assert indices == [n for n in range(5) if n != bad]
    assert (source.info.width, source.info.height) == (image.shape[1], image.shape[0])
    assert [(s.file, s.reason) for s in source.skipped] == [(str(tmp_path / f"frame{bad}.png"), "not an image OpenCV can decode (damaged or another format)")]
    assert source.ended_early.startswith("1 of 5 images")


def test_a_folder_of_only_unreadable_images_is_one_line(tmp_path):
    for n in range(2):
        (tmp_path / f"frame{n}.png").write_bytes(b"")
    with pytest.raises(SourceError) as info:
        open_source(str(tmp_path))
    assert str(info.value) == f"none of the 2 images in {tmp_path} can be read (empty file)"
