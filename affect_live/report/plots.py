"""The report's plots of one face, as matplotlib Figures drawn with the Agg renderer (no pyplot
state, no GUI toolkit): valence and arousal over time, the valence-arousal plane, expression
shares over time, and head pose / gaze and blendshape summaries when the CSV has those columns.

The plots over time share one x range per recording and show its markers as vertical lines;
their lines break where the face was away (affect_live/gaps.py, the app's rule)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from affect_live.gaps import is_gap
from affect_live.render.overlay import face_color_tuple
from affect_live.report.data import FaceSeries
from affect_live.report.events import Marker
from affect_live.types import EXPRESSIONS

DPI = 100
TOP_BLENDSHAPES = 15
# Expression colours: one fixed hue each, the same in every face's plot.
EXPRESSION_COLORS = ("#9e9e9e", "#d62728", "#8c564b", "#9467bd", "#2ca02c", "#1f77b4", "#ff7f0e")
MAX_LABELS = 12  # marker texts per plot; more would overlap (the HTML's table lists them all)
LABEL_CHARS = 28
MARKER_STYLES = {  # the user's (and other programs') markers stand out; source/model changes less
    "user": {"color": "#b03a2e", "linewidth": 1.1, "linestyle": "-", "alpha": 0.9},
    "change": {"color": "0.5", "linewidth": 0.9, "linestyle": ":", "alpha": 0.8},
}


@dataclass(frozen=True)
class Timeline:
    """What every time plot of one recording shares: its x range and the markers drawn on it."""

    span: tuple[float, float] | None = None
    markers: tuple[Marker, ...] = ()


def _rgb(face_id: int) -> tuple[float, float, float]:
    r, g, b = face_color_tuple(face_id)
    return r / 255, g / 255, b / 255


def save(figure: Figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    return path


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Centred moving mean along axis 0 (window rows), the ends averaged over what there is."""
    window = min(window, len(values))  # np.convolve's "same" is as long as the longer input
    if window <= 1:
        return values
    kernel = np.ones(window)
    flat = values.reshape(len(values), -1)
    sums = np.stack([np.convolve(flat[:, k], kernel, mode="same") for k in range(flat.shape[1])], axis=1)
    counts = np.convolve(np.ones(len(values)), kernel, mode="same")[:, None]
    return (sums / counts).reshape(values.shape)


def gap_starts(t: np.ndarray) -> np.ndarray:
    """Indices of the rows that follow an absence of the face (the first row after a gap)."""
    return np.flatnonzero(is_gap(t[:-1], t[1:])) + 1


