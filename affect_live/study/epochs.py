"""Stimulus-locked responses (docs/study.md, "Epochs").

For every trial (a stimulus onset, affect_live/study/stimuli.py) and face of a recording, the
face's rows from `pre` seconds before the onset to `post` seconds after it, with every measure
(measures.MEASURES present in the CSV) raw and as its change from the face's pre-stimulus mean
(the mean over its rows with -pre <= t_s < 0). Times from onset are rounded to the microsecond,
which takes float noise out of the window edges (the CSV's times have 0.1 ms steps).

Which faces were missing is counted per trial and face on the frame grid, the frames at
onset + k/fps (`trial_table`); `summarise` averages the responses over trials and over people
with t-based 95% confidence intervals (scipy.stats)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from affect_live.measures import MEASURES
from affect_live.report.data import Recording
from affect_live.study.inputs import StudyError, frame_rate
from affect_live.study.stimuli import Trial, read_stimulus_log  # noqa: F401 (the epochs' public reader)

CHANGE_PREFIX = "change_"
TIME_DECIMALS = 6
TRIAL_KEYS = ("recording", "face_id", "marker", "trial")
PERSON = ("recording", "face_id")  # a person, without a participants table
LEVELS = ("trials", "people")
CONFIDENCE = 0.95


def change_column(measure: str) -> str:
    """The column of a measure's change from the trial's pre-stimulus mean."""
    return CHANGE_PREFIX + measure


def measures_of(table: pd.DataFrame) -> list[str]:
    """The measures a table has, in MEASURES order."""
    return [m for m in MEASURES if m in table.columns]


def check_window(pre_s: float, post_s: float) -> None:
    for name, value in (("--pre", pre_s), ("--post", post_s)):
        if not (math.isfinite(value) and value > 0):
            raise StudyError(f"{name} must be a number of seconds above 0, got {value}")


def epoch_table(recordings: Sequence[Recording], trials: Sequence[Trial], pre_s: float, post_s: float) -> pd.DataFrame:
    """The long table: one row per trial, face and frame in [onset - pre, onset + post]:
    recording, face_id, marker, trial, onset_s, t_s, frame, time_s, the raw measures, then
    change_<measure> (empty where the trial has no pre-stimulus row of that face)."""
    check_window(pre_s, post_s)
    by_name = {r.name: r for r in recordings}
    parts = []
    for trial in trials:
        rows = by_name[trial.recording].rows
        measures = measures_of(rows)
        t_s = np.round(rows["time_s"].to_numpy(dtype=float) - trial.onset_s, TIME_DECIMALS)
        inside = (t_s >= -round(pre_s, TIME_DECIMALS)) & (t_s <= round(post_s, TIME_DECIMALS))
        part = rows.loc[inside, ["face_id", "frame", "time_s", *measures]].copy()
        part.insert(0, "t_s", t_s[inside])
        before = part[part["t_s"] < 0].groupby("face_id")[measures].mean()
        baseline = before.reindex(part["face_id"]).to_numpy()  # NaN for a face with no row before
        change = pd.DataFrame(part[measures].to_numpy(dtype=float) - baseline, columns=[change_column(m) for m in measures], index=part.index)
        part = pd.concat([part, change], axis=1)
        part["recording"], part["marker"], part["trial"], part["onset_s"] = trial.recording, trial.marker, trial.trial, trial.onset_s
        parts.append(part)
    if not parts:
        return pd.DataFrame(columns=[*TRIAL_KEYS, "onset_s", "t_s", "frame", "time_s"])
    table = pd.concat(parts, ignore_index=True)
    measures = measures_of(table)
    order = {r.name: n for n, r in enumerate(recordings)}
    table = table.sort_values(["recording", "onset_s", "marker", "face_id", "frame"], key=lambda c: c.map(order) if c.name == "recording" else c, kind="stable")
    columns = [*TRIAL_KEYS, "onset_s", "t_s", "frame", "time_s", *measures, *(change_column(m) for m in measures)]
    return table[columns].reset_index(drop=True)


def grid_counts(t_s: np.ndarray, pre_s: float, post_s: float, fps: float) -> tuple[int, int, int, int]:
    """(frames expected before onset, after it (onset included), present before, after) on
    the grid onset + k/fps: each row counts for its nearest grid frame, once."""
    expected_pre, last = math.floor(pre_s * fps + 1e-6), math.floor(post_s * fps + 1e-6)
    k = np.clip(np.round(np.asarray(t_s) * fps).astype(int), -expected_pre, last)
    k = np.unique(k)
    return expected_pre, last + 1, int((k < 0).sum()), int((k >= 0).sum())


def trial_table(recordings: Sequence[Recording], trials: Sequence[Trial], epochs: pd.DataFrame, pre_s: float, post_s: float) -> pd.DataFrame:
    """One row per trial and face of its recording (present or not): frames expected and
    present on the frame grid, the share present, whether the trial is corrected, and a note
    that says why not or what was missing."""
    by_name = {r.name: r for r in recordings}
    groups = {key: part["t_s"].to_numpy() for key, part in epochs.groupby(list(TRIAL_KEYS), sort=False)} if len(epochs) else {}
    rows = []
    for trial in trials:
        recording = by_name[trial.recording]
        fps = frame_rate(recording)
        start, end = recording.span_s or (math.nan, math.nan)
        for face in recording.faces:
            t_s = groups.get((trial.recording, face.face_id, trial.marker, trial.trial), np.empty(0))
            expected_pre, expected_post, present_pre, present_post = grid_counts(t_s, pre_s, post_s, fps)
            present = present_pre + present_post
            expected = expected_pre + expected_post
            rows.append({
                "recording": trial.recording, "face_id": face.face_id, "marker": trial.marker, "trial": trial.trial,
                "onset_s": trial.onset_s, "fps": fps, "frames_expected": expected, "frames_present": present,
                "share_present": round(present / expected, 4), "pre_frames_present": present_pre,
                "post_frames_present": present_post, "corrected": present_pre > 0,
                "note": _note(trial.onset_s, pre_s, post_s, start, end, expected - present, present_pre, present_post),
            })  # fmt: skip
    return pd.DataFrame(rows, columns=[*TRIAL_KEYS, "onset_s", "fps", "frames_expected", "frames_present", "share_present",
                                       "pre_frames_present", "post_frames_present", "corrected", "note"])  # fmt: skip


def _note(onset: float, pre: float, post: float, start: float, end: float, missing: int, pre_present: int, post_present: int) -> str:
    if onset - pre > end or onset + post < start:
        return f"the window lies outside the recording (its rows span {start:g} to {end:g} s)"
    if pre_present + post_present == 0:
        return "face absent for the whole trial"
    notes = []
    if pre_present == 0:
        why = "the window starts before the recording's first row" if onset - pre < start else "the face was absent before the onset"
        notes.append(f"no pre-stimulus frame ({why}): no correction")
    if post_present == 0:
        notes.append("face absent after the onset")
    if missing:
        notes.append(f"frames missing: {missing}" + (" (the window runs past the recording's last row)" if onset + post > end else ""))
    return "; ".join(notes)


def summarise(
    epochs: pd.DataFrame, fps: float, by: Sequence[str] = ("marker",), person: Sequence[str] = PERSON
) -> pd.DataFrame:
    """Mean and 95% t interval of each measure's change from the pre-stimulus mean, per `by`
    group and time bin on the grid of `fps` (bin k holds the rows with round(t_s * fps) = k):
    each trial's rows in a bin are averaged first, then level `trials` pools all trials and
    level `people` averages each person's trials first. n counts the trials or people with a
    value; below 2 the interval is empty."""
    columns = [*by, "measure", "level", "t_s", "n", "mean", "sd", "ci_low", "ci_high"]
    changes = [c for c in epochs.columns if c.startswith(CHANGE_PREFIX)]
    if epochs.empty or not changes:
        return pd.DataFrame(columns=columns)
    trial_keys = list(dict.fromkeys([*by, *person, *TRIAL_KEYS]))
    table = epochs.assign(bin=np.round(epochs["t_s"].to_numpy(dtype=float) * fps).astype(int))
    per_trial = table.groupby([*trial_keys, "bin"], sort=True)[changes].mean()
    per_person = per_trial.groupby([*by, *person, "bin"]).mean()
    levels = []
    for level, values in zip(LEVELS, (per_trial, per_person)):
        grouped = values.groupby([*by, "bin"])
        stacked = pd.concat({"mean": grouped.mean(), "sd": grouped.std(ddof=1), "n": grouped.count()}, axis=1)
        stacked = stacked.stack(level=1, future_stack=True).reset_index()
        stacked = stacked.rename(columns={stacked.columns[len(by) + 1]: "measure"})
        stacked["level"] = level
        levels.append(stacked)
    summary = pd.concat(levels, ignore_index=True)
    summary["measure"] = summary["measure"].str.removeprefix(CHANGE_PREFIX)
    summary["t_s"] = np.round(summary["bin"] / fps, TIME_DECIMALS)
    summary["n"] = summary["n"].astype(int)
    half = t_half_width(summary["sd"].to_numpy(dtype=float), summary["n"].to_numpy())
    summary["ci_low"], summary["ci_high"] = summary["mean"] - half, summary["mean"] + half
    order = {m: k for k, m in enumerate(MEASURES)}
    summary = summary.sort_values([*by, "measure", "level", "bin"], key=lambda c: c.map(order) if c.name == "measure" else c, kind="stable")
    return summary[columns].reset_index(drop=True)


def t_half_width(sd: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Half the width of the t-based confidence interval of a mean (NaN below 2 values)."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        dof = np.where(n >= 2, n - 1, np.nan)
        return stats.t.ppf(0.5 + CONFIDENCE / 2, dof) * sd / np.sqrt(n)


def common_fps(recordings: Sequence[Recording]) -> float:
    """The grid on which recordings of different frame rates are combined: the lowest rate,
    so every bin of every recording holds at least one frame."""
    return min(frame_rate(r) for r in recordings)
