"""Every shipped TFLite model's outputs on fixed random inputs, to compare two runtimes.

    python tools/model_outputs.py save OUT.npz          # in each environment (e.g. LiteRT 1.4 and 2.3)
    python tools/model_outputs.py compare A.npz B.npz   # largest difference per output

Inputs come from a seeded generator, so both environments feed the same numbers.
"""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

from affect_live.resources import DEFAULT_BUNDLE, MODELS_DIR


def shipped_models() -> dict[str, bytes]:
    models = {str(p.relative_to(MODELS_DIR)): p.read_bytes() for p in sorted(MODELS_DIR.glob("*/*.tflite"))}
    with zipfile.ZipFile(DEFAULT_BUNDLE) as bundle:
        for name in bundle.namelist():
            if name.endswith(".tflite"):
                models[f"{DEFAULT_BUNDLE.name}/{name}"] = bundle.read(name)
    return models


def save(out: Path) -> None:
    from ai_edge_litert.interpreter import Interpreter

    rng = np.random.default_rng(0)
    outputs = {}
    for name, content in shipped_models().items():
        interpreter = Interpreter(model_content=content, num_threads=1)
        interpreter.allocate_tensors()
        for detail in interpreter.get_input_details():
            shape = [max(1, int(v)) for v in detail["shape"]]
            interpreter.set_tensor(detail["index"], rng.random(shape, dtype=np.float32))
        interpreter.invoke()
        for i, detail in enumerate(interpreter.get_output_details()):
            outputs[f"{name}|{i}"] = interpreter.get_tensor(detail["index"]).copy()
    buffer = io.BytesIO()
    np.savez(buffer, **outputs)
    out.write_bytes(buffer.getvalue())


def compare(a: Path, b: Path) -> None:
    with np.load(a) as first, np.load(b) as second:
        for key in first.files:
            x, y = first[key].astype(np.float64), second[key].astype(np.float64)
            print(f"{key:70s} largest |difference| {np.abs(x - y).max():.2g}   largest |value| {np.abs(x).max():.3g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("save", "compare"))
    parser.add_argument("files", type=Path, nargs="+")
    args = parser.parse_args()
    if args.mode == "save":
        save(args.files[0])
    else:
        compare(*args.files[:2])


if __name__ == "__main__":
    main()
