"""`report RECORDING... --participants TABLE --out DIR`: the study report across participants
(docs/study.md, "Study report"): which outputs are priors, event-related plots per marker with
a line and 95% band per condition, per-participant summaries, synchrony per dyad, faces missing
during trials, each recording's model and settings; and tidy.csv (participant x condition x
marker x measure), summary.csv and trials.csv beside index.html. Nothing is overwritten."""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from affect_live.report import plots
from affect_live.report.build import model_section
from affect_live.report.data import Recording
from affect_live.report.html_tables import STYLE, table
from affect_live.study.epochs import common_fps, epoch_table, summarise, trial_table
from affect_live.study.inputs import read_recordings, refuse_existing, write_new_csv
from affect_live.study.participants import Participants, read_participants
from affect_live.study.responses import STATISTIC, participant_summary, prior_measures, tidy_table
from affect_live.study.stimuli import study_trials
from affect_live.study.study_plots import erp_figure, synchrony_figure
from affect_live.study.synchrony import SynchronyError, recording_synchrony

log = logging.getLogger(__name__)

TABLES = ("tidy.csv", "summary.csv", "trials.csv")
INDEX = "index.html"


@dataclass(frozen=True)
class StudyOptions:
    participants: Path
    events: Path | None  # a stimulus log; None: each recording's own events file
    markers: tuple[str, ...]
    pre_s: float
    post_s: float


@dataclass
class StudyReport:
    index: Path
    notes: list[str] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)  # relative to the report folder


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def make_study_report(csvs: Sequence[Path], out: Path, options: StudyOptions) -> StudyReport:
    """Raises StudyError (one line) for bad input or an output that exists, before writing."""
    refuse_existing([out / INDEX, *(out / name for name in TABLES)])
    recordings = read_recordings(csvs)
    participants = read_participants(options.participants, recordings)
    trials, notes = study_trials(recordings, options.events, options.markers)
    raw = epoch_table(recordings, trials, options.pre_s, options.post_s)
    trial_rows, unnamed = participants.attach(trial_table(recordings, trials, raw, options.pre_s, options.post_s))
    epochs, _ = participants.attach(raw)
    notes += [f"{r.recording} face {r.face_id} is not in the participants table: left out" for r in unnamed.itertuples()]
    fps = common_fps(recordings)
    summary = summarise(epochs, fps, by=("condition", "marker"), person=("participant",))
    markers = list(dict.fromkeys(t.marker for t in trials))
    priors = prior_measures(recordings)
    tidy = tidy_table(epochs, participants.pairs(), markers, options.post_s, priors)
    erps = [f"erp_{n + 1:02d}_{_safe(marker)}.png" for n, marker in enumerate(markers)]
    figures = {name: erp_figure(summary, marker, priors, options.pre_s, options.post_s) for name, marker in zip(erps, markers)}
    dyads = _dyads(recordings, participants, priors, notes)
    figures.update({name: figure for name, (_, _, figure) in dyads.items() if figure is not None})
    refuse_existing(out / name for name in figures)
    for name, frame in zip(TABLES, (tidy, summary, trial_rows)):
        write_new_csv(frame, out / name)
    images = [plots.save(figure, out / name).relative_to(out) for name, figure in figures.items()]
    context = _Context(recordings, participants, trial_rows, epochs, options, priors, fps, markers, erps, dyads)
    index = out / INDEX
    with open(index, "x") as handle:
        handle.write(render(context, notes))
    log.info("study report: %d recordings, %d trials -> %s", len(recordings), len(trials), index)
    return StudyReport(index, notes, images)


def _dyads(recordings: Sequence[Recording], participants: Participants, priors: dict[str, list[str]], notes: list[str]) -> dict:
    """Per recording with two faces or more: (its synchrony table with participants' names,
    the faces' labels, its figure), by the figure's file name."""
    candidates = [r for r in recordings if len(r.faces) >= 2]
    if not candidates:
        return {}
    dyads = {}
    for n, recording in enumerate(candidates):
        labels = _face_labels(recording, participants)
        try:
            sync = recording_synchrony(recording)
        except SynchronyError as exc:
            notes.append(f"synchrony of {recording.name}: {exc}")
            sync = None
        figure = synchrony_figure(sync, recording.name, priors, labels) if sync is not None else None
        dyads[f"synchrony_{n + 1:02d}_{_safe(recording.name)}.png"] = (recording, sync, figure)
    return dyads


def _face_labels(recording: Recording, participants: Participants) -> dict[int, str]:
    keys = pd.DataFrame({"recording": recording.name, "face_id": [f.face_id for f in recording.faces]})
    named, _ = participants.attach(keys)
    return {int(r.face_id): f"{r.participant} (face {r.face_id})" for r in named.itertuples()}


