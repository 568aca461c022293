"""The two toolbar rows: what is analysed (source, pause, overlays, facial actions, window T,
max faces, a face's calibration) and what is kept, sent or run (record, markers, LSL, weights,
device, screenshot). They only emit what the user asked for; the main window acts on it.

Nothing in them changes size while the app runs (the recording indicator lives in the status
bar), so a control never moves under the mouse; two rows fit a 1024 px wide window.
"""

from __future__ import annotations

from PyQt5.QtCore import QEvent, QObject, Qt, pyqtSignal
from PyQt5.QtGui import QKeyEvent, QKeySequence
from PyQt5.QtWidgets import QAction, QComboBox, QLabel, QLineEdit, QSpinBox, QToolBar, QWidget

from affect_live.backends.device import DEVICE_CHOICES, gpu_missing_reason

DEMO_ITEM = "Demo clip"
OPEN_FILE_ITEM = "Open video file..."
PAUSE_TEXT, RESUME_TEXT = "Pause", "Resume"


class MarkerField(QLineEdit):
    """The next marker's text. Typing here never fires the window's shortcuts (Space, M, R);
    Enter adds the marker and Escape leaves the field, both giving the keyboard back to the
    window so that M adds a marker again."""

    submitted = pyqtSignal(str)
    left = pyqtSignal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("marker text (Ctrl+M)")
        self.setMinimumWidth(160)
        self.setToolTip("Text of the next marker: Enter or M (outside the field) adds it; Escape leaves the field; Ctrl+M types here")

    def event(self, event: QEvent) -> bool:
        # A shortcut without a modifier (Space, M, R) is text while the field has the keyboard.
        if event.type() == QEvent.ShortcutOverride and isinstance(event, QKeyEvent):
            if not event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier) or event.key() == Qt.Key_Escape:
                event.accept()
                return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        if event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self.submitted.emit(self.text())
            self.left.emit()
        elif event.key() == Qt.Key_Escape:
            self.left.emit()
        else:
            super().keyPressEvent(event)


class ControlBar(QObject):
    """The controls, on two toolbars (`analysis_bar`, `session_bar`) that the window stacks."""

    source_chosen = pyqtSignal(str)  # a camera index as text, "demo", or a file path / URL
    open_file_requested = pyqtSignal()

    def __init__(self, cameras: list[int], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.analysis_bar = self._toolbar("Analysis", parent)
        self.session_bar = self._toolbar("Recording and streaming", parent)
        self._bar = self.analysis_bar
        self.source_box = QComboBox()
        self.source_box.setMinimumContentsLength(18)
        self.set_cameras(cameras)
        self.source_box.activated.connect(self._on_source_activated)
        self._bar.addWidget(QLabel(" Source "))
        self._bar.addWidget(self.source_box)
        self._bar.addSeparator()

        self.pause_action = self._action(PAUSE_TEXT, "Space", "Pause or resume the analysis (Space)", checkable=True)
        self.pause_action.toggled.connect(lambda paused: self.pause_action.setText(RESUME_TEXT if paused else PAUSE_TEXT))
        self.mesh_action = self._action(
            "Mesh", "", "Draw the face mesh's contours (face oval, eyes, brows, lips, irises) where they were measured (remembered)", checkable=True
        )
        self.actions_action = self._action(
            "Actions", "", "Measure the facial actions: head pose, gaze and 52 blendshapes (remembered; off: faster, no action columns filled)", checkable=True
        )
        self._bar.addSeparator()
        self.window_spin = self._spin(1, 256, " frames", "Temporal window T: frames the statistics cover")
        self._bar.addWidget(QLabel(" Window "))
        self._bar.addWidget(self.window_spin)
        self.max_faces_spin = self._spin(1, 16, "", "Faces analysed per frame, largest first")
        self._bar.addWidget(QLabel(" Max faces "))
        self._bar.addWidget(self.max_faces_spin)
        self._bar.addSeparator()
        self.calibrate_action = self._action(
            "Calibrate", "", "Record the selected face at rest for a few seconds as its neutral baseline: the plots and the LSL stream then show its values vs that baseline"
        )

        self._bar = self.session_bar
        self.record_action = self._action("Record", "R", "Start or stop recording to CSV (R); the status bar shows the recording", checkable=True)
        self._bar.addSeparator()
        self.marker_text = MarkerField()
        self._bar.addWidget(self.marker_text)
        self.marker_action = self._action("Marker", "M", "Add a marker (M): into the recording's events file and onto LSL")
        self.marker_focus_action = QAction("Type a marker", parent, shortcut=QKeySequence("Ctrl+M"))
        self.marker_focus_action.triggered.connect(lambda: self.marker_text.setFocus(Qt.ShortcutFocusReason))
        self.lsl_action = self._action("LSL", "", "Publish results and markers as Lab Streaming Layer streams (remembered)", checkable=True)
        self._bar.addSeparator()
        self.load_action = self._action("Load weights...", "Ctrl+L", "Load a weight bundle (Ctrl+L)")
        self.models_action = self._action("Models...", "Ctrl+Shift+M", "Pick a model: the default, installed catalogue models, or one to download (Ctrl+Shift+M)")
        self.device_box = QComboBox()
        self.device_box.addItems(list(DEVICE_CHOICES))
        self._offer_only_usable_devices()
        self.device_box.setToolTip("Which device runs the models: auto (a GPU when one is present), cpu (LiteRT) or gpu (TensorFlow); applies at the next start")
        self._bar.addWidget(QLabel(" Device "))
        self._bar.addWidget(self.device_box)
        self.screenshot_action = self._action("Screenshot", "Ctrl+Shift+S", "Save the window (video with its overlay, and the plots) as PNG (Ctrl+Shift+S)")
        self.open_action = QAction("Open video file...", parent, shortcut=QKeySequence("Ctrl+O"))
        self.open_action.triggered.connect(self.open_file_requested)
        self.quit_action = QAction("Quit", parent, shortcut=QKeySequence("Ctrl+Q"))

    @property
    def toolbars(self) -> tuple[QToolBar, QToolBar]:
        return self.analysis_bar, self.session_bar

    @staticmethod
    def _toolbar(title: str, parent: QWidget | None) -> QToolBar:
        bar = QToolBar(title, parent)
        bar.setMovable(False)
        bar.setFloatable(False)
        return bar

    def _action(self, text: str, shortcut: str, tip: str, checkable: bool = False) -> QAction:
        action = QAction(text, self._bar, shortcut=QKeySequence(shortcut), checkable=checkable, toolTip=tip)
        self._bar.addAction(action)
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
