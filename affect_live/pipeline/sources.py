"""Frame sources: camera index, video file, folder of images, or a stream URL OpenCV opens.

Each frame carries its index and a timestamp: container time for files, seconds on the
monotonic clock since the start for cameras and live streams.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from affect_live.types import Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}


class SourceError(RuntimeError):
    """A source that cannot be opened or read; the message is one line for the user."""


@dataclass(frozen=True)
class SourceInfo:
    name: str  # what the user gave: a path, a URL or a camera index
    kind: str  # "camera", "video", "images" or "stream"
    fps: float
    frame_count: int | None  # None when unknown (cameras, streams)
    width: int
    height: int


@dataclass(frozen=True)
class SkippedFile:
    """An input file passed over (an unreadable image of a folder), and why."""

    file: str
    reason: str


class FrameSource:
    """Iterate `frames()` once; afterwards `ended_early` says whether a file was cut short and
    `skipped` which files were passed over."""

    info: SourceInfo
    ended_early: str | None = None

    @property
    def skipped(self) -> list[SkippedFile]:
        return []

    def frames(self) -> Iterator[Frame]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file; safe to call twice."""

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VideoCaptureSource(FrameSource):
    """A video file, camera or stream read through cv2.VideoCapture."""

    def __init__(self, name: str, kind: str, target: str | int) -> None:
        self._capture = cv2.VideoCapture(target)
        if not self._capture.isOpened():
            raise SourceError(_open_failure(name, kind))
        ok, first = self._capture.read()
        if not ok or first is None:
            self._capture.release()
            raise SourceError(f"no frame could be read from {kind} {name}")
        self._first = first
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT)) if kind == "video" else 0
        self.info = SourceInfo(
            name=name,
            kind=kind,
            fps=fps if 0 < fps < 1000 else 30.0,
            frame_count=count if count > 0 else None,
            width=first.shape[1],
            height=first.shape[0],
        )

    def _timestamp(self, index: int, started: float) -> float:
        if self.info.kind == "video":
            position_ms = self._capture.get(cv2.CAP_PROP_POS_MSEC)
            # Some containers report no position; fall back to the nominal frame rate.
            return position_ms / 1000.0 if position_ms > 0 or index == 0 else index / self.info.fps
        return time.monotonic() - started

    def frames(self) -> Iterator[Frame]:
        started = time.monotonic()
        image, index = self._first, 0
        while image is not None:
            yield Frame(index, self._timestamp(index, started), image)
            ok, image = self._capture.read()
            if not ok:
                image = None
            index += 1
        self._note_end(index)

    def _note_end(self, frames_read: int) -> None:
        name, kind, expected = self.info.name, self.info.kind, self.info.frame_count
        if kind == "camera":
            self.ended_early = f"camera {name} stopped delivering frames (unplugged or in use?)"
        elif kind == "stream":
            self.ended_early = f"stream {name} ended or was interrupted after {frames_read} frames"
        elif expected is not None and frames_read < expected - 1:
            # Containers may over-state the count by one; more than that is a damaged file.
            self.ended_early = f"{name} ended early: read {frames_read} of {expected} frames (truncated or damaged file)"

    def close(self) -> None:
        self._capture.release()


def _open_failure(name: str, kind: str) -> str:
    if kind == "camera":
        return f"camera {name} could not be opened (no camera, or it is in use)"
    if kind == "stream":
        return f"stream {name} could not be opened"
    return f"{name} is not a video OpenCV can read (unsupported format or damaged file)"


