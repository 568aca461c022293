"""Loading weights for the live session in the background: the running model keeps going until
the new one is ready, and stays when a file is bad (with no model yet, a bad file falls back to
the bundled default). One load at a time; every outcome is one line for the user."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path

from affect_live.catalogue.store import resolve_weights
from affect_live.model.bundle.reading import DEFAULT_BUNDLE, load_bundle
from affect_live.model.inference.engine import AffectEngine
from affect_live.session.events import SessionEvent

log = logging.getLogger(__name__)


class ModelLoader:
    def __init__(
        self,
        device: str,
        on_ready: Callable[[AffectEngine, list[Path]], None],
        tell: Callable[[SessionEvent], None],
        running: Callable[[], AffectEngine | None],
    ) -> None:
        """`on_ready(engine, paths)` runs on the loading thread; `running()` is the model the
        session runs now (None while the first one loads)."""
        self._device = device
        self._on_ready = on_ready
        self._tell = tell
        self._running = running
        self._thread: threading.Thread | None = None

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def load(self, paths: list[Path], window: int | None) -> None:
        """`paths` [] loads the bundled default; several are fused (the mean of their outputs)."""
        if self.busy:
            self._tell(SessionEvent("warning", "still loading the previous weights", "model_busy"))
            return
        self._thread = threading.Thread(target=self._load, args=(paths, window), name="weights", daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _load(self, paths: list[Path], window: int | None) -> None:
        engine = self._engine_or_fallback(paths, window)
        if engine is not None:
            self._on_ready(engine, paths)

    def _engine_or_fallback(self, paths: list[Path], window: int | None) -> AffectEngine | None:
        names = " + ".join(p.name for p in paths) or "the default model"
        try:
            return AffectEngine([load_bundle(resolve_weights(p)) for p in paths or [DEFAULT_BUNDLE]], window=window, device=self._device)
        except Exception as exc:  # BundleError, OSError, ...: all one line
            log.debug("loading %s failed", names, exc_info=True)
            running = self._running()
            if running is not None:
                self._tell(SessionEvent("error", f"could not load {names}: {exc}; keeping {running.info.name}", "model_failed"))
                return None
            if not paths:
                self._tell(SessionEvent("error", f"could not load {names}: {exc}", "model_failed"))
                return None
            self._tell(SessionEvent("error", f"could not load {names}: {exc}; using the default model", "model_failed"))
        return self._engine_or_fallback([], window)
