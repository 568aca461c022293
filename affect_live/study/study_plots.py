"""The study report's plots, matplotlib Figures on the Agg renderer as report/plots.py draws
them: event-related responses per marker (a line and 95% band per condition) and synchrony per
dyad. A measure that is a prior in any recording says so in its panel."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from affect_live.measures import BROWS, SMILE

PLOTTED = ("valence", "arousal", SMILE, BROWS)  # the measures the event-related plots show
CONDITION_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
PRIOR_WORDS = "PRIOR: not trained on labels"


def measure_title(measure: str, priors: dict[str, list[str]]) -> str:
    return f"{measure} ({PRIOR_WORDS})" if measure in priors else measure


def erp_figure(summary: pd.DataFrame, marker: str, priors: dict[str, list[str]], pre_s: float, post_s: float) -> Figure:
    """One panel per plotted measure: per condition the mean change from the pre-stimulus mean
    over people (each participant's trials averaged first) and its 95% confidence band; a
    condition with one participant has a line and no band (its legend says so)."""
    rows = summary[(summary["marker"] == marker) & (summary["level"] == "people")]
    measures = [m for m in PLOTTED if m in set(rows["measure"])]
    figure = Figure(figsize=(10, 3.2 * ((len(measures) + 1) // 2) + 0.6))
    conditions = sorted(set(summary["condition"]))
    for k, measure in enumerate(measures):
        axes = figure.add_subplot((len(measures) + 1) // 2, 2, k + 1)
        for n, condition in enumerate(conditions):
            line = rows[(rows["measure"] == measure) & (rows["condition"] == condition)].sort_values("t_s")
            if line.empty:
                continue
            color = CONDITION_COLORS[n % len(CONDITION_COLORS)]
            people = int(line["n"].max())
            label = f"{condition} (n = {people} {'person: no band' if people < 2 else 'people'})"
            axes.plot(line["t_s"], line["mean"], color=color, linewidth=1.4, label=label, gid=f"mean:{condition}")
            band = line["ci_low"].notna().to_numpy()
            if band.any():
                axes.fill_between(line["t_s"], line["ci_low"], line["ci_high"], where=band, color=color, alpha=0.2, linewidth=0, gid=f"band:{condition}")
        axes.axvline(0, color="0.3", linewidth=0.9, linestyle="--")
        axes.axhline(0, color="0.8", linewidth=0.8)
        axes.set_xlim(-pre_s, post_s)
        axes.set_title(measure_title(measure, priors), fontsize=10, color="#8a6d00" if measure in priors else "black")
        axes.set_xlabel("time from onset (s)")
        axes.set_ylabel("change from pre-stimulus mean", fontsize=8)
        axes.legend(fontsize=7, loc="best")
    figure.suptitle(f"{marker}: response per condition, mean over people with 95% confidence band", fontsize=11)
    return figure


def synchrony_figure(table: pd.DataFrame, title: str, priors: dict[str, list[str]], labels: dict[int, str]) -> Figure | None:
    """Per pair of faces, the correlation at the peak lag per measure (bars), the lag in
    seconds above each bar, hatched where the surrogate test gives p >= 0.05."""
    if table.empty:
        return None
    pairs = list(dict.fromkeys(zip(table["face_a"], table["face_b"])))
    measures = list(dict.fromkeys(table["measure"]))
    figure = Figure(figsize=(max(7.0, 1.5 * len(measures) * len(pairs) + 2), 3.8))
    axes = figure.add_subplot()
    width = 0.8 / len(pairs)
    x = np.arange(len(measures))
    for n, (a, b) in enumerate(pairs):
        part = table[(table["face_a"] == a) & (table["face_b"] == b)].set_index("measure").reindex(measures)
        r = part["r"].to_numpy(dtype=float)
        significant = (part["p"].to_numpy(dtype=float) < 0.05)
        bars = axes.bar(x + (n - (len(pairs) - 1) / 2) * width, np.nan_to_num(r), width, color=CONDITION_COLORS[n % len(CONDITION_COLORS)],
                        label=f"{labels.get(a, f'face {a}')} -> {labels.get(b, f'face {b}')}")  # fmt: skip
        for bar, lag, sig in zip(bars, part["lag_s"].to_numpy(dtype=float), significant):
            if not sig:
                bar.set_hatch("//")
                bar.set_alpha(0.5)
            if np.isfinite(lag):
                axes.annotate(f"{lag:+.2f} s", (bar.get_x() + bar.get_width() / 2, max(bar.get_height(), 0)), ha="center", va="bottom", fontsize=7)
    axes.set_xticks(x, [f"{m}\n(PRIOR)" if m in priors else m for m in measures], fontsize=8)
    if any(m in priors for m in measures):
        axes.text(0.01, 0.02, f"PRIOR: {PRIOR_WORDS.split(': ', 1)[1]}", transform=axes.transAxes, fontsize=7, color="#8a6d00")
    axes.axhline(0, color="0.6", linewidth=0.8)
    axes.set_ylim(-1.05, 1.05)
    axes.set_ylabel("r at the peak lag")
    axes.set_title(f"{title}: synchrony (hatched: p >= 0.05 against surrogates; lag > 0: the second follows)", fontsize=9)
    axes.legend(fontsize=7, loc="lower right")
    return figure

