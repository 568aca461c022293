"""The inference side's part of the facial actions: blendshapes, head pose and gaze from the
mesh the capture side found (TrackedFace.landmarks) into TrackedFace.actions. Running these
here, not on the capture thread, spreads the per-face work over both threads."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from affect_live.faces.face_mesh import Blendshapes
from affect_live.faces.model_files import canonical_face
from affect_live.faces.pose import PoseEstimator
from affect_live.types import FaceActions, FacePacket


class ActionStage:
    """Fills in ``actions`` for every face that carries landmarks; one thread only (its
    interpreter is created by the first packet, on the thread that runs it)."""

    def __init__(self) -> None:
        self._blendshapes: Blendshapes | None = None
        self._pose: PoseEstimator | None = None

    def measure(self, points: np.ndarray, presence: float) -> FaceActions:
        """The actions of one face from its 478 points (x, y in image pixels)."""
        return self._measure(points, presence, {})

    def _measure(self, points: np.ndarray, presence: float, spent: dict[str, float]) -> FaceActions:
        """``measure``, adding the seconds each model took to ``spent``."""
        if self._blendshapes is None or self._pose is None:
            self._blendshapes, self._pose = Blendshapes(), PoseEstimator(canonical_face())
        started = time.perf_counter()
        yaw, pitch, roll, gaze_yaw, gaze_pitch = self._pose.estimate(points)
        posed = time.perf_counter()
        scores = self._blendshapes.run(points)
        spent["pose"] = spent.get("pose", 0.0) + posed - started
        spent["blendshapes"] = spent.get("blendshapes", 0.0) + time.perf_counter() - posed
        return FaceActions(yaw, pitch, roll, gaze_yaw, gaze_pitch, scores, points, presence)

    def complete(self, packet: FacePacket) -> FacePacket:
        """The packet with every meshed face's actions; "blendshapes" and "pose" (pose and
        gaze) ms in its stage times."""
        if not any(face.landmarks is not None for face in packet.faces):
            return packet
        spent: dict[str, float] = {}
        faces = tuple(
            replace(face, actions=self._measure(face.landmarks, face.landmark_score, spent)) if face.landmarks is not None else face
            for face in packet.faces
        )
        stage_ms = dict(packet.stage_ms, **{name: seconds * 1e3 for name, seconds in spent.items()})
        return replace(packet, faces=faces, stage_ms=stage_ms)

    def close(self) -> None:
        if self._blendshapes is not None:
            self._blendshapes.close()
        self._blendshapes = None
