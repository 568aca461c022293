"""A TFLite face model (one float32 image input) on LiteRT's interpreter, from one thread.

The face models ship in models/ (affect_live.faces.model_files checks them); they are run
directly through LiteRT's interpreter instead of MediaPipe's graphs: the graphs add 2-3 ms of
per-call overhead on this CPU, and the Tasks API cannot load the full-range detector at all
(its graph hard-codes the short-range anchor count).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from affect_live.native_logs import quiet_native_output

logger = logging.getLogger(__name__)


class TfliteModel:
    """One TFLite model with a single float32 image input, invoked from one thread only."""

    def __init__(self, model: Path | bytes, num_threads: int = 1, name: str | None = None) -> None:
        """``model``: a file, or the bytes of one already checked (then ``name`` names it), so
        that the interpreter runs exactly what was checked."""
        from ai_edge_litert.interpreter import Interpreter

        source = {"model_content": model} if isinstance(model, bytes) else {"model_path": str(model)}
        with quiet_native_output():  # TFLite's "Created ... XNNPACK delegate" line
            self._interpreter = Interpreter(**source, num_threads=max(1, int(num_threads)))
            self._interpreter.allocate_tensors()
        inp = self._interpreter.get_input_details()[0]
        self._input_index: int = inp["index"]
        self.input_shape: tuple[int, ...] = tuple(int(v) for v in inp["shape"])
        self.outputs: list[dict[str, Any]] = self._interpreter.get_output_details()
        self.name = name or (model.name if isinstance(model, Path) else "model")
        logger.debug("loaded %s input %s (%d threads)", self.name, self.input_shape, num_threads)

    def output_index(self, last_dim: int) -> int:
        """Index of the output tensor whose last dimension is ``last_dim``."""
        for out in self.outputs:
            if int(out["shape"][-1]) == last_dim:
                return int(out["index"])
        raise KeyError(f"{self.name} has no output with last dimension {last_dim}")

    def run(self, tensor: np.ndarray) -> None:
        """Set the input (batch of one, float32) and invoke; read outputs with ``get``."""
        self._interpreter.set_tensor(self._input_index, tensor)
        self._interpreter.invoke()  # releases the GIL: other threads keep running

    def get(self, index: int) -> np.ndarray:
        """A copy of output tensor ``index`` from the last ``run``."""
        return self._interpreter.get_tensor(index)

    def close(self) -> None:
        """Drop the interpreter so its buffers are freed."""
        self._interpreter = None
