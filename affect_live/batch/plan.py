"""What a batch does: the inputs (a folder of sessions becomes its video files), each input's
CSV (and annotated video), and which inputs a previous run already finished.

Every file of the run is named here, from one plan, and checked before anything is written: no
output may be an input or another output (recording.output_files.check_outputs)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from affect_live.errors import UserError
from affect_live.pipeline.sources import IMAGE_SUFFIXES
from affect_live.recording.output_files import OutputFiles, check_outputs, identities, sidecar_path
from affect_live.render.annotated_video import VIDEO_SUFFIX

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv", ".flv"}
ANNOTATED = ".annotated"


@dataclass(frozen=True)
class BatchItem:
    """One input and where its results go (absolute paths for files, so a worker on another
    node of a shared folder finds them)."""

    index: int
    spec: str
    csv: str
    video_out: str | None = None

    @property
    def name(self) -> str:
        return Path(self.spec).name or self.spec

    def outputs(self, landmarks: bool = False) -> OutputFiles:
        return OutputFiles(self.spec, Path(self.csv), None if self.video_out is None else Path(self.video_out), landmarks)


def expand_inputs(specs: list[str]) -> list[str]:
    """A folder holding video files stands for those files (sorted); a folder of images stays
    one input (an image sequence); cameras, URLs and files stay as given."""
    expanded: list[str] = []
    for spec in specs:
        path = Path(spec).expanduser()
        if not spec.isdigit() and "://" not in spec and path.is_dir():
            videos = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
            has_images = any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir())
            if videos and not has_images:
                expanded.extend(str(p) for p in videos)
                continue
        expanded.append(spec)
    return expanded


def _default_csv_name(spec: str) -> str:
    if spec.isdigit():
        return f"camera{spec}.csv"
    if "://" in spec:
        return "stream.csv"
    return (Path(spec).stem or Path(spec).name or "input") + ".csv"


def plan_outputs(inputs: list[str], out: Path | None) -> list[Path]:
    """The CSV path of each input: --out file, --out folder, or next to the input."""
    if out is not None and out.suffix.lower() == ".csv":
        if len(inputs) > 1:
            raise UserError("with several inputs, --out must be a folder (one CSV per input)")
        return [out]
    paths: list[Path] = []
    taken: set[object] = set()
    for spec in inputs:
        if out is None:
            folder = Path.cwd() if spec.isdigit() or "://" in spec else Path(spec).parent
        else:
            folder = out
        candidate = folder / _default_csv_name(spec)
        stem, n = candidate.stem, 2
        # Two inputs with the same name (clip.csv, clip-2.csv), or whose files would meet
        # (a.jpg's events file is a.events.png's CSV: a.events-2.csv).
        while any(key in taken for key in _names(candidate)):
            candidate = folder / f"{stem}-{n}.csv"
            n += 1
        taken |= _names(candidate)
        paths.append(candidate)
    return paths


def _names(csv: Path) -> set[object]:
    return {key for _, path in OutputFiles("", csv, landmarks=True).files() for key in identities(path)}


def plan_videos(csvs: list[Path], video_out: Path | None) -> list[Path | None]:
    """--video-out: a file for one input, else a folder (<csv stem>.annotated.mp4 in it)."""
    if video_out is None:
        return [None] * len(csvs)
    if video_out.suffix:
        if len(csvs) > 1:
            raise UserError("with several inputs, --video-out must be a folder (one video per input)")
        return [video_out]
    return [video_out / f"{csv.stem}{ANNOTATED}{VIDEO_SUFFIX}" for csv in csvs]


def plan_batch(
    specs: list[str], out: Path | None, video_out: Path | None = None, landmarks: bool = False, summary: Path | None = None
) -> list[BatchItem]:
    """Each input's outputs; raises OutputClash (one line, nothing written) when any file the
    run writes (`summary`: batch.json) is an input or another of its files."""
    inputs = expand_inputs(specs)
    csvs = plan_outputs(inputs, out)
    videos = plan_videos(csvs, video_out)
    items = [
        BatchItem(n, _absolute(spec), str(csv.absolute()), None if video is None else str(video.absolute()))
        for n, (spec, csv, video) in enumerate(zip(inputs, csvs, videos))
    ]
    check_outputs([item.outputs(landmarks) for item in items], input_files(inputs), [] if summary is None else [("batch summary", summary)])
    return items


def input_files(inputs: list[str]) -> list[Path]:
    """The files the inputs read: each file, and a folder's images (a folder of videos was
    expanded into its files already)."""
    files: list[Path] = []
    for spec in inputs:
        if is_live(spec):
            continue
        path = Path(spec).expanduser()
        if path.is_dir():
            try:
                files.extend(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            except OSError:
                continue  # an unreadable folder: its source says so, and nothing of it is read
        else:
            files.append(path)
    return files


def _absolute(spec: str) -> str:
    return spec if spec.isdigit() or "://" in spec else str(Path(spec).expanduser().absolute())


def is_live(spec: str) -> bool:
    return spec.isdigit() or "://" in spec


def fingerprint(meta: dict[str, Any]) -> dict[str, Any]:
    """What must match for a finished recording to count as done: the model (sha256 of every
    fused bundle) and the settings, as a sidecar records them."""
    model = meta.get("model") or {}
    members = model.get("fusion") or [model]
    return {"sha256": [m.get("sha256") for m in members], "settings": meta.get("settings")}


def finished(item: BatchItem, expected: dict[str, Any]) -> bool:
    """True when the item's sidecar says complete with the same model and settings (and its
    annotated video exists, when one is asked for); live sources are never skipped."""
    if is_live(item.spec):
        return False
    path = sidecar_path(Path(item.csv))
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    if not isinstance(meta, dict) or meta.get("status") != "complete" or not Path(item.csv).is_file():
        return False
    if item.video_out is not None and not Path(item.video_out).is_file():
        return False
    same = fingerprint(meta) == expected
    if not same:
        log.info("%s: model or settings changed since it was analysed; analysing again", item.spec)
    return same
