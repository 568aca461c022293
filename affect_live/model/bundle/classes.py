"""Expression class names: mapping any model's output order onto Aff-Wild2's."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from affect_live.types import EXPRESSIONS

# Spellings that other data sets and models use for the 7 basic expressions.
_SYNONYMS: dict[str, str] = {
    "neutral": "neutral",
    "anger": "anger",
    "angry": "anger",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "scared": "fear",
    "happiness": "happiness",
    "happy": "happiness",
    "joy": "happiness",
    "sadness": "sadness",
    "sad": "sadness",
    "surprise": "surprise",
    "surprised": "surprise",
}


def canonical_class(name: str) -> str:
    """The Aff-Wild2 name of a class, or ValueError naming the unknown spelling."""
    key = name.strip().lower()
    if key not in _SYNONYMS:
        raise ValueError(
            f"unknown expression class {name!r}; expected the 7 basic expressions "
            f"({', '.join(EXPRESSIONS)}) or a common spelling of them"
        )
    return _SYNONYMS[key]


def aff_wild2_order(model_classes: Sequence[str]) -> np.ndarray:
    """Indices that reorder a model's outputs into Aff-Wild2 order.

    `probs[:, aff_wild2_order(classes)]` gives columns in EXPRESSIONS order. The class list must
    name each of the 7 expressions exactly once.
    """
    canonical = [canonical_class(name) for name in model_classes]
    if len(canonical) != len(EXPRESSIONS):
        raise ValueError(
            f"a model must have exactly {len(EXPRESSIONS)} expression classes, "
            f"this one lists {len(canonical)}"
        )
    missing = [name for name in EXPRESSIONS if name not in canonical]
    if missing:
        raise ValueError(f"class list does not cover {', '.join(missing)} (duplicates?)")
    return np.array([canonical.index(name) for name in EXPRESSIONS], dtype=np.intp)
