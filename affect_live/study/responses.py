"""The study's tidy table (docs/study.md, "Study report"): one row per participant, condition,
marker and measure, with the mean response in the post-stimulus window, ready for R, pandas or
JASP; and which measures are priors (outputs never fitted to labels) in which recordings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from affect_live.report.data import Recording
from affect_live.study.epochs import TRIAL_KEYS, change_column, measures_of
from affect_live.types import EXPRESSIONS

STATISTIC = "mean_response"
# A head's name -> the measures (CSV columns) it gives.
HEAD_MEASURES = {"expression": EXPRESSIONS, "valence": ("valence",), "arousal": ("arousal",)}


def prior_measures(recordings: Sequence[Recording]) -> dict[str, list[str]]:
    """measure -> the recordings in which it comes from a prior head (the sidecar's model
    section, Recording.prior_heads); measures that are priors nowhere are left out."""
    priors: dict[str, list[str]] = {}
    for recording in recordings:
        for head in recording.prior_heads:
            for measure in HEAD_MEASURES.get(head, ()):
                priors.setdefault(measure, []).append(recording.name)
    return priors


def trial_responses(epochs: pd.DataFrame, post_s: float, keys: Sequence[str]) -> pd.DataFrame:
    """Each trial's (and face's) mean change over its rows with 0 <= t_s <= post_s, for the
    trials with a pre-stimulus mean; `keys` are the columns kept (participant, condition ...)."""
    measures = measures_of(epochs)
    changes = [change_column(m) for m in measures]
    window = epochs[(epochs["t_s"] >= 0) & (epochs["t_s"] <= round(post_s, 6))]
    group = list(dict.fromkeys([*keys, *TRIAL_KEYS]))
    return window.groupby(group, sort=True)[changes].mean().dropna(how="all").reset_index()


def tidy_table(
    epochs: pd.DataFrame,
    pairs: pd.DataFrame,
    markers: Sequence[str],
    post_s: float,
    priors: dict[str, list[str]],
) -> pd.DataFrame:
    """One row per (participant, condition) of `pairs` (with its extra columns) x marker x
    measure: `mean_response`, the mean over the participant's trials of each trial's mean
    change from its pre-stimulus mean over [0, post] s; `trials`, how many (0: empty value);
    `prior`, whether the measure is a prior in any of the recordings."""
    measures = measures_of(epochs)
    per_trial = trial_responses(epochs, post_s, ("participant", "condition"))
    long = per_trial.melt(id_vars=["participant", "condition", *TRIAL_KEYS], var_name="measure", value_name=STATISTIC)
    long = long.dropna(subset=[STATISTIC])
    long["measure"] = long["measure"].str.removeprefix("change_")
    means = long.groupby(["participant", "condition", "marker", "measure"])[STATISTIC].agg(["mean", "count"])
    means = means.rename(columns={"mean": STATISTIC, "count": "trials"}).reset_index()
    grid = pairs.merge(pd.DataFrame({"marker": list(markers)}), how="cross").merge(pd.DataFrame({"measure": measures}), how="cross")
    tidy = grid.merge(means, on=["participant", "condition", "marker", "measure"], how="left")
    tidy["trials"] = tidy["trials"].fillna(0).astype(int)
    tidy["window_from_s"], tidy["window_to_s"] = 0.0, float(post_s)
    tidy["prior"] = tidy["measure"].map(lambda m: m in priors)
    order = {m: k for k, m in enumerate(measures)}
    tidy = tidy.sort_values(["participant", "condition", "marker", "measure"], key=lambda c: c.map(order) if c.name == "measure" else c, kind="stable")
    return tidy.reset_index(drop=True)


def participant_summary(trials: pd.DataFrame, epochs: pd.DataFrame, post_s: float, extra: Sequence[str]) -> list[dict[str, object]]:
    """Per participant and condition: recordings, faces, trials (corrected of all), the mean
    share of frames present, and the mean valence and arousal response per marker."""
    responses = trial_responses(epochs, post_s, ("participant", "condition"))
    rows = []
    for (participant, condition), part in trials.groupby(["participant", "condition"], sort=True):
        row: dict[str, object] = {"participant": participant, "condition": condition}
        row.update({c: "; ".join(dict.fromkeys(str(v) for v in part[c] if str(v))) for c in extra})
        row["recordings"] = ", ".join(dict.fromkeys(part["recording"]))
        row["faces"] = len(part[["recording", "face_id"]].drop_duplicates())
        row["trials corrected / all"] = f"{int(part['corrected'].sum())} / {len(part)}"
        row["frames present"] = f"{part['share_present'].mean() * 100:.0f}%"
        mine = responses[(responses["participant"] == participant) & (responses["condition"] == condition)]
        for marker, trials_of in mine.groupby("marker", sort=True):
            for measure in ("valence", "arousal"):
                column = change_column(measure)
                if column in trials_of:
                    row[f"{marker}: {measure}"] = f"{np.nanmean(trials_of[column]):+.3f}"
        rows.append(row)
    return rows
