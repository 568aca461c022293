"""Shared test setup: quiet native logs, headless Qt, paths to the real fixtures."""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from affect_live.backends.native_logs import quiet_native_logs  # noqa: E402  (imports nothing heavy)
from affect_live.process_group import stop_group  # noqa: E402  (stdlib only)
from affect_live.resources import LSL_MACHINE_CONFIG  # noqa: E402  (stdlib only)

# Before TensorFlow, MediaPipe, OpenCV or Qt are imported anywhere.
quiet_native_logs()
os.environ["QT_QPA_PLATFORM"] = "offscreen"
# LSL stays on this machine (discovery would otherwise multicast to the network), for this
# process and every child; liblsl reads it when first loaded. A session id of this run's own
# keeps two test runs at once from seeing each other's streams.
_lsl_config = tempfile.NamedTemporaryFile("w", prefix="affect-live-lsl-", suffix=".cfg", delete=False)
_lsl_config.write(LSL_MACHINE_CONFIG.read_text() + f"SessionID = affect-live-tests-{os.getpid()}\n")
_lsl_config.close()
os.environ["LSLAPICFG"] = _lsl_config.name
atexit.register(os.unlink, _lsl_config.name)

import pytest  # noqa: E402

from affect_live.resources import CLIPS_DIR  # noqa: E402  (standard library only)

FIXTURES = Path(__file__).parent / "fixtures"
CLIPS = CLIPS_DIR  # the real-face clips are package data; their ground truth stays here
CLIPS_TRUTH = FIXTURES / "clips" / "clips.json"
IMAGES = FIXTURES / "images"
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def clips_truth() -> dict:
    return json.loads(CLIPS_TRUTH.read_text())["clips"]


@pytest.fixture(scope="session")
def analysed_clip(tmp_path_factory):
    """clip name -> its CSV, analysed by `analyze` (default model and settings) the first time
    a test asks, once per test session; read-only."""
    from affect_live.cli.parser import main as cli_main

    folder = tmp_path_factory.mktemp("analysed")
    done: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in done:
            out = folder / Path(name).with_suffix(".csv").name
            assert cli_main(["analyze", str(CLIPS / name), "--out", str(out), "--quiet"]) == 0
            done[name] = out
        return done[name]

    return get


@pytest.fixture(scope="session")
def default_bundle():
    from affect_live.model.bundle.reading import DEFAULT_BUNDLE, load_bundle
    return load_bundle(DEFAULT_BUNDLE)


@pytest.fixture
def session(default_bundle):
    """The app's session controller with the default model, closed after the test."""
    from affect_live.model.inference.engine import AffectEngine
    from affect_live.session.live import LiveSession

    live = LiveSession(AffectEngine([default_bundle]))
    yield live
    live.close()


@pytest.fixture(scope="session")
def mini(tmp_path_factory):
    """The miniature Aff-Wild2 set (tests/helpers/affwild2_mini.py), written once per session; read-only."""
    from tests.helpers.affwild2_mini import make_mini_affwild2

    return make_mini_affwild2(tmp_path_factory.mktemp("affwild2"))


@pytest.fixture(scope="session")
def cache_dir(mini, tmp_path_factory) -> Path:
    """The mini set's feature cache for the default bundle, made by `extract`."""
    from affect_live.cli.parser import main as cli_main

    cache = tmp_path_factory.mktemp("cache")
    assert cli_main(["extract", "--affwild2", str(mini.root), "--cache", str(cache), "--quiet"]) == 0
    return cache


def small_classifier(lambda_layer: bool = False):
    """A small Keras per-frame classifier (64x64 grey in, 7 classes out), as users import."""
    import keras

    inputs = keras.Input((64, 64, 1))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    if lambda_layer:
        x = keras.layers.Lambda(lambda t: t * 2.0)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    outputs = keras.layers.Dense(7, activation="softmax")(x)
    return keras.Model(inputs, outputs)


def assert_each_refused(cases: dict, load) -> None:  # noqa: ANN001
    """Each case (file, fragment): `load(file)` raises BundleError with one line holding fragment."""
    from affect_live.errors import BundleError

    for case, (path, fragment) in cases.items():
        with pytest.raises(BundleError) as info:
            load(path)
        message = str(info.value)
        assert fragment in message, (case, message)
        assert "\n" not in message and "Traceback" not in message, case


@contextlib.contextmanager
def running(command: list[str], grace_s: float = 30.0, **popen: object) -> Iterator[subprocess.Popen]:
    """A child process in its own process group, ended with everything it started (xvfb-run's
    Xvfb too) however the test ends: SIGTERM, then SIGKILL after `grace_s`."""
    proc = subprocess.Popen(command, start_new_session=True, **popen)  # type: ignore[call-overload]
    try:
        yield proc
    finally:
        stop_group(proc, grace_s)


@contextlib.contextmanager
def small_disk(folder: Path, free_kb: int) -> Iterator[Path]:
    """A 64 KB tmpfs with about `free_kb` KB left; skips where mounting is not allowed."""
    folder.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)], capture_output=True).returncode == 0
    except OSError:  # no mount command
        mounted = False
    if not mounted:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        (folder / "ballast").write_bytes(b"\0" * (64 - free_kb) * 1024)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
