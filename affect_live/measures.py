"""The measures a face gets per frame, by the names the CSV, the LSL stream and the study
analyses (baselines, epochs, synchrony) share, and which of them a baseline corrects."""

from __future__ import annotations

import numpy as np

from affect_live.types import BLENDSHAPE_NAMES, EXPRESSIONS, POSE_COLUMNS, FacePrediction

AFFECT_MEASURES: tuple[str, ...] = ("valence", "arousal", *EXPRESSIONS)
# Every numeric per-face measure, in CSV order: affect, then head pose and gaze, then blendshapes.
MEASURES: tuple[str, ...] = (*AFFECT_MEASURES, *POSE_COLUMNS, *BLENDSHAPE_NAMES)
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