@dataclass(frozen=True)
class _Context:
    recordings: Sequence[Recording]
    participants: Participants
    trials: pd.DataFrame
    epochs: pd.DataFrame
    options: StudyOptions
    priors: dict[str, list[str]]
    fps: float
    markers: list[str]
    erps: list[str]  # the event-related plots' file names, one per marker
    dyads: dict


def _priors_box(priors: dict[str, list[str]], recordings: Sequence[Recording]) -> str:
    if not priors:
        return "<p class='prior'>No output of these recordings is a prior: every measure comes from a model trained on labels (or from the face mesh).</p>"
    by_recordings: dict[tuple[str, ...], list[str]] = {}
    for measure, names in priors.items():
        by_recordings.setdefault(tuple(names), []).append(measure)
    every = len(recordings)
    items = "".join(
        f"<li><b>{html.escape(', '.join(measures))}</b>: prior in {'every recording' if len(names) == every else html.escape(', '.join(names))}</li>"
        for names, measures in by_recordings.items()
    )
    return ("<div class='prior'><b>Priors</b> (outputs of a documented projection that was never fitted to labels, "
            f"from each recording's sidecar): <ul>{items}</ul>Their panels say so, and tidy.csv marks them in its <code>prior</code> column.</div>")  # fmt: skip


def render(c: _Context, notes: list[str]) -> str:
    o = c.options
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>affect-live study report</title>", STYLE, "</head><body>"]
    parts.append("<h1>affect-live study report</h1>")
    parts.append(_priors_box(c.priors, c.recordings))
    pairs = c.participants.pairs()
    parts.append(
        f"<p>{len(c.recordings)} recordings, {pairs['participant'].nunique()} participants, conditions: {html.escape(', '.join(sorted(set(pairs['condition']))))}; "
        f"markers: {html.escape(', '.join(c.markers))}; onsets from {html.escape(str(o.events) if o.events else 'each recording’s events file (user markers)')}; "
        f"window {o.pre_s:g} s before to {o.post_s:g} s after each onset; time bins of 1/{c.fps:g} s (the lowest frame rate).</p>"
        f"<p>Tables: <a href='tidy.csv'>tidy.csv</a> (one row per participant, condition, marker and measure: <code>{STATISTIC}</code>, the mean over the "
        f"participant's trials of each trial's mean change from its pre-stimulus mean over 0 to {o.post_s:g} s), <a href='summary.csv'>summary.csv</a> "
        "(the plotted means and 95% intervals over trials and over people), <a href='trials.csv'>trials.csv</a> (frames present per trial and face).</p>"
    )  # fmt: skip
    if notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    parts.append("<h2>Event-related responses</h2><p>Change from each trial's pre-stimulus mean; per condition the mean over participants "
                 "(each participant's trials averaged first) with its t-based 95% confidence band.</p>")  # fmt: skip
    parts.extend(f"<img src='{html.escape(name)}' alt='{html.escape(name)}'>" for name in c.erps)
    parts.append("<h2>Participants</h2>" + table(participant_summary(c.trials, c.epochs, o.post_s, c.participants.extra), "No participant has a trial."))
    parts.append("<h2>Synchrony per dyad</h2>" + _synchrony(c))
    missing = c.trials[(c.trials["share_present"] < 1) | ~c.trials["corrected"]]
    columns = ["participant", "condition", "recording", "face_id", "marker", "trial", "onset_s", "share_present", "corrected", "note"]
    parts.append("<h2>Faces missing during trials</h2>" + table(missing[columns].to_dict("records"), "Every face was present in every frame of every trial."))
    parts.append("<h2>Recordings</h2>")
    for recording in c.recordings:
        parts.append(f"<details><summary>{html.escape(recording.name)}: model and settings</summary>{model_section(recording)}</details>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _synchrony(c: _Context) -> str:
    if not c.dyads:
        return "<p>No recording has two faces or more.</p>"
    parts = []
    for name, (recording, sync, figure) in c.dyads.items():
        parts.append(f"<h3>{html.escape(recording.name)}</h3>")
        faces = ", ".join(str(f.face_id) for f in recording.faces)
        if sync is None:
            parts.append(f"<p>Faces {html.escape(faces)}: no synchrony computed (see the notes).</p>")
            continue
        labels = _face_labels(recording, c.participants)
        rows = sync.assign(face_a=sync["face_a"].map(lambda f: labels.get(int(f), f"face {f}")), face_b=sync["face_b"].map(lambda f: labels.get(int(f), f"face {f}")))
        parts.append(table(rows.round(4).to_dict("records"), f"Faces {faces}: no pair was present together long enough (a window and twice the largest lag)."))
        if figure is not None:
            parts.append(f"<img src='{html.escape(name)}' alt='{html.escape(name)}'>")
    return "".join(parts)
