"""The shipped default bundle reproduces the original JavaScript face-api model."""

from __future__ import annotations

import json

import numpy as np

from affect_live.model.bundle.classes import aff_wild2_order
from affect_live.model.inference.frame_model import FrameModel
from affect_live.types import EXPRESSIONS
from tests.conftest import FIXTURES

CONVERSION = FIXTURES / "conversion"


def _reference() -> tuple[np.ndarray, np.ndarray, list[str]]:
    crops_rgb = np.load(CONVERSION / "crops.npy")
    probs = np.array(json.loads((CONVERSION / "reference_probabilities.json").read_text())["probabilities"])
    names = json.loads((CONVERSION / "crops.json").read_text())
    return crops_rgb, probs, names


def test_bundle_matches_tfjs_reference(default_bundle):
    crops_rgb, reference, _ = _reference()
    assert crops_rgb.shape[0] == reference.shape[0] >= 12
    model = FrameModel(default_bundle)
    # The pipeline hands BGR crops to the model; the manifest says the network wants RGB.
    features, probs = model.infer(list(crops_rgb[..., ::-1]))
    expected = reference[:, aff_wild2_order(default_bundle.manifest.classes)]
    assert np.abs(probs - expected).max() <= 1e-4
    assert features.shape == (len(crops_rgb), default_bundle.manifest.feature_dim)


def test_features_match_tfjs_reference(default_bundle):
    crops_rgb, _, _ = _reference()
    reference = np.array(json.loads((CONVERSION / "reference_features.json").read_text())["features"])
    features, _ = FrameModel(default_bundle).infer(list(crops_rgb[..., ::-1]))
    # Features reach ~20 in magnitude; compare relative to their scale.
    assert np.abs(features - reference).max() <= 1e-4 * max(1.0, np.abs(reference).max())


def test_smiling_astronaut_is_happiness(default_bundle):
    crops_rgb, _, names = _reference()
    _, probs = FrameModel(default_bundle).infer(list(crops_rgb[..., ::-1]))
    for name, row in zip(names, probs):
        if name.startswith("astronaut"):
            assert EXPRESSIONS[int(row.argmax())] == "happiness", name
