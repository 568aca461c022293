"""The dyad clips of the synchrony tests (used by tools/make_fixtures.py).

Two faces side by side whose expression changes over time: each is a cross-dissolve, inside the
inner face, between the smiling astronaut and the serious Grace Hopper warped onto the
astronaut's face geometry (an affine from the detector's eye, nose and mouth keypoints of both
photos). A mixing signal m(t) in [0, 1] says how much of the smiling astronaut a face shows
(1: all of her, 0: all of Hopper); valence and the smile blendshape follow it.

* ``dyad_delayed.mp4``: the left face shows m(t), the right one m(t - LAG_FRAMES): the right
  face follows the left one by LAG_FRAMES frames.
* ``dyad_control.mp4``: the same left face; the right one, mirrored, shows an independent
  signal: an unrelated face.

The signals are seeded smoothed noise, so the clips are deterministic.
"""

from __future__ import annotations

import cv2
import numpy as np
from fixture_geometry import background, face_affine, map_box, place, portrait, wave

DYAD_FPS = 15
DYAD_SIZE = (480, 270)
DYAD_FRAMES = 450  # 30 s
LAG_FRAMES = 6  # 0.4 s: the right face of dyad_delayed.mp4 follows the left one by this much
SMOOTH_FRAMES = 5.0  # Gaussian smoothing (sigma) of the mixing signals: a change every ~1 s
# The unrelated signal's seed is the first from 21 whose ground truth shows no synchrony with
# the left face's (affect_live.study.synchrony on the mixing signals, and on them thresholded
# at 0.5 as the smile is: p 0.75 and 0.83). Independent signals resemble each other by chance
# in 1 draw out of 20 at p < 0.05; seed 21's did (p 0.005 at a lag of 13 frames).
SEEDS = {"left": 20, "unrelated": 22}

# Short-range BlazeFace keypoints of the source photos (right eye, left eye, nose tip, mouth
# centre), measured with affect_live.faces.detector.FaceDetector(model_range="short") as the
# boxes in fixture_geometry.SOURCE_BOXES were.
KEYPOINTS = {
    "astronaut": ((201.5, 104.9), (245.8, 109.1), (220.4, 127.3), (219.8, 148.6)),
    "hopper": ((221.8, 194.7), (308.0, 185.0), (268.4, 226.0), (272.8, 274.3)),
}
# The inner face of the astronaut photo (eyes, brows, nose, mouth, chin) where the dissolve
# happens: ellipse centre and half axes in source pixels; the rest of the photo stays hers.
INNER_FACE = ((222, 128), (40, 52))


def mixing_signal(seed: int, n: int) -> np.ndarray:
    """Smooth random values in (0, 1), n of them: Gaussian-smoothed white noise, standardised
    and squashed, so the face spends time at both ends and crosses between them."""
    rng = np.random.default_rng(seed)
    pad = int(4 * SMOOTH_FRAMES)
    noise = rng.standard_normal(n + 2 * pad)
    taps = np.arange(-pad, pad + 1)
    kernel = np.exp(-0.5 * (taps / SMOOTH_FRAMES) ** 2)
    smooth = np.convolve(noise, kernel / kernel.sum(), mode="same")[pad:pad + n]
    z = (smooth - smooth.mean()) / smooth.std()
    return 0.5 + 0.45 * np.tanh(z)