def _natural_key(path: Path) -> list[object]:
    """frame2.png sorts before frame10.png."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _unreadable_reason(path: Path) -> str:
    """Why OpenCV read no image from `path` (it says nothing itself)."""
    try:
        with open(path, "rb") as handle:
            empty = not handle.read(1)
    except OSError as exc:
        return exc.strerror or str(exc)
    return "empty file" if empty else "not an image OpenCV can decode (damaged or another format)"


class ImageSequenceSource(FrameSource):
    """Still images as frames (a folder in natural sort order, or one image), at a nominal rate.

    Unreadable images are passed over wherever they sort, first included (the frame size comes
    from the first readable one), and listed in `skipped` with the reason; frame indices stay
    the images' positions, so a gap shows where one was skipped."""

    def __init__(self, name: str, paths: list[Path], fps: float = 30.0) -> None:
        self._paths = paths
        self._skipped: list[SkippedFile] = []
        self._first: tuple[int, np.ndarray] | None = None
        for index, path in enumerate(paths):
            image = self._read(path)
            if image is not None:
                self._first = (index, image)
                break
        if self._first is None:
            reason = self._skipped[0].reason
            what = f"{paths[0]} is not an image OpenCV can read" if len(paths) == 1 else f"none of the {len(paths)} images in {name} can be read"
            raise SourceError(f"{what} ({reason})")
        first = self._first[1]
        self.info = SourceInfo(name, "images", fps, len(paths), first.shape[1], first.shape[0])

    @property
    def skipped(self) -> list[SkippedFile]:
        return list(self._skipped)

    def _read(self, path: Path) -> np.ndarray | None:
        image = cv2.imread(str(path))
        if image is None:
            self._skipped.append(SkippedFile(str(path), _unreadable_reason(path)))
            log.warning("skipping unreadable image %s: %s", path, self._skipped[-1].reason)
        return image

    def frames(self) -> Iterator[Frame]:
        first = self._first
        assert first is not None
        start, image = first
        self._first = None  # the constructor's image is used once, not kept
        yield Frame(start, start / self.info.fps, image)
        for index in range(start + 1, len(self._paths)):
            image = self._read(self._paths[index])
            if image is not None:
                yield Frame(index, index / self.info.fps, image)
        if self._skipped:
            self.ended_early = f"{len(self._skipped)} of {len(self._paths)} images in {self.info.name} could not be read (the sidecar lists them)"


def open_source(spec: str | int, folder_fps: float = 30.0) -> FrameSource:
    """Open what the user named: a camera index, a stream URL, a folder or a video file."""
    text = str(spec).strip()
    if text.isdigit():
        return VideoCaptureSource(text, "camera", int(text))
    if "://" in text:
        return VideoCaptureSource(text, "stream", text)
    path = Path(text).expanduser()
    if not path.exists():
        raise SourceError(f"no such file or folder: {text}")
    if path.is_dir():
        images = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()), key=_natural_key)
        if not images:
            raise SourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in folder {text}")
        return ImageSequenceSource(text, images, folder_fps)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSequenceSource(text, [path], folder_fps)
    return VideoCaptureSource(text, "video", str(path))


def read_frames(path: Path) -> list[np.ndarray]:
    """Every frame of a (short) video file, decoded into memory: for fixtures and benchmarks."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        ok, image = capture.read()
        while ok:
            frames.append(image)
            ok, image = capture.read()
    finally:
        capture.release()
    return frames


class LoopingVideoSource(FrameSource):
    """A clip (or its first `loop_frames`) played again and again, decoded every time.

    Frame indices and times keep counting across loops, so plots and CSV rows stay ordered.
    Used for the app's demo clip and for benchmarks; `total_frames=None` loops forever.
    """

    def __init__(self, path: Path, total_frames: int | None = None, loop_frames: int | None = None) -> None:
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            raise SourceError(_open_failure(str(path), "video"))
        count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self._loop = loop_frames or count
        if self._loop < 1:
            self._capture.release()
            raise SourceError(f"{path} has no frames")
        self._total = total_frames
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        width, height = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.info = SourceInfo(Path(path).name, "video", fps if 0 < fps < 1000 else 30.0, total_frames, width, height)

    def frames(self) -> Iterator[Frame]:
        index = 0
        while self._total is None or index < self._total:
            if index % self._loop == 0:
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, image = self._capture.read()
            if not ok:
                self.ended_early = f"{self.info.name} could not be read again after {index} frames"
                return
            yield Frame(index, index / self.info.fps, image)
            index += 1

    def close(self) -> None:
        self._capture.release()


class RealTimePlayback(FrameSource):
    """Delivers a file's frames at their own pace (as a camera would), not as fast as decoded.

    After a pause or a stall longer than `resync_s` the clock restarts from the current frame
    instead of racing to catch up.
    """

    def __init__(self, source: FrameSource, resync_s: float = 0.25) -> None:
        self._source = source
        self._resync_s = resync_s
        self.info = source.info

    @property
    def ended_early(self) -> str | None:  # type: ignore[override]
        return self._source.ended_early

    @property
    def skipped(self) -> list[SkippedFile]:
        return self._source.skipped

    def frames(self) -> Iterator[Frame]:
        origin: tuple[float, float] | None = None  # (wall clock, media time) of the reference frame
        for frame in self._source.frames():
            now = time.monotonic()
            if origin is None or now - (origin[0] + frame.time_s - origin[1]) > self._resync_s:
                origin = (now, frame.time_s)
            delay = origin[0] + frame.time_s - origin[1] - now
            if delay > 0:
                time.sleep(delay)
            yield frame

    def close(self) -> None:
        self._source.close()
