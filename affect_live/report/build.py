"""The report folder: per recording and face the PNG plots, and index.html tying them together
with a table of per-face means and durations and what the sidecar says about the model."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affect_live.model.bundle.manifest import HEAD_WORDS, head_words
from affect_live.report import plots
from affect_live.report.html_tables import STYLE, key_value_table, table
from affect_live.report.data import FaceSeries, Recording, ReportError, read_recording
from affect_live.types import EXPRESSIONS

log = logging.getLogger(__name__)

EVENTS_SUFFIX = ".events.csv"


@dataclass(frozen=True)
class FaceReport:
    index: int  # which recording
    recording: str
    face: FaceSeries
    images: tuple[Path, ...]  # relative to the report folder


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def timeline(recording: Recording) -> plots.Timeline:
    """The x range and markers every time plot of this recording shares."""
    return plots.Timeline(recording.span_s, recording.events.plotted())


def face_plots(recording: Recording, face: FaceSeries, out: Path, prefix: str) -> tuple[Path, ...]:
    priors = set(recording.prior_heads)
    va_prior = bool(priors & {"valence", "arousal"})
    times = timeline(recording)
    figures = {
        "va_time": plots.va_over_time(face, va_prior, times),
        "va_plane": plots.va_plane(face, va_prior),
        "expressions": plots.expression_shares(face, recording.fps, times),
        "pose": plots.pose_over_time(face, times),
        "blendshapes": plots.blendshape_summary(face),
    }
    made = [plots.save(figure, out / f"{prefix}face{face.face_id}_{kind}.png") for kind, figure in figures.items() if figure is not None]
    return tuple(p.relative_to(out) for p in made)


def make_report(csvs: list[Path], out: Path) -> tuple[Path, list[str], int]:
    """Writes out/index.html and the PNGs; returns the index, one line per CSV that could not
    be read (the others are reported) and how many were."""
    out.mkdir(parents=True, exist_ok=True)
    recordings: list[Recording] = []
    problems: list[str] = []
    for path in csvs:
        if path.name.endswith(EVENTS_SUFFIX):  # a recording's markers, matched by results/*.csv
            log.info("skipping %s: the events (markers) file of a recording", path)
            continue
        try:
            recordings.append(read_recording(path))
        except ReportError as exc:
            problems.append(str(exc))
    faces: list[FaceReport] = []
    for n, recording in enumerate(recordings):
        prefix = f"{n + 1:02d}_{_safe(recording.name)}_"
        for face in recording.faces:
            try:
                images = face_plots(recording, face, out, prefix)
            except (ValueError, OverflowError) as exc:  # odd values in a hand-edited CSV, say
                log.debug("plots of %s face %d", recording.csv, face.face_id, exc_info=True)
                problems.append(f"{recording.csv}: face {face.face_id} could not be plotted: {exc}")
                images = ()
            faces.append(FaceReport(n, recording.name, face, images))
    index = out / "index.html"
    index.write_text(render(recordings, faces, problems))
    log.info("report: %d recordings, %d faces -> %s", len(recordings), len(faces), index)
    return index, problems, len(recordings)


def face_row(report: FaceReport) -> dict[str, Any]:
    face = report.face
    shares = face.top_expression_shares()
    top = int(np.argmax(shares))
    row = {
        "recording": report.recording,
        "face": face.face_id,
        "rows": face.rows,
        "from (s)": f"{face.time_s[0]:.2f}",
        "to (s)": f"{face.time_s[-1]:.2f}",
        "duration (s)": f"{face.duration_s:.2f}",
        "mean valence": f"{np.nanmean(face.valence):+.3f}",
        "mean arousal": f"{np.nanmean(face.arousal):+.3f}",
        "top expression": f"{EXPRESSIONS[top]} ({shares[top] * 100:.0f}% of rows)",
    }
    for name, values in face.pose.items():
        row[f"mean {name}"] = f"{np.nanmean(values):+.1f}"
    return row


def model_section(recording: Recording) -> str:
    """The model, which outputs are priors, how the run ended, the source and the settings, as a
    key-value table (nested where the sidecar nests), from the sidecar."""
    meta = recording.meta
    if not meta:
        return "<p>No sidecar (.meta.json) beside this CSV: model and settings unknown.</p>"
    model = meta.get("model") or {}
    words = head_words(tuple(model.get("prior_heads") or ()), tuple(model.get("per_frame_heads") or ()))
    source = (model.get("manifest") or {}).get("provenance") or {}
    rows: list[tuple[str, Any]] = [
        ("model", f"{model.get('name', '?')} {model.get('version', '')} (sha256 {str(model.get('sha256', '?'))[:16]}...)"),
        ("outputs", "; ".join(f"{head} {word}" for head, word in words.items()) + f" ({HEAD_WORDS})"),
    ]
    if source.get("catalogue"):
        rows.append(("from the model catalogue", f"{source['catalogue']}, {source.get('repository', '?')} at {str(source.get('commit', '?'))[:12]}, "
                                                 f"file {source.get('path', '?')}, licence {source.get('license', '?')}"))  # fmt: skip
    for head, spec in (model.get("heads") or {}).items():
        if isinstance(spec, dict) and spec.get("description"):
            rows.append((f"{head} head", spec["description"]))
    rows.append(("status", f"{meta.get('status', '?')}" + (f" ({meta['message']})" if meta.get("message") else "")))
    rows.append(("source", (meta.get("source") or {}).get("name", "?")))
    rows.append(("settings", meta.get("settings") or {}))
    return key_value_table(rows)


def _markers(recording: Recording) -> str:
    events = recording.events
    if events.note:
        return f"<p>Markers: {html.escape(events.note)}.</p>"
    if not events.markers:
        return "<p>Markers: none in the events file.</p>"
    rows = "".join(
        f"<tr><td>{'before the first frame' if m.time_s is None else f'{m.time_s:.2f}'}</td><td>{'' if m.frame is None else m.frame}</td>"
        f"<td>{html.escape(m.origin)}</td><td>{html.escape(m.text)}</td></tr>"
        for m in events.markers
    )
    drawn = len(events.plotted())
    summary = f"Markers: {len(events.markers)} ({drawn} drawn on the plots over time)"
    table = f"<table><tr><th>time (s)</th><th>frame</th><th>origin</th><th>marker</th></tr>{rows}</table>"
    return f"<details{' open' if len(events.markers) <= 30 else ''}><summary>{summary}</summary>{table}</details>"


def render(recordings: list[Recording], faces: list[FaceReport], problems: list[str]) -> str:
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>affect-live report</title>", STYLE, "</head><body>"]
    parts.append("<h1>affect-live report</h1>")
    if problems:
        parts.append("<h2>Not included</h2><ul>" + "".join(f"<li>{html.escape(p)}</li>" for p in problems) + "</ul>")
    parts.append("<h2>Faces</h2>" + table([face_row(f) for f in faces], "No faces in these recordings."))
    for n, recording in enumerate(recordings):
        parts.append(f"<h2>{html.escape(recording.name)}</h2>" + model_section(recording) + _markers(recording))
        for report in (f for f in faces if f.index == n):
            parts.append(f"<h3>face {report.face.face_id}</h3>")
            parts.extend(f"<img src='{html.escape(str(p))}' alt='{html.escape(p.stem)}'>" for p in report.images)
    parts.append("</body></html>")
    return "\n".join(parts)
