"""The app's remembered settings (QSettings): last source, window, max faces, weights, device, LSL, mesh, actions."""

from __future__ import annotations

from dataclasses import dataclass, fields

from PyQt5.QtCore import QSettings

from affect_live.backends.device import DEVICE_CHOICES


@dataclass
class AppSettings:
    source: str = ""  # last source: camera index, file path, URL or "demo" ("" = default camera)
    window: int = 16
    max_faces: int = 4
    weights: str = ""  # last weight bundle ("" = the bundled default)
    record_dir: str = ""  # where the last recording went, to start the next file dialog there
    dialog_dir: str = ""  # where the last video was picked
    weights_dir: str = ""  # where the last weights were loaded from ("" = the models folders)
    device: str = "auto"  # auto, cpu or gpu: applies when the app starts
    lsl: bool = False  # publish results and markers on Lab Streaming Layer
    mesh: bool = True  # draw the face mesh's contours over the video
    actions: bool = True  # measure the facial actions (pose, gaze, blendshapes)

    @classmethod
    def load(cls, store: QSettings) -> AppSettings:
        loaded = cls()
        for field in fields(cls):
            default = getattr(loaded, field.name)
            value = store.value(field.name, default)
            if isinstance(default, bool):  # QSettings' INI files give "true"/"false" back as text
                value = str(value).lower() in ("true", "1")
            try:
                setattr(loaded, field.name, type(default)(value))
            except (TypeError, ValueError):  # a hand-edited or foreign value: keep the default
                continue
        loaded.window = min(max(loaded.window, 1), 256)
        loaded.max_faces = min(max(loaded.max_faces, 1), 16)
        if loaded.device not in DEVICE_CHOICES:
            loaded.device = "auto"
        return loaded

    def save(self, store: QSettings) -> None:
        for field in fields(self):
            store.setValue(field.name, getattr(self, field.name))
        store.sync()


def default_store() -> QSettings:
    """~/.config/affect-live/affect-live.conf on Linux (the platform's usual place elsewhere)."""
    return QSettings("affect-live", "affect-live")
