"""`models fetch NAME`: from the catalogue's URL, a lab's mirror or a file already at hand, to an
installed bundle. Shared by the command line and the app's download dialog."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from affect_live.catalogue.download import MAX_BYTES, DownloadError, Progress, download
from affect_live.catalogue.entries import CatalogueEntry
from affect_live.catalogue.install import install
from affect_live.catalogue.store import models_folder
from affect_live.errors import BundleError
from affect_live.model.bundle.manifest import Manifest

MIRROR_ENV = "AFFECT_LIVE_MIRROR"  # a lab's copy of the files, for the app and as --mirror's default


def mirror_from_environment() -> str | None:
    return os.environ.get(MIRROR_ENV) or None


@dataclass(frozen=True)
class Installed:
    """The result of a fetch, handed from the download thread to the caller."""

    name: str
    path: Path
    manifest: Manifest
    origin: str


def source_url(entry: CatalogueEntry, mirror: str | None = None) -> str:
    """The catalogue's URL, or the same file name under a lab's mirror folder."""
    return f"{mirror.rstrip('/')}/{entry.upstream_file}" if mirror else entry.url


def fetch(
    entry: CatalogueEntry,
    file: Path | None = None,
    mirror: str | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> Installed:
    """Download (or read `file`), check and install `entry`. Raises DownloadError or
    BundleError with one line; nothing is installed then."""
    if file is not None:
        try:
            if file.stat().st_size > MAX_BYTES:
                raise BundleError(f"{file}: larger than any model this catalogue holds")
            data, origin = file.read_bytes(), str(file)
        except OSError as exc:
            raise BundleError(f"cannot read {file}: {exc.strerror or exc}") from None
    else:
        origin = source_url(entry, mirror)
        partial = models_folder() / ".downloads" / f"{entry.name}-{entry.upstream_file}.partial"
        data = download(origin, partial, progress, cancel, allow_http=mirror is not None)
    path, manifest = install(entry, data, origin)
    return Installed(entry.name, path, manifest, origin)


__all__ = ["MIRROR_ENV", "DownloadError", "Installed", "fetch", "mirror_from_environment", "source_url"]
