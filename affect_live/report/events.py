"""A recording's markers read back for the report, from its events file (`<name>.events.csv`,
written by affect_live/recording/recording.py), and which of them the time plots draw."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from affect_live.recording.recording import EVENT_COLUMNS, OWN

# affect-live's own markers that the time plots draw, lighter than the user's: what changed the
# numbers. Faces coming and going show as gaps in the lines, and the recording's start and stop
# as the ends of the data, so those stay in the table only.
CHANGES = ("source changed", "model changed")


@dataclass(frozen=True)
class Marker:
    time_s: float | None  # None: came before the first frame was recorded
    frame: int | None
    origin: str  # "user", "affect-live" or another program's LSL stream
    text: str

    @property
    def kind(self) -> str:
        """"user" (the user's or another program's: drawn and labelled), "change" (a source or
        model change: drawn lighter) or "event" (table only)."""
        if self.origin != OWN:
            return "user"
        return "change" if self.text.startswith(CHANGES) else "event"


@dataclass(frozen=True)
class Events:
    """The markers of one recording; `note` says why there are none to show (no events file,
    an unreadable one), empty when the file was read."""

    markers: tuple[Marker, ...] = ()
    note: str = ""

    def plotted(self) -> tuple[Marker, ...]:
        """The markers a time plot draws: those with a time that are not plain events."""
        return tuple(m for m in self.markers if m.time_s is not None and m.kind != "event")


def _number(text: str | None, kind: type) -> float | int | None:
    if text in (None, ""):
        return None
    value = kind(text)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"time {text!r}")
    return value


def read_events(path: Path) -> Events:
    """Never raises: a missing or unreadable events file gives no markers and a note."""
    if not path.is_file():
        return Events(note=f"no events file ({path.name}): no markers")
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in EVENT_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                return Events(note=f"{path.name} is not an events file (no column {missing[0]!r}): no markers")
            markers = tuple(
                Marker(_number(row["time_s"], float), _number(row["frame"], int), row["origin"] or "", row["marker"] or "")
                for row in reader
            )
    except OSError as exc:
        return Events(note=f"cannot read {path.name}: {exc.strerror}")
    except (csv.Error, UnicodeDecodeError, ValueError) as exc:
        return Events(note=f"{path.name} has a bad row ({exc}): no markers")
    return Events(markers)
