"""The real window for tests: fixtures that open it on a clip (offscreen Qt) and waits bounded
only so that a broken build fails instead of hanging."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from affect_live.ui.app import AppOptions, build_window, prepare_qt_environment
from tests.conftest import CLIPS

prepare_qt_environment()  # drop OpenCV's Qt plugin path before the QApplication exists

from PyQt5.QtCore import QSettings  # noqa: E402

from affect_live.ui.settings import AppSettings  # noqa: E402

TWO_FACES = str(CLIPS / "two_faces.mp4")
WAIT_MS = 180_000  # a bound for a broken build, not a speed: a loaded machine fuses two bundles in over 20 s


@pytest.fixture
def store(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)


@pytest.fixture
def open_window(qtbot, store):
    windows = []

    def make(source: str | None = TWO_FACES, **options):
        window = build_window(AppOptions(source=source, **options), AppSettings.load(store), store, cameras=[])
        # Closed below, not by qtbot.addWidget: qtbot would close it first, and a window still
        # recording (a test that failed) would then wait for an answer to "Quit?".
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.ask_before_quit = False  # a test that failed mid-recording must not wait for a click
        window.close()


def wait_for_frames(qtbot, window, n: int = 1, faces: int = 1) -> int:
    """Wait until `n` more results with at least `faces` faces were drawn; their count."""
    start = window.frames_shown
    qtbot.waitUntil(lambda: window.frames_shown >= start + n and len(window.video.predictions) >= faces, timeout=WAIT_MS)
    return window.frames_shown


def open_and_wait(qtbot, window, spec: str, **options) -> None:  # noqa: ANN001
    """Open a source and wait until the window has switched to it (or said why not)."""
    window.open_source(spec, **options)
    qtbot.waitUntil(lambda: not window.source_pending(), timeout=WAIT_MS)


def recorded_rows(window) -> int:  # noqa: ANN001
    status = window.session.stats().recording
    return status.rows if status is not None else -1


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def start_and_wait(qtbot, window, csv_path: Path, rows: int = 5) -> None:  # noqa: ANN001
    """Start recording to `csv_path` and wait until `rows` rows were written."""
    assert window.start_recording(csv_path)
    qtbot.waitUntil(lambda: recorded_rows(window) >= rows, timeout=WAIT_MS)


# The real window in a child process (argv[1]: its folder), on the looped demo clip; the test's
# script goes on from there with `app`, `folder` and `window`.
DEMO_WINDOW_IN_A_CHILD = """
import json, sys, time
from pathlib import Path
from affect_live.ui.app import AppOptions, StopSignalWatch, build_window, prepare_qt_environment
prepare_qt_environment()
from PyQt5.QtCore import QSettings
from PyQt5.QtWidgets import QApplication
from affect_live.ui.settings import AppSettings

app = QApplication([])
folder = Path(sys.argv[1])
store = QSettings(str(folder / "settings.ini"), QSettings.IniFormat)
window = build_window(AppOptions(source=None), AppSettings.load(store), store, cameras=[])  # the demo, looped
window.show()
"""
