"""The report's PNG plots of one face, drawn with matplotlib's Agg renderer (no pyplot state,
no GUI toolkit): valence and arousal over time, the valence-arousal plane, expression shares
over time, and head pose / gaze and blendshape summaries when the CSV has those columns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from affect_live.render.overlay import face_color_tuple
from affect_live.report.data import FaceSeries
from affect_live.types import EXPRESSIONS

DPI = 100
TOP_BLENDSHAPES = 15
# Expression colours: one fixed hue each, the same in every face's plot.
EXPRESSION_COLORS = ("#9e9e9e", "#d62728", "#8c564b", "#9467bd", "#2ca02c", "#1f77b4", "#ff7f0e")


def _rgb(face_id: int) -> tuple[float, float, float]:
    r, g, b = face_color_tuple(face_id)
    return r / 255, g / 255, b / 255


def _save(figure: Figure, path: Path) -> Path:
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


def va_over_time(face: FaceSeries, path: Path, prior: bool) -> Path:
    figure = Figure(figsize=(8, 3))
    axes = figure.add_subplot()
    axes.plot(face.time_s, face.valence, label="valence", color=_rgb(face.face_id), linewidth=1.2)
    axes.plot(face.time_s, face.arousal, label="arousal", color="0.35", linewidth=1.2, linestyle="--")
    axes.set_ylim(-1.05, 1.05)
    axes.axhline(0, color="0.8", linewidth=0.8)
    axes.set_xlabel("time (s)")
    axes.set_title(f"face {face.face_id}: valence and arousal" + (" (prior heads, not trained on labels)" if prior else ""))
    axes.legend(loc="upper right", fontsize=8)
    return _save(figure, path)


def va_plane(face: FaceSeries, path: Path, prior: bool) -> Path:
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
    return _save(figure, path)


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


def _save_with_legend(figure: Figure, axes, path: Path) -> Path:  # noqa: ANN001
    axes.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8)
    return _save(figure, path)


def expression_shares(face: FaceSeries, path: Path, fps: float | None) -> Path:
    """The expression probabilities over time, stacked (they sum to 1), smoothed over ~1 s."""
    figure, axes = _series_figure(f"face {face.face_id}: expression probabilities over time (1 s moving mean)", "share")
    shares = smooth(face.probabilities, max(int(round(fps or 30)), 1))
    axes.stackplot(face.time_s, shares.T, labels=EXPRESSIONS, colors=EXPRESSION_COLORS, alpha=0.9)
    axes.set_ylim(0, 1)
    return _save_with_legend(figure, axes, path)


def pose_over_time(face: FaceSeries, path: Path) -> Path | None:
    if not face.pose:
        return None
    figure, axes = _series_figure(f"face {face.face_id}: head pose and gaze", "degrees")
    for name, values in face.pose.items():
        axes.plot(face.time_s, values, label=name, linewidth=1.0, linestyle="--" if name.startswith("gaze") else "-")
    axes.axhline(0, color="0.8", linewidth=0.8)
    return _save_with_legend(figure, axes, path)


def blendshape_summary(face: FaceSeries, path: Path) -> Path | None:
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
    return _save(figure, path)
