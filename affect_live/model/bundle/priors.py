"""The documented priors that stand in for heads no one has trained on labels yet."""

from __future__ import annotations

from affect_live.model.bundle.manifest import HeadSpec

# Russell & Mehrabian (1977), mean pleasure and arousal ratings of emotion words, -1..+1 scale
# (the word rated is in the comment). Neutral sits at the origin by convention.
VA_POSITIONS: dict[str, tuple[float, float]] = {
    "neutral": (0.00, 0.00),
    "anger": (-0.51, 0.59),  # angry
    "disgust": (-0.60, 0.35),  # disgusted
    "fear": (-0.64, 0.60),  # fearful
    "happiness": (0.81, 0.51),  # happy
    "sadness": (-0.63, -0.27),  # sad
    "surprise": (0.40, 0.67),  # surprised
}
VA_POSITIONS_SOURCE = (
    'J. A. Russell and A. Mehrabian (1977), "Evidence for a three-factor theory of emotions", '
    "Journal of Research in Personality 11, 273-294: mean pleasure and arousal ratings of the words "
    "angry, disgusted, fearful, happy, sad, surprised; neutral at the origin by convention."
)


def prior_heads() -> dict[str, HeadSpec]:
    """Heads that are not trained on windows: the expression probabilities' window mean (labelled
    "learned per frame") and the valence/arousal projection (a "prior", never fitted to labels)."""
    va_rule = (
        "PRIOR, not trained on valence/arousal labels: the window mean of the 7 expression "
        "probabilities projected onto fixed per-class {axis} positions from emotion-word ratings "
        "(Russell & Mehrabian 1977)."
    )
    return {
        "expression": HeadSpec(
            "prior",
            "LEARNED PER FRAME, no trained temporal head: the mean over the window of the 7 probabilities "
            "the per-frame model learned from its labels.",
            "window_mean",
        ),
        "valence": HeadSpec("prior", va_rule.format(axis="valence"), "class_positions"),
        "arousal": HeadSpec("prior", va_rule.format(axis="arousal"), "class_positions"),
    }
