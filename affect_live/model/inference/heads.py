"""The multi-task heads on [max, min, mean of the window, features, current probabilities], or,
for heads_input "current_frame" (the paper's "Emotion VA Image"), on [features, probabilities].

A head is either learned (a Keras MLP of the paper's shape, in the bundle's heads.keras) or a
documented prior computed from the window statistics:
- expression prior: the window mean of the per-frame probabilities;
- valence/arousal prior: that mean projected onto fixed per-class (valence, arousal) positions.
A valence/arousal head of kind "per_frame" is the window mean of the valence/arousal that a
brought-in per-frame model learned itself (the STAT module's mean, applied to its output).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from affect_live.errors import BundleError
from affect_live.model.bundle.action_inputs import actions_needed_message
from affect_live.model.bundle.manifest import N_CLASSES, Manifest, heads_input_dim, join_heads_input
from affect_live.types import EXPRESSIONS

if TYPE_CHECKING:
    from affect_live.model.bundle.reading import LoadedBundle
HeadsRunner = Callable[[Any], dict[str, np.ndarray]]


@dataclass(frozen=True)
class HeadOutputs:
    expression: np.ndarray  # (N, 7), rows sum to 1
    valence: np.ndarray  # (N,), in [-1, 1]
    arousal: np.ndarray  # (N,), in [-1, 1]


def build_heads_model(
    feature_dim: int,
    hidden: int = 1024,
    dropout: float = 0.1,
    temporal: str = "none",
    window: int = 16,
    lstm_units: int = 1024,
    heads_input: str = "window_stats",
    extra_inputs: tuple[str, ...] = (),
) -> Any:
    """The paper's heads: separate MLPs, no shared hidden layer, dropout between layers.

    With temporal="bilstm", a 2-layer bidirectional LSTM reads the window's probabilities as a
    sequence (window x 7) and its output joins the heads' input (the "with LSTM" variant).
    `heads_input` and `extra_inputs` (the manifest's heads_extra_inputs) say what the flat
    input holds (`join_heads_input`).
    """
    import keras

    if heads_input == "current_frame" and temporal != "none":
        raise ValueError("heads on the current frame only cannot have a temporal module (it reads the window)")
    inputs: Any = keras.Input((heads_input_dim(feature_dim, heads_input, extra_inputs),), name="window_input")
    joined = inputs
    if temporal == "bilstm":
        sequence = keras.Input((window, N_CLASSES), name="window_sequence")
        # Unrolled over the fixed window: a static graph that TFLite converts to plain ops.
        x = keras.layers.Bidirectional(keras.layers.LSTM(lstm_units, return_sequences=True, unroll=True), name="bilstm1")(sequence)
        x = keras.layers.Bidirectional(keras.layers.LSTM(lstm_units, unroll=True), name="bilstm2")(x)
        joined = keras.layers.Concatenate(name="with_lstm")([inputs, x])
        inputs = {"window_input": inputs, "window_sequence": sequence}

    def mlp(name: str, depth: int, units: int, activation: str) -> Any:
        x = joined
        for i in range(depth):
            x = keras.layers.Dense(hidden, activation="relu", name=f"{name}_dense{i + 1}")(x)
            x = keras.layers.Dropout(dropout, name=f"{name}_dropout{i + 1}")(x)
        return keras.layers.Dense(units, activation=activation, name=name)(x)

    outputs = {
        "expression": mlp("expression", 1, N_CLASSES, "softmax"),
        "valence": mlp("valence", 2, 1, "tanh"),
        "arousal": mlp("arousal", 2, 1, "tanh"),
    }
    return keras.Model(inputs, outputs, name="affect_heads")


def heads_runner(bundle: LoadedBundle, device: str = "CPU", threads: int = 1) -> HeadsRunner | None:
    """None for prior heads; else LiteRT on the CPU, the Keras model on a GPU."""
    from affect_live.backends.keras_runner import KerasRunner
    from affect_live.backends.litert import LiteRtRunner

    if bundle.heads_tflite is None:
        return None
    return KerasRunner(bundle.heads_model) if device == "GPU" else LiteRtRunner(bundle.heads_tflite, threads)


class Heads:
    """Applies a bundle's heads to a batch of faces; `runner` runs the learned heads model (None
    when every head is a prior)."""

    def __init__(self, manifest: Manifest, runner: HeadsRunner | None) -> None:
        self.kinds = {name: spec.kind for name, spec in manifest.heads.items()}
        self.temporal = manifest.temporal
        self.heads_input = manifest.heads_input
        self.needs_actions = manifest.needs_actions
        self._name = manifest.name
        self._positions = np.array(
            [manifest.va_positions.get(name, (0.0, 0.0)) for name in EXPRESSIONS], dtype=np.float32
        )
        self._run = runner

    def __call__(
        self,
        stats: np.ndarray,
        features: np.ndarray,
        probabilities: np.ndarray,
        sequences: np.ndarray | None = None,
        va_mean: np.ndarray | None = None,
        action_stats: np.ndarray | None = None,
    ) -> HeadOutputs:
        """`stats` (N, 21) [max, min, mean] of each window (the priors and "window_stats" heads
        read them); `sequences` (N, T, 7), the window in time order, only for temporal="bilstm";
        `va_mean` (N, 2), the window mean of the per-frame model's own valence/arousal, for
        "per_frame" heads; `action_stats` (N, 165), [max, min, mean] of each window's facial
        actions (`action_inputs`), for heads trained --with-actions (required by them)."""
        window_mean = stats[:, 2 * N_CLASSES : 3 * N_CLASSES]
        prior_va = window_mean @ self._positions
        learned = None
        if self._run is not None and len(stats):
            if self.needs_actions and action_stats is None:
                raise BundleError(actions_needed_message((self._name,)))
            extra = (action_stats,) if self.needs_actions else ()
            flat = join_heads_input(self.heads_input, stats, features, probabilities, extra)
            learned = self._run({"window_input": flat, "window_sequence": sequences} if self.temporal == "bilstm" else flat)

        def pick(name: str, prior: np.ndarray, axis: int = 0) -> np.ndarray:
            if learned is not None and self.kinds[name] == "learned":
                return learned[name].reshape(prior.shape)
            if va_mean is not None and self.kinds[name] == "per_frame":
                return va_mean[:, axis]
            return prior

        return HeadOutputs(
            expression=pick("expression", window_mean),
            valence=np.clip(pick("valence", prior_va[:, 0], 0), -1.0, 1.0),
            arousal=np.clip(pick("arousal", prior_va[:, 1], 1), -1.0, 1.0),
        )
