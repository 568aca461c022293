"""The toolbar: source picker, pause, mesh overlay, window length T, max faces, record, load
weights, screenshot. It only emits what the user asked for; the main window acts on it."""

from __future__ import annotations

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtGui import QKeySequence
from PyQt5.QtWidgets import QAction, QComboBox, QLabel, QLineEdit, QSpinBox, QToolBar, QWidget

from affect_live.backends.device import DEVICE_CHOICES, gpu_missing_reason
from affect_live.session.outputs import RecordingStatus

DEMO_ITEM = "Demo clip"
OPEN_FILE_ITEM = "Open video file..."


class ControlBar(QToolBar):
    source_chosen = pyqtSignal(str)  # a camera index as text, "demo", or a file path / URL
    open_file_requested = pyqtSignal()

    def __init__(self, cameras: list[int], parent: QWidget | None = None) -> None:
        super().__init__("Controls", parent)
        self.setMovable(False)
        self.source_box = QComboBox()
        self.source_box.setMinimumContentsLength(18)
        self.set_cameras(cameras)
        self.source_box.activated.connect(self._on_source_activated)
        self.addWidget(QLabel(" Source "))
        self.addWidget(self.source_box)
        self.addSeparator()

        self.pause_action = self._action("Pause", "Space", "Pause or resume the analysis (Space)", checkable=True)
        self.mesh_action = self._action(
            "Mesh", "", "Draw the face mesh's contours (face oval, eyes, brows, lips, irises) where they were measured (remembered)", checkable=True
        )
        self.addSeparator()
        self.window_spin = self._spin(1, 256, " frames", "Temporal window T: frames the statistics cover")
        self.addWidget(QLabel(" Window "))
        self.addWidget(self.window_spin)
        self.max_faces_spin = self._spin(1, 16, "", "Faces analysed per frame, largest first")
        self.addWidget(QLabel(" Max faces "))
        self.addWidget(self.max_faces_spin)
        self.device_box = QComboBox()
        self.device_box.addItems(list(DEVICE_CHOICES))
        self._offer_only_usable_devices()
        self.device_box.setToolTip("Which device runs the models: auto (a GPU when one is present), cpu (LiteRT) or gpu (TensorFlow); applies at the next start")
        self.addWidget(QLabel(" Device "))
        self.addWidget(self.device_box)
        self.addSeparator()
        self.record_action = self._action("Record", "R", "Start or stop recording to CSV (R)", checkable=True)
        self.recording_label = QLabel()
        self.recording_label.setStyleSheet("color:#e53935; font-weight:bold; padding:0 6px;")
        self._recording_widget = self.addWidget(self.recording_label)
        self._recording_widget.setVisible(False)
        self.marker_text = QLineEdit()
        self.marker_text.setPlaceholderText("marker text")
        self.marker_text.setMaximumWidth(140)
        self.marker_text.setToolTip("Text of the next marker (M or Enter adds it)")
        self.addWidget(self.marker_text)
        self.marker_action = self._action("Marker", "M", "Add a marker (M): into the recording's events file and onto LSL")
        self.lsl_action = self._action("LSL", "", "Publish results and markers as Lab Streaming Layer streams (remembered)", checkable=True)
        self.load_action = self._action("Load weights...", "Ctrl+L", "Load a weight bundle (Ctrl+L)")
        self.models_action = self._action("Models...", "Ctrl+Shift+M", "Pick a model: the default, installed catalogue models, or one to download (Ctrl+Shift+M)")
        self.screenshot_action = self._action("Screenshot", "Ctrl+Shift+S", "Save the plots as PNG (Ctrl+Shift+S)")
        self.open_action = QAction("Open video file...", self, shortcut=QKeySequence("Ctrl+O"))
        self.open_action.triggered.connect(self.open_file_requested)
        self.quit_action = QAction("Quit", self, shortcut=QKeySequence("Ctrl+Q"))

    def _action(self, text: str, shortcut: str, tip: str, checkable: bool = False) -> QAction:
        action = QAction(text, self, shortcut=QKeySequence(shortcut), checkable=checkable, toolTip=tip)
        self.addAction(action)
        return action

    def _offer_only_usable_devices(self) -> None:
        """A GPU that cannot run here is shown greyed out, with the reason on hover."""
        reason = gpu_missing_reason()
        if reason is None:
            return
        item = self.device_box.model().item(self.device_box.findText("gpu"))
        item.setEnabled(False)
        item.setToolTip(f"not available: {reason}")

    def _spin(self, low: int, high: int, suffix: str, tip: str) -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setSuffix(suffix)
        spin.setToolTip(tip)
        spin.setKeyboardTracking(False)  # apply on Enter / arrows, not on every digit typed
        return spin

    def show_recording(self, status: RecordingStatus | None) -> None:
        """The recording indicator: elapsed time and rows, hidden when not recording."""
        self._recording_widget.setVisible(status is not None)
        if status is not None:
            minutes, seconds = divmod(int(status.elapsed_s), 60)
            self.recording_label.setText(f"● REC {minutes:02d}:{seconds:02d} · {status.rows} rows")
            self.recording_label.setToolTip(str(status.path))

    def set_cameras(self, cameras: list[int]) -> None:
        self.source_box.clear()
        for index in cameras:
            self.source_box.addItem(f"Camera {index}", str(index))
        self.source_box.addItem(DEMO_ITEM, "demo")
        self.source_box.addItem(OPEN_FILE_ITEM, "open")

    def show_source(self, label: str, spec: str) -> None:
        """Show the running source in the picker (files get an entry of their own)."""
        position = self.source_box.findData(spec)
        if position < 0:
            position = self.source_box.count() - 1  # above "Open video file..."
            self.source_box.insertItem(position, label, spec)
        self.source_box.setCurrentIndex(position)

    def _on_source_activated(self, position: int) -> None:
        data = self.source_box.itemData(position)
        if data == "open":
            self.open_file_requested.emit()
        else:
            self.source_chosen.emit(str(data))
