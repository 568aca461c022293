"""The main window: composes the widgets and connects them to a LiveSession.

It is a sink and a controller only: the session runs capture and inference in its own
threads; a timer at display rate draws the newest result, the selected face's plots and the
status. Every user action has a method taking plain arguments (used by the dialogs, the
shortcuts and the tests alike).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt5.QtCore import QSettings, Qt, QTimer
from PyQt5.QtGui import QCloseEvent, QShowEvent
from PyQt5.QtWidgets import QMainWindow, QSplitter, QVBoxLayout, QWidget

from affect_live.errors import RecordingError
from affect_live.resources import DEMO_CLIP
from affect_live.session.events import DisplayFrame, SessionEvent
from affect_live.session.calibration import CALIBRATION_S, TOPIC as CALIBRATION
from affect_live.session.live import FILE_KINDS, LiveSession
from affect_live.ui import dialogs
from affect_live.ui.banner import MessageBanner
from affect_live.ui.controls import ControlBar
from affect_live.ui.face_panel import FacePanel
from affect_live.ui.face_selection import FaceSelection
from affect_live.ui.model_download import ModelDownloads
from affect_live.ui.model_picker import ModelChoice, ModelPicker, OfferBar, model_choices
from affect_live.ui.panel_scroll import PanelScroll
from affect_live.ui.settings import AppSettings
from affect_live.ui.status import StatusPanel
from affect_live.ui.synchrony_view import SynchronyView
from affect_live.ui.video_view import VideoView

log = logging.getLogger(__name__)

DISPLAY_HZ = 30
MESSAGES_KEPT = 50
STATUS_EVERY = 6  # ticks between status-bar refreshes (5 Hz is plenty for numbers)
DEMO_SETTING = "demo"  # the remembered source when the demo clip was open


class MainWindow(QMainWindow):
    def __init__(self, session: LiveSession, settings: AppSettings, store: QSettings, cameras: list[int]) -> None:
        super().__init__()
        self.session = session
        self.settings = settings
        self._store = store
        self.selection = FaceSelection()
        self._ticks = 0
        self._last_result: object = None
        self._last_view: DisplayFrame | None = None
        self.frames_shown = 0  # frames drawn so far (a new one per tick at most)
        self.messages: list[tuple[str, str]] = []  # what the banner said, newest last
        self._priors: tuple[tuple[str, ...], tuple[str, ...]] | None = None  # (prior, per-frame) heads
        self._first_prediction_logged = False
        self._opening: dict[str, tuple[str | None, bool, bool]] = {}  # spec -> (label, loop, or_demo) until it opens
        self.ask_before_quit = True  # False when the app is ended by a signal or a script
        self.setWindowTitle("affect-live")

        self.controls = ControlBar(cameras, self)
        self.addToolBar(self.controls.analysis_bar)
        self.addToolBarBreak()
        self.addToolBar(self.controls.session_bar)
        self.banner = MessageBanner()
        self.offer = OfferBar()
        self.models = ModelDownloads(self, lambda path: self.load_weights([path]), self.notify)
        self.video = VideoView()
        self.faces = FacePanel()
        self.status_panel = StatusPanel()
        self.setStatusBar(self.status_panel)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.banner)
        left_layout.addWidget(self.offer)
        left_layout.addWidget(self.video, 1)
        self.synchrony = SynchronyView(lambda: (self.session.history, self.selected_face))
        left_layout.addWidget(self.synchrony)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(PanelScroll(self.faces))
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([10_000, 1])  # the panel starts at its minimum width, the video gets the rest
        self.setCentralWidget(splitter)
        self.resize(1440, 800)  # the face panel has two columns: affect and facial actions
        self._connect()

        self.controls.window_spin.setValue(settings.window)
        self.controls.max_faces_spin.setValue(settings.max_faces)
        self.controls.device_box.setCurrentText(settings.device)
        self.set_mesh(settings.mesh)
        self.set_actions(settings.actions)
        self.controls.device_box.textActivated.connect(self.set_device)
        self.timer = QTimer(self, interval=1000 // DISPLAY_HZ, timeout=self._tick)
        self.timer.start()

    def _connect(self) -> None:
        c = self.controls
        c.source_chosen.connect(self._on_source_chosen)
        c.open_file_requested.connect(self.ask_open_video)
        c.pause_action.toggled.connect(self.set_paused)
        c.mesh_action.toggled.connect(self.set_mesh)
        c.actions_action.toggled.connect(self.set_actions)
        c.window_spin.valueChanged.connect(self.set_window)
        c.max_faces_spin.valueChanged.connect(self.set_max_faces)
        c.record_action.triggered.connect(self._on_record_clicked)
        c.lsl_action.toggled.connect(self.set_lsl)
        c.calibrate_action.triggered.connect(lambda: self.calibrate())
        c.marker_action.triggered.connect(lambda: self.add_marker(c.marker_text.text()))
        c.marker_text.submitted.connect(self.add_marker)
        c.marker_text.left.connect(self.video.setFocus)  # M, Space and R work again
        c.load_action.triggered.connect(self.ask_load_weights)
        c.models_action.triggered.connect(self.ask_model)
        self.offer.get_requested.connect(self.models.use_or_offer)
        self.offer.picker_requested.connect(self.ask_model)
        c.screenshot_action.triggered.connect(self.ask_screenshot)
        c.quit_action.triggered.connect(self.close)
        for action in (c.open_action, c.quit_action, c.marker_focus_action):
            self.addAction(action)
        self.video.face_clicked.connect(self.select_face)
        self.faces.face_picked.connect(self.select_face)

    # -- actions with plain arguments -------------------------------------------------------
    def open_source(self, spec: str, loop: bool = False, label: str | None = None, or_demo: bool = False) -> None:
        """Switch to a camera index, file or URL once it is open (in the background: a stream
        can take seconds); on failure the banner says why and the current one stays (`or_demo`:
        the demo clip plays instead, for the start-up)."""
        self._opening[spec] = (label, loop, or_demo)
        self.session.open(spec, loop=loop)

    def source_pending(self) -> bool:
        """A source asked for is still opening."""
        return bool(self._opening)

    def _source_opened(self, spec: str) -> None:
        label, loop, _ = self._opening.pop(spec, (None, False, False))
        self.selection.reset()
        self._last_view = None  # frame numbers start again
        self.controls.pause_action.setChecked(False)
        self.controls.show_source(label or Path(spec).name or spec, "demo" if Path(spec) == DEMO_CLIP else spec)
        self.video.set_placeholder("starting...")
        demo = loop and Path(spec) == DEMO_CLIP  # the demo plays looped; the same file opened plainly is a file
        if demo or not loop:
            self.settings.source = DEMO_SETTING if demo else spec

    def open_demo(self) -> None:
        return self.open_source(str(DEMO_CLIP), loop=True, label="Demo clip")

    def set_paused(self, paused: bool) -> None:
        (self.session.pause if paused else self.session.resume)()
        if self.controls.pause_action.isChecked() != paused:
            self.controls.pause_action.setChecked(paused)

    def set_mesh(self, on: bool) -> None:
        """Draw the face mesh's contours over the video (remembered)."""
        self.video.set_mesh(on)
        self.settings.mesh = on
        if self.controls.mesh_action.isChecked() != on:
            self.controls.mesh_action.setChecked(on)

    def set_actions(self, on: bool) -> None:
        """Measure the facial actions or not (remembered)."""
        self.session.set_actions(on)
        self.settings.actions = on
        self.faces.actions.set_switched_on(on)
        if self.controls.actions_action.isChecked() != on:
            self.controls.actions_action.setChecked(on)

    def set_window(self, window: int) -> None:
        self.session.set_window(window)
        self.settings.window = window

    def add_marker(self, text: str = "") -> None:
        """A user marker (M): into the recording's events file and onto the LSL Markers stream;
        the banner says where it went, or that it went nowhere (nothing records or streams)."""
        self.session.mark(text.strip() or "marker", "user")

    def set_lsl(self, on: bool) -> None:
        """Stream on LSL (the streams open in the background; the outcome shows in the banner)."""
        self.session.set_lsl(on)
        self.settings.lsl = on
        if self.controls.lsl_action.isChecked() != on:
            self.controls.lsl_action.setChecked(on)

    def calibrate(self, seconds: float = CALIBRATION_S) -> None:
        """Calibrate: the selected face's neutral baseline over the next `seconds` of the source
        (the banner counts down and says the outcome); refused out loud without a selected face."""
        face = self.selected_face
        if face is None:
            self.notify("warning", "not calibrated: no face is selected; click a face (or pick its id above the plots), then Calibrate", CALIBRATION)
            return
        self.session.calibrate(face, seconds)

    def set_max_faces(self, max_faces: int) -> None:
        self.session.set_max_faces(max_faces)
        self.settings.max_faces = max_faces

    def set_device(self, device: str) -> None:
        """Remembered for the next start (a GPU must be set up before the window exists)."""
        if device != self.settings.device:
            self.settings.device = device
            self.notify("info", f"device {device}: applies the next time affect-live starts")

    def start_recording(self, csv_path: Path, from_start: bool = False) -> bool:
        """Asks the session to record (`from_start`: a file, whole; the files are created off
        the GUI thread: a failure arrives as an event and unchecks Record); False when there is
        nothing to record."""
        try:
            self.session.start_recording(Path(csv_path), from_start)
        except RecordingError as exc:
            self.notify("error", str(exc))
            self.controls.record_action.setChecked(False)
            return False
        self.settings.record_dir = str(Path(csv_path).parent)
        self.controls.record_action.setChecked(True)
        return True

    def stop_recording(self) -> None:
        """The outcome ("recording saved: N rows in ...") arrives as an event."""
        self.session.stop_recording()
        self.controls.record_action.setChecked(False)

    def load_weights(self, paths: Path | list[Path]) -> None:
        """Load in the background (several files: their fusion); the outcome shows in the banner
        (a bad file keeps the current model)."""
        paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
        self.notify("info", f"loading {' + '.join(p.name for p in paths)}...", "model_loading")
        self.session.load_weights(paths)

    def choose_model(self, choice: ModelChoice) -> None:
        """An installed model loads at once; a catalogue model that is not installed is offered
        for download (the dialog says what, from where, its size and licence)."""
        if choice.path is not None:
            self.load_weights([choice.path])
        elif choice.catalogue_name:
            self.models.offer(choice.catalogue_name)

    def save_screenshot(self, png_path: Path) -> bool:
        """The window as PNG: the video with its overlay, the plots and the status."""
        ok = self.grab().save(str(png_path), "PNG")
        self.notify("info" if ok else "error", f"{'saved' if ok else 'could not save'} {png_path}")
        return ok

    @property
    def selected_face(self) -> int | None:
        return self.selection.face_id

    def select_face(self, face_id: int) -> None:
        self.selection.pick(face_id)
        self.video.set_selected(face_id)
        self._draw_plots()
        self.synchrony.refresh()  # its row names the selected face at once, not at its next tick

    def notify(self, level: str, message: str, topic: str = "") -> None:
        (log.error if level == "error" else log.info)("%s", message)
        self.banner.show_message(level, message, topic)
        self.messages.append((level, message))
        del self.messages[:-MESSAGES_KEPT]

    # -- dialogs ------------------------------------------------------------------------------
    def ask_open_video(self) -> None:
        path = dialogs.ask_video(self, self.settings.dialog_dir)
        if path:
            self.settings.dialog_dir = str(path.parent)
            self.open_source(str(path))

    def ask_load_weights(self) -> None:
        paths = dialogs.ask_weights(self, self.settings.weights_dir)
        if paths:
            self.settings.weights_dir = str(paths[0].parent)
            self.load_weights(paths)

    def ask_model(self) -> None:
        picker = ModelPicker(model_choices(self.models.entries()), self)
        if picker.exec_() and picker.chosen is not None:
            self.choose_model(picker.chosen)

    def ask_screenshot(self) -> None:
        path = dialogs.ask_screenshot(self, self.settings.record_dir)
        if path:
            self.save_screenshot(path)

    def _on_record_clicked(self, checked: bool) -> None:
        if not checked:
            self.stop_recording()
            return
        stats = self.session.stats()
        is_file = stats.source_kind in FILE_KINDS
        was_paused = self.session.paused
        if is_file:
            self.set_paused(True)  # the file waits while the user chooses
        view = self._last_view
        position = f"frame {view.frame_index}" if view is not None else "the frame shown"
        default = dialogs.timestamped(self.settings.record_dir, "affect-live-%Y%m%d-%H%M%S.csv")
        calibrated = tuple(b.face_id for b in self.session.calibrations.baselines.all())
        dialog = dialogs.RecordDialog(default, Path(stats.source).name or "the file", is_file, position, self, calibrated)
        chosen = dialog.choice if dialog.exec_() else None
        if chosen is None or not self.start_recording(chosen.csv_path, chosen.from_start):
            self.controls.record_action.setChecked(False)
        if is_file:
            self.set_paused(was_paused)

    def _on_source_chosen(self, spec: str) -> None:
        if spec == "demo":
            self.open_demo()
        else:
            self.open_source(spec)

    # -- drawing, on the timer ----------------------------------------------------------------
    def _tick(self) -> None:
        self._ticks += 1
        self._handle_events()
        view = self.session.display_frame()
        if view is not None and (self._last_view is None or view.frame_index != self._last_view.frame_index):
            self._last_view = view
            self.frames_shown += 1
            followed = self.selected_face
            self.selection.follow([p.face_id for p in view.predictions], self.session.history)
            if self.selected_face != followed:
                self.synchrony.refresh()
            va_prior = bool(self._priors and {"valence", "arousal"} & set(self._priors[0]))
            self.video.show_frame(view.image, view.predictions, self.selected_face, va_prior)
            if view.predictions and not self._first_prediction_logged:
                self._first_prediction_logged = True
                log.info("first prediction shown")  # `bench --startup` times launches by it
        result = self.session.latest()
        if result is not None and result is not self._last_result:
            self._last_result = result
            self._draw_plots()
        if self._ticks % STATUS_EVERY == 1:
            self.refresh_status()

    def _handle_events(self) -> None:
        for event in self.session.events():
            self._handle_event(event)

    def _handle_event(self, event: SessionEvent) -> None:
        if event.topic == "source_opened":
            self._source_opened(event.detail)
            self.banner.clear_topic(event.topic)  # what was said of the previous source is stale
            if Path(event.detail) != DEMO_CLIP:
                self.banner.clear_topic("no_camera")  # another source was chosen
            return  # the video says it
        if event.topic == "open_failed" and self._opening.pop(event.detail, (None, False, False))[2]:
            self.open_demo()
        elif event.topic == "model_loaded":
            self.settings.weights = event.detail
        elif event.topic in ("recording_failed", "recording_stopped"):
            self.controls.record_action.setChecked(False)
        self.notify(event.level, event.message, event.topic)

    def refresh_status(self) -> None:
        stats = self.session.stats()
        self.status_panel.update_stats(stats)
        if (stats.prior_heads, stats.per_frame_heads) != self._priors:
            self._priors = (stats.prior_heads, stats.per_frame_heads)
            self.faces.set_priors(stats.prior_heads, stats.per_frame_heads)
            va_prior = bool({"valence", "arousal"} & set(stats.prior_heads))
            self.offer.update_offer(va_prior and not stats.loading_model, self.models.recommended() if va_prior else None)

    def _draw_plots(self) -> None:
        self.faces.update_faces(self.session.history.face_ids(), self.selected_face)
        face = self.selected_face
        baseline = self.session.calibrations.baselines.get(face) if face is not None else None
        self.faces.show_face(self.session.history, face, baseline)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        log.info("window shown")  # `bench --startup` times launches by it
        super().showEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt's name)
        """Quitting while recording asks first (`ask_before_quit`), then closes the CSV with
        every row on disk."""
        recording = self.session.stats().recording
        if recording is not None and self.ask_before_quit and not dialogs.confirm_quit(self, recording):
            event.ignore()
            return
        self.timer.stop()
        self.synchrony.close_worker()
        self.models.close()
        self.session.close()
        if recording is not None:
            log.info("recording closed: %s", recording.path)
        self.settings.save(self._store)
        event.accept()
