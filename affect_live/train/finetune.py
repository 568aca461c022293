"""Fine-tuning the per-frame model end to end on Aff-Wild2 frame images (expression labels).

Meant for GPU users; it runs on a CPU too, slowly. The result is a bundle with the new per-frame
model and prior heads: the old heads were trained on the old model's features, so train new
heads with `extract` + `train` afterwards.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from affect_live.model.bundle.classes import aff_wild2_order
from affect_live.model.bundle.input_batch import preprocess
from affect_live.model.bundle.manifest import Manifest
from affect_live.model.bundle.priors import VA_POSITIONS, VA_POSITIONS_SOURCE, prior_heads
from affect_live.model.making.writing import write_bundle
from affect_live.train.affwild2 import AffWild2, LabelledVideo, read_frame_image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FinetuneSettings:
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-5
    augment: bool = True  # horizontal flip, shift / scale / rotate (the paper's augmentation)
    seed: int = 0


def augment(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random horizontal flip and a small similarity transform (shift, scale, rotate)."""
    if rng.random() < 0.5:
        image = image[:, ::-1]
    h, w = image.shape[:2]
    angle, scale = rng.uniform(-10, 10), rng.uniform(0.9, 1.1)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-0.05, 0.05, 2) * (w, h)
    return cv2.warpAffine(np.ascontiguousarray(image), matrix, (w, h), borderMode=cv2.BORDER_REFLECT)


def frame_samples(dataset: AffWild2, videos: list[LabelledVideo]) -> tuple[list[Path], np.ndarray]:
    paths = [dataset.image_path(v.video, int(n)) for v in videos for n in v.frames]
    labels = np.concatenate([v.expression for v in videos]) if videos else np.zeros(0, np.int64)
    return paths, labels


def make_batches(paths: list[Path], labels: np.ndarray, manifest: Manifest, settings: FinetuneSettings, train: bool) -> Any:
    import keras

    size = (manifest.input.width, manifest.input.height)
    # Aff-Wild2 class c is the model's output aff_wild2_order(classes)[c].
    to_model = np.asarray(aff_wild2_order(manifest.classes))

    class FrameBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.rng = np.random.default_rng(settings.seed)
            self.order = self.rng.permutation(len(paths)) if train else np.arange(len(paths))

        def __len__(self) -> int:
            return math.ceil(len(paths) / settings.batch_size)

        def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
            pick = self.order[index * settings.batch_size : (index + 1) * settings.batch_size]
            crops = [read_frame_image(paths[i], size) for i in pick]
            if train and settings.augment:
                crops = [augment(crop, self.rng) for crop in crops]
            return preprocess(crops, manifest.input), to_model[labels[pick]]

        def on_epoch_end(self) -> None:
            if train:
                self.order = self.rng.permutation(len(paths))

    return FrameBatches()


def finetune(dataset: AffWild2, model: Any, manifest: Manifest, settings: FinetuneSettings, verbose: int = 1) -> dict[str, list[float]]:
    """Train `model` (features + probabilities outputs) in place; returns the Keras history."""
    import keras

    keras.utils.set_random_seed(settings.seed)
    train = frame_samples(dataset, dataset.labelled("EXPR", "Training_Set"))
    validation = frame_samples(dataset, dataset.labelled("EXPR", "Validation_Set"))
    # A view of the model with only the probabilities output (features get no loss); it shares
    # the weights, so training it trains `model`.
    inputs = keras.Input(model.input_shape[1:])
    trainer = keras.Model(inputs, model(inputs)["probabilities"])
    trainer.compile(
        optimizer=keras.optimizers.Adam(settings.learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    history = trainer.fit(
        make_batches(*train, manifest, settings, train=True),
        validation_data=make_batches(*validation, manifest, settings, train=False) if len(validation[0]) else None,
        epochs=settings.epochs,
        verbose=verbose,
    )
    return {name: [float(v) for v in values] for name, values in history.history.items()} | {"train_frames": [len(train[0])]}


def write_finetuned(path: Path, model: Any, base: Manifest, name: str, history: dict[str, list[float]]) -> Manifest:
    """The fine-tuned per-frame model with prior heads (its features are new)."""
    manifest = dataclasses.replace(
        base,
        name=name,
        frame_model=f"{base.frame_model}; then fine-tuned end to end on Aff-Wild2 EXPR Training_Set ({history['train_frames'][0]} frames)",
        heads=prior_heads(),
        heads_extra_inputs=(),  # prior heads take no facial actions
        va_positions=base.va_positions or dict(VA_POSITIONS),
        va_positions_source=base.va_positions_source or VA_POSITIONS_SOURCE,
        metrics={"finetune_history": history},
        provenance=base.provenance | {"fine_tuned_from": base.name},
    )
    write_bundle(path, manifest, model)
    return manifest
