"""Compare the CSVs two versions wrote for the same inputs: rows, ids, labels and the largest
numeric difference per column group (a dependency upgrade must leave them within round-off).

    python tools/compare_outputs.py BEFORE_DIR AFTER_DIR

Each folder holds what `analyze INPUTS --out DIR` wrote (e.g. the five shipped clips,
`analyze affect_live/assets/clips/*.mp4 --out DIR --quiet --landmarks`, once per version).
"""

from __future__ import annotations

import argparse
import csv
import math
from pathlib import Path

from affect_live.types import BLENDSHAPE_NAMES

GROUPS = {
    "box (px)": ("x", "y", "w", "h"),
    "valence, arousal": ("valence", "arousal"),
    "probabilities": ("neutral", "anger", "disgust", "fear", "happiness", "sadness", "surprise"),
    "head pose (deg)": ("yaw", "pitch", "roll"),
    "gaze (deg)": ("gaze_yaw", "gaze_pitch"),
    "blendshapes": BLENDSHAPE_NAMES,
}


def compare(before: Path, after: Path) -> int:
    largest = dict.fromkeys(GROUPS, 0.0)
    landmarks = 0.0
    status = 0
    for old in sorted(before.glob("*.csv")):
        new = after / old.name
        if old.name.endswith(".events.csv"):
            continue
        a, b = list(csv.DictReader(old.open())), list(csv.DictReader(new.open()))
        same_keys = [(r.get("frame"), r.get("face_id"), r.get("expression")) for r in a] == [(r.get("frame"), r.get("face_id"), r.get("expression")) for r in b]
        print(f"{old.name:34s} rows {len(a):6d} -> {len(b):6d}  byte-identical {old.read_bytes() == new.read_bytes()}  same frames/ids/labels {same_keys}")
        status |= not same_keys
        for x, y in zip(a, b):
            for column, value in x.items():
                if column in ("frame", "time_s", "face_id", "expression") or value == y[column]:
                    continue
                difference = abs(float(value) - float(y[column]))
                if math.isnan(difference):
                    continue
                if old.name.endswith(".landmarks.csv"):
                    landmarks = max(landmarks, difference)
                else:
                    group = next(g for g, columns in GROUPS.items() if column in columns)
                    largest[group] = max(largest[group], difference)
    for group, value in largest.items():
        print(f"largest difference, {group}: {value:.2g}")
    print(f"largest difference, landmark points (px): {landmarks:.2g}")
    return status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args()
    return compare(args.before, args.after)


if __name__ == "__main__":
    raise SystemExit(main())
