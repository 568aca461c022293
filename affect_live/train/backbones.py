"""The paper's own per-frame backbone: ResNet-50 at 224x224, BGR, VGGFace2 mean subtracted, with a
2048-unit `features` layer and a 7-way `predictions` layer (Aff-Wild2 order).

ImageNet initial weights are downloaded by Keras only when asked for (and only where there is a
network); the app and the tests build it without weights.
"""

from __future__ import annotations

from typing import Any

from affect_live.model.bundle.manifest import InputSpec, Manifest
from affect_live.model.bundle.priors import VA_POSITIONS, VA_POSITIONS_SOURCE, prior_heads
from affect_live.types import EXPRESSIONS

VGGFACE2_MEAN_BGR = (91.4953, 103.8827, 131.0912)
INPUT_SIZE = 224
FEATURES = 2048


def build_resnet50(imagenet_weights: bool = False) -> Any:
    """(N, 224, 224, 3) BGR minus the mean -> {"features": (N, 2048), "probabilities": (N, 7)}."""
    import keras

    base = keras.applications.ResNet50(
        include_top=False, weights="imagenet" if imagenet_weights else None, input_shape=(INPUT_SIZE, INPUT_SIZE, 3), pooling="avg"
    )
    features = keras.layers.Dense(FEATURES, activation="relu", name="features")(base.output)
    predictions = keras.layers.Dense(len(EXPRESSIONS), activation="softmax", name="predictions")(features)
    return keras.Model(base.input, {"features": features, "probabilities": predictions}, name="resnet50_affect")


def resnet50_manifest(name: str, trained_on: str) -> Manifest:
    """A manifest for the ResNet-50 per-frame model, with prior heads until heads are trained."""
    return Manifest(
        name=name,
        version="0",
        license="weights trained by the user; check the licences of the data used",
        description="ResNet-50 per-frame model (the paper's backbone)",
        input=InputSpec(INPUT_SIZE, INPUT_SIZE, "bgr", VGGFACE2_MEAN_BGR, (1.0,), "aligned"),
        classes=EXPRESSIONS,
        feature_dim=FEATURES,
        window=16,
        frame_model=trained_on,
        heads=prior_heads(),  # until heads are trained with `affect-live train`
        va_positions=dict(VA_POSITIONS),
        va_positions_source=VA_POSITIONS_SOURCE,
    )
