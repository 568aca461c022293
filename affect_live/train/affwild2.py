"""Reader for the Aff-Wild2 layout (docs/model-spec.md): annotations, face crops, valid frames.

    <root>/annotations/{EXPR_Set,VA_Set}/{Training_Set,Validation_Set}/<video>.txt
    <root>/cropped_aligned/<video>/00001.jpg ...

Line 1 of an annotation file is a header; line n + 1 is frame n, whose crop (if a face was found)
is `{n:05d}.jpg`. Every file is validated in full; any problem raises `DatasetError` with one line
naming the file (relative to the root) and, for a bad value, its line number.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

TASKS = ("EXPR", "VA", "MTL")  # MTL = frames with both a valid expression and valid VA label
SPLITS = ("Training_Set", "Validation_Set")
EXPR_HEADER = "Neutral,Anger,Disgust,Fear,Happiness,Sadness,Surprise"
VA_HEADER = "valence,arousal"
EXPRESSION_IGNORE = -1
VA_IGNORE = -5.0
_VA_IGNORE_TOL = 1e-6
_RANGE_TOL = 1e-6  # written values are rounded decimals; tolerate float noise at +-1
_IMAGE_NAME = re.compile(r"(\d{5,})\.jpg")
LAYOUT = (
    "annotations/{EXPR_Set,VA_Set}/{Training_Set,Validation_Set}/<video>.txt "
    "and cropped_aligned/<video>/00001.jpg ..."
)


class DatasetError(ValueError):
    """The data set on disk does not match the Aff-Wild2 layout; the message is one line."""


@dataclass(frozen=True)
class LabelledVideo:
    """The usable frames of one video for one task: they have an image and valid label(s)."""

    video: str  # e.g. "118-30-640x480" or "video10_left"
    n_frames: int  # annotation lines after the header (for MTL: the shorter of the two files)
    frames: np.ndarray  # int64, sorted 1-based frame numbers
    expression: np.ndarray | None  # int64 0..6 per entry of `frames` (None for task VA)
    valence: np.ndarray | None  # float32 per entry of `frames` (None for task EXPR)
    arousal: np.ndarray | None


def _check_task(task: str, allowed: tuple[str, ...] = TASKS) -> None:
    if task not in allowed:
        raise ValueError(f"unknown task {task!r}; expected one of {', '.join(allowed)}")


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")


class AffWild2:
    """Read-only view of an Aff-Wild2 root. Nothing is cached: each call reads the files."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: not a folder; an Aff-Wild2 root holds {LAYOUT}")
        missing = [f"{name}/" for name in ("annotations", "cropped_aligned") if not (self.root / name).is_dir()]
        if missing:
            raise DatasetError(f"{self.root}: missing {' and '.join(missing)}; an Aff-Wild2 root holds {LAYOUT}")

    def __repr__(self) -> str:
        return f"AffWild2({str(self.root)!r})"

    # -- listings ---------------------------------------------------------------------------

    def _annotation_file(self, task: str, split: str, video: str) -> Path:
        return self.root / "annotations" / f"{task}_Set" / split / f"{video}.txt"

    def _rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def videos(self, task: str, split: str) -> list[str]:
        """Sorted names of the videos annotated for the task in that split (MTL: in both tasks)."""
        _check_task(task)
        _check_split(split)
        if task == "MTL":
            return sorted(set(self.videos("EXPR", split)) & set(self.videos("VA", split)))
        folder = self.root / "annotations" / f"{task}_Set" / split
        if not folder.is_dir():
            raise DatasetError(f"{self._rel(folder)}/: missing; expected {task}_Set/{split}/<video>.txt files there")
        # Skip hidden files (e.g. macOS "._x.txt" resource forks), which are not annotations.
        return sorted(
            entry.name[:-4]
            for entry in os.scandir(folder)
            if entry.name.endswith(".txt") and not entry.name.startswith(".") and entry.is_file()
        )

    def image_videos(self) -> list[str]:
        """Every video folder in cropped_aligned/, sorted."""
        folder = self.root / "cropped_aligned"
        return sorted(e.name for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))

    def image_frames(self, video: str) -> np.ndarray:
        """Sorted int64 1-based numbers of the video's existing crops (empty if it has no folder)."""
        folder = self.root / "cropped_aligned" / video
        if not folder.is_dir():
            return np.zeros(0, np.int64)
        numbers = [int(m.group(1)) for e in os.scandir(folder) if (m := _IMAGE_NAME.fullmatch(e.name))]
        frames = np.asarray(numbers, np.int64)
        return np.sort(frames[frames >= 1])

    def image_path(self, video: str, frame: int) -> Path:
        return self.root / "cropped_aligned" / video / f"{int(frame):05d}.jpg"

    # -- annotation files -------------------------------------------------------------------

    def _annotation(self, task: str, split: str, video: str, header: str) -> tuple[list[str], str]:
        """A task's annotation lines for a video (after the header) and the file's name for errors."""
        _check_split(split)
        path = self._annotation_file(task, split, video)
        return self._read_body(path, header), self._rel(path)

    def _read_body(self, path: Path, header: str) -> list[str]:
        """The stripped lines after a validated header; line i of the result is file line i + 2."""
        rel = self._rel(path)
        try:
            text = path.read_text(encoding="utf-8-sig")  # -sig: tolerate a byte-order mark
        except FileNotFoundError:
            raise DatasetError(f"{rel}: annotation file not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DatasetError(f"{rel}: cannot read ({type(exc).__name__}: {exc})") from None
        lines = [line.strip() for line in text.split("\n")]  # strip() also drops Windows "\r"
        while lines and not lines[-1]:
            lines.pop()
        if not lines:
            raise DatasetError(f"{rel}:1: empty file; expected the header {header!r}")
        if "".join(lines[0].split()).lower() != header.lower():
            raise DatasetError(f"{rel}:1: expected the header {header!r}, got {lines[0][:80]!r}")
        return lines[1:]

    def expression_labels(self, video: str, split: str) -> np.ndarray:
        """int64 (n_frames,), 0..6 or -1 (ignore), validated line by line."""
        body, rel = self._annotation("EXPR", split, video, EXPR_HEADER)
        if not body:
            return np.zeros(0, np.int64)
        try:
            values = np.asarray(body).astype(np.int64)  # fast path; the slow scan only finds the culprit
        except (ValueError, OverflowError):
            for i, line in enumerate(body):
                try:
                    int(line)
                except ValueError:
                    raise DatasetError(f"{rel}:{i + 2}: expected an integer -1..6, got {line[:40]!r}") from None
            raise DatasetError(f"{rel}: expected integers -1..6") from None
        bad = np.flatnonzero((values < EXPRESSION_IGNORE) | (values > 6))
        if bad.size:
            i = int(bad[0])
            raise DatasetError(f"{rel}:{i + 2}: expected an integer -1..6, got {body[i][:40]!r}")
        return values

    def va_labels(self, video: str, split: str) -> np.ndarray:
        """float32 (n_frames, 2) [valence, arousal], each in [-1, 1] or -5 (ignore)."""
        body, rel = self._annotation("VA", split, video, VA_HEADER)
        if not body:
            return np.zeros((0, 2), np.float32)
        commas = np.fromiter((line.count(",") for line in body), np.int64, len(body))
        bad = np.flatnonzero(commas != 1)
        if bad.size:
            i = int(bad[0])
            raise DatasetError(f"{rel}:{i + 2}: expected 2 values 'valence,arousal', got {body[i][:40]!r}")
        flat = ",".join(body).split(",")
        try:
            # float() per token is twice as fast as numpy's string-to-float cast.
            values = np.fromiter(map(float, flat), np.float64, len(flat)).reshape(-1, 2)
        except ValueError:
            for i, line in enumerate(body):
                try:
                    [float(part) for part in line.split(",")]
                except ValueError:
                    message = f"{rel}:{i + 2}: expected 2 numbers 'valence,arousal', got {line[:40]!r}"
                    raise DatasetError(message) from None
            raise DatasetError(f"{rel}: expected numbers 'valence,arousal'") from None
        ignore = np.abs(values - VA_IGNORE) <= _VA_IGNORE_TOL
        in_range = np.abs(values) <= 1.0 + _RANGE_TOL  # False for NaN too
        bad = np.flatnonzero(~(ignore | in_range).all(axis=1))
        if bad.size:
            i = int(bad[0])
            raise DatasetError(f"{rel}:{i + 2}: values must be in [-1, 1] or exactly -5 (ignore), got {body[i][:40]!r}")
        return values.astype(np.float32)

    # -- usable frames ----------------------------------------------------------------------

    def labelled(self, task: str, split: str) -> list[LabelledVideo]:
        """Per video of the task and split: frames with an image and valid label(s), in order.

        Videos are kept even when no frame is usable (frames empty), so that the list matches
        `videos(task, split)`. Images beyond the annotation length are ignored.
        """
        _check_task(task)
        _check_split(split)
        out = []
        for video in self.videos(task, split):
            expr = self.expression_labels(video, split) if task in ("EXPR", "MTL") else None
            va = self.va_labels(video, split) if task in ("VA", "MTL") else None
            lengths = [len(a) for a in (expr, va) if a is not None]
            n_frames = min(lengths)
            if len(set(lengths)) > 1:
                # Only frames annotated in both files can carry both labels.
                log.warning("%s: EXPR has %d frames, VA %d; using the first %d", video, *lengths, n_frames)
            valid = np.zeros(n_frames + 1, bool)
            images = self.image_frames(video)
            if images.size == 0:
                log.warning("%s: no images in cropped_aligned/%s/", video, video)
            valid[images[images <= n_frames]] = True
            valid = valid[1:]
            if expr is not None:
                expr = expr[:n_frames]
                valid &= expr != EXPRESSION_IGNORE
            if va is not None:
                va = va[:n_frames]
                valid &= (va > VA_IGNORE + _VA_IGNORE_TOL).all(axis=1)
            index = np.flatnonzero(valid)
            out.append(
                LabelledVideo(
                    video=video,
                    n_frames=n_frames,
                    frames=(index + 1).astype(np.int64),
                    expression=None if expr is None else expr[index],
                    valence=None if va is None else np.ascontiguousarray(va[index, 0]),
                    arousal=None if va is None else np.ascontiguousarray(va[index, 1]),
                )
            )
        return out

    def frame_counts(self, video: str) -> int | None:
        """Frames of the video per its first annotation file found (any task, any split), else None."""
        for task, header in (("EXPR", EXPR_HEADER), ("VA", VA_HEADER)):
            task_dir = self.root / "annotations" / f"{task}_Set"
            if not task_dir.is_dir():
                continue
            # Known splits first, then any other (e.g. a test set's folder).
            others = sorted(e.name for e in os.scandir(task_dir) if e.is_dir() and e.name not in SPLITS)
            for split in (*SPLITS, *others):
                path = task_dir / split / f"{video}.txt"
                if path.is_file():
                    return len(self._read_body(path, header))
        return None


def read_frame_image(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    """A cropped_aligned frame (already a face crop), BGR uint8, at `size` (a model's input
    size; None: as stored)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"{path} is not an image OpenCV can read")
    if size is not None and (image.shape[1], image.shape[0]) != size:
        shrinking = image.shape[1] > size[0]
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
    return image
