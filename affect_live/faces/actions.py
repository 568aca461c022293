"""The inference side's part of the facial actions: blendshapes, head pose and gaze from the
mesh the capture side found (TrackedFace.landmarks) into TrackedFace.actions. Running these
here, not on the capture thread, spreads the per-face work over both threads."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from affect_live.faces.face_mesh import Blendshapes
from affect_live.faces.landmarker_files import canonical_face
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
        if self._blendshapes is None or self._pose is None:
            self._blendshapes, self._pose = Blendshapes(), PoseEstimator(canonical_face())
        yaw, pitch, roll, gaze_yaw, gaze_pitch = self._pose.estimate(points)
        return FaceActions(yaw, pitch, roll, gaze_yaw, gaze_pitch, self._blendshapes.run(points), points, presence)

    def complete(self, packet: FacePacket) -> FacePacket:
        """The packet with every meshed face's actions; "actions" ms in its stage times."""
        if not any(face.landmarks is not None for face in packet.faces):
            return packet
        started = time.perf_counter()
        faces = tuple(
            replace(face, actions=self.measure(face.landmarks, face.landmark_score)) if face.landmarks is not None else face
            for face in packet.faces
        )
        stage_ms = dict(packet.stage_ms, actions=(time.perf_counter() - started) * 1e3)
        return replace(packet, faces=faces, stage_ms=stage_ms)

    def close(self) -> None:
        if self._blendshapes is not None:
            self._blendshapes.close()
        self._blendshapes = None
