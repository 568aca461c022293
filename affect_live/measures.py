"""The measures a face gets per frame, by the names the CSV, the LSL stream and the study
analyses (baselines, epochs, synchrony) share, and which of them a baseline corrects."""

from __future__ import annotations

import numpy as np

from affect_live.types import BLENDSHAPE_NAMES, EXPRESSIONS, POSE_COLUMNS, FacePrediction, FrameResult

AFFECT_MEASURES: tuple[str, ...] = ("valence", "arousal", *EXPRESSIONS)
# Every numeric per-face measure, in CSV order: affect, then head pose and gaze, then blendshapes.
MEASURES: tuple[str, ...] = (*AFFECT_MEASURES, *POSE_COLUMNS, *BLENDSHAPE_NAMES)
# The CSV's numeric columns before the measures: which frame, which face, where it was found.
FRAME_COLUMNS: tuple[str, ...] = ("frame", "time_s", "face_id", "x", "y", "w", "h", "det_score")
# What a person's neutral baseline corrects: affect and blendshapes. Head pose and gaze are
# angles relative to the camera, not to the person's resting face, so they stay as measured.
CORRECTED_MEASURES: tuple[str, ...] = (*AFFECT_MEASURES, *BLENDSHAPE_NAMES)
# The measures synchrony looks at by default: affect and the main expressive blendshapes.
SMILE, BROWS = "mouthSmileLeft", "browInnerUp"


def delta_column(measure: str) -> str:
    """The column of a measure's difference from the person's baseline mean."""
    return f"delta_{measure}"


def z_column(measure: str) -> str:
    """The column of a measure's difference divided by the baseline's standard deviation."""
    return f"z_{measure}"


CORRECTED_COLUMNS: tuple[str, ...] = (
    *(delta_column(m) for m in CORRECTED_MEASURES),
    *(z_column(m) for m in CORRECTED_MEASURES),
)


def corrected_values(prediction: FacePrediction) -> np.ndarray:
    """A face's CORRECTED_MEASURES in order; NaN for blendshapes a face has none of."""
    shapes = prediction.actions.blendshapes if prediction.actions is not None else np.full(len(BLENDSHAPE_NAMES), np.nan)
    return np.concatenate(([prediction.valence, prediction.arousal], prediction.probabilities, shapes)).astype(float)


def numeric_columns(actions: bool) -> tuple[str, ...]:
    """Every numeric CSV column, in CSV order, without the text column `expression`: what the
    CSV's rows and the LSL data stream carry (with `actions`, pose, gaze and blendshapes too)."""
    return (*FRAME_COLUMNS, *(MEASURES if actions else AFFECT_MEASURES))


def numeric_rows(result: FrameResult, actions: bool) -> np.ndarray:
    """One float64 row per face of `numeric_columns(actions)`, unrounded; NaN in the action
    columns of a face without actions. float64: float32 would lose the 4th decimal of a time
    after about 1000 s and frame numbers past 2**24."""
    width = len(numeric_columns(actions))
    rows = np.full((len(result.predictions), width), np.nan)
    for row, p in zip(rows, result.predictions, strict=True):
        row[: len(FRAME_COLUMNS)] = (result.frame_index, result.time_s, p.face_id, *p.detection.box, p.detection.score)
        affect = slice(len(FRAME_COLUMNS), len(FRAME_COLUMNS) + len(AFFECT_MEASURES))
        row[affect] = (p.valence, p.arousal, *p.probabilities)
        a = p.actions
        if actions and a is not None:
            row[affect.stop :] = (a.yaw, a.pitch, a.roll, a.gaze_yaw, a.gaze_pitch, *a.blendshapes)
    return rows