def with_gaps(t: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`t` and `values` (rows along axis 0) with a NaN row inside each gap, so no line or area
    is drawn across the time the face was away."""
    starts = gap_starts(t)
    if not starts.size:
        return t, values
    middle = (t[starts - 1] + t[starts]) / 2
    return np.insert(t, starts, middle), np.insert(np.asarray(values, dtype=float), starts, np.nan, axis=0)


def smooth_between_gaps(t: np.ndarray, values: np.ndarray, window: int) -> np.ndarray:
    """`smooth` within each stretch of rows the face was there for, never across a gap."""
    pieces = np.split(values, gap_starts(t))
    return np.concatenate([smooth(piece, window) for piece in pieces])


def _label(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 3] + "..."


def draw_markers(axes: Axes, timeline: Timeline) -> None:
    """The markers as vertical lines (gid `marker:user` or `marker:change`), the first
    MAX_LABELS user markers, then changes, with their text; a note counts the unlabelled."""
    ordered = sorted(timeline.markers, key=lambda m: (m.kind != "user", m.time_s))
    for n, marker in enumerate(ordered):
        style = MARKER_STYLES[marker.kind]
        axes.axvline(marker.time_s, zorder=1.5, gid=f"marker:{marker.kind}", **style)
        if n < MAX_LABELS:
            axes.text(marker.time_s, 0.98, _label(marker.text), transform=axes.get_xaxis_transform(), rotation=90,
                      ha="right", va="top", fontsize=7, color=style["color"], gid="marker_label",
                      bbox={"facecolor": "white", "alpha": 0.6, "edgecolor": "none", "pad": 0.5})  # fmt: skip
    if len(ordered) > MAX_LABELS:
        axes.text(0.01, 0.02, f"{len(ordered) - MAX_LABELS} more markers without labels (see the table)",
                  transform=axes.transAxes, fontsize=7, color="0.3", gid="marker_note")  # fmt: skip
    times = [m.time_s for m in ordered]
    if timeline.span is not None:
        low, high = min([timeline.span[0], *times]), max([timeline.span[1], *times])
        if high > low:
            axes.set_xlim(low, high)


def va_over_time(face: FaceSeries, prior: bool, timeline: Timeline) -> Figure:
    figure = Figure(figsize=(8, 3))
    axes = figure.add_subplot()
    t, values = with_gaps(face.time_s, np.stack([face.valence, face.arousal], axis=1))
    axes.plot(t, values[:, 0], label="valence", color=_rgb(face.face_id), linewidth=1.2)
    axes.plot(t, values[:, 1], label="arousal", color="0.35", linewidth=1.2, linestyle="--")
    axes.set_ylim(-1.05, 1.05)
    axes.axhline(0, color="0.8", linewidth=0.8)
    axes.set_xlabel("time (s)")
    axes.set_title(f"face {face.face_id}: valence and arousal" + (" (prior heads, not trained on labels)" if prior else ""))
    axes.legend(loc="upper right", fontsize=8)
    draw_markers(axes, timeline)
    return figure


def va_plane(face: FaceSeries, prior: bool) -> Figure:
    figure = Figure(figsize=(4.2, 4))
    axes = figure.add_subplot()
    points = axes.scatter(face.valence, face.arousal, c=face.time_s, cmap="viridis", s=8, alpha=0.7)
    figure.colorbar(points, ax=axes, label="time (s)")
    axes.add_patch(_unit_circle())
    axes.set_xlim(-1.05, 1.05)
    axes.set_ylim(-1.05, 1.05)
    axes.set_aspect("equal")
    axes.axhline(0, color="0.8", linewidth=0.8)
    axes.axvline(0, color="0.8", linewidth=0.8)
    axes.set_xlabel("valence")
    axes.set_ylabel("arousal")
    axes.set_title(f"face {face.face_id}: valence-arousal" + (" (prior)" if prior else ""), fontsize=10)
    return figure


def _unit_circle():  # noqa: ANN202 (a matplotlib patch)
    from matplotlib.patches import Circle

    return Circle((0, 0), 1.0, fill=False, color="0.7", linewidth=0.8)


def _series_figure(title: str, ylabel: str):  # noqa: ANN202 (a Figure and its Axes)
    """A wide plot over time with its legend on the right."""
    figure = Figure(figsize=(8, 3))
    axes = figure.add_subplot()
    axes.set_xlabel("time (s)")
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    return figure, axes


def _finish_series(axes: Axes, timeline: Timeline) -> None:
    axes.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    draw_markers(axes, timeline)


def expression_shares(face: FaceSeries, fps: float | None, timeline: Timeline) -> Figure:
    """The expression probabilities over time, stacked (they sum to 1), smoothed over ~1 s."""
    figure, axes = _series_figure(f"face {face.face_id}: expression probabilities over time (1 s moving mean)", "share")
    shares = smooth_between_gaps(face.time_s, face.probabilities, max(int(round(fps or 30)), 1))
    t, shares = with_gaps(face.time_s, shares)
    axes.stackplot(t, shares.T, labels=EXPRESSIONS, colors=EXPRESSION_COLORS, alpha=0.9)
    axes.set_ylim(0, 1)
    _finish_series(axes, timeline)
    return figure


def pose_over_time(face: FaceSeries, timeline: Timeline) -> Figure | None:
    if not face.pose:
        return None
    figure, axes = _series_figure(f"face {face.face_id}: head pose and gaze", "degrees")
    t, values = with_gaps(face.time_s, np.stack(list(face.pose.values()), axis=1))
    for k, name in enumerate(face.pose):
        axes.plot(t, values[:, k], label=name, linewidth=1.0, linestyle="--" if name.startswith("gaze") else "-")
    axes.axhline(0, color="0.8", linewidth=0.8)
    _finish_series(axes, timeline)
    return figure


def blendshape_summary(face: FaceSeries) -> Figure | None:
    """The blendshapes with the highest mean score, with their 10th-90th percentile range (a
    skewed score's mean can lie outside it: that side's bar is then empty)."""
    if not face.blendshapes:
        return None
    names = list(face.blendshapes)
    values = np.stack([face.blendshapes[n] for n in names], axis=1)
    means = np.nanmean(values, axis=0)
    order = np.argsort(means)[::-1][:TOP_BLENDSHAPES][::-1]
    low, high = np.nanpercentile(values[:, order], 10, axis=0), np.nanpercentile(values[:, order], 90, axis=0)
    figure = Figure(figsize=(6, 0.3 * len(order) + 1.2))
    axes = figure.add_subplot()
    y = np.arange(len(order))
    axes.barh(y, means[order], color=_rgb(face.face_id), xerr=[np.clip(means[order] - low, 0, None), np.clip(high - means[order], 0, None)], ecolor="0.4", capsize=2)
    axes.set_yticks(y, [names[k] for k in order], fontsize=8)
    axes.set_xlim(0, 1)
    axes.set_xlabel("mean score (bars: 10th-90th percentile)")
    axes.set_title(f"face {face.face_id}: strongest blendshapes")
    return figure
