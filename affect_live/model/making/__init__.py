"""Making bundles: conversion of Keras models to LiteRT and its checks, writing bundles,
importing Keras, ONNX and TFLite models, upgrading format 1. TensorFlow lives here."""
