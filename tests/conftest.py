"""Shared test setup: quiet native logs, headless Qt, paths to the real fixtures."""

from __future__ import annotations

import json
import os
from pathlib import Path

# Before TensorFlow, MediaPipe or Qt are imported anywhere.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ["QT_QPA_PLATFORM"] = "offscreen"

import pytest  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
CLIPS = FIXTURES / "clips"
IMAGES = FIXTURES / "images"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def clips_truth() -> dict:
    return json.loads((CLIPS / "clips.json").read_text())["clips"]


@pytest.fixture(scope="session")
def default_bundle():
    from affect_live.model.bundle import DEFAULT_BUNDLE, load_bundle

    return load_bundle(DEFAULT_BUNDLE)
