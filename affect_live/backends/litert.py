"""LiteRT, the run time of every TFLite model (bundles and face models alike), without TensorFlow.

Eager `model(x)` costs ~90 ms and `predict()` ~50 ms per call on this class of CPU; a LiteRT
interpreter runs the same small network in about a millisecond. The face models run directly
through the interpreter instead of MediaPipe's graphs: the graphs add 2-3 ms of per-call
overhead on this CPU, and the Tasks API cannot load the full-range detector at all.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from affect_live.backends.native_logs import quiet_native_output

log = logging.getLogger(__name__)

Batch = np.ndarray | dict[str, np.ndarray]


@dataclass
class _Interpreter:
    interpreter: Any
    input_index: int  # the first input's tensor, for `run`
    signature: Any = None  # the signature runner, made on first use (face models have none)
    input_names: tuple[str, ...] = ()


class LiteRtRunner:
    """A TFLite flatbuffer that was checked before (`backends.flatbuffer`), run by LiteRT.

    Interpreters are not thread-safe: each thread that uses the runner gets its own, created once
    on its first call, so a model built on one thread and run on another is set up where it runs.
    Two ways in: `runner(batch)` through the model's signature (named inputs and outputs: the
    bundles' models), or `run(tensor)` then `get(index)` on the raw tensors (the face models,
    whose hot path skips the signature)."""

    def __init__(self, content: bytes | Path, num_threads: int = 1, name: str | None = None) -> None:
        """`content`: the checked bytes (so the interpreter runs exactly what was checked) or a file."""
        self._content = content
        self._num_threads = max(1, int(num_threads))
        self._local = threading.local()
        self.name = name or (content.name if isinstance(content, Path) else "model")

    def _interpreter(self) -> _Interpreter:
        state = getattr(self._local, "state", None)
        if state is None:
            from ai_edge_litert.interpreter import Interpreter

            source = {"model_path": str(self._content)} if isinstance(self._content, Path) else {"model_content": self._content}
            with quiet_native_output():  # TFLite prints "Created ... XNNPACK delegate" here
                interpreter = Interpreter(**source, num_threads=self._num_threads)
                interpreter.allocate_tensors()
            state = self._local.state = _Interpreter(interpreter, int(interpreter.get_input_details()[0]["index"]))
            log.debug("LiteRT interpreter for %s created on thread %s", self.name, threading.current_thread().name)
        return state

    # -- by signature: named inputs and outputs -------------------------------------------------
    def __call__(self, batch: Batch) -> dict[str, np.ndarray]:
        state = self._interpreter()
        if state.signature is None:
            state.signature = state.interpreter.get_signature_runner()
            state.input_names = tuple(state.signature.get_input_details())
        named = batch if isinstance(batch, dict) else {state.input_names[0]: batch}
        feed = {_match(state.input_names, name): np.ascontiguousarray(value, dtype=np.float32) for name, value in named.items()}
        return state.signature(**feed)

    # -- raw tensors: one float32 image input ---------------------------------------------------
    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self._interpreter().interpreter.get_input_details()[0]["shape"])

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return self._interpreter().interpreter.get_output_details()

    def output_index(self, last_dim: int) -> int:
        """Index of the output tensor whose last dimension is `last_dim`."""
        for out in self.outputs:
            if int(out["shape"][-1]) == last_dim:
                return int(out["index"])
        raise KeyError(f"{self.name} has no output with last dimension {last_dim}")

    def run(self, tensor: np.ndarray) -> None:
        """Set the input (float32) and invoke; read outputs with `get` on the same thread."""
        state = self._interpreter()
        state.interpreter.set_tensor(state.input_index, tensor)
        state.interpreter.invoke()  # releases the GIL: other threads keep running

    def get(self, index: int) -> np.ndarray:
        """A copy of output tensor `index` from this thread's last `run`."""
        return self._interpreter().interpreter.get_tensor(index)

    def close(self) -> None:
        """Drop this thread's interpreter so its buffers are freed."""
        self._local.state = None


def _match(names: tuple[str, ...], wanted: str) -> str:
    # The converter keeps Keras input names, sometimes with a suffix: match by prefix.
    return next((n for n in names if n == wanted or n.startswith(wanted)), wanted)
