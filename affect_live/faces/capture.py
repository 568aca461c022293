"""The per-frame face stage the capture thread runs: detect, keep the largest faces, track,
re-identify, crop."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np

from affect_live.faces.align import CropStyle, make_crop
from affect_live.faces.descriptor import FaceDescriptor
from affect_live.faces.detector import FaceDetector
from affect_live.faces.identity import Identities
from affect_live.faces.landmarks import FiveLandmarks
from affect_live.faces.tracker import FaceTracker
from affect_live.model.manifest import BundleError
from affect_live.types import Detection, Frame, TrackedFace

logger = logging.getLogger(__name__)


class FaceStage:
    """Turns a ``Frame`` into tracked faces with model-ready crops.

    ``process``, ``reset`` and ``close`` must be called from one thread (the capture thread):
    the TFLite interpreters are not thread-safe. ``set_max_faces`` and ``set_style`` may be
    called from another thread (the UI); they only replace an attribute that ``process``
    reads once per frame.
    """

    def __init__(
        self,
        style: CropStyle,
        max_faces: int = 4,
        min_score: float = 0.5,
        max_missed: int = 10,
        reid: bool = True,
    ) -> None:
        # Interpreters are created by the first `process` call, on the thread that runs them.
        self._detector: FaceDetector | None = None
        self._min_score = min_score
        self._closed = False
        self._tracker = FaceTracker(max_missed=max_missed)
        self._landmarks: FiveLandmarks | None = None
        # Re-identification (faces/identity.py). The descriptor model's file is checked now (a
        # bad one turns re-identification off with one error line); interpreters come later,
        # on the thread that runs them.
        self._identities: Identities | None = None
        self._descriptor: FaceDescriptor | None = None
        if reid:
            try:
                self._descriptor = FaceDescriptor()
                self._identities = Identities(self._describe)
            except BundleError as exc:
                logger.error("re-identification is off: %s", exc)
        self._style = style
        self._max_faces = 1
        self.set_max_faces(max_faces)

    @property
    def style(self) -> CropStyle:
        return self._style

    @property
    def max_faces(self) -> int:
        return self._max_faces

    def set_max_faces(self, n: int) -> None:
        """Analyse at most ``n`` faces per frame (the largest ones)."""
        if int(n) < 1:
            raise ValueError(f"max_faces must be >= 1, got {n}")
        self._max_faces = int(n)

    def set_style(self, style: CropStyle) -> None:
        """Switch the crop (a different model was loaded); applies from the next frame."""
        self._style = style

    def process(
        self, frame: Frame
    ) -> tuple[tuple[TrackedFace, ...], tuple[int, ...], dict[str, float]]:
        """Faces of one frame: (tracked faces, ids whose tracks ended, stage times in ms).

        Faces come largest first. "detect" covers detection and tracking, "align" the
        landmarks (aligned styles only) and the crops.
        """
        if self._closed:
            raise RuntimeError("FaceStage is closed")
        if self._detector is None:
            self._detector = FaceDetector(min_score=self._min_score)
        style, max_faces = self._style, self._max_faces  # one consistent read per frame
        image = frame.image

        start = time.perf_counter()
        detections = self._detector.detect(image)[:max_faces]
        assigned, ended = self._tracker.update(detections)
        detected = time.perf_counter()
        if self._identities is not None:
            assigned, ended = self._identities.resolve(image, assigned, ended)
        identified = time.perf_counter()

        landmarks = None
        if style.kind == "aligned":
            if self._landmarks is None:  # created here, on the thread that will use it
                self._landmarks = FiveLandmarks()
            landmarks = self._landmarks
        faces = tuple(
            TrackedFace(
                face_id=face_id,
                detection=detection,
                crop=make_crop(image, detection, style, landmarks),
                new_track=is_new,
            )
            for face_id, detection, is_new in assigned
        )
        aligned = time.perf_counter()
        timings = {"detect": (detected - start) * 1e3, "align": (aligned - identified) * 1e3}
        if self._identities is not None:
            timings["reid"] = (identified - detected) * 1e3
        return faces, tuple(ended), timings

    def reset(self) -> tuple[int, ...]:
        """Forget all tracks (a new source or a seek) and the people seen; returns the ids that
        ended."""
        ended = self._tracker.reset()
        return tuple(self._identities.reset(ended) if self._identities is not None else ended)

    @property
    def identities(self) -> Identities | None:
        """The re-identification state (None when it is off), for its counters."""
        return self._identities

    def _describe(self, image: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        if self._descriptor is None:
            raise RuntimeError("FaceStage is closed")
        return self._descriptor.describe(image, detections)

    def close(self) -> None:
        """Free the models; ``process`` raises afterwards."""
        if self._detector is not None:
            self._detector.close()
        if self._landmarks is not None:
            self._landmarks.close()
        self._detector = self._landmarks = self._descriptor = None
        self._closed = True

    def __enter__(self) -> FaceStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
