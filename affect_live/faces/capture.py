"""The per-frame face stage the capture thread runs: detect, keep the largest faces, track,
crop; with actions on, also the 478-point mesh of every face, which then also tracks the faces
(faces/landmark_tracking.py) so that the detector runs only now and then; re-identify (a
returning person gets their face id back, faces/identity.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from affect_live.errors import BundleError
from affect_live.faces.align import CropStyle, crop_aligned, make_crop
from affect_live.faces.descriptor import FaceDescriptor
from affect_live.faces.detector import FaceDetector
from affect_live.faces.face_mesh import MeshPool, roi_from_landmarks
from affect_live.faces.identity import Identities
from affect_live.faces.landmark_tracking import (
    DETECT_EVERY,
    MIN_PRESENCE,
    LandmarkTracking,
    MeshedFace,
    detected,
    drop_duplicates,
    followed,
    match_detections,
)
from affect_live.faces.landmarks import FiveLandmarks, five_from_mesh, roi_matrix
from affect_live.faces.tracker import FaceTracker
from affect_live.types import Detection, Frame, TrackedFace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MeshedFrame:
    """A frame's faces between ``FaceStage.track`` and ``FaceStage.finish``: meshed and
    tracked, not yet re-identified or cropped."""

    image: np.ndarray
    style: CropStyle
    assigned: list[tuple[int, Detection, bool]]  # the tracker's (track id, detection, new)
    ended: list[int]
    faces: list[MeshedFace]
    timings: dict[str, float]


class FaceStage:
    """Turns a ``Frame`` into tracked faces with model-ready crops.

    ``process`` (or ``track``), ``reset`` and ``close`` must be called from one thread (the
    capture thread): the TFLite interpreters are not thread-safe. With actions ``process`` is
    ``finish(track(frame))``, and ``finish`` may run on one other thread, every frame in order.
    ``set_max_faces`` and ``set_style`` may be called from another thread (the UI); they only
    replace an attribute that ``process`` reads once per frame.
    """

    def __init__(
        self,
        style: CropStyle,
        max_faces: int = 4,
        min_score: float = 0.5,
        max_missed: int = 10,
        actions: bool = False,
        detect_every: int = DETECT_EVERY,
        reid: bool = True,
    ) -> None:
        # Interpreters are created by the first `process` call, on the thread that runs them.
        self._detector: FaceDetector | None = None
        self._min_score = min_score
        self._closed = False
        self._tracker = FaceTracker(max_missed=max_missed)
        self._landmarks: FiveLandmarks | None = None
        # With actions: the 478-point meshes, and the faces followed from them (by tracker id).
        self.actions = actions
        self.tracking = LandmarkTracking(detect_every)
        self._meshes: MeshPool | None = None
        self._followed: dict[int, MeshedFace] = {}
        self._searching = False  # a face id is in the tracker's grace period
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

    def set_actions(self, on: bool) -> None:
        """Measure the facial actions (meshes) or not, from the next frame; on the capture
        thread only (the faces followed by their meshes are dropped: the tracker keeps the ids)."""
        if on != self.actions:
            self.actions = on
            self._followed = {}
            self._searching = False
            self.tracking.reset()

    def set_style(self, style: CropStyle) -> None:
        """Switch the crop (a different model was loaded); applies from the next frame."""
        self._style = style

    def _ready(self) -> tuple[CropStyle, int]:
        """The detector made (on the calling thread) and this frame's crop style and face
        limit, read once so that the whole frame uses one of each."""
        if self._closed:
            raise RuntimeError("FaceStage is closed")
        if self._detector is None:
            self._detector = FaceDetector(min_score=self._min_score)
        return self._style, self._max_faces

    def process(
        self, frame: Frame
    ) -> tuple[tuple[TrackedFace, ...], tuple[int, ...], dict[str, float]]:
        """Faces of one frame: (tracked faces, ids whose tracks ended, stage times in ms).

        Faces come largest first. "detect" covers detection and tracking, "align" the
        landmarks (aligned styles only) and the crops; with actions, "mesh" the 478-point
        meshes, and "detector_runs" is 1 on frames where the detector ran, else 0 (a count,
        so that its mean over a recording is the detector runs per frame).
        """
        if self.actions:
            return self.finish(self.track(frame))
        style, max_faces = self._ready()
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

    def track(self, frame: Frame) -> MeshedFrame:
        """The first half of ``process`` with actions (``finish`` is the second): follow known
        faces by their landmarks, detect only when due, mesh new faces, track. Everything that
        decides the next frame's regions happens here, so ``finish`` may lag behind."""
        style, max_faces = self._ready()
        image = frame.image
        if self._meshes is None:  # created here, on the thread that will use it
            self._meshes = MeshPool()
        size = self._meshes.input_size
        start = time.perf_counter()
        previous = list(self._followed.values())
        results = self._meshes.run_many(image, [roi_from_landmarks(f.points, size) for f in previous])
        faces = [
            followed(points, presence, face.calibration, face.detection.score)
            for face, (points, presence) in zip(previous, results)
            if presence >= MIN_PRESENCE
        ]
        meshed = time.perf_counter()
        mesh_s, detect_s = meshed - start, 0.0
        ran = self.tracking.detector_due(len(previous), len(faces) < len(previous), self._searching)
        if ran:
            detections = self._detector.detect(image)
            pairs, new = match_detections(faces, detections)
            for f, d in pairs.items():
                faces[f] = detected(faces[f].points, faces[f].presence, detections[d])
            fresh = [detections[d] for d in new][:max_faces]
            found = time.perf_counter()
            results = self._meshes.run_many(image, [roi_matrix(d, size) for d in fresh])
            faces += [detected(p, s, d) for d, (p, s) in zip(fresh, results) if s >= MIN_PRESENCE]
            detect_s, mesh_s = found - meshed, mesh_s + time.perf_counter() - found
        faces = sorted(drop_duplicates(faces), key=lambda f: -f.detection.box[2] * f.detection.box[3])[:max_faces]
        tracked = time.perf_counter()
        assigned, ended = self._tracker.update([f.detection for f in faces])
        self._followed = {track_id: face for (track_id, _, _), face in zip(assigned, faces)}
        self._searching = len(self._tracker.live_ids) > len(assigned)
        self.tracking.count(ran, len(ended))
        updated = time.perf_counter()
        timings = {
            "detect": (detect_s + updated - tracked) * 1e3,  # detector and tracker, as without actions
            "mesh": mesh_s * 1e3,
            "detector_runs": float(ran),
        }
        return MeshedFrame(image, style, assigned, ended, faces, timings)

    def finish(self, meshed: MeshedFrame) -> tuple[tuple[TrackedFace, ...], tuple[int, ...], dict[str, float]]:
        """The second half of ``process`` with actions: re-identification and the crops.

        May run on another thread than ``track`` (the pipeline's inference thread, for files),
        in frame order: it reads only ``meshed`` and the re-identification state, which
        ``track`` never touches (its descriptor model has one interpreter per thread)."""
        start = time.perf_counter()
        image, style, assigned, ended = meshed.image, meshed.style, meshed.assigned, meshed.ended
        if self._identities is not None:
            assigned, ended = self._identities.resolve(image, assigned, ended)
        identified = time.perf_counter()
        out = tuple(
            TrackedFace(
                face_id=face_id,
                detection=detection,
                crop=crop_aligned(image, five_from_mesh(face.points), style.size, style.margin)
                if style.kind == "aligned"
                else make_crop(image, detection, style),
                new_track=is_new,
                landmarks=face.points,
                landmark_score=face.presence,
            )
            for (face_id, detection, is_new), face in zip(assigned, meshed.faces)
        )
        timings = dict(meshed.timings, align=(time.perf_counter() - identified) * 1e3)
        if self._identities is not None:
            timings["reid"] = (identified - start) * 1e3
        return out, tuple(ended), timings

    def reset(self) -> tuple[int, ...]:
        """Forget all tracks (a new source or a seek) and the people seen; returns the ids that
        ended."""
        self._followed = {}
        self._searching = False
        self.tracking.reset()
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
        if self._meshes is not None:
            self._meshes.close()
        # The descriptor stays: ``finish`` may still run on another thread (its interpreters
        # are per thread and go with their threads).
        self._detector = self._landmarks = self._meshes = None
        self._closed = True

    def __enter__(self) -> FaceStage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
