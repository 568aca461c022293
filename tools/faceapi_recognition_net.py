"""Keras 3 rebuild of face-api's FaceRecognitionNet (tools-time only: it imports Keras).

face-api's FaceRecognitionNet is dlib's face recognition ResNet (``dlib_face_recognition_resnet_
model_v1``) ported to tfjs: a ResNet-34-like network on a 150x150 RGB face chip that outputs a
128-d descriptor; two faces are the same person when their descriptors are closer than about
0.6 (Euclidean). This module rebuilds it with standard Keras layers from the weights read by
:func:`tools/tfjs_weights.py.read_faceapi_weights`, following face-api's
``src/faceRecognitionNet`` (``FaceRecognitionNet.ts``, ``residualLayer.ts``, ``convLayer.ts``):

* input ``(RGB - (122.782, 117.001, 104.298)) / 256`` (256, not 255 as in the expression net);
* every conv is ``conv + bias``, then a per-channel affine "scale layer" (dlib's affine layer in
  place of batch norm): folded here into the conv's kernel and bias (exact up to rounding);
* ``conv32_down``: 7x7 stride 2 ``valid`` + ReLU, then 3x3 stride 2 ``valid`` max pooling;
* residual blocks ``relu(x + conv2(relu(conv1(x))))`` (3x3 ``same``), and "down" blocks whose
  conv1 is 3x3 stride 2 ``valid`` and whose shortcut is 2x2 average pooling, zero-padded in
  channels when they double; where the conv path comes out one row and column smaller than the
  pooled shortcut (8 -> 3 vs 4, 4 -> 1 vs 2), it is padded with zeros at the bottom and right;
* stages 32 x3, 64 (down + 3), 128 (down + 2), 256 (down + 2, then ``conv256_down_out``);
* global average pooling, then ``fc`` (256 x 128, no bias) -> the descriptor.
"""

from __future__ import annotations

import keras
import numpy as np

RECOGNITION_INPUT_SIZE = 150
RECOGNITION_MEAN_RGB = (122.782, 117.001, 104.298)
RECOGNITION_SCALE = 256.0
DESCRIPTOR_DIM = 128

# (stage name, residual blocks after its down block); the first stage has no down block.
_STAGES = (("conv32", 3), ("conv64", 3), ("conv128", 2), ("conv256", 2))


def recognition_preprocess(crops_rgb: np.ndarray) -> np.ndarray:
    """face-api's normalisation of 150x150 RGB chips: ``(rgb - mean_rgb) / 256``, float32."""
    x = np.asarray(crops_rgb).astype(np.float32)
    if x.shape[-3:] != (RECOGNITION_INPUT_SIZE, RECOGNITION_INPUT_SIZE, 3):
        raise ValueError(f"expected (..., 150, 150, 3) RGB crops, got shape {x.shape}")
    return (x - np.asarray(RECOGNITION_MEAN_RGB, np.float32)) / np.float32(RECOGNITION_SCALE)


def _folded(weights: dict[str, np.ndarray], prefix: str, used: set[str]) -> list[np.ndarray]:
    """Kernel and bias of ``prefix`` with its scale layer folded in: (conv + b) * w + s."""
    names = [f"{prefix}/conv/filters", f"{prefix}/conv/bias", f"{prefix}/scale/weights", f"{prefix}/scale/biases"]
    missing = [n for n in names if n not in weights]
    if missing:
        raise ValueError(f"face-api recognition weights lack {missing}")
    filters, bias, scale, shift = (np.asarray(weights[n], np.float64) for n in names)
    used.update(names)
    return [(filters * scale).astype(np.float32), (bias * scale + shift).astype(np.float32)]


