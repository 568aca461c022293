"""A miniature Aff-Wild2 data set, generated from real face crops, for tests.

Layout, headers, ignore values and the 1-based frame-to-image mapping follow
docs/model-spec.md exactly; the headers are written literally here (not imported from the
reader) so that tests check the reader against the spec, not against itself.

Each video animates one base crop from `tests/fixtures/conversion/crops.npy`: a smooth head
tilt (in-plane rotation), a smooth vertical bob and a random horizontal jitter per frame (so that
neighbouring frames are distinguishable). Labels are a known, learnable function of what is
visible (tilt and bob are what the default model's features encode best across faces; brightness
and zoom were tried and barely transfer between faces):

- expression: a constant per video, set by the base face (`expression_of_crop`: the smiling
  astronaut is Happiness, Grace Hopper Neutral, LFW faces the default model's top class);
- valence = clip(VALENCE_BASE[expression] + VALENCE_PER_DEGREE * tilt_degrees, -1, 1);
- arousal = clip(AROUSAL_BASE[expression] - AROUSAL_PER_PIXEL * dy_pixels, -1, 1) (face up = higher);
both rounded to 3 decimals, as written to disk.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

CONVERSION = Path(__file__).parents[1] / "fixtures" / "conversion"
EXPR_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise"
VA_HEADER = "valence,arousal"
TRAIN, VAL = "Training_Set", "Validation_Set"
SIZE = 112

# Top class of the default per-frame model (face-api) on each LFW crop, Aff-Wild2 order.
EXPRESSION_OF_CROP: dict[str, int] = {
    "lfw_subset_0": 6,
    "lfw_subset_11": 4,
    "lfw_subset_23": 4,
    "lfw_subset_37": 4,
    "lfw_subset_52": 4,
    "lfw_subset_78": 0,
}
VALENCE_BASE = {0: 0.0, 4: 0.5, 6: 0.2}
AROUSAL_BASE = {0: -0.3, 4: 0.2, 6: 0.5}
TILT_DEGREES = 15.0  # amplitude of the smooth tilt
BOB_PIXELS = 12.0  # amplitude of the smooth vertical bob
VALENCE_PER_DEGREE = 0.03  # tilt +-15 degrees -> valence +-0.45 around the base
AROUSAL_PER_PIXEL = 0.035  # bob +-12 px -> arousal +-0.42 around the base
JITTER_PX = 3.0  # horizontal, random per frame


def expression_of_crop(crop: str) -> int:
    """The expression class of every frame animated from `crop`."""
    if crop.startswith("astronaut"):
        return 4
    if crop.startswith("grace_hopper"):
        return 0
    return EXPRESSION_OF_CROP[crop]


def valence_of(expression: int, tilt: np.ndarray) -> np.ndarray:
    return np.round(np.clip(VALENCE_BASE[expression] + VALENCE_PER_DEGREE * tilt, -1, 1), 3)


def arousal_of(expression: int, dy: np.ndarray) -> np.ndarray:
    return np.round(np.clip(AROUSAL_BASE[expression] - AROUSAL_PER_PIXEL * dy, -1, 1), 3)


@dataclass(frozen=True)
class _Plan:
    """What a video is: its base face, where its annotations go, and what to break in it."""

    name: str
    crop: str
    mirror: bool = False
    expr_split: str | None = TRAIN
    va_split: str | None = TRAIN
    missing_images: tuple[int, ...] = ()  # 1-based frames whose image is deleted
    expr_ignored: tuple[int, ...] = ()  # frames written as -1
    va_ignored: tuple[int, ...] = ()  # frames written as -5,-5
    arousal_only_ignored: tuple[int, ...] = ()  # frames written as v,-5
    extra_images: int = 0  # images beyond the annotation length (the reader must drop them)


_PLANS: tuple[_Plan, ...] = (
    # Training_Set, in both tasks (MTL).
    _Plan("1-30-640x480", "astronaut_tight", expr_ignored=(5, 6, 7), va_ignored=(12, 13)),
    _Plan("2-30-1280x720", "grace_hopper_tight", missing_images=(1, 2, 3, 20, 21, 22), expr_ignored=(30,)),
    _Plan("3-25-640x360", "lfw_subset_0", va_ignored=(8,), arousal_only_ignored=(9,), extra_images=2),
    _Plan("video4_left", "astronaut_loose", missing_images=(15,)),
    _Plan("video4_right", "grace_hopper_loose", expr_ignored=(1, 2)),
    _Plan("5-60-1920x1080", "lfw_subset_11"),
    _Plan("6-30-480x360", "lfw_subset_78", va_ignored=(25, 26, 27)),
    # Training_Set, one task only: the task partitions differ.
    _Plan("7-30-640x480", "grace_hopper_shifted", va_split=None),
    _Plan("8-30-640x480", "astronaut_shifted", expr_split=None),
    # Validation_Set (MTL): held-back videos for the learnability check.
    _Plan("9-30-640x480", "astronaut_closer", expr_split=VAL, va_split=VAL, missing_images=(10,)),
    _Plan("10-30-640x480", "grace_hopper_tight_flip", expr_split=VAL, va_split=VAL, expr_ignored=(3,)),
    _Plan("11-25-640x360", "lfw_subset_0", mirror=True, expr_split=VAL, va_split=VAL, va_ignored=(4,)),
    _Plan("12-30-640x480", "lfw_subset_52", expr_split=VAL, va_split=VAL),
)


@dataclass(frozen=True)
class MiniVideo:
    """Ground truth of one generated video; arrays are indexed by frame - 1."""

    name: str
    crop: str
    mirror: bool
    expr_split: str | None  # None: no EXPR_Set annotation file
    va_split: str | None  # None: no VA_Set annotation file
    n_frames: int  # annotation lines after the header
    expression: np.ndarray  # int64 (n_frames,), as written (-1 = ignore)
    va: np.ndarray  # float32 (n_frames, 2), as written (-5 = ignore)
    tilt: np.ndarray  # float32 (n_images,): in-plane rotation in degrees of image k + 1
    shift: np.ndarray  # float32 (n_images, 2): (dx jitter, dy bob) in pixels of image k + 1
    image_frames: np.ndarray  # int64 1-based frames that have an image (may exceed n_frames)

    @property
    def expression_valid(self) -> np.ndarray:
        return self.expression >= 0

    @property
    def va_valid(self) -> np.ndarray:
        return (self.va > -5 + 1e-6).all(axis=1)

    def has_image(self) -> np.ndarray:
        """bool (n_frames,): frame n has an image."""
        mask = np.zeros(self.n_frames + 1, bool)
        mask[self.image_frames[self.image_frames <= self.n_frames]] = True
        return mask[1:]


@dataclass(frozen=True)
class MiniAffWild2:
    root: Path
    train_videos: list[str]  # MTL videos of Training_Set
    val_videos: list[str]  # MTL videos of Validation_Set
    videos: dict[str, MiniVideo]
    crops: dict[str, np.ndarray]  # base crops, RGB uint8 112x112

    def render(self, video: str, frame: int) -> np.ndarray:
        """The BGR image of `frame` (1-based) before JPEG compression."""
        v = self.videos[video]
        k = frame - 1
        return render_frame(self.crops[v.crop], v.mirror, float(v.tilt[k]), v.shift[k])

    def expected_frames(self, video: str, task: str) -> np.ndarray:
        """1-based frames with an image and valid label(s) for the task (EXPR, VA or MTL)."""
        v = self.videos[video]
        valid = v.has_image()
        if task in ("EXPR", "MTL"):
            valid &= v.expression_valid
        if task in ("VA", "MTL"):
            valid &= v.va_valid
        return np.flatnonzero(valid).astype(np.int64) + 1


def load_crops() -> dict[str, np.ndarray]:
    names = json.loads((CONVERSION / "crops.json").read_text())
    return dict(zip(names, np.load(CONVERSION / "crops.npy"), strict=True))


def render_frame(crop_rgb: np.ndarray, mirror: bool, tilt: float, shift: np.ndarray) -> np.ndarray:
    """Rotate about the centre by `tilt` degrees, then shift; BGR out, as cv2.imwrite expects."""
    bgr = np.ascontiguousarray(crop_rgb[:, ::-1, ::-1] if mirror else crop_rgb[..., ::-1])
    centre = ((SIZE - 1) / 2.0, (SIZE - 1) / 2.0)
    matrix = cv2.getRotationMatrix2D(centre, tilt, 1.0)
    matrix[:, 2] += shift
    return cv2.warpAffine(bgr, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT101)


def _smooth_wave(rng: np.random.Generator, n: int, amplitude: float) -> np.ndarray:
    """amplitude * sin with a random phase and a period of 25-50 frames: smooth within a video."""
    period = rng.uniform(25, 50)
    phase = rng.uniform(0, 2 * np.pi)
    return (amplitude * np.sin(2 * np.pi * np.arange(n) / period + phase)).astype(np.float32)


def _write_lines(path: Path, header: str, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "\n".join(lines) + "\n")


def _make_video(plan: _Plan, rng: np.random.Generator) -> MiniVideo:
    n_frames = int(rng.integers(40, 61))
    n_images = n_frames + plan.extra_images
    tilt = _smooth_wave(rng, n_images, TILT_DEGREES)
    jitter = rng.uniform(-JITTER_PX, JITTER_PX, size=n_images).astype(np.float32)
    shift = np.stack([jitter, _smooth_wave(rng, n_images, BOB_PIXELS)], axis=1)
    cls = expression_of_crop(plan.crop)
    expression = np.full(n_frames, cls, np.int64)
    expression[np.asarray(plan.expr_ignored, np.int64) - 1] = -1
    va = np.stack([valence_of(cls, tilt[:n_frames]), arousal_of(cls, shift[:n_frames, 1])], axis=1).astype(np.float32)
    va[np.asarray(plan.va_ignored, np.int64) - 1] = -5.0
    va[np.asarray(plan.arousal_only_ignored, np.int64) - 1, 1] = -5.0
    frames = np.setdiff1d(np.arange(1, n_images + 1), plan.missing_images).astype(np.int64)
    return MiniVideo(
        plan.name, plan.crop, plan.mirror, plan.expr_split, plan.va_split, n_frames, expression, va, tilt, shift, frames
    )


def make_mini_affwild2(root: Path, seed: int = 0) -> MiniAffWild2:
    """Write the mini data set under `root` (created; replaced if it exists) and return its truth."""
    root = Path(root)
    if root.exists():
        shutil.rmtree(root)
    crops = load_crops()
    rng = np.random.default_rng(seed)
    videos: dict[str, MiniVideo] = {}
    for plan in _PLANS:
        v = videos[plan.name] = _make_video(plan, rng)
        folder = root / "cropped_aligned" / v.name
        folder.mkdir(parents=True)
        for frame in v.image_frames:
            k = frame - 1
            image = render_frame(crops[v.crop], v.mirror, float(v.tilt[k]), v.shift[k])
            cv2.imwrite(str(folder / f"{frame:05d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        if v.expr_split:
            lines = [str(int(x)) for x in v.expression]
            _write_lines(root / "annotations" / "EXPR_Set" / v.expr_split / f"{v.name}.txt", EXPR_HEADER, lines)
        if v.va_split:
            lines = [f"{_fmt(a)},{_fmt(b)}" for a, b in v.va]
            _write_lines(root / "annotations" / "VA_Set" / v.va_split / f"{v.name}.txt", VA_HEADER, lines)
    # A stray non-image file among the crops, which the reader must skip.
    (root / "cropped_aligned" / "1-30-640x480" / "Thumbs.db").write_bytes(b"\0")

    def mtl(split: str) -> list[str]:
        return sorted(v.name for v in videos.values() if v.expr_split == split and v.va_split == split)

    return MiniAffWild2(root, mtl(TRAIN), mtl(VAL), videos, crops)


def _fmt(value: float) -> str:
    return "-5" if value <= -5 + 1e-6 else f"{value:.3f}"
