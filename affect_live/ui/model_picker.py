"""Choosing a model in the app: the offer bar shown while valence and arousal are a prior, and
the model picker (the default bundle, installed catalogue models and those that can be
downloaded). Both only say what the user picked; `ModelDownloads` and the window act on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from affect_live.catalogue.entries import CatalogueEntry
from affect_live.catalogue.store import installed_path
from affect_live.model.bundle.reading import DEFAULT_BUNDLE


@dataclass(frozen=True)
class ModelChoice:
    """One row of the picker: a bundle to load, or a catalogue model to download first."""

    label: str
    detail: str
    path: Path | None  # installed: load it
    catalogue_name: str | None  # in the catalogue (installed or not)


def model_choices(entries: dict[str, CatalogueEntry]) -> list[ModelChoice]:
    choices = [ModelChoice("faceapi-expression (default)", "expression learned per frame; valence and arousal a prior", DEFAULT_BUNDLE, None)]
    for entry in entries.values():
        installed = installed_path(entry.name)
        here = installed.is_file()
        state = "installed" if here else f"download, about {entry.approx_size_mb:g} MB"
        detail = f"{entry.measures} {entry.license}; {entry.speed}" + ("; recommended where speed matters" if entry.recommended else "")
        choices.append(ModelChoice(f"{entry.name} ({state})", detail, installed if here else None, entry.name))
    return choices


class OfferBar(QWidget):
    """'Valence and arousal are a prior. Get learned ones...': shown while they are, until
    dismissed."""

    get_requested = pyqtSignal(str)  # a catalogue model's name
    picker_requested = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offerBar")
        self.setStyleSheet("QWidget#offerBar { background:#3d3413; } QLabel { color:#fff6d8; }")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.get_button = QPushButton()
        self.more_button = QPushButton("Models...")
        self.dismiss_button = QPushButton("Not now")
        # The text above the buttons: side by side they would set the window's minimum width.
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 3, 6, 3)
        layout.addWidget(self.text)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for button in (self.get_button, self.more_button, self.dismiss_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.get_button.clicked.connect(lambda: self.get_requested.emit(self._name))
        self.more_button.clicked.connect(self.picker_requested)
        self.dismiss_button.clicked.connect(self.dismiss)
        self.dismissed = False
        self._name = ""
        self.hide()

    def update_offer(self, va_prior: bool, entry: CatalogueEntry | None) -> None:
        """Shown while valence/arousal are a prior and a catalogue model offers learned ones."""
        if not va_prior or entry is None or self.dismissed:
            self.hide()
            return
        self._name = entry.name
        here = installed_path(entry.name).is_file()
        self.text.setText(
            "Valence and arousal are a prior here (expression probabilities placed on published positions, not measured). "
            f"{entry.name} gives learned ones (trained on {entry.trained_on}; {entry.license})."
        )
        self.get_button.setText(f"Use {entry.name}" if here else f"Get it ({entry.approx_size_mb:g} MB)...")
        self.show()

    def dismiss(self) -> None:
        self.dismissed = True
        self.hide()


class ModelPicker(QDialog):
    """The models the app can run: Use loads an installed one, Download... asks to fetch one."""

    def __init__(self, choices: list[ModelChoice], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Models")
        self.choices = choices
        self.list = QListWidget()
        for choice in choices:
            item = QListWidgetItem(f"{choice.label}\n    {choice.detail}")
            item.setToolTip(str(choice.path) if choice.path else "not installed yet")
            self.list.addItem(item)
        self.list.setCurrentRow(0)
        self.buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Close)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.list.currentRowChanged.connect(self._relabel)
        self.list.itemDoubleClicked.connect(lambda _: self.accept())
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Installed models load at once; the others are downloaded first (you are asked)."))
        layout.addWidget(self.list)
        layout.addWidget(self.buttons)
        self.resize(640, 360)
        self._relabel(0)

    @property
    def chosen(self) -> ModelChoice | None:
        row = self.list.currentRow()
        return self.choices[row] if 0 <= row < len(self.choices) else None

    def _relabel(self, row: int) -> None:
        choice = self.choices[row] if 0 <= row < len(self.choices) else None
        self.buttons.button(QDialogButtonBox.Ok).setText("Use" if choice is None or choice.path else "Download...")
