"""Start the desktop app: `python main.py [--source S] [--weights W] [--window T] [--max-faces N]`.

Order matters: OpenCV (imported with mediapipe) points QT_QPA_PLATFORM_PLUGIN_PATH at its own
Qt plugins, which breaks PyQt5 under a real X server, so cv2 is imported and the variable
removed before the QApplication exists.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from affect_live.stop_signals import describe

if TYPE_CHECKING:  # the heavy imports wait until the display is known to work
    from PyQt5.QtCore import QSettings

    from affect_live.ui.main_window import MainWindow
    from affect_live.ui.settings import AppSettings

log = logging.getLogger(__name__)

MAX_CAMERAS_PROBED = 4


@dataclass(frozen=True)
class AppOptions:
    source: str | None = None
    weights: list[Path] | None = None  # several: their fusion
    window: int | None = None
    max_faces: int | None = None
    device: str | None = None  # auto, cpu or gpu (default: the last used, else auto)
    lsl: bool = False  # stream on LSL (else: as the last run did)
    lsl_markers: str | None = None  # another program's LSL marker stream to record


class AppError(RuntimeError):
    """The app cannot start; the message is one line for the user."""


def prepare_qt_environment() -> None:
    import cv2  # noqa: F401  (sets the variable that must then go)

    os.environ.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise AppError(
            "no display found (DISPLAY is not set): the desktop app needs one; "
            "for headless use run `affect-live analyze VIDEO`"
        )


def find_cameras(limit: int = MAX_CAMERAS_PROBED) -> list[int]:
    """Indices of the cameras that open (on Linux only those with a /dev/video node are tried)."""
    import cv2

    if sys.platform.startswith("linux"):
        candidates = [i for i in range(limit) if Path(f"/dev/video{i}").exists()]
    else:
        candidates = list(range(limit))
    found = []
    for index in candidates:
        capture = cv2.VideoCapture(index)
        if capture.isOpened():
            found.append(index)
        capture.release()
    return found


def run_app(options: AppOptions) -> int:
    """The window opens at once and plays the source while the model loads in the background."""
    prepare_qt_environment()
    from PyQt5.QtWidgets import QApplication

    from affect_live.ui.settings import AppSettings, default_store

    store = default_store()
    settings = AppSettings.load(store)
    device, warning = startup_device(options, settings)
    if device == "GPU":
        # TensorFlow's native libraries must load before Qt has shown a window on X: the other
        # way round its import-time self-check crashed (seen under Xvfb). The CPU path never
        # imports it.
        import tensorflow  # noqa: F401
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("affect-live")
    window = build_window(options, settings, store, device=device)
    if warning:
        window.notify("warning", warning, "device")
    window.show()
    watch = StopSignalWatch(window)
    try:
        status = app.exec_()
    finally:
        watch.restore()
    return describe(watch.received)[1] if watch.received is not None else status


class StopSignalWatch:
    """SIGTERM, SIGHUP and Ctrl-C end the recording in progress as `interrupted` with the
    signal's name (every row on disk) and close the window as its close button does.

    Python runs signal handlers only when the interpreter has control, which it has not while
    Qt waits for events; so the C-level handler writes the signal's number into a socket
    (signal.set_wakeup_fd) that a QSocketNotifier watches: the event loop wakes at once and the
    window closes from it, never from inside a handler."""

    SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

    def __init__(self, window: MainWindow) -> None:
        from PyQt5.QtCore import QSocketNotifier

        self.received: int | None = None
        self._window = window
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._previous = {signum: signal.signal(signum, lambda *_: None) for signum in self.SIGNALS}
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Read)
        self._notifier.activated.connect(self._woken)

    def _woken(self) -> None:
        try:
            data = self._read.recv(64)
        except BlockingIOError:
            return
        signum = next((n for n in data if n in self.SIGNALS), None)
        if signum is None or self.received is not None:
            return
        self.received = signum
        message = describe(signum)[0]
        log.warning("%s: the recording in progress is saved and the window closed", message)
        self._window.session.stop_recording("interrupted", message)
        self._window.ask_before_quit = False  # ended by a signal: nobody is there to answer "Quit?"
        self._window.close()

    def restore(self) -> None:
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._read.close()
        self._write.close()


def startup_device(options: AppOptions, settings: AppSettings) -> tuple[str, str | None]:
    """The device to start on, and a warning for the window. `--device gpu` that cannot run is
    an error (the user asked for it now); a remembered device that cannot run never stops the
    app: it starts on the CPU, says why, and the setting goes back to auto."""
    if options.device:
        settings.device = options.device
        return resolve_app_device(settings.device), None
    try:
        return resolve_app_device(settings.device), None
    except AppError as exc:
        from affect_live.backends.device import gpu_unusable_reason

        remembered, settings.device = settings.device, "auto"
        why = gpu_unusable_reason() or str(exc)
        return "CPU", f"the remembered device {remembered} cannot run here ({why}); running on the CPU (Device is auto again)"


def resolve_app_device(requested: str) -> str:
    from affect_live.backends.device import DeviceError, resolve_device

    try:
        return resolve_device(requested)
    except DeviceError as exc:
        raise AppError(str(exc)) from None


def build_window(
    options: AppOptions, settings: AppSettings, store: QSettings, cameras: list[int] | None = None, device: str = "CPU"
) -> MainWindow:
    """The main window on the chosen source: --source, else the last run's source (a file, a
    camera, a stream or the demo clip), else the default camera, else the demo clip (with a message saying no camera was found). The model
    (--weights, else the remembered weights, else the default) loads in the background."""
    from affect_live.lsl.outlets import LslError
    from affect_live.session.live import LiveSession
    from affect_live.ui.main_window import DEMO_SETTING, MainWindow

    if options.window:
        settings.window = options.window
    if options.max_faces:
        settings.max_faces = options.max_faces
    session = LiveSession(device=device)
    session.set_window(settings.window)
    session.set_max_faces(settings.max_faces)
    session.load_weights(startup_weights(options.weights, settings))
    cameras = find_cameras() if cameras is None else cameras
    window = MainWindow(session, settings, store, cameras)
    window.notify("info", "loading the model...", "model_loading")
    if options.lsl or settings.lsl:
        window.set_lsl(True)
    if options.lsl_markers:
        try:
            session.follow_markers(options.lsl_markers)
        except LslError as exc:
            window.notify("error", str(exc))
    remembered = settings.source
    if options.source is not None:
        window.open_source(options.source, or_demo=True)
    elif remembered == DEMO_SETTING:
        window.open_demo()
    elif remembered and not (remembered.isdigit() and int(remembered) not in cameras):
        window.open_source(remembered, or_demo=True)  # the last run's source (a camera that is gone is skipped)
    elif cameras:
        window.open_source(str(cameras[0]), label=f"Camera {cameras[0]}", or_demo=True)
    else:
        window.open_demo()
        window.notify("warning", "no camera found: playing the bundled demo clip (pick another source above)", "no_camera")
    return window


def startup_weights(weights: Sequence[Path] | None, settings: AppSettings) -> list[Path] | None:
    """--weights (several: fused), else the remembered weights, else None (the default). A file
    that does not load falls back to the default model with a message in the window."""
    if weights:
        settings.weights = os.pathsep.join(str(path) for path in weights)
        return list(weights)
    if settings.weights:
        return [Path(p) for p in settings.weights.split(os.pathsep)]
    return None
