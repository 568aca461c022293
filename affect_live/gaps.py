"""When a face's absence breaks its plotted lines: the one rule the app's live plots
(session/history.py) and the report (report/plots.py) both follow."""

from __future__ import annotations

import numpy as np

# Longer than the tracker's grace (10 frames at 30 fps), after which a face's windows restart:
# shorter misses are bridged, longer absences leave a gap in the lines.
GAP_S = 0.5


def is_gap(last_seen: float | np.ndarray, now: float | np.ndarray) -> bool | np.ndarray:
    """Whether a face last seen at `last_seen` and seen again at `now` (seconds) was away long
    enough to break its lines; element-wise for arrays (consecutive rows of one face)."""
    return now - last_seen > GAP_S
