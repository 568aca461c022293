"""A Keras model in `tf.function`: the GPU path, and where TensorFlow is loaded anyway (checking a
conversion). Takes one array or a dict by input name and returns a dict of named outputs, as
`backends.litert.LiteRtRunner` does."""

from __future__ import annotations

from typing import Any

import numpy as np

from affect_live.backends.litert import Batch


class KerasRunner:
    def __init__(self, model: Any) -> None:
        import tensorflow as tf

        self._fn = tf.function(lambda x: model(x, training=False), reduce_retracing=True)

    def __call__(self, batch: Batch) -> dict[str, np.ndarray]:
        return {name: np.asarray(value) for name, value in self._fn(batch).items()}
