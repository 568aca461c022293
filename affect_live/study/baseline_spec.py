"""`--baseline SPEC`: which rows make each person's neutral baseline (docs/study.md, Baselines).

- ``first:10s``: each person's rows in the recording's first 10 s, counted from its first
  analysed frame (not from the person's own first appearance);
- ``markers:START,END``: the rows between the first marker START of the recording's events and
  the next marker END after it;
- a path to a calibration recording (a CSV made by `analyze`): its people matched to this
  recording's people by re-identification (study/calibration.py).

A bad spec is one line (UserError, exit 2) before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from affect_live.errors import EXIT_REFUSED, UserError
from affect_live.study.calibration import Calibration, load_calibration

SPEC_HELP = "first:10s (any duration), markers:START,END, or a calibration recording (a CSV made by analyze)"
_FIRST = re.compile(r"first:(?P<seconds>\d+(?:\.\d*)?|\.\d+)s?", re.IGNORECASE)


@dataclass(frozen=True)
class BaselineSpec:
    text: str  # as the user gave it (the sidecar's `settings.baseline`)
    kind: Literal["first", "markers", "calibration"]
    seconds: float = 0.0  # first:
    start_marker: str = ""  # markers:
    end_marker: str = ""
    calibration_csv: Path | None = None


@dataclass(frozen=True)
class BaselinePlan:
    """A spec ready to use: a calibration recording is read and its people described once, by
    the driver (picklable, so batch workers get it)."""

    spec: BaselineSpec
    calibration: Calibration | None = None

    @property
    def setting(self) -> str:
        """What the sidecar's settings record (a calibration by its absolute path)."""
        path = self.spec.calibration_csv
        return f"calibration:{path.absolute()}" if path is not None else self.spec.text


def _refuse(message: str) -> UserError:
    return UserError(f"--baseline: {message}", EXIT_REFUSED)


def parse_baseline_spec(text: str) -> BaselineSpec:
    """The spec's parts; raises UserError (one line, exit 2) for a bad one."""
    given = text.strip()
    if given.lower().startswith("first:"):
        match = _FIRST.fullmatch(given)
        seconds = float(match["seconds"]) if match else 0.0
        if not match or not seconds > 0:
            raise _refuse(f"{text!r}: give a duration in seconds over 0, e.g. first:10s")
        return BaselineSpec(given, "first", seconds=seconds)
    if given.lower().startswith("markers:"):
        parts = [part.strip() for part in given.split(":", 1)[1].split(",")]
        if len(parts) != 2 or not all(parts):
            raise _refuse(f"{text!r}: give two marker labels, e.g. markers:baseline_start,baseline_end")
        return BaselineSpec(given, "markers", start_marker=parts[0], end_marker=parts[1])
    path = Path(given).expanduser()
    if path.suffix.lower() != ".csv":
        raise _refuse(f"{text!r} is none of first:Ns, markers:START,END or a calibration recording (.csv)")
    if not path.is_file():
        raise _refuse(f"no calibration recording {path}")
    return BaselineSpec(given, "calibration", calibration_csv=path)


def prepare_baseline(text: str) -> BaselinePlan:
    """Parse the spec and, for a calibration recording, read it and describe its people
    (re-reading its video); every problem is one line (UserError, exit 2)."""
    return load_plan(parse_baseline_spec(text))


def load_plan(spec: BaselineSpec) -> BaselinePlan:
    """A parsed spec made ready: a calibration recording read and its people described."""
    if spec.calibration_csv is None:
        return BaselinePlan(spec)
    try:
        return BaselinePlan(spec, load_calibration(spec.calibration_csv))
    except UserError as exc:
        raise _refuse(str(exc)) from None
