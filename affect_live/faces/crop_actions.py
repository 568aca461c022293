"""Facial actions of an image that is already a face crop (Aff-Wild2's 112x112
`cropped_aligned` frames, the shipped conversion crops): no detector, the crop is the face.

The crop stands for the detection box: the mesh's first ROI is MediaPipe's square around the
whole crop (side 1.5 x the crop, rotation 0: the crops are aligned, eyes level), padded by
replicating the border as MediaPipe's ImageToTensorCalculator does. The mesh found there gives
the ROI MediaPipe itself uses for a tracked face (`roi_from_landmarks`), and the mesh is run
again in it; pose and blendshapes come from that second mesh (ActionStage.measure, the code the
live pipeline uses). On the shipped crops the second pass moved the points by 0.3-1.3 px and
the blendshapes by up to 0.6 (one crop's first-pass presence was 0.51, then 1.00), so it is
worth its cost. A 112x112 crop holds far fewer pixels than the 256x256 mesh input, and faces
cut at the crop's edge are padded, so these actions are less accurate than on a full frame
(docs/actions.md).
"""

from __future__ import annotations

import numpy as np

from affect_live.faces.actions import ActionStage
from affect_live.faces.face_mesh import FaceMesh478, roi_from_landmarks
from affect_live.faces.landmarks import rotated_roi_matrix
from affect_live.types import FaceActions


def crop_roi_matrix(width: int, height: int, input_size: int) -> np.ndarray:
    """MediaPipe's ROI for a detection box covering the whole crop, unrotated."""
    middle = height / 2.0
    return rotated_roi_matrix((0.0, 0.0, float(width), float(height)), np.array([0.0, middle]), np.array([float(width), middle]), input_size)


class CropActions:
    """Mesh, head pose and blendshapes of face crops; one thread only (own interpreters)."""

    def __init__(self) -> None:
        self._mesh = FaceMesh478()
        self._stage = ActionStage()

    def measure(self, crop_bgr: np.ndarray) -> FaceActions:
        """The actions of the face filling ``crop_bgr`` (landmarks in crop pixels)."""
        size = self._mesh.input_size
        points, presence = self._mesh.run(crop_bgr, crop_roi_matrix(crop_bgr.shape[1], crop_bgr.shape[0], size))
        points, presence = self._mesh.run(crop_bgr, roi_from_landmarks(points, size))
        return self._stage.measure(points, presence)

    def close(self) -> None:
        self._mesh.close()
        self._stage.close()
