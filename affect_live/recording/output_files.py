"""Every file one recording writes, named in this one place from its CSV path, and the check that
a run's files are all different: from each other, across the inputs of a batch, and from every
input (resolved paths, and the same inode for files that exist, so links count too).

`clip.csv` -> `clip.events.csv`, `clip.landmarks.csv` (--landmarks), `clip.meta.json` (and
its temp file `clip.meta.json.partial`), `clip.csv.partial` (the CSV rewritten with its
baseline-corrected columns, study/baseline_apply.py), `clip.lock` (held while a run writes, see
output_lock.py) and the annotated video (--video-out) named by the caller.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from affect_live.errors import EXIT_REFUSED, UserError

SIDECAR_TEMP_SUFFIX = ".partial"


def events_path(csv_path: Path) -> Path:
    return Path(csv_path).with_suffix(".events.csv")


def landmarks_path(csv_path: Path) -> Path:
    """The --landmarks companion file: frame, face_id, x0, y0, z0, ... x477, y477, z477."""
    return Path(csv_path).with_suffix(".landmarks.csv")


def sidecar_path(csv_path: Path) -> Path:
    return Path(csv_path).with_suffix(".meta.json")


def csv_temp_path(csv_path: Path) -> Path:
    """Where the CSV with its baseline-corrected columns is written before it replaces the CSV."""
    return Path(csv_path).with_name(Path(csv_path).name + SIDECAR_TEMP_SUFFIX)


def lock_path(csv_path: Path) -> Path:
    return Path(csv_path).with_suffix(".lock")


class OutputClash(UserError):
    """Two of a run's files are one file; the message is one line naming both roles."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_REFUSED)


@dataclass(frozen=True)
class OutputFiles:
    """What one input's recording writes; `owner` (the input) is for messages."""

    owner: str
    csv: Path
    video: Path | None = None
    landmarks: bool = False

    def files(self) -> list[tuple[str, Path]]:
        """(role, path) of every file written."""
        sidecar = sidecar_path(self.csv)
        named = [
            ("CSV", self.csv),
            ("events file", events_path(self.csv)),
            ("sidecar", sidecar),
            ("sidecar's temp file", sidecar.with_name(sidecar.name + SIDECAR_TEMP_SUFFIX)),
            ("CSV's temp file", csv_temp_path(self.csv)),
            ("lock file", lock_path(self.csv)),
        ]
        if self.landmarks:
            named.append(("landmarks file", landmarks_path(self.csv)))
        if self.video is not None:
            named.append(("annotated video", self.video))
        return named


def identities(path: Path) -> set[object]:
    """What makes two paths one file: the resolved path, and (dev, inode) when it exists."""
    ids: set[object] = {os.path.normcase(Path(path).expanduser().resolve())}
    try:
        info = os.stat(path)
    except OSError:
        return ids
    ids.add((info.st_dev, info.st_ino))
    return ids


def check_outputs(planned: Sequence[OutputFiles], inputs: Iterable[Path], others: Sequence[tuple[str, Path]] = ()) -> None:
    """Raise OutputClash (one line) when any file a run writes is an input file or another of
    the run's files; `others` are files of the whole run (batch.json)."""
    seen: dict[object, str] = {}
    inputs_said: set[str] = set()
    for path in inputs:
        inputs_said.add(str(path))
        for key in identities(path):
            seen.setdefault(key, str(path))
    writes = [(f"the {role} of {files.owner}", path) for files in planned for role, path in files.files()]
    writes += [(f"the run's {role}", path) for role, path in others]
    for what, path in writes:
        keys = identities(path)
        clash = next((seen[key] for key in keys if key in seen), None)
        if clash is not None:
            if clash in inputs_said:
                said = f"{path} is {'an input' if clash == str(path) else 'the input ' + clash}: it cannot also be {what}"
            else:
                said = f"{path} would be both {clash} and {what}"
            raise OutputClash(f"{said}; choose other output names (--out, --video-out)")
        for key in keys:
            seen[key] = what