class _Builder:
    """Builds the graph layer by layer and remembers which tfjs weights each conv takes."""

    def __init__(self) -> None:
        self.convs: dict[str, str] = {}  # Keras layer name -> tfjs prefix
        self.pads: list[tuple[str, int, int]] = []  # channel-padding layers (name, in, out)

    def conv(self, x, prefix: str, channels: int, size: int, down: bool, relu: bool):
        name = prefix.replace("/", "_")
        self.convs[name] = prefix
        x = keras.layers.Conv2D(channels, size, strides=2 if down else 1,
                                padding="valid" if down else "same", name=name)(x)
        return keras.layers.ReLU(name=f"{name}_relu")(x) if relu else x

    def residual(self, x, prefix: str, channels: int):
        out = self.conv(x, f"{prefix}/conv1", channels, 3, down=False, relu=True)
        out = self.conv(out, f"{prefix}/conv2", channels, 3, down=False, relu=False)
        out = keras.layers.Add(name=f"{prefix}_add")([out, x])
        return keras.layers.ReLU(name=f"{prefix}_out")(out)

    def residual_down(self, x, prefix: str, channels: int):
        in_channels, in_size = int(x.shape[-1]), int(x.shape[1])
        out = self.conv(x, f"{prefix}/conv1", channels, 3, down=True, relu=True)
        out = self.conv(out, f"{prefix}/conv2", channels, 3, down=False, relu=False)
        pooled = keras.layers.AveragePooling2D(2, 2, padding="valid", name=f"{prefix}_pool")(x)
        if int(out.shape[1]) != in_size // 2:  # face-api concatenates a zero row and column
            out = keras.layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"{prefix}_pad")(out)
        if in_channels != channels:  # zero channels appended: a fixed [I | 0] 1x1 conv, exact
            name = f"{prefix}_zero_channels"
            self.pads.append((name, in_channels, channels))
            pooled = keras.layers.Conv2D(channels, 1, use_bias=False, name=name)(pooled)
        out = keras.layers.Add(name=f"{prefix}_add")([pooled, out])
        return keras.layers.ReLU(name=f"{prefix}_out")(out)


def build_face_recognition_net(weights: dict[str, np.ndarray]) -> keras.Model:
    """FaceRecognitionNet with face-api's weights; every tensor must be used, every shape match.

    Returns:
        model ``faceapi_recognition_net``: input ``(None, 150, 150, 3)`` float32 normalised by
        :func:`recognition_preprocess`, output ``descriptor`` ``(None, 128)``.
    """
    size = RECOGNITION_INPUT_SIZE
    build = _Builder()
    inputs = keras.Input(shape=(size, size, 3), dtype="float32", name="image")
    x = build.conv(inputs, "conv32_down", 32, 7, down=True, relu=True)
    x = keras.layers.MaxPooling2D(3, 2, padding="valid", name="conv32_maxpool")(x)
    for stage, repeats in _STAGES:
        channels = int(stage[4:])
        if stage != "conv32":
            x = build.residual_down(x, f"{stage}_down", channels)
        for k in range(1, repeats + 1):
            x = build.residual(x, f"{stage}_{k}", channels)
    x = build.residual_down(x, "conv256_down_out", 256)
    pooled = keras.layers.GlobalAveragePooling2D(name="global_avg")(x)
    descriptor = keras.layers.Dense(DESCRIPTOR_DIM, use_bias=False, name="descriptor")(pooled)
    model = keras.Model(inputs=inputs, outputs={"descriptor": descriptor}, name="faceapi_recognition_net")

    used: set[str] = set()
    for name, prefix in build.convs.items():
        layer = model.get_layer(name)
        arrays = _folded(weights, prefix, used)
        expected = [tuple(v.shape) for v in layer.weights]
        if expected != [a.shape for a in arrays]:
            raise ValueError(f"layer {name!r}: weight shapes {[a.shape for a in arrays]} != expected {expected}")
        layer.set_weights(arrays)
    for name, n_in, n_out in build.pads:
        model.get_layer(name).set_weights([np.eye(n_in, n_out, dtype=np.float32)[None, None]])
    fc = np.asarray(weights.get("fc", np.zeros(0)), np.float32)
    if fc.shape != (256, DESCRIPTOR_DIM):
        raise ValueError(f"face-api recognition weight 'fc' has shape {fc.shape}, expected (256, 128)")
    model.get_layer("descriptor").set_weights([fc])
    used.add("fc")
    unused = sorted(set(weights) - used)
    if unused:
        raise ValueError(f"face-api recognition weights not used by the model: {unused}")
    return model
