"""Making an ONNX model self-contained at import: weights in external data files that lie in the
model's own folder are read into the model (a bundle holds one file); a reference to a file
anywhere else (an absolute path, `..`) is refused."""

from __future__ import annotations

from pathlib import Path

from affect_live.backends.onnx_graph import external_data, parse_onnx
from affect_live.errors import BundleError


def self_contained(data: bytes, source: Path) -> bytes:
    """The model's bytes with every external tensor inlined (unchanged if it has none)."""
    import onnx
    from onnx.external_data_helper import load_external_data_for_tensor

    model = parse_onnx(data, str(source))
    outside = external_data(model)
    if not outside:
        return data
    folder = source.resolve().parent
    for tensor, location in outside:
        target = (folder / location).resolve()
        if Path(location).is_absolute() or ".." in Path(location).parts or folder not in target.parents or not target.is_file():
            raise BundleError(f"{source}: refusing external data file {location!r} outside the model's folder")
        try:
            load_external_data_for_tensor(tensor, str(folder))
        except Exception as exc:  # onnx raises several types for a short or unreadable file
            raise BundleError(f"{source}: external data {location!r} cannot be read ({type(exc).__name__})") from None
        tensor.data_location = onnx.TensorProto.DEFAULT
        del tensor.external_data[:]
    try:
        return model.SerializeToString()
    except ValueError:
        raise BundleError(f"{source}: the model with its external data is over 2 GiB, too large for one file") from None
