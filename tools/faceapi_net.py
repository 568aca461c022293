"""Keras 3 rebuild of face-api's FaceExpressionNet.

face-api (``@vladmandic/face-api``, MIT) ships a small expression classifier as
a tfjs weights manifest plus a binary file of uint8-quantised weights (read by
:mod:`tools/tfjs_weights.py`).  This module rebuilds the same network with standard Keras
layers only, so the model saves as ``.keras`` and reloads with
``safe_mode=True`` and no ``custom_objects``.

Network (input 112x112x3, already normalised, see :func:`faceapi_preprocess`):

* four "dense blocks" of 32, 64, 128, 256 channels.  Each block halves the
  spatial size with its first conv (a plain 3x3 conv in block 0, a depthwise
  separable 3x3 conv afterwards, both TF ``SAME`` padding, stride 2), then adds
  three stride-1 separable convs whose inputs are the ReLU of the running sum
  of all previous outputs of the block (a DenseNet-like residual sum);
* 7x7 average pooling (stride 2, ``valid``) of the 7x7x256 map -> 256 features;
* fully connected 256 -> 7 and softmax, in :data:`FACEAPI_CLASSES` order.
"""

from __future__ import annotations

import keras
import numpy as np

FACEAPI_CLASSES = ("neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised")
FACEAPI_MEAN_RGB = (122.782, 117.001, 104.298)
FACEAPI_STD = 255.0
FACEAPI_INPUT_SIZE = 112

_BLOCK_CHANNELS = (32, 64, 128, 256)
_CONVS_PER_BLOCK = 4


def faceapi_preprocess(crops: np.ndarray) -> np.ndarray:
    """Normalise RGB crops exactly as face-api does: ``(rgb - mean_rgb) / 255``.

    Args:
        crops: ``(N, 112, 112, 3)`` or ``(112, 112, 3)`` RGB array, 0..255
            (uint8 or float).  Channel order must be RGB, not BGR.

    Returns:
        float32 array of the same shape, ready for the model's input.
    """
    x = np.asarray(crops).astype(np.float32)
    if x.shape[-3:] != (FACEAPI_INPUT_SIZE, FACEAPI_INPUT_SIZE, 3):
        raise ValueError(f"expected (..., 112, 112, 3) RGB crops, got shape {x.shape}")
    return (x - np.asarray(FACEAPI_MEAN_RGB, np.float32)) / np.float32(FACEAPI_STD)


def _dense_block(x: keras.KerasTensor, index: int, channels: int) -> keras.KerasTensor:
    """One face-api ``denseBlock4`` (stride-2 first conv, three separable convs)."""
    prefix = f"dense{index}"
    if index == 0:
        first = keras.layers.Conv2D(channels, 3, strides=2, padding="same",
                                    name=f"{prefix}_conv0")(x)
    else:
        first = keras.layers.SeparableConv2D(channels, 3, strides=2, padding="same",
                                             name=f"{prefix}_conv0")(x)
    out1 = keras.layers.ReLU(name=f"{prefix}_relu0")(first)
    outputs = [out1]
    block_in = out1
    for conv in range(1, _CONVS_PER_BLOCK):
        out = keras.layers.SeparableConv2D(channels, 3, strides=1, padding="same",
                                           name=f"{prefix}_conv{conv}")(block_in)
        outputs.append(out)
        # face-api sums right-nested: out1 + (out2 + (out3 + out4)).
        total = outputs[-1]
        for k in range(len(outputs) - 2, -1, -1):
            total = keras.layers.Add(name=f"{prefix}_sum{conv}_{k}")([outputs[k], total])
        block_in = keras.layers.ReLU(name=f"{prefix}_relu{conv}")(total)
    return block_in


def _tfjs_names(layer_name: str) -> list[str]:
    """Map a Keras layer name to the tfjs weight names it holds, in Keras order."""
    if layer_name == "fc":
        return ["fc/weights", "fc/bias"]
    base = layer_name.replace("_", "/")
    if layer_name == "dense0_conv0":
        return [f"{base}/filters", f"{base}/bias"]
    return [f"{base}/depthwise_filter", f"{base}/pointwise_filter", f"{base}/bias"]


def _assign_weights(model: keras.Model, weights: dict[str, np.ndarray]) -> None:
    """Copy tfjs-named weights into the model, checking names and shapes."""
    used: set[str] = set()
    for layer in model.layers:
        if not isinstance(layer, (keras.layers.Conv2D, keras.layers.SeparableConv2D,
                                  keras.layers.Dense)):
            continue
        names = _tfjs_names(layer.name)
        missing = [n for n in names if n not in weights]
        if missing:
            raise ValueError(f"face-api weights lack {missing} for layer {layer.name!r}")
        arrays = [np.asarray(weights[n], dtype=np.float32) for n in names]
        expected = [tuple(v.shape) for v in layer.weights]
        got = [a.shape for a in arrays]
        if expected != got:
            raise ValueError(f"layer {layer.name!r}: weight shapes {got} != expected {expected}")
        layer.set_weights(arrays)
        used.update(names)
    unused = sorted(set(weights) - used)
    if unused:
        raise ValueError(f"face-api weights not used by the model: {unused}")


def build_faceapi_expression_net(weights: dict[str, np.ndarray] | None = None) -> keras.Model:
    """Build face-api's FaceExpressionNet as a functional Keras model.

    Args:
        weights: optional output of :func:`tools/tfjs_weights.py.read_faceapi_weights`; when given
            every tensor must be used and every shape must match.

    Returns:
        model ``faceapi_expression_net``: input ``(None, 112, 112, 3)`` float32
        normalised by :func:`faceapi_preprocess`; outputs a dict with
        ``features`` ``(None, 256)`` (pooled bottleneck) and ``probabilities``
        ``(None, 7)`` (softmax, :data:`FACEAPI_CLASSES` order).
    """
    size = FACEAPI_INPUT_SIZE
    inputs = keras.Input(shape=(size, size, 3), dtype="float32", name="image")
    x = inputs
    for index, channels in enumerate(_BLOCK_CHANNELS):
        x = _dense_block(x, index, channels)
    x = keras.layers.AveragePooling2D(pool_size=7, strides=2, padding="valid", name="avg_pool")(x)
    features = keras.layers.Flatten(name="features")(x)
    logits = keras.layers.Dense(len(FACEAPI_CLASSES), name="fc")(features)
    probabilities = keras.layers.Softmax(name="probabilities")(logits)
    model = keras.Model(inputs=inputs,
                        outputs={"features": features, "probabilities": probabilities},
                        name="faceapi_expression_net")
    if weights is not None:
        _assign_weights(model, weights)
    return model
