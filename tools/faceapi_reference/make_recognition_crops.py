"""Real 150x150 face chips for FaceRecognitionNet: the conversion fixture and the threshold study.

Each chip is cut exactly as the run time cuts it (:func:`affect_live.faces.descriptor.face_chip`:
the detector's keypoints mapped onto dlib's chip layout) from an augmented copy of a
public-domain photo: rescaled (face 60-260 px wide), rotated in the image plane, shifted,
mirrored, darker or brighter, blurred, JPEG-compressed. ``skimage.data.lfw_subset()`` faces (25x25
grey, already centred) are added as further, different people: the detector does not fire on
them, so their chips come from fixed keypoints of LFW's centred layout.

``python tools/faceapi_reference/make_recognition_crops.py`` writes
``tests/fixtures/conversion/recognition_crops.npy`` (uint8 (N, 150, 150, 3) RGB) and
``recognition_crops.json`` (names); ``reference.mjs`` then adds the JavaScript model's
descriptors. ``augmented_chips()`` is also used by ``tools/reid_threshold.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from affect_live.faces.align import similarity_transform, warp_to_crop  # noqa: E402
from affect_live.faces.descriptor import CHIP_SIZE, CHIP_TEMPLATE_150, face_chip  # noqa: E402
from affect_live.faces.detector import FaceDetector  # noqa: E402

OUT = REPO_ROOT / "tests" / "fixtures" / "conversion"
IMAGES = REPO_ROOT / "tests" / "fixtures" / "images"
PEOPLE = {"astronaut": "astronaut.png", "hopper": "grace_hopper.jpg"}

# (name, face width in px, rotation deg, mirror, brightness gain, blur sigma, jpeg quality)
FIXTURE_VARIANTS = (
    ("plain", 180, 0.0, False, 1.0, 0.0, 0),
    ("small", 70, 0.0, False, 1.0, 0.0, 0),
    ("rot10", 160, 10.0, False, 1.0, 0.0, 0),
    ("mirror_dark", 200, 0.0, True, 0.7, 0.0, 0),
    ("blur_jpeg", 140, -8.0, False, 1.2, 1.5, 40),
)
STUDY_VARIANTS = tuple(
    (f"w{w}_r{int(r)}_{'m' if m else 'n'}_g{g}_b{b}_q{q}", w, r, m, g, b, q)
    for w in (60, 90, 130, 200, 260)
    for r, m in ((0.0, False), (-12.0, False), (12.0, True))
    for g, b, q in ((1.0, 0.0, 0), (0.65, 1.2, 50), (1.3, 0.0, 30))
)
LFW_FIXTURE = (0, 37)
# Detector keypoints of an LFW-style centred face in its 25x25 crop (eyes, nose, mouth centre).
LFW_POINTS_25 = np.array([[8.0, 10.0], [17.0, 10.0], [12.5, 14.5], [12.5, 18.5]])


def augment(image: np.ndarray, face_box: tuple[float, float, float, float], width: int, rotation: float,
            mirror: bool, gain: float, blur: float, quality: int) -> np.ndarray:
    """A 400x400 frame holding the photo's face ``width`` px wide, rotated/mirrored/degraded."""
    x, y, w, h = face_box
    scale = width / w
    centre = (x + w / 2, y + h / 2)
    m = cv2.getRotationMatrix2D(centre, rotation, scale)
    m[:, 2] += np.array([200.0, 200.0]) - centre
    frame = cv2.warpAffine(image, m, (400, 400), flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REFLECT_101)
    if mirror:
        frame = np.ascontiguousarray(frame[:, ::-1])
    frame = np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)
    if blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
    if quality:
        ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
        frame = cv2.imdecode(data, cv2.IMREAD_COLOR)
    return frame


def augmented_chips(variants=STUDY_VARIANTS) -> Iterator[tuple[str, str, np.ndarray]]:
    """(person, variant, 150x150 BGR chip) for each photo and variant the detector finds."""
    with FaceDetector() as detector:
        for person, file in PEOPLE.items():
            image = cv2.imread(str(IMAGES / file), cv2.IMREAD_COLOR)
            base = max(detector.detect(image), key=lambda d: d.box[2] * d.box[3])
            for name, *params in variants:
                frame = augment(image, base.box, *params)
                found = detector.detect(frame)
                if found:
                    best = max(found, key=lambda d: d.box[2] * d.box[3])
                    yield person, name, face_chip(frame, best)


def lfw_chips(indices) -> Iterator[tuple[str, np.ndarray]]:
    """(name, 150x150 BGR chip) of skimage's LFW subset faces (grey copied to 3 channels)."""
    from skimage import data

    faces = data.lfw_subset()
    for index in indices:
        face = faces[index]
        if face.dtype != np.uint8:  # scikit-image returns float in [0, 1]
            face = np.clip(np.round(face * 255.0), 0, 255).astype(np.uint8)
        grey = np.repeat(face[:, :, None], 3, axis=2)
        matrix = similarity_transform(LFW_POINTS_25, CHIP_TEMPLATE_150)
        yield f"lfw_subset_{index}", warp_to_crop(grey, matrix, (CHIP_SIZE, CHIP_SIZE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=OUT)
    args = parser.parse_args()
    chips, names = [], []
    for person, variant, chip in augmented_chips(FIXTURE_VARIANTS):
        chips.append(chip[..., ::-1])
        names.append(f"{person}_{variant}")
    for name, chip in lfw_chips(LFW_FIXTURE):
        chips.append(chip[..., ::-1])
        names.append(name)
    np.save(args.out_dir / "recognition_crops.npy", np.ascontiguousarray(np.stack(chips)))
    (args.out_dir / "recognition_crops.json").write_text(json.dumps(names, indent=1) + "\n")
    print(f"wrote {len(names)} chips to {args.out_dir}: {', '.join(names)}")


if __name__ == "__main__":
    main()
