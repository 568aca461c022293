"""Batched inference on numpy arrays: LiteRT on the CPU (the run time), `tf.function` on a GPU.

Eager `model(x)` costs ~90 ms and `predict()` ~50 ms per call on this class of CPU; a LiteRT
interpreter runs the same small network in about a millisecond and needs no TensorFlow. Both
runners take one array (single-input models) or a dict by input name, and return a dict of
named outputs.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from affect_live.native_logs import quiet_native_output

log = logging.getLogger(__name__)

Batch = np.ndarray | dict[str, np.ndarray]


class LiteRtRunner:
    """A TFLite flatbuffer (already validated) run by ai-edge-litert.

    Interpreters are not thread-safe: each thread that calls the runner gets its own, created
    once on its first call, so an engine built on one thread and run on another creates its
    interpreter where it runs.
    """

    def __init__(self, content: bytes, num_threads: int = 1) -> None:
        self._content = content
        self._num_threads = max(1, int(num_threads))
        self._local = threading.local()

    def _signature(self) -> tuple[Any, list[str]]:
        state = getattr(self._local, "state", None)
        if state is None:
            from ai_edge_litert.interpreter import Interpreter

            with quiet_native_output():  # TFLite prints "Created ... XNNPACK delegate" here
                interpreter = Interpreter(model_content=self._content, num_threads=self._num_threads)
                interpreter.allocate_tensors()
                runner = interpreter.get_signature_runner()
            state = (interpreter, runner, list(runner.get_input_details()))
            self._local.state = state  # the runner needs its interpreter alive
            log.debug("LiteRT interpreter created on thread %s", threading.current_thread().name)
        return state[1], state[2]

    def __call__(self, batch: Batch) -> dict[str, np.ndarray]:
        runner, input_names = self._signature()
        named = batch if isinstance(batch, dict) else {input_names[0]: batch}
        feed = {_match(input_names, name): np.ascontiguousarray(value, dtype=np.float32) for name, value in named.items()}
        return runner(**feed)


def _match(names: list[str], wanted: str) -> str:
    # The converter keeps Keras input names, sometimes with a suffix: match by prefix.
    return next((n for n in names if n == wanted or n.startswith(wanted)), wanted)


class KerasRunner:
    """A Keras model wrapped in `tf.function` (the GPU path; also used where TensorFlow is
    loaded anyway, for example to check a conversion)."""

    def __init__(self, model: Any) -> None:
        import tensorflow as tf

        self._fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def __call__(self, batch: Batch) -> dict[str, np.ndarray]:
        return {name: np.asarray(value) for name, value in self._fn(batch).items()}
