"""Training the paper's multi-task heads on causal windows of cached per-frame outputs.

Losses: cross-entropy for expression, 1 - CCC (per batch, population moments) for valence and
for arousal, and the optional auxiliary head's MSE on [a, v, m, |a-m|, |v-m|], m = (a+v)/2.
Validation runs every epoch with the ABAW metrics; the best epoch's weights are kept and
training stops early when the validation score stops improving.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from affect_live.model.bundle.manifest import HEADS_INPUTS, heads_input_dim
from affect_live.model.inference.heads import N_CLASSES, build_heads_model
from affect_live.train.metrics import expression_score, va_score
from affect_live.train.windows import CachedRows, LabelledRows

log = logging.getLogger(__name__)

RANDOM_WINDOWS = (4, 8, 16, 32)


@dataclass(frozen=True)
class TrainSettings:
    window: int = 16
    random_window: bool = False  # T drawn from RANDOM_WINDOWS per batch (the paper's variant)
    epochs: int = 20
    batch_size: int = 256
    learning_rate: float = 1e-4
    balance_classes: bool = False  # oversample every expression class to the largest
    auxiliary: bool = True
    lstm: bool = False  # the paper's "with LSTM" variant: a 2-layer BiLSTM over the window
    lstm_units: int = 1024
    hidden: int = 1024
    dropout: float = 0.1
    patience: int = 4  # epochs without a better validation score before stopping
    seed: int = 0
    # "window_stats" (STAT, the paper's "Emotion VA Frame") or "current_frame" (its "Emotion VA
    # Image": the heads see the current frame's features and probabilities only).
    heads_input: str = "window_stats"
    # --with-actions: the heads also take [max, min, mean] over the window of the head pose and
    # the 52 blendshapes (manifest heads_extra_inputs ["actions"]).
    with_actions: bool = False

    def __post_init__(self) -> None:
        """Combinations that cannot be trained raise ValueError with one line for the user."""
        if self.heads_input not in HEADS_INPUTS:
            raise ValueError(f"heads input {self.heads_input!r} is not one of {', '.join(HEADS_INPUTS)}")
        if self.lstm and self.random_window:
            raise ValueError("the LSTM heads are built for one window length: use --window, not --random-window")
        if self.heads_input == "current_frame" and (self.lstm or self.random_window):
            raise ValueError("heads without window statistics (--no-stat) read no window: drop --lstm / --random-window")
        if self.heads_input == "current_frame" and self.with_actions:
            raise ValueError("--with-actions adds window statistics of the facial actions, which --no-stat heads do not read: drop one")

    @property
    def temporal(self) -> str:
        return "bilstm" if self.lstm else "none"

    @property
    def extra_inputs(self) -> tuple[str, ...]:
        """The manifest's heads_extra_inputs for these settings."""
        return ("actions",) if self.with_actions else ()


@dataclass
class TrainOutcome:
    heads_model: Any
    best_epoch: int
    best_metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)
    windows_per_s: float = 0.0


def ccc_loss(y_true: Any, y_pred: Any) -> Any:
    """1 - CCC over the batch, with population moments (ddof=0)."""
    from keras import ops

    t = ops.reshape(ops.cast(y_true, "float32"), (-1,))
    p = ops.reshape(ops.cast(y_pred, "float32"), (-1,))
    mt, mp = ops.mean(t), ops.mean(p)
    cov = ops.mean((t - mt) * (p - mp))
    denominator = ops.mean((t - mt) ** 2) + ops.mean((p - mp) ** 2) + (mt - mp) ** 2
    return 1.0 - 2.0 * cov / (denominator + 1e-8)


def auxiliary_targets(valence: np.ndarray, arousal: np.ndarray) -> np.ndarray:
    middle = (arousal + valence) / 2.0
    return np.stack([arousal, valence, middle, np.abs(arousal - middle), np.abs(valence - middle)], axis=1).astype(np.float32)


def build_training_model(feature_dim: int, settings: TrainSettings) -> tuple[Any, Any]:
    """(training model, heads model): the auxiliary head shares the input, not the weights,
    and is left out of the exported heads."""
    import keras

    heads = build_heads_model(
        feature_dim, settings.hidden, settings.dropout, settings.temporal, settings.window, settings.lstm_units, settings.heads_input,
        settings.extra_inputs,
    )  # fmt: skip
    if not settings.auxiliary:
        return heads, heads
    flat = keras.Input((heads_input_dim(feature_dim, settings.heads_input, settings.extra_inputs),), name="window_input")
    inputs: Any = flat
    if settings.lstm:
        inputs = {"window_input": flat, "window_sequence": keras.Input((settings.window, N_CLASSES), name="window_sequence")}
    outputs = dict(heads(inputs))
    x = keras.layers.Dense(settings.hidden, activation="relu", name="auxiliary_dense1")(flat)
    x = keras.layers.Dropout(settings.dropout, name="auxiliary_dropout1")(x)
    outputs["auxiliary"] = keras.layers.Dense(5, activation="tanh", name="auxiliary")(x)
    return keras.Model(inputs, outputs, name="affect_heads_training"), heads


