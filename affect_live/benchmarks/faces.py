"""Time the face stage's parts on a shipped clip: ``python -m affect_live.benchmarks.faces``.

Prints median and best ms per call for each detector variant (ours and MediaPipe's own
Tasks wrapper, for comparison) at 640x480 and 1280x720, landmarks per face, crops
per face and the whole FaceStage per frame. Used to choose the detector configuration
documented in ``detector.py``; the numbers depend on the CPU and on what else runs on it.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from affect_live.faces.align import CropStyle, crop_aligned, crop_box
from affect_live.faces.capture import FaceStage
from affect_live.faces.detector import FaceDetector
from affect_live.faces.landmarks import FiveLandmarks
from affect_live.resources import clip
from affect_live.types import Frame

CLIP = clip("three_faces.mp4")


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """(median, best) milliseconds per call after a short warm-up."""
    for _ in range(5):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return statistics.median(samples), min(samples)


def frames(path: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    out = []
    while len(out) < count:
        ok, image = capture.read()
        if not ok:
            break
        out.append(image)
    capture.release()
    return out


def _mediapipe_variants() -> dict[str, Callable[[np.ndarray], object]]:
    """MediaPipe's Tasks FaceDetector on the shipped short-range file (mediapipe from
    requirements-dev.txt; its Tasks API cannot load the full-range model)."""
    import mediapipe as mp
    from mediapipe.tasks.python import BaseOptions, vision

    from affect_live.faces.model_files import DETECTOR_SHORT, model_path

    options = vision.FaceDetectorOptions(base_options=BaseOptions(model_asset_path=str(model_path(DETECTOR_SHORT))))
    task = vision.FaceDetector.create_from_options(options)
    return {
        "mp.tasks short": lambda im: task.detect(
            mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(cv2.cvtColor(im, cv2.COLOR_BGR2RGB)))
        )
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--no-mediapipe", action="store_true", help="skip MediaPipe's wrappers")
    args = parser.parse_args(argv)

    clip = frames(CLIP, 30)
    small = clip[0]  # 640x480, three faces
    large = cv2.resize(small, (1280, 960))[120:840]  # 1280x720, same faces
    blank = np.full_like(small, 128)  # no face: the short-range fallback runs

    variants: dict[str, Callable[[np.ndarray], object]] = {}
    ours = {
        "ours full (default)": FaceDetector(),
        "ours full, 2 threads": FaceDetector(num_threads=2),
        "ours short": FaceDetector(model_range="short"),
    }
    for name, detector in ours.items():
        variants[name] = detector.detect
    if not args.no_mediapipe:
        variants.update(_mediapipe_variants())

    print(f"{'detector':28s} {'640x480':>16s} {'1280x720':>16s}   (median / best ms)")
    for name, fn in variants.items():
        a = timed(lambda f=fn: f(small), args.repeat)
        b = timed(lambda f=fn: f(large), args.repeat)
        print(f"{name:28s} {a[0]:7.2f} / {a[1]:5.2f} {b[0]:7.2f} / {b[1]:5.2f}")
    m = timed(lambda: ours["ours full (default)"].detect(blank), args.repeat)
    print(f"{'ours full, no-face frame':28s} {m[0]:7.2f} / {m[1]:5.2f}   (full + fallback)")

    detections = ours["ours full (default)"].detect(small)
    face = detections[0]
    with FiveLandmarks() as landmarks:
        m = timed(lambda: landmarks.locate(small, face), args.repeat)
        print(f"landmarks per face            {m[0]:7.2f} / {m[1]:5.2f}")
        points = landmarks.locate(small, face)
    for label, fn in (
        ("box crop 112 per face", lambda: crop_box(small, face.box, (112, 112))),
        ("aligned crop 112 per face", lambda: crop_aligned(small, points, (112, 112))),
    ):
        m = timed(fn, args.repeat)
        print(f"{label:28s}  {m[0]:7.3f} / {m[1]:6.3f}")

    for style in (CropStyle("box", (112, 112)), CropStyle("aligned", (112, 112))):
        with FaceStage(style) as stage:
            totals: dict[str, list[float]] = {"detect": [], "align": []}
            for _ in range(max(1, args.repeat // len(clip))):
                for index, image in enumerate(clip):
                    _, _, ms = stage.process(Frame(index, index / 30, image))
                    for key in totals:
                        totals[key].append(ms[key])
            summary = ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in totals.items())
            print(f"FaceStage {style.kind:7s} 3 faces: {summary} ms (median per frame)")


if __name__ == "__main__":
    main()
