"""Where models run and how their files are checked: one LiteRT runner (an interpreter per
thread), ONNX Runtime, Keras on a GPU, flatbuffer and ONNX graph checks, device choice, native
log silencing. Knows nothing of bundles, faces or sessions."""
