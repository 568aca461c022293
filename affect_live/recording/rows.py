"""The CSV's rows: the columns (the fixed ones, then the facial actions), one frame's rows,
and the --landmarks rows. Shared by every recording, so `analyze` and the app write the same."""

from __future__ import annotations

from affect_live.types import BLENDSHAPE_NAMES, EXPRESSIONS, POSE_COLUMNS, FrameResult

CSV_COLUMNS: tuple[str, ...] = (
    "frame", "time_s", "face_id", "x", "y", "w", "h", "det_score", "valence", "arousal",
    *EXPRESSIONS, "expression",
)  # fmt: skip
# With actions (the default) these follow the fixed columns: degrees, then scores in [0, 1].
ACTION_COLUMNS: tuple[str, ...] = (*POSE_COLUMNS, *BLENDSHAPE_NAMES)
# The --landmarks companion file: one row per face and frame, the 478 points in pixels.
LANDMARK_COLUMNS: tuple[str, ...] = ("frame", "face_id", *(f"{axis}{i}" for i in range(478) for axis in "xyz"))
_EMPTY_ACTIONS = "," * len(ACTION_COLUMNS)


def csv_columns(actions: bool) -> tuple[str, ...]:
    """The CSV header: the fixed columns, then the action columns when they are computed."""
    return (*CSV_COLUMNS, *ACTION_COLUMNS) if actions else CSV_COLUMNS


def format_rows(result: FrameResult, actions: bool = False) -> str:
    """The CSV lines of one frame (empty when no face was seen); with ``actions``, each row
    ends in the action columns (empty for a face that has none)."""
    lines = []
    for p in result.predictions:
        x, y, w, h = p.detection.box
        probs = ",".join(f"{v:.6f}" for v in p.probabilities)
        tail = ""
        if actions:
            a = p.actions
            tail = _EMPTY_ACTIONS if a is None else (
                f",{a.yaw:.2f},{a.pitch:.2f},{a.roll:.2f},{a.gaze_yaw:.2f},{a.gaze_pitch:.2f},"
                + ",".join(f"{v:.4f}" for v in a.blendshapes)
            )
        lines.append(
            f"{result.frame_index},{result.time_s:.4f},{p.face_id},{x:.1f},{y:.1f},{w:.1f},{h:.1f},"
            f"{p.detection.score:.4f},{p.valence:.4f},{p.arousal:.4f},{probs},{p.expression}{tail}\n"
        )
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
