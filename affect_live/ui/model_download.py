"""The app's side of `models fetch`: a dialog that says what will be downloaded, from where, its
size and licence; the download in a thread of its own with a progress dialog (bytes, speed)
that can cancel it; then the installed bundle is handed to the window to swap in live.

The fetch itself is `catalogue.fetch`, the same code as the command line. Nothing downloads
unless the user confirms. `AFFECT_LIVE_MIRROR` (a lab's copy of the files) applies as
`--mirror` does on the command line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from PyQt5.QtCore import QObject, Qt, pyqtSignal
from PyQt5.QtWidgets import QMessageBox, QProgressDialog, QWidget

from affect_live.catalogue.download import DownloadCancelled, DownloadError, Progress
from affect_live.catalogue.entries import CatalogueEntry, CatalogueError, load_catalogue
from affect_live.catalogue.fetch import Installed, fetch, mirror_from_environment, source_url
from affect_live.catalogue.store import installed_path
from affect_live.errors import BundleError

log = logging.getLogger(__name__)

JOIN_ON_CLOSE_S = 5.0  # a cancelled download stops at its next chunk; a stalled socket is left to its daemon thread


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def progress_text(entry: CatalogueEntry, step: Progress) -> str:
    """'hsemotion-mbf-va: 1.2 MB of 4.8 MB at 850.0 kB/s'."""
    of = f" of {_size(step.total)}" if step.total else ""
    return f"{entry.name}: {_size(step.done)}{of} at {_size(step.bytes_per_s)}/s"


def confirm_text(entry: CatalogueEntry, mirror: str | None) -> str:
    return (
        f"Download {entry.name}?\n\n"
        f"What: {entry.title}. {entry.measures}\n"
        f"From: {source_url(entry, mirror)}\n"
        f"({entry.repository} at commit {entry.commit[:12]}, file {entry.path})\n"
        f"Size: about {entry.approx_size_mb:g} MB. Licence: {entry.license}.\n"
        f"Trained on: {entry.trained_on}\n\n"
        f"The file is checked against its pinned checksum and installed in {installed_path(entry.name).parent}; "
        "the running model is replaced only when that succeeds."
    )


class _Bridge(QObject):
    """Carries the download thread's news to the GUI thread (queued signals)."""

    progress = pyqtSignal(object)  # Progress
    installed = pyqtSignal(object)  # Installed
    failed = pyqtSignal(str, bool)  # message, cancelled


class ModelDownloads(QObject):
    """Offers, downloads and installs catalogue models for the main window."""

    def __init__(self, parent: QWidget, load: Callable[[Path], None], notify: Callable[[str, str], None]) -> None:
        super().__init__(parent)
        self._parent = parent
        self._load = load
        self._notify = notify
        self.mirror = mirror_from_environment()
        self.confirm_dialog: QMessageBox | None = None
        self.progress_dialog: QProgressDialog | None = None
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._entry: CatalogueEntry | None = None
        self._bridge = _Bridge()
        self._bridge.progress.connect(self._on_progress, Qt.QueuedConnection)
        self._bridge.installed.connect(self._on_installed, Qt.QueuedConnection)
        self._bridge.failed.connect(self._on_failed, Qt.QueuedConnection)

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def entries(self) -> dict[str, CatalogueEntry]:
        """The catalogue (the shipped one and a lab's); a broken lab file is one message."""
        try:
            return load_catalogue()
        except CatalogueError as exc:
            self._notify("error", str(exc))
            return {}

    def recommended(self) -> CatalogueEntry | None:
        entries = list(self.entries().values())
        return next((e for e in entries if e.recommended), entries[0] if entries else None)

    def use_or_offer(self, name: str) -> None:
        """Load `name` if it is installed, else ask whether to download it."""
        if installed_path(name).is_file():
            self._load(installed_path(name))
        else:
            self.offer(name)

    def offer(self, name: str) -> QMessageBox | None:
        """The confirmation dialog (window-modal, not blocking the live view); Yes downloads."""
        entry = self.entries().get(name)
        if entry is None:
            self._notify("error", f"{name} is not in the model catalogue")
            return None
        if self.busy:
            self._notify("warning", "a model is already downloading")
            return None
        box = QMessageBox(QMessageBox.Question, "Download a model", confirm_text(entry, self.mirror), QMessageBox.Yes | QMessageBox.Cancel, self._parent)
        box.button(QMessageBox.Yes).setText("Download")
        box.setDefaultButton(QMessageBox.Yes)
        box.setWindowModality(Qt.WindowModal)
        box.finished.connect(lambda result: self.start(entry) if result == QMessageBox.Yes else None)
        self.confirm_dialog = box
        box.open()
        return box

    def start(self, entry: CatalogueEntry) -> None:
        """Download, check and install in the background; the outcome comes back as signals."""
        if self.busy:
            return
        self._entry, self._cancel = entry, threading.Event()
        dialog = QProgressDialog(f"{entry.name}: connecting to {source_url(entry, self.mirror)}", "Cancel", 0, 0, self._parent)
        dialog.setWindowTitle("Downloading a model")
        dialog.setWindowModality(Qt.NonModal)  # the live view goes on
        dialog.setMinimumDuration(0)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.cancel)
        dialog.show()
        self.progress_dialog = dialog
        self._notify("info", f"downloading {entry.name} from {source_url(entry, self.mirror)}")
        cancel, bridge, mirror = self._cancel, self._bridge, self.mirror

        def run() -> None:
            try:
                bridge.installed.emit(fetch(entry, mirror=mirror, progress=bridge.progress.emit, cancel=cancel))
            except DownloadCancelled:
                bridge.failed.emit(f"download of {entry.name} cancelled; nothing installed", True)
            except (DownloadError, BundleError) as exc:
                bridge.failed.emit(f"{entry.name} not installed: {exc}", False)
            except Exception as exc:  # never a traceback in the user's face; the log keeps it
                log.exception("fetching %s failed", entry.name)
                bridge.failed.emit(f"{entry.name} not installed: {exc}", False)

        self._thread = threading.Thread(target=run, name="model-fetch", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def close(self) -> None:
        """On quitting: cancel a download (its partial file is removed) and wait briefly."""
        self._cancel.set()
        if self._thread is not None:
            self._thread.join(JOIN_ON_CLOSE_S)
        self._close_progress()

    def _on_progress(self, step: Progress) -> None:
        dialog = self.progress_dialog
        if dialog is None or self._entry is None:
            return
        if step.total:
            dialog.setMaximum(step.total)
            dialog.setValue(min(step.done, step.total))
        dialog.setLabelText(progress_text(self._entry, step))

    def _on_installed(self, installed: Installed) -> None:
        self._close_progress()
        self._notify("info", f"installed {installed.name} ({installed.path}); switching to it")
        self._load(installed.path)

    def _on_failed(self, message: str, cancelled: bool) -> None:
        self._close_progress()
        self._notify("info" if cancelled else "error", message)

    def _close_progress(self) -> None:
        if self.progress_dialog is not None:
            self.progress_dialog.canceled.disconnect(self.cancel)
            self.progress_dialog.close()
            self.progress_dialog = None
