"""batch.json beside a batch's outputs: per input its status, frames, rows, faces, seconds and
where it ran, rewritten after every input (atomically), so an interrupted batch leaves one too."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from affect_live.batch.plan import BatchItem
from affect_live.batch.worker import ItemResult
from affect_live.errors import RecordingError
from affect_live.recording.sidecar import now_iso, sidecar_path, write_sidecar

log = logging.getLogger(__name__)

BATCH_FILE = "batch.json"


class BatchSummary:
    def __init__(self, path: Path | None, items: list[BatchItem], mode: str, workers: int) -> None:
        self.path = path
        self.started_at = now_iso()
        self.mode, self.workers = mode, workers
        self.results: dict[int, ItemResult] = {}
        self._items = items

    def add(self, result: ItemResult) -> None:
        self.results[result.index] = result
        self.write()

    def failed(self) -> list[ItemResult]:
        return [r for r in self.results.values() if not r.ok]

    def content(self) -> dict[str, Any]:
        entries = []
        for item in self._items:
            result = self.results.get(item.index)
            entry: dict[str, Any] = {"input": item.spec, "csv": item.csv, "video_out": item.video_out}
            if result is None:
                entry["status"] = "pending"
            else:
                fields = asdict(result)
                for key in ("index", "spec", "csv"):
                    fields.pop(key)
                entry |= fields
            entries.append(entry)
        done = [r for r in self.results.values() if not r.skipped]
        frames, seconds = sum(r.frames for r in done), sum(r.seconds for r in done)
        return {
            "started_at": self.started_at,
            "updated_at": now_iso(),
            "mode": self.mode,
            "workers": self.workers,
            "inputs": len(self._items),
            "complete": sum(r.ok for r in self.results.values()),
            "skipped": sum(r.skipped for r in self.results.values()),
            "failed": len(self.failed()),
            "frames_analysed": frames,
            "worker_seconds": round(seconds, 3),
            "items": entries,
        }

    def write(self) -> None:
        if self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_sidecar(self.path, self.content())
        except (OSError, RecordingError) as exc:
            log.warning("cannot write %s: %s", self.path, exc)


def mark_sidecar(csv: str, status: str, message: str) -> None:
    """A worker that died or was ended left its sidecar `running`: say how it ended and why (it
    is redone next time)."""
    path = sidecar_path(Path(csv))
    try:
        meta = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(meta, dict) and meta.get("status") == "running":
        meta.update(status=status, message=message, finished_at=now_iso())
        try:
            write_sidecar(path, meta)
        except RecordingError as exc:
            log.warning("%s", exc)
