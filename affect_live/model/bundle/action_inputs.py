"""The facial actions as a per-frame input of the heads (`train --with-actions`).

Per face and frame, 55 values: head pose (yaw, pitch, roll) in radians, then the 52 blendshape
scores in [0, 1] (BLENDSHAPE_NAMES order). Radians keep the pose on the blendshapes' scale
(about +-1.5 at most) so that no value dominates the heads' first layer. The heads take their
[max, min, mean] over the window, as for the probabilities (docs/model-spec.md). This is the one
definition used by the cache, training, the conversion check, evaluation and the live engine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from affect_live.types import BLENDSHAPE_NAMES, FaceActions

POSE_INPUTS: tuple[str, ...] = ("yaw", "pitch", "roll")
ACTION_INPUTS: tuple[str, ...] = POSE_INPUTS + BLENDSHAPE_NAMES
ACTION_DIM = len(ACTION_INPUTS)  # 55
# The extra per-frame inputs a bundle's heads may take (manifest `heads_extra_inputs`), with
# their width per frame; the heads read [max, min, mean] of each over the window.
EXTRA_INPUTS: dict[str, int] = {"actions": ACTION_DIM}


def action_rows(pose_degrees: np.ndarray, blendshapes: np.ndarray) -> np.ndarray:
    """(N, 55) float32 heads inputs from (N, 3) yaw, pitch, roll in degrees and (N, 52) scores."""
    pose = np.radians(np.asarray(pose_degrees, dtype=np.float64)).astype(np.float32)
    return np.concatenate([pose.reshape(-1, 3), np.asarray(blendshapes, np.float32).reshape(-1, len(BLENDSHAPE_NAMES))], axis=1)


def rows_of_actions(actions: Sequence[FaceActions]) -> np.ndarray:
    """`action_rows` of several faces' measured actions."""
    if not actions:
        return np.zeros((0, ACTION_DIM), np.float32)
    pose = np.array([(a.yaw, a.pitch, a.roll) for a in actions], dtype=np.float64)
    return action_rows(pose, np.stack([a.blendshapes for a in actions]))


def actions_needed_message(names: Sequence[str]) -> str:
    """The one line for running heads that take the facial actions with the face mesh off."""
    return (
        f"{', '.join(names)}: its heads take the facial actions (trained with --with-actions), "
        "so the face mesh must run: drop --no-actions (or turn facial actions on)"
    )