def epoch_order(expression: np.ndarray, balance: bool, rng: np.random.Generator) -> np.ndarray:
    """Sample indices for one epoch: shuffled, or every class oversampled to the largest one."""
    if not balance:
        return rng.permutation(len(expression))
    classes = [np.flatnonzero(expression == c) for c in range(N_CLASSES)]
    largest = max(len(c) for c in classes)
    picks = [rng.choice(c, largest, replace=len(c) < largest) if len(c) else c for c in classes]
    return rng.permutation(np.concatenate(picks))


def make_batches(cached: CachedRows, samples: LabelledRows, settings: TrainSettings) -> Any:
    import keras

    class WindowBatches(keras.utils.PyDataset):
        """Batches of (heads inputs, targets); a new order (and T draws) every epoch."""

        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(settings.seed)
            self.order = epoch_order(samples.expression, settings.balance_classes, self.rng)

        def __len__(self) -> int:
            return math.ceil(len(self.order) / settings.batch_size)

        def __getitem__(self, index: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
            pick = self.order[index * settings.batch_size : (index + 1) * settings.batch_size]
            window = int(self.rng.choice(RANDOM_WINDOWS)) if settings.random_window else settings.window
            valence, arousal = samples.valence[pick], samples.arousal[pick]
            targets = {"expression": samples.expression[pick], "valence": valence[:, None], "arousal": arousal[:, None]}
            if settings.auxiliary:
                targets["auxiliary"] = auxiliary_targets(valence, arousal)
            return model_inputs(cached, samples.rows[pick], window, settings), targets

        def on_epoch_end(self) -> None:
            self.order = epoch_order(samples.expression, settings.balance_classes, self.rng)

    return WindowBatches()


def model_inputs(cached: CachedRows, rows: np.ndarray, window: int, settings: TrainSettings) -> Any:
    flat = cached.heads_inputs(rows, window, settings.heads_input, settings.with_actions)
    return {"window_input": flat, "window_sequence": cached.sequences(rows, window)} if settings.lstm else flat


def predict_heads(heads: Any, cached: CachedRows, rows: np.ndarray, settings: TrainSettings, batch: int = 4096) -> dict[str, np.ndarray]:
    """Heads outputs for rows at the settings' window, in batches (validation during training;
    never the live hot path)."""
    parts: dict[str, list[np.ndarray]] = {"expression": [], "valence": [], "arousal": []}
    for start in range(0, len(rows), batch):
        out = heads(model_inputs(cached, rows[start : start + batch], settings.window, settings), training=False)
        for name in parts:
            parts[name].append(np.asarray(out[name]))
    return {name: np.concatenate(values) if values else np.zeros(0) for name, values in parts.items()}


def validation_metrics(outputs: dict[str, np.ndarray], samples: LabelledRows) -> dict[str, Any]:
    expr = expression_score(samples.expression, outputs["expression"].argmax(axis=1))
    va = va_score(samples.valence, outputs["valence"].ravel(), samples.arousal, outputs["arousal"].ravel())
    return {"expression": expr, "va": va, "combined": 0.5 * (expr["abaw2020_expr_score"] + va["va_score"])}


def train_heads(
    train: tuple[CachedRows, LabelledRows], validation: tuple[CachedRows, LabelledRows], settings: TrainSettings, verbose: int = 1
) -> TrainOutcome:
    import keras

    keras.utils.set_random_seed(settings.seed)
    cached, samples = train
    model, heads = build_training_model(cached.features.shape[1], settings)
    losses: dict[str, Any] = {"expression": keras.losses.SparseCategoricalCrossentropy(), "valence": ccc_loss, "arousal": ccc_loss}
    if settings.auxiliary:
        losses["auxiliary"] = keras.losses.MeanSquaredError()
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate), loss=losses)
    outcome = TrainOutcome(heads_model=heads, best_epoch=-1, best_metrics={})

    class Validate(keras.callbacks.Callback):
        """ABAW metrics on the validation windows; keeps the best weights, stops early."""

        def __init__(self) -> None:
            super().__init__()
            self.best_weights: list[np.ndarray] | None = None
            self.waited = 0
            self.epoch_started = 0.0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch_started = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            logs = logs if logs is not None else {}
            seconds = time.perf_counter() - self.epoch_started
            metrics = validation_metrics(predict_heads(heads, validation[0], validation[1].rows, settings), validation[1])
            logs.update(
                val_expr_score=metrics["expression"]["abaw2020_expr_score"],
                val_va_score=metrics["va"]["va_score"],
                val_ccc_valence=metrics["va"]["ccc_valence"],
                val_ccc_arousal=metrics["va"]["ccc_arousal"],
            )
            outcome.history.append({k: float(v) for k, v in logs.items()} | {"epoch": epoch + 1, "seconds": seconds})
            if not outcome.best_metrics or metrics["combined"] > outcome.best_metrics["combined"]:
                outcome.best_epoch, outcome.best_metrics = epoch + 1, metrics
                self.best_weights = heads.get_weights()
                self.waited = 0
            else:
                self.waited += 1
                if self.waited >= settings.patience:
                    self.model.stop_training = True

    validate = Validate()
    batches = make_batches(cached, samples, settings)
    started = time.perf_counter()
    model.fit(batches, epochs=settings.epochs, callbacks=[validate], verbose=verbose)
    train_seconds = sum(h["seconds"] for h in outcome.history) or (time.perf_counter() - started)
    outcome.windows_per_s = len(batches.order) * len(outcome.history) / max(train_seconds, 1e-9)
    if validate.best_weights is not None:
        heads.set_weights(validate.best_weights)
    return outcome
