"""affect_live.resources in a checkout: a standard-library leaf that finds every shipped file.

(From an installed wheel: tests/test_wheel.py.)
"""

from __future__ import annotations

import ast
import json
import sys

import numpy as np
import pytest

from affect_live import resources
from tests.conftest import CLIPS_TRUTH, FIXTURES, REPO


def test_resources_imports_only_the_standard_library_at_import_time():
    tree = ast.parse((REPO / "affect_live" / "resources.py").read_text(encoding="utf-8"))
    for node in tree.body:  # module level; numpy is imported inside the crop readers only
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top == "__future__", f"resources.py imports {name}"


def test_checkout_finds_the_models_folder_and_default_bundle():
    assert not resources.PACKAGED_MODELS_DIR.exists()  # only a wheel has it
    assert resources.MODELS_DIR == REPO / "models"
    assert resources.DEFAULT_BUNDLE.is_file()
    for name in ("MODEL_CARD.md", "LICENSE-face-api.txt"):
        assert (resources.DEFAULT_BUNDLE.parent / name).is_file()

    from affect_live.model.bundle.reading import DEFAULT_BUNDLE, MODELS_DIR
    assert (DEFAULT_BUNDLE, MODELS_DIR) == (resources.DEFAULT_BUNDLE, resources.MODELS_DIR)


def test_every_clip_with_ground_truth_is_shipped():
    described = set(json.loads(CLIPS_TRUTH.read_text())["clips"])
    shipped = {path.name for path in resources.CLIPS_DIR.glob("*.mp4")}
    assert described == shipped
    assert resources.DEMO_CLIP.parent == resources.CLIPS_DIR and resources.DEMO_CLIP.name in shipped
    assert all(resources.clip(name).is_file() for name in shipped)
    with pytest.raises(FileNotFoundError, match="shipped: astronaut_motion.mp4"):
        resources.clip("nope.mp4")


def test_shipped_face_crops_are_the_named_crops_of_the_conversion_fixture():
    crops, names = resources.face_crops(), resources.face_crop_names()
    assert crops.dtype == np.uint8 and crops.shape == (len(names), 112, 112, 3) and len(names) >= 8
    assert crops.flags.c_contiguous
    fixture = np.load(FIXTURES / "conversion" / "crops.npy")
    fixture_names = json.loads((FIXTURES / "conversion" / "crops.json").read_text())
    assert not [name for name in names if not name.startswith(("astronaut_", "grace_hopper_"))]  # public domain only
    for crop, name in zip(crops, names, strict=True):
        assert np.array_equal(crop, fixture[fixture_names.index(name)]), name
