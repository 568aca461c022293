"""128-d face descriptors (face-api's FaceRecognitionNet, dlib's ResNet) on LiteRT.

The network was trained on dlib "face chips": 150x150 crops rotated and scaled so that the eyes,
nose and mouth sit at fixed places. The chip is made here from the detector's own keypoints
(eyes, nose tip, mouth centre), so no landmark model has to run: a least-squares similarity
transform maps them onto :data:`CHIP_TEMPLATE_150` and one ``warp_to_crop`` cuts the chip.
All faces given in one call go through the network as one batch.

The shipped model lives in ``models/face-recognition/`` (``face_recognition.tflite`` and its
``descriptor.json``: sha256, input normalisation, provenance), made by
``tools/convert_face_recognition.py``. The file is checked before any interpreter sees it
(sha256, builtin operators only, input and output shapes).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from affect_live.backends.flatbuffer import check_flatbuffer
from affect_live.backends.litert import LiteRtRunner
from affect_live.errors import BundleError
from affect_live.faces.align import similarity_transform, warp_to_crop
from affect_live.resources import FACE_RECOGNITION_DIR
from affect_live.types import Detection

logger = logging.getLogger(__name__)

CHIP_SIZE = 150
DESCRIPTOR_DIM = 128
# Where the detector's keypoints 0-3 (subject's right eye, left eye, nose tip, mouth centre)
# land in the 150x150 chip: dlib's mean face (get_face_chip_details, padding 0.25) for those
# points. Keypoint 0 is on the image left for an unmirrored face.
CHIP_TEMPLATE_150 = np.array([[55.0, 47.0], [95.0, 47.0], [75.0, 80.0], [75.0, 103.0]])
INFO_FILE = "descriptor.json"


@dataclass(frozen=True)
class DescriptorInfo:
    """What ``descriptor.json`` says about the shipped model."""

    file: str
    sha256: str
    mean_rgb: tuple[float, float, float]
    scale: float
    provenance: dict[str, object]


def read_info(folder: Path | None = None) -> DescriptorInfo:
    """The model's description (default: the shipped one); one-line ``BundleError`` when it is
    missing or malformed."""
    path = Path(folder or FACE_RECOGNITION_DIR) / INFO_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return DescriptorInfo(
            file=str(raw["file"]),
            sha256=str(raw["sha256"]),
            mean_rgb=tuple(float(v) for v in raw["mean_rgb"]),  # type: ignore[arg-type]
            scale=float(raw["scale"]),
            provenance=dict(raw.get("provenance", {})),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BundleError(f"{path}: cannot read the face descriptor model's description ({exc})") from None


def chip_matrix(detection: Detection) -> np.ndarray:
    """2 x 3 matrix from frame pixels to the 150x150 chip of ``detection``."""
    points = np.asarray(detection.keypoints, dtype=np.float64)[:4]
    return similarity_transform(points, CHIP_TEMPLATE_150)


def face_chip(image_bgr: np.ndarray, detection: Detection) -> np.ndarray:
    """The 150x150 BGR chip FaceRecognitionNet expects (black outside the frame)."""
    return warp_to_crop(image_bgr, chip_matrix(detection), (CHIP_SIZE, CHIP_SIZE))


class FaceDescriptor:
    """Descriptors for the faces of a frame, batched; one instance per thread (LiteRT)."""

    def __init__(self, folder: Path | None = None, num_threads: int = 1) -> None:
        folder = Path(folder or FACE_RECOGNITION_DIR)
        self.info = read_info(folder)
        path = folder / self.info.file
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise BundleError(f"{path}: cannot read the face descriptor model ({exc.strerror})") from None
        check_flatbuffer(content, self.info.sha256, {"": (CHIP_SIZE, CHIP_SIZE, 3)},
                         {"descriptor": (DESCRIPTOR_DIM,)}, str(path))
        self._runner = LiteRtRunner(content, num_threads)
        self._mean = np.asarray(self.info.mean_rgb, np.float32)
        self._scale = np.float32(1.0 / self.info.scale)

    def from_chips(self, chips_bgr: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 128) float32 descriptors of 150x150 BGR chips (one batch)."""
        if not len(chips_bgr):
            return np.zeros((0, DESCRIPTOR_DIM), np.float32)
        batch = np.stack([np.asarray(c)[..., ::-1] for c in chips_bgr]).astype(np.float32)
        batch -= self._mean
        batch *= self._scale
        return np.asarray(self._runner(batch)["descriptor"], dtype=np.float32)

    def describe(self, image_bgr: np.ndarray, detections: Sequence[Detection]) -> np.ndarray:
        """(N, 128) descriptors of these faces of one frame."""
        return self.from_chips([face_chip(image_bgr, d) for d in detections])
