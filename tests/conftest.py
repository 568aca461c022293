"""Shared test setup: quiet native logs, headless Qt, paths to the real fixtures."""

from __future__ import annotations

import json
import os
from pathlib import Path

from affect_live.native_logs import quiet_native_logs  # noqa: E402  (imports nothing heavy)

# Before TensorFlow, MediaPipe, OpenCV or Qt are imported anywhere.
quiet_native_logs()
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