class Morph:
    """The astronaut photo whose inner face is dissolved towards Hopper's by 1 - m."""

    def __init__(self, src: dict[str, np.ndarray]) -> None:
        hopper, astronaut = (np.array(KEYPOINTS[k], np.float64) for k in ("hopper", "astronaut"))
        design = np.hstack([hopper, np.ones((len(hopper), 1))])
        to_astronaut = np.linalg.lstsq(design, astronaut, rcond=None)[0].T  # 2x3, least squares
        height, width = src["astronaut"].shape[:2]
        self.astronaut = src["astronaut"].astype(np.float32)
        self.hopper = cv2.warpAffine(src["hopper"], to_astronaut, (width, height), flags=cv2.INTER_AREA,
                                     borderMode=cv2.BORDER_REFLECT_101).astype(np.float32)
        mask = np.zeros((height, width), np.float32)
        cv2.ellipse(mask, INNER_FACE[0], INNER_FACE[1], 0, 0, 360, 1.0, thickness=-1)
        self.mask = cv2.GaussianBlur(mask, (0, 0), 7.0)[..., None]

    def __call__(self, m: float) -> np.ndarray:
        weight = (1.0 - m) * self.mask
        return np.clip(self.astronaut * (1.0 - weight) + self.hopper * weight + 0.5, 0, 255).astype(np.uint8)


def dyad_signals(unrelated: bool) -> tuple[np.ndarray, np.ndarray]:
    """(left, right) mixing signals per frame of the delayed clip or (``unrelated``) the control."""
    left_long = mixing_signal(SEEDS["left"], DYAD_FRAMES + LAG_FRAMES)
    left = left_long[LAG_FRAMES:]
    right = mixing_signal(SEEDS["unrelated"], DYAD_FRAMES) if unrelated else left_long[:DYAD_FRAMES]
    return left, right


def _make_dyad(src: dict[str, np.ndarray], unrelated: bool):
    morph = Morph(src)
    left, right = dyad_signals(unrelated)
    for i in range(DYAD_FRAMES):
        frame = background(DYAD_SIZE)
        faces: list[dict] = []
        partial: list[dict] = []
        # name, mixing value, face width, centre, mirrored; a slow drift so the faces move a little
        layout = [
            ("left", left[i], 100.0 + 3.0 * wave(i, 110.0), 125.0 + 10.0 * wave(i, 140.0), 128.0 + 5.0 * wave(i, 90.0, 1.0), False),
            ("right", right[i], 100.0 + 3.0 * wave(i, 120.0, 2.0), 355.0 + 10.0 * wave(i, 130.0, 0.5), 128.0 + 5.0 * wave(i, 100.0, 2.0), unrelated),
        ]
        for name, m, face_w, cx, cy, mirror in layout:
            affine = face_affine("astronaut", face_w, cx, cy, mirror=mirror)
            portrait(frame, morph(float(m)), "astronaut", affine)
            place(faces, partial, name, map_box("astronaut", affine), DYAD_SIZE)
        yield frame, faces, partial


def make_dyad_delayed(src: dict[str, np.ndarray]):
    """The right face follows the left one by LAG_FRAMES frames."""
    return _make_dyad(src, unrelated=False)


def make_dyad_control(src: dict[str, np.ndarray]):
    """The same left face; the right one, mirrored, follows an independent signal."""
    return _make_dyad(src, unrelated=True)


def dyad_truth(unrelated: bool) -> dict:
    """What clips.json records beyond the faces: the mixing signal per face and the lag."""
    left, right = dyad_signals(unrelated)
    return {
        "mixing": {"left": [round(float(v), 4) for v in left], "right": [round(float(v), 4) for v in right]},
        "lag_frames": None if unrelated else LAG_FRAMES,
    }


DYAD_CLIPS = {
    "dyad_delayed.mp4": (make_dyad_delayed, DYAD_SIZE, DYAD_FRAMES,
                         f"Two faces whose expression changes (smiling astronaut dissolving into serious "
                         f"Hopper); the right face shows the left one's mixing signal {LAG_FRAMES} frames "
                         f"later ({LAG_FRAMES / DYAD_FPS:g} s): right follows left.", DYAD_FPS, dyad_truth(False)),
    "dyad_control.mp4": (make_dyad_control, DYAD_SIZE, DYAD_FRAMES,
                         "The left face of dyad_delayed.mp4; the right face, mirrored, follows an "
                         "independent mixing signal (an unrelated face).", DYAD_FPS, dyad_truth(True)),
}
