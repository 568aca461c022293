"""The window's dialogs: open a video, load weights, save a screenshot, record (where, and for a
file from where), and quit while recording. Each returns what the user chose, or None."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PyQt5.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from affect_live.catalogue.store import models_folder
from affect_live.recording.recording import events_path
from affect_live.recording.sidecar import sidecar_path
from affect_live.resources import MODELS_DIR
from affect_live.session.outputs import RecordingStatus

VIDEO_FILTER = "Videos and images (*.mp4 *.avi *.mov *.mkv *.webm *.m4v *.mpg *.jpg *.jpeg *.png);;All files (*)"


def timestamped(folder: str, pattern: str) -> Path:
    """A new file name in `folder` (home when none yet), e.g. affect-live-20261203-101500.csv."""
    return Path(folder or Path.home()) / time.strftime(pattern)


def ask_video(parent: QWidget, folder: str) -> Path | None:
    path, _ = QFileDialog.getOpenFileName(parent, "Open video file", folder, VIDEO_FILTER)
    return Path(path) if path else None


def weights_folder(remembered: str) -> str:
    """Where Load weights opens: where weights were last loaded from, else the installed
    catalogue models, else the models that come with affect-live."""
    for folder in (remembered, str(models_folder()), str(MODELS_DIR)):
        if folder and Path(folder).is_dir():
            return folder
    return ""


def ask_weights(parent: QWidget, folder: str) -> list[Path]:
    # Several files selected together are fused (the mean of their outputs).
    paths, _ = QFileDialog.getOpenFileNames(parent, "Load weights (several: fusion)", weights_folder(folder), "Weight bundles (*.affect);;All files (*)")
    return [Path(p) for p in paths]


def ask_screenshot(parent: QWidget, folder: str) -> Path | None:
    default = timestamped(folder, "affect-live-%Y%m%d-%H%M%S.png")
    path, _ = QFileDialog.getSaveFileName(parent, "Save the window as PNG", str(default), "PNG images (*.png)")
    return Path(path) if path else None


@dataclass(frozen=True)
class RecordChoice:
    csv_path: Path
    from_start: bool  # a file: record it whole, from its first frame


class RecordDialog(QDialog):
    """Where to record and, for a file, from its start (the default) or from the frame shown.
    `calibrated`: faces with a baseline; reopening the file gives its faces new ids, so from the
    start forgets their baselines (said) and from here is the default."""

    def __init__(self, default: Path, source_name: str, is_file: bool, position: str, parent: QWidget | None = None,
                 calibrated: tuple[int, ...] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle("Record to CSV")
        self.path_edit = QLineEdit(str(default))
        self.path_edit.setMinimumWidth(420)
        browse = QPushButton("Browse...")
        browse.clicked.connect(self._browse)
        forgets = f"; forgets the baselines of face {', '.join(map(str, calibrated))}" if calibrated else ""
        self.from_start = QRadioButton(f"From the start of {source_name}: every frame; the recording ends with the file{forgets}")
        self.from_here = QRadioButton(f"From here ({position}) until you stop it or the file ends")
        self.problem = QLabel()
        self.problem.setStyleSheet("color:#e53935;")
        self.problem.hide()
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.button(QDialogButtonBox.Ok).setText("Record")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("CSV file (its events file and sidecar are written beside it):"))
        layout.addLayout(row)
        self._group = QButtonGroup(self)
        for button in (self.from_start, self.from_here):
            self._group.addButton(button)
            button.setVisible(is_file)
            layout.addWidget(button)
        (self.from_here if calibrated else self.from_start).setChecked(is_file)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    @property
    def choice(self) -> RecordChoice:
        return RecordChoice(Path(self.path_edit.text().strip()).expanduser(), self.from_start.isChecked())

    def accept(self) -> None:
        """A recording never replaces another one's files without being asked here."""
        csv_path = self.choice.csv_path
        taken = [p.name for p in (csv_path, events_path(csv_path), sidecar_path(csv_path)) if p.exists()]
        if not csv_path.name or csv_path.suffix.lower() != ".csv":
            self._say("the file name must end in .csv")
        elif not csv_path.parent.is_dir():
            self._say(f"no such folder: {csv_path.parent}")
        elif taken:
            self._say(f"{', '.join(taken)} already exist there: choose another name")
        else:
            super().accept()

    def _say(self, problem: str) -> None:
        self.problem.setText(problem)
        self.problem.show()

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Record to CSV", self.path_edit.text(), "CSV files (*.csv)")
        if path:
            self.path_edit.setText(path if path.lower().endswith(".csv") else f"{path}.csv")


def confirm_quit(parent: QWidget, status: RecordingStatus) -> bool:
    """Quitting while recording: the files are saved either way; say so, and let the user stay."""
    answer = QMessageBox.question(
        parent,
        "Quit affect-live?",
        f"Recording to {status.path.name} ({status.rows} rows so far).\n\n"
        f"Quitting stops it and saves it: every row, its events file and its sidecar.",
        QMessageBox.Yes | QMessageBox.Cancel,
        QMessageBox.Cancel,
    )
    return answer == QMessageBox.Yes
