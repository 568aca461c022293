"""Faces: detection and landmarks (MediaPipe's models, shipped in models/), crops, tracking, actions.

Modules, one job each:
    detector   FaceDetector: BlazeFace boxes + 6 keypoints
    landmarks  FiveLandmarks: 5 points from the face mesh model, for aligned crops
    align      CropStyle, crop_box, crop_aligned, make_crop
    tracker    FaceTracker: stable ids across frames (pure numpy)
    descriptor FaceDescriptor: 128-d face descriptors (face-api's FaceRecognitionNet)
    identity   Identities: a returning face gets its id back (session gallery)
    capture    FaceStage: the per-frame stage the capture thread runs
    face_mesh  FaceMesh478, Blendshapes, MeshPool: MediaPipe Face Landmarker's models
    landmark_tracking  when the detector runs; faces followed from their landmarks
    pose       head pose and gaze from the 478 points
    actions    ActionStage: blendshapes, pose, gaze on the inference thread
    model_files  the shipped face model files (models/mediapipe-face, models/face-landmarker) and their checks

Names are re-exported lazily so that importing the (pure numpy) tracker does not load OpenCV.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FaceDetector": "detector",
    "FiveLandmarks": "landmarks",
    "CropStyle": "align",
    "crop_box": "align",
    "crop_aligned": "align",
    "make_crop": "align",
    "ALIGNED_TEMPLATE_112": "align",
    "FaceTracker": "tracker",
    "FaceDescriptor": "descriptor",
    "Identities": "identity",
    "FaceStage": "capture",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
