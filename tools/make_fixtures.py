"""Build the real-face test fixtures of affect-live from public-domain photos.

What it makes, under ``tests/fixtures/`` (``--out``):

* ``images/astronaut.png``    -- ``skimage.data.astronaut()``: NASA portrait of astronaut
  Eileen Collins (public domain, work of the US federal government), shipped in scikit-image.
* ``images/grace_hopper.jpg`` -- byte copy of matplotlib's ``sample_data/grace_hopper.jpg``:
  portrait of Commodore Grace Hopper (public domain, US Navy photo), shipped in matplotlib.
* ``clips/clips.json``        -- ground truth of the clips: size, fps, frame count and, for
  every frame, the visible faces with their name and face box [x, y, w, h] in pixels.

and the clips themselves under ``affect_live/assets/clips/`` (``--clips-out``; package data, so
the app's demo clip and the benchmark clips ship in the wheel: ``affect_live.resources``):

* ``astronaut_motion.mp4`` -- 640x480, 120 frames: face 0-59, no face 60-89, face 90-119.
* ``two_faces.mp4``        -- 640x360, 90 frames: astronaut (left) and Hopper (right) as
  portraits over a plain background; Hopper hidden 30-32, the astronaut walks out of the frame
  to the left (44-49), stays out and comes back (74-79). Also the app's demo clip.
* ``leave_return.mp4``     -- 480x270, 72 frames: the astronaut leaves to the left (18-23) and
  comes back (48-53); meanwhile Hopper, a newcomer, walks in from the right (30-35) and stays.
* ``swap_return.mp4``      -- 480x270, 72 frames: astronaut (left) and Hopper (right) both
  leave (18-23) and come back in swapped places (48-53).
* ``three_faces.mp4``      -- 640x480, 90 frames: astronaut (~30% of frame width),
  Hopper (~20%) and a mirrored small astronaut (~10%, 66-70 px face), all visible throughout.
* ``dyad_delayed.mp4``, ``dyad_control.mp4`` -- 480x270, 15 fps, 450 frames: two faces whose
  expression changes; the right one follows the left one by a known lag, or (control) is
  unrelated (tools/fixture_dyads.py).

Every frame is made by affine warps (scale, optional mirror, translation; no rotation) of the
two photos, so each ground-truth box is the known face box of the source photo mapped through
the same warp. Clips where people leave the frame show them as soft-edged portraits (an
ellipse around head and shoulders) over a plain background; a frame's ``faces`` lists the faces
at least 90% inside the frame, ``partial`` those partly inside (the detector may or may not
find them; tests leave those frames out of exact counts). Motion follows smooth sinusoids of the frame index: the output is deterministic
(no randomness; the dyad clips' signals are seeded). Videos use OpenCV's VideoWriter with
fourcc ``mp4v`` at 30 fps (the dyad clips at 15).

Run from the repository root::

    python tools/make_fixtures.py            # (re)build everything
    python tools/make_fixtures.py --measure  # print MediaPipe face boxes of the source photos
    python tools/make_fixtures.py --only dyad_delayed.mp4 dyad_control.mp4  # just these clips

The images and clips are all derived from public-domain photos; see tests/fixtures/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from affect_live.resources import CLIPS_DIR

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixture_dyads import DYAD_CLIPS  # noqa: E402
from fixture_geometry import (  # noqa: E402
    SOURCE_BOXES,
    background,
    face_affine,
    grow,
    map_box,
    place,
    portrait,
    ramp,
    warp,
    wave,
)

FPS = 30
FOURCC = "mp4v"
GREY = (128, 128, 128)


# --------------------------------------------------------------------------- sources

def load_sources() -> dict[str, np.ndarray]:
    """Return the two source photos as BGR uint8 arrays (the astronaut from scikit-image, or
    without it from images/astronaut.png, its pixel-identical copy made by an earlier run)."""
    try:
        import skimage.data
    except ModuleNotFoundError:
        astronaut = cv2.imread(str(Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "images" / "astronaut.png"), cv2.IMREAD_COLOR)
    else:
        astronaut = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2BGR)
    hopper = cv2.imread(str(hopper_path()), cv2.IMREAD_COLOR)
    if astronaut is None:
        raise SystemExit("no scikit-image and no tests/fixtures/images/astronaut.png to read the astronaut from")
    if hopper is None:
        raise SystemExit(f"cannot read {hopper_path()}")
    return {"astronaut": astronaut, "hopper": hopper}


def hopper_path() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"


def measure_sources() -> None:
    """Print the face boxes of the source photos (to refresh SOURCE_BOXES), from the shipped
    MediaPipe detectors run as the pipeline runs them (they reproduce MediaPipe's own results)."""
    from affect_live.faces.detector import FaceDetector

    for name, bgr in load_sources().items():
        for model in ("short", "full"):
            with FaceDetector(model_range=model, min_score=0.5) as detector:
                found = detector.detect(bgr)
            for det in found:
                box = [round(float(v), 1) for v in det.box]
                print(f"{name} {model} range score={det.score:.2f} box={box}")


# --------------------------------------------------------------------------- clips

def make_astronaut_motion(src: dict[str, np.ndarray]):
    """640x480, 120 frames: face 0-59, no face 60-89, face back 90-119."""
    size = (640, 480)
    n = 120
    for i in range(n):
        faces = []
        if i < 60 or i >= 90:
            # slow zoom: face 190..270 px wide (about 40-56% of the frame height) and pan
            face_w = 230.0 + 40.0 * wave(i, 120.0, -math.pi / 2)
            cx = 320.0 + 70.0 * wave(i, 150.0)
            cy = 235.0 + 25.0 * wave(i, 110.0, 0.7)
            m = face_affine("astronaut", face_w, cx, cy)
            frame = warp(src["astronaut"], m, size)
            faces.append({"name": "astronaut", "box": map_box("astronaut", m)})
        else:
            # no face: slow pan over the lower right of the same photo (orange suit, name tag,
            # helmet) -- rows below 295 of the source, far below the chin (y ~ 180). (The mission
            # patch further left is taken for a face by the short-range model, score ~0.6.)
            s = 2.3
            ox = 234.0 - 0.6 * (i - 60)  # source x shown at the left edge
            oy = 295.0
            m = np.array([[s, 0.0, -s * ox], [0.0, s, -s * oy]], dtype=np.float64)
            frame = warp(src["astronaut"], m, size)
        yield frame, faces, []


def make_two_faces(src: dict[str, np.ndarray]):
    """640x360, 90 frames: astronaut on the left, Hopper on the right; the astronaut walks out of
    the frame to the left and comes back (the app's demo clip shows re-identification)."""
    size = (640, 360)
    w, h = size
    n = 90
    for i in range(n):
        frame = background(size)
        faces: list[dict] = []
        partial: list[dict] = []
        away = ramp(i, 44, 49) - ramp(i, 74, 79)  # 0 in place .. 1 out of the frame
        layout = [
            # name, face width, centre x, centre y, hidden frames
            ("astronaut", 125.0 + 6.0 * wave(i, 90.0), 160.0 + 30.0 * wave(i, 90.0) - 340.0 * away,
             160.0 + 15.0 * wave(i, 75.0, 1.0), range(0)),
            ("hopper", 140.0 + 6.0 * wave(i, 80.0, 2.0), 480.0 + 30.0 * wave(i, 85.0, 2.5),
             160.0 + 8.0 * wave(i, 70.0, 0.3), range(30, 33)),
        ]
        for name, face_w, cx, cy, hidden in layout:
            m = face_affine(name, face_w, cx, cy)
            portrait(frame, src[name], name, m)
            box = map_box(name, m)
            if i in hidden:
                # opaque grey occluder over the face, grown by 35% per side
                gx0, gy0, gx1, gy1 = grow(box, 0.35)
                cv2.rectangle(frame, (max(gx0, w // 2), max(gy0, 0)), (min(gx1, w - 1), min(gy1, h - 1)),
                              GREY, thickness=-1)
            else:
                place(faces, partial, name, box, size)
        yield frame, faces, partial


def _walkers(src: dict[str, np.ndarray], paths) -> object:
    """480x270 frames of portraits moving along ``paths``: name -> f(i) = (face_w, cx, cy) or
    None (not in the scene)."""
    size = (480, 270)
    for i in range(72):
        frame = background(size)
        faces: list[dict] = []
        partial: list[dict] = []
        for name, path in paths.items():
            pose = path(i)
            if pose is None:
                continue
            m = face_affine(name, *pose)
            portrait(frame, src[name], name, m)
            place(faces, partial, name, map_box(name, m), size)
        yield frame, faces, partial


def make_leave_return(src: dict[str, np.ndarray]):
    """The astronaut leaves to the left and returns; Hopper (a newcomer) walks in meanwhile."""
    def astronaut(i: int):
        away = ramp(i, 18, 23) - ramp(i, 48, 53)
        return 96.0 + 3.0 * wave(i, 72.0), 130.0 + 12.0 * wave(i, 60.0) - 260.0 * away, 125.0 + 6.0 * wave(i, 50.0)

    def hopper(i: int):
        return 100.0, 350.0 + 240.0 * (1.0 - ramp(i, 30, 35)) + 10.0 * wave(i, 64.0), 120.0

    return _walkers(src, {"astronaut": astronaut, "hopper": hopper})


def make_swap_return(src: dict[str, np.ndarray]):
    """Astronaut (left) and Hopper (right) leave at the sides and return in swapped places."""
    def astronaut(i: int):  # out to the left, back in from the right
        if i < 36:
            return 96.0, 130.0 - 260.0 * ramp(i, 18, 23), 125.0
        return 96.0, 350.0 + 260.0 * (1.0 - ramp(i, 48, 53)) + 8.0 * wave(i, 60.0), 125.0

    def hopper(i: int):  # out to the right, back in from the left
        if i < 36:
            return 100.0, 350.0 + 260.0 * ramp(i, 18, 23), 120.0
        return 100.0, 130.0 - 260.0 * (1.0 - ramp(i, 48, 53)) + 8.0 * wave(i, 66.0), 120.0

    return _walkers(src, {"astronaut": astronaut, "hopper": hopper})


def make_three_faces(src: dict[str, np.ndarray]):
    """640x480, 90 frames: three faces of ~30%, ~20% and ~10% of the frame width."""
    size = (640, 480)
    n = 90
    for i in range(n):
        frame = np.empty((480, 640, 3), np.uint8)
        faces = []
        tiles = [
            # name, source photo, mirror, face width, centre, tile (x0, y0, x1, y1)
            ("astronaut", "astronaut", False, 192.0 + 6.0 * wave(i, 90.0),
             (170.0 + 20.0 * wave(i, 90.0), 215.0 + 15.0 * wave(i, 70.0, 1.0)), (0, 0, 340, 480)),
            ("hopper", "hopper", False, 128.0 + 4.0 * wave(i, 80.0, 1.0),
             (490.0 + 18.0 * wave(i, 85.0, 2.0), 125.0 + 12.0 * wave(i, 75.0)), (340, 0, 640, 250)),
            # small face: 66-70 px (10.3-10.9% of the width). At 62-65 px MediaPipe's full-range
            # model lost it in a few frames (scores drop from ~0.8 to nothing); 68 px keeps every
            # frame above 0.6. The short-range model does not find faces this small at all.
            ("astronaut_small", "astronaut", True, 68.0 + 2.0 * wave(i, 90.0, 0.5),
             (490.0 + 20.0 * wave(i, 80.0, 3.0), 355.0 + 10.0 * wave(i, 65.0, 1.5)), (340, 250, 640, 480)),
        ]
        for name, photo, mirror, face_w, (cx, cy), (x0, y0, x1, y1) in tiles:
            m = face_affine(photo, face_w, cx, cy, mirror=mirror)
            frame[y0:y1, x0:x1] = warp(src[photo], m, size)[y0:y1, x0:x1]
            faces.append({"name": name, "box": map_box(photo, m)})
        yield frame, faces, []


CLIPS = {
    "astronaut_motion.mp4": (make_astronaut_motion, (640, 480), 120,
                             "Astronaut face with slow pan and zoom; no face in frames 60-89."),
    "two_faces.mp4": (make_two_faces, (640, 360), 90,
                      "Astronaut (left) and Hopper (right) drifting; Hopper hidden by a grey patch "
                      "in frames 30-32; the astronaut walks out of the frame to the left (44-49) "
                      "and comes back (74-79)."),
    "leave_return.mp4": (make_leave_return, (480, 270), 72,
                         "The astronaut leaves to the left (18-23), out longer than the tracker's "
                         "grace, and comes back (48-53); Hopper, a newcomer, walks in from the "
                         "right (30-35) and stays."),
    "swap_return.mp4": (make_swap_return, (480, 270), 72,
                        "Astronaut (left) and Hopper (right) both leave at their sides (18-23) "
                        "and come back in swapped places (48-53): astronaut right, Hopper left."),
    "three_faces.mp4": (make_three_faces, (640, 480), 90,
                        "Three faces at once: astronaut ~30%, Hopper ~20% and mirrored "
                        "astronaut_small ~10% of the frame width (66-70 px face)."),
}
# name -> (maker, size, frames, description, fps, more ground truth)
ALL_CLIPS = {**{name: (*spec, FPS, {}) for name, spec in CLIPS.items()}, **DYAD_CLIPS}


def visible_ranges(frames: list[dict]) -> dict[str, list[list[int]]]:
    """Per face name, inclusive [first, last] frame ranges where it is visible."""
    out: dict[str, list[list[int]]] = {}
    for rec in frames:
        i = rec["index"]
        for face in rec["faces"]:
            ranges = out.setdefault(face["name"], [])
            if ranges and ranges[-1][1] == i - 1:
                ranges[-1][1] = i
            else:
                ranges.append([i, i])
    return out


def write_clip(path: Path, maker, size, n, src, fps: int = FPS) -> list[dict]:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*FOURCC), fps, size)
    if not writer.isOpened():
        raise SystemExit(f"cannot open VideoWriter for {path}")
    frames = []
    count = 0
    try:
        for i, (frame, faces, partial) in enumerate(maker(src)):
            assert frame.shape == (size[1], size[0], 3), frame.shape
            writer.write(frame)
            record = {"index": i, "faces": faces}
            if partial:
                record["partial"] = partial
            frames.append(record)
            count += 1
    finally:
        writer.release()
    assert count == n, (path, count, n)
    return frames


def dump_truth(truth: dict) -> str:
    """JSON text of ``truth`` with one line per frame and number lists kept on one line."""
    frames = {}
    for name, clip in truth["clips"].items():
        frames[name] = clip["frames"]
        clip["frames"] = f"@@FRAMES {name}@@"
    text = json.dumps(truth, indent=1)
    for name, recs in frames.items():
        body = ",\n    ".join(json.dumps(r, separators=(", ", ": ")) for r in recs)
        text = text.replace(f'"@@FRAMES {name}@@"', "[\n    " + body + "\n   ]")
        truth["clips"][name]["frames"] = recs
    # collapse innermost lists of numbers ([x, y, w, h] boxes, [first, last] ranges)
    text = re.sub(r"\[\s*(-?[\d.]+(?:,\s*-?[\d.]+)*)\s*\]",
                  lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]", text)
    return text + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    root = Path(__file__).resolve().parents[1]
    parser.add_argument("--out", type=Path, default=root / "tests" / "fixtures",
                        help="fixtures folder for images/ and clips/clips.json (default: tests/fixtures of this repository)")
    parser.add_argument("--clips-out", type=Path, default=CLIPS_DIR,
                        help="folder for the clips (default: affect_live/assets/clips, package data)")
    parser.add_argument("--measure", action="store_true",
                        help="only print MediaPipe face boxes of the source photos and exit")
    parser.add_argument("--dump-frames", type=Path, default=None,
                        help="also write every clip's frames as PNG into this folder (for inspection)")
    parser.add_argument("--only", nargs="+", choices=sorted(ALL_CLIPS), metavar="CLIP",
                        help="remake only these clips (and their entries in clips.json), not the images or the other clips")
    args = parser.parse_args(argv)

    if args.measure:
        measure_sources()
        return 0

    src = load_sources()
    images = args.out / "images"
    truth_dir = args.out / "clips"
    images.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    args.clips_out.mkdir(parents=True, exist_ok=True)

    if args.only is None:
        if not cv2.imwrite(str(images / "astronaut.png"), src["astronaut"]):  # BGR -> RGB file
            raise SystemExit("cannot write astronaut.png")
        shutil.copyfile(hopper_path(), images / "grace_hopper.jpg")

    truth = {
        "_about": ("Ground truth of the affect-live test clips, made by tools/make_fixtures.py. "
                   "Boxes are [x, y, w, h] in pixels: the MediaPipe short-range face box of the "
                   "source photo mapped through the affine warp of each frame. 'frames' lists, "
                   "for every frame index, the faces that are visible (at least 90% inside the "
                   "frame) and, under 'partial', those only partly inside; 'visible' gives "
                   "inclusive [first, last] frame ranges of visible faces per face name."),
        "source_boxes": {k: list(v) for k, v in SOURCE_BOXES.items()},
        "clips": {},
    }
    if args.only is not None:  # keep the other clips' entries as they are
        truth["clips"] = json.loads((truth_dir / "clips.json").read_text())["clips"]
    for name, (maker, size, n, description, fps, more) in ALL_CLIPS.items():
        if args.only is not None and name not in args.only:
            continue
        path = args.clips_out / name
        frames = write_clip(path, maker, size, n, src, fps)
        truth["clips"][name] = {
            "description": description,
            "width": size[0],
            "height": size[1],
            "fps": fps,
            "frame_count": n,
            "fourcc": FOURCC,
            "visible": visible_ranges(frames),
            **more,
            "frames": frames,
        }
        print(f"{path}: {n} frames {size[0]}x{size[1]}, "
              f"{os.path.getsize(path) / 1e6:.2f} MB")
        if args.dump_frames is not None:
            d = args.dump_frames / Path(name).stem
            d.mkdir(parents=True, exist_ok=True)
            for i, (frame, *_) in enumerate(maker(src)):
                cv2.imwrite(str(d / f"{i:03d}.png"), frame)

    with open(truth_dir / "clips.json", "w", encoding="utf-8") as f:
        f.write(dump_truth(truth))
    print(f"{truth_dir / 'clips.json'} written; images in {images}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
