"""An ONNX per-frame model (already checked by `onnx_model.check_onnx`) run by onnxruntime on
the CPU. No TensorFlow; onnxruntime is imported only when a bundle holds an ONNX model."""

from __future__ import annotations

import logging
import threading
from typing import Any

import numpy as np

from affect_live.backends.native_logs import quiet_native_output

log = logging.getLogger(__name__)


class OnnxRunner:
    """One session per runner (onnxruntime sessions may be run from several threads), created
    on first use so the thread that runs it pays for it. Models whose batch dimension is fixed
    at 1 run once per face."""

    def __init__(self, content: bytes, num_threads: int = 1) -> None:
        self._content = content
        self._num_threads = max(1, int(num_threads))
        self._lock = threading.Lock()
        self._state: tuple[Any, str, list[str], bool] | None = None

    def _session(self) -> tuple[Any, str, list[str], bool]:
        with self._lock:
            if self._state is None:
                import onnxruntime as ort

                options = ort.SessionOptions()
                options.intra_op_num_threads = self._num_threads
                options.inter_op_num_threads = 1
                options.log_severity_level = 3  # errors only
                with quiet_native_output():
                    session = ort.InferenceSession(self._content, options, providers=["CPUExecutionProvider"])
                model_input = session.get_inputs()[0]
                single = model_input.shape[0] == 1
                self._state = (session, model_input.name, [o.name for o in session.get_outputs()], single)
            return self._state

    def __call__(self, batch: np.ndarray | dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        session, name, outputs, single = self._session()
        array = np.ascontiguousarray(next(iter(batch.values())) if isinstance(batch, dict) else batch, dtype=np.float32)
        if not single or len(array) == 1:
            return dict(zip(outputs, session.run(outputs, {name: array})))
        rows = [session.run(outputs, {name: array[i : i + 1]}) for i in range(len(array))]
        return {out: np.concatenate([row[k] for row in rows]) for k, out in enumerate(outputs)}
