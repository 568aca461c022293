"""`analyze --video-out`: a copy of the input with every face drawn by the app's overlay
(affect_live.render.overlay), one output frame per input frame at the input's frame rate."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from affect_live.errors import RecordingError
from affect_live.render.overlay import annotated
from affect_live.types import FrameResult

log = logging.getLogger(__name__)

VIDEO_SUFFIX = ".mp4"  # mp4v: OpenCV's bundled FFmpeg writes it (it has no H.264 encoder)
_FOURCC = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG"}


class AnnotatedVideoWriter:
    """Writes annotated frames; opened on the first frame (its size), raises RecordingError
    (one line) when the file cannot be written."""

    def __init__(self, path: Path, fps: float, prior_heads: bool) -> None:
        self.path = Path(path)
        self.fps = fps
        self.prior_heads = prior_heads
        self.frames = 0
        self._writer: cv2.VideoWriter | None = None
        if self.path.suffix.lower() not in _FOURCC:
            raise RecordingError(f"--video-out {self.path}: use one of {', '.join(sorted(_FOURCC))}")

    def write(self, result: FrameResult) -> None:
        if result.image is None:
            raise RecordingError("internal: the pipeline passed no frame for --video-out")
        if self._writer is None:
            height, width = result.image.shape[:2]
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RecordingError(f"cannot create {self.path.parent}: {exc.strerror}") from None
            fourcc = cv2.VideoWriter_fourcc(*_FOURCC[self.path.suffix.lower()])
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, (width, height))
            if not self._writer.isOpened():
                self._writer = None
                raise RecordingError(f"cannot write the video {self.path}")
        self._writer.write(annotated(result.image, result.predictions, prior_heads=self.prior_heads))
        self.frames += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            log.info("wrote %s: %d frames", self.path, self.frames)
