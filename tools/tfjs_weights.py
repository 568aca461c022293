"""Reading tfjs weight files (a weights manifest plus one ``.bin`` shard), numpy only.

face-api ships each network as a tfjs weights manifest and a binary of uint8-quantised
weights. Both converters (``tools/convert_faceapi.py`` for the expression net and
``tools/convert_face_recognition.py`` for FaceRecognitionNet) read them through this module.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

LOG = logging.getLogger(__name__)

# numpy dtypes of the raw and quantised storage types a tfjs weights manifest may use.
_RAW_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_QUANT_DTYPES = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16}


def _decode_entry(entry: dict, buffer: bytes, offset: int) -> tuple[np.ndarray, int]:
    """Decode one manifest entry starting at ``offset``; return (array, new offset)."""
    name = entry["name"]
    shape = tuple(int(d) for d in entry["shape"])
    count = int(np.prod(shape, dtype=np.int64))
    quant = entry.get("quantization")
    if quant is not None:
        qdtype = quant.get("dtype")
        if qdtype not in _QUANT_DTYPES:
            raise ValueError(f"weight {name!r}: unsupported quantisation dtype {qdtype!r}")
        stored = np.dtype(_QUANT_DTYPES[qdtype]).newbyteorder("<")
    else:
        if entry["dtype"] not in _RAW_DTYPES:
            raise ValueError(f"weight {name!r}: unsupported dtype {entry['dtype']!r}")
        stored = np.dtype(_RAW_DTYPES[entry["dtype"]]).newbyteorder("<")
    nbytes = count * stored.itemsize
    if offset + nbytes > len(buffer):
        raise ValueError(
            f"weights file too short: {name!r} needs bytes {offset}..{offset + nbytes} "
            f"but the file has {len(buffer)} bytes")
    raw = np.frombuffer(buffer, dtype=stored, count=count, offset=offset)
    if quant is None:
        values = raw.astype(_RAW_DTYPES[entry["dtype"]])
    elif quant["dtype"] == "float16":
        values = raw.astype(np.float32)
    else:
        # tfjs computes q * scale + min in double precision, then stores float32.
        values = (raw.astype(np.float64) * float(quant["scale"]) + float(quant["min"]))
        values = values.astype(np.float32)
    return values.reshape(shape), offset + nbytes


def read_faceapi_weights(manifest_path: str | Path, bin_path: str | Path) -> dict[str, np.ndarray]:
    """Read a face-api tfjs weights manifest and its single ``.bin`` shard.

    uint8/uint16-quantised weights are dequantised as ``q * scale + min``
    (float32 result), float16-quantised ones are widened, raw float32 is kept.

    Args:
        manifest_path: the ``*-weights_manifest.json`` file.
        bin_path: the weights binary the manifest's single path refers to.

    Returns:
        mapping of tfjs weight name (e.g. ``"dense0/conv0/filters"``) to array.

    Raises:
        ValueError: malformed manifest, unsupported dtype, several shards, or
            the binary's length differs from what the manifest describes.
    """
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    if not isinstance(manifest, list) or not manifest:
        raise ValueError(f"{manifest_path}: expected a non-empty list of weight groups")
    paths = [p for group in manifest for p in group.get("paths", [])]
    if len(paths) != 1:
        raise ValueError(f"{manifest_path}: expected exactly one weights shard, found {paths}")
    if Path(paths[0]).name != Path(bin_path).name:
        LOG.warning("manifest names shard %r but reading %s", paths[0], bin_path)
    buffer = Path(bin_path).read_bytes()
    weights: dict[str, np.ndarray] = {}
    offset = 0
    for group in manifest:
        for entry in group["weights"]:
            if entry["name"] in weights:
                raise ValueError(f"{manifest_path}: duplicate weight name {entry['name']!r}")
            weights[entry["name"]], offset = _decode_entry(entry, buffer, offset)
    if offset != len(buffer):
        raise ValueError(
            f"{bin_path}: manifest describes {offset} bytes but the file has {len(buffer)} "
            "bytes (wrong or corrupt weights file?)")
    LOG.debug("read %d tensors (%d bytes) from %s", len(weights), offset, bin_path)
    return weights
