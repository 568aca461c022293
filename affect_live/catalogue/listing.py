"""The `models available` table and the `models fetch` command (progress bar, one-line errors)."""

from __future__ import annotations

import sys
from pathlib import Path

from affect_live.catalogue.entries import CatalogueEntry, load_catalogue
from affect_live.catalogue.store import installed_path
from affect_live.errors import EXIT_BAD_WEIGHTS, BundleError, UserError


def describe_entry(entry: CatalogueEntry) -> list[str]:
    installed = installed_path(entry.name)
    state = f"installed ({installed})" if installed.is_file() else f"not installed: affect-live models fetch {entry.name}"
    speed = entry.speed + (f"; about {entry.cpu_ms_per_face:g} ms per face on one CPU core" if entry.cpu_ms_per_face else "")
    return [
        f"{entry.name}{'  (recommended where speed and size matter)' if entry.recommended else ''}",
        f"  {entry.title}",
        f"  measures: {entry.measures}",
        f"  size: about {entry.approx_size_mb:g} MB; licence: {entry.license}",
        f"  source: {entry.repository} at {entry.commit[:12]}, file {entry.upstream_file}",
        f"  speed: {speed}",
        f"  reported: {entry.reported or 'no figure'}",
        f"  {state}",
    ]


def print_available(extra: list[Path] | None) -> int:
    entries = load_catalogue(extra)
    for entry in entries.values():
        print("\n".join(describe_entry(entry)) + "\n")
    print("Valence and arousal of these models are learned per frame (labels on AffectNet); see docs/catalogue.md.")
    return 0


def run_fetch(name: str, file: Path | None, mirror: str | None, extra: list[Path] | None, quiet: bool) -> int:
    from tqdm import tqdm

    from affect_live.catalogue.fetch import DownloadError, fetch, mirror_from_environment

    entries = load_catalogue(extra)
    if name not in entries:
        raise UserError(f"{name!r} is not in the catalogue (affect-live models available lists it): {', '.join(entries)}", EXIT_BAD_WEIGHTS)
    entry = entries[name]
    mirror = mirror or (mirror_from_environment() if file is None else None)
    bar = None if quiet or file is not None else tqdm(desc=entry.upstream_file, unit="B", unit_scale=True, unit_divisor=1024, leave=True, file=sys.stderr)

    def progress(step) -> None:  # noqa: ANN001 (download.Progress)
        if step.total and bar.total != step.total:
            bar.total = step.total
        bar.update(step.done - bar.n)

    try:
        installed = fetch(entry, file, mirror, progress if bar is not None else None)
    except (DownloadError, BundleError) as exc:
        raise UserError(str(exc), EXIT_BAD_WEIGHTS) from None
    finally:
        if bar is not None:
            bar.close()
    print(f"installed {entry.name} from {installed.origin} as {installed.path}")
    print(f"use it with --weights {entry.name} (analyze, the app, extract, train) or Load weights... in the app")
    return 0
