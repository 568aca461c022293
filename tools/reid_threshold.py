"""Distances between face descriptors of the same and of different people, on real photos.

Behind the re-identification threshold (affect_live/faces/identity.py, docs/reidentification.md):
the astronaut and Grace Hopper photos under 45 augmentations each (face 60-260 px, rotated
+-12 degrees, mirrored, darker/brighter, blurred, JPEG), cut and described exactly as at run
time, plus 20 faces of skimage's LFW subset as further different people (their identities are
not labelled; LFW has few repeats among them). Needs scikit-image (tools only).

    python tools/reid_threshold.py
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "faceapi_reference"))
from make_recognition_crops import STUDY_VARIANTS, augmented_chips, lfw_chips  # noqa: E402

from affect_live.faces.descriptor import FaceDescriptor  # noqa: E402

LFW_STUDY = tuple(range(0, 100, 5))


def summary(name: str, values: list[float]) -> str:
    v = np.asarray(values)
    q = np.percentile(v, [0, 1, 5, 50, 95, 99, 100])
    return (f"{name:34s} n={len(v):5d}  min {q[0]:.3f}  p1 {q[1]:.3f}  p5 {q[2]:.3f}  median {q[3]:.3f}  "
            f"p95 {q[4]:.3f}  p99 {q[5]:.3f}  max {q[6]:.3f}")


def main() -> int:
    descriptor = FaceDescriptor()
    people, chips = [], []
    for person, _, chip in augmented_chips(STUDY_VARIANTS):
        people.append(person)
        chips.append(chip)
    for name, chip in lfw_chips(LFW_STUDY):
        people.append(name)
        chips.append(chip)
    desc = np.concatenate([descriptor.from_chips(chips[i:i + 16]) for i in range(0, len(chips), 16)])
    found = {p: people.count(p) for p in ("astronaut", "hopper")}
    print(f"chips: {found} of {len(STUDY_VARIANTS)} variants each found by the detector, {len(LFW_STUDY)} LFW faces")
    same, photos, lfw = [], [], []
    for i, j in itertools.combinations(range(len(people)), 2):
        d = float(np.linalg.norm(desc[i] - desc[j]))
        if people[i] == people[j]:
            same.append(d)
        elif people[i] in found and people[j] in found:
            photos.append(d)
        else:
            lfw.append(d)
    print(summary("same person (augmented photo)", same))
    print(summary("astronaut vs Hopper", photos))
    print(summary("LFW faces vs others", lfw))
    for t in (0.4, 0.45, 0.5, 0.55, 0.6):
        fr = np.mean(np.asarray(same) >= t)
        fa = np.mean(np.asarray(photos + lfw) < t)
        print(f"threshold {t:.2f}: same-person pairs rejected {fr:.2%}, different-person pairs accepted {fa:.2%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
