"""The CSV's rows: the columns (the fixed ones, then the facial actions), one frame's rows,
and the --landmarks rows. Shared by every recording, so `analyze` and the app write the same."""

from __future__ import annotations

import math

from affect_live.measures import AFFECT_MEASURES, FRAME_COLUMNS, numeric_columns, numeric_rows
from affect_live.types import BLENDSHAPE_NAMES, EXPRESSIONS, POSE_COLUMNS, FrameResult

CSV_COLUMNS: tuple[str, ...] = (*FRAME_COLUMNS, *AFFECT_MEASURES, "expression")
# With actions (the default) these follow the fixed columns: degrees, then scores in [0, 1].
ACTION_COLUMNS: tuple[str, ...] = (*POSE_COLUMNS, *BLENDSHAPE_NAMES)
# The --landmarks companion file: one row per face and frame, the 478 points in pixels.
LANDMARK_COLUMNS: tuple[str, ...] = ("frame", "face_id", *(f"{axis}{i}" for i in range(478) for axis in "xyz"))
# Decimals each numeric column is written with (the LSL stream carries the unrounded values).
DECIMALS: dict[str, int] = {
    "frame": 0, "time_s": 4, "face_id": 0, **dict.fromkeys(("x", "y", "w", "h"), 1), "det_score": 4,
    "valence": 4, "arousal": 4, **dict.fromkeys(EXPRESSIONS, 6), **dict.fromkeys(POSE_COLUMNS, 2),
    **dict.fromkeys(BLENDSHAPE_NAMES, 4),
}  # fmt: skip
_FORMATS = {column: f"{{:.{decimals}f}}" for column, decimals in DECIMALS.items()}
_TEXT_AT = CSV_COLUMNS.index("expression")  # the text column sits between affect and actions


def csv_columns(actions: bool) -> tuple[str, ...]:
    """The CSV header: the fixed columns, then the action columns when they are computed."""
    return (*CSV_COLUMNS, *ACTION_COLUMNS) if actions else CSV_COLUMNS


def format_cell(column: str, value: float) -> str:
    """A numeric cell as the CSV writes it; missing (NaN) is an empty cell."""
    return _FORMATS[column].format(value) if math.isfinite(value) else ""


def format_rows(result: FrameResult, actions: bool = False) -> str:
    """The CSV lines of one frame (empty when no face was seen); with ``actions``, each row
    ends in the action columns (empty for a face that has none)."""
    columns = numeric_columns(actions)
    lines = []
    for p, values in zip(result.predictions, numeric_rows(result, actions), strict=True):
        cells = [format_cell(column, float(v)) for column, v in zip(columns, values, strict=True)]
        cells.insert(_TEXT_AT, p.expression)
        lines.append(",".join(cells) + "\n")
    return "".join(lines)


def format_landmark_rows(result: FrameResult) -> tuple[str, int]:
    """The --landmarks lines of one frame (faces with landmarks only) and how many."""
    lines = []
    for p in result.predictions:
        if p.actions is None or p.actions.landmarks is None:
            continue
        points = ",".join(f"{v:.1f}" for v in p.actions.landmarks.reshape(-1))
        lines.append(f"{result.frame_index},{p.face_id},{points}\n")
    return "".join(lines), len(lines)
