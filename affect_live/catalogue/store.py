"""Where catalogue models are installed (the user's data folder) and how `--weights NAME` finds
them: wherever a bundle path works, the name of an installed catalogue model does too."""

from __future__ import annotations

from pathlib import Path

from affect_live.catalogue.entries import CatalogueError, load_catalogue
from affect_live.errors import BundleError

BUNDLE_SUFFIX = ".affect"


def data_folder() -> Path:
    """The platform's usual place for a user's application data: ~/.local/share/affect-live on
    Linux ($XDG_DATA_HOME honoured), ~/Library/Application Support/affect-live on macOS,
    %LOCALAPPDATA%\\affect-live on Windows."""
    from platformdirs import user_data_path

    return user_data_path("affect-live", appauthor=False)


def models_folder() -> Path:
    return data_folder() / "models"


def installed_path(name: str) -> Path:
    return models_folder() / f"{name}{BUNDLE_SUFFIX}"


def installed_names() -> list[str]:
    folder = models_folder()
    return sorted(p.stem for p in folder.glob(f"*{BUNDLE_SUFFIX}")) if folder.is_dir() else []


def resolve_weights(value: Path | str) -> Path:
    """A bundle path as given, or the installed bundle of the catalogue model named `value`.
    A catalogue name that is not installed yet is one line saying how to install it."""
    path = Path(value)
    text = str(value)
    if path.exists() or "/" in text or "\\" in text or path.suffix:
        return path
    if installed_path(text).is_file():
        return installed_path(text)
    try:
        known = load_catalogue()
    except CatalogueError as exc:
        raise BundleError(str(exc)) from None
    if text in known:
        raise BundleError(f"{text} is in the model catalogue but not installed: affect-live models fetch {text}")
    return path
