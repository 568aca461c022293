"""Without the train extra (TensorFlow, Keras): what needs it says so in one line and exits 2;
the run time and `--device auto` are unaffected. Each command runs in a child process where the
extra's packages cannot be imported (tests/without_train_extra.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from tests.conftest import CLIPS, IMAGES
from tests.backends.test_runtime import _format1_bundle
from tests.helpers.without_train_extra import PRELUDE

from affect_live.extras import TRAIN_EXTRA, TRAIN_GPU_EXTRA, installed

_CLI = PRELUDE + "from affect_live.cli.parser import main\nsys.exit(main(sys.argv[1:]))\n"


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _CLI, *args], capture_output=True, text=True, timeout=300, cwd=cwd,
        env={**os.environ, "XDG_CACHE_HOME": str(cwd / "cache"), **env},
    )


def _one_line(proc: subprocess.CompletedProcess) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_the_prelude_hides_the_extra_as_an_uninstalled_package_would(tmp_path):
    probe = PRELUDE + "from affect_live.extras import tensorflow_installed\nprint(tensorflow_installed())\nimport tensorflow\n"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.stdout.strip() == "False" and "ModuleNotFoundError" in proc.stderr
    assert installed("tensorflow") and installed("keras")  # the suite itself has the extra


def test_training_commands_need_the_train_extra(tmp_path):
    root = tmp_path / "affwild2"
    root.mkdir()
    commands = {
        "train": ["train", "--affwild2", str(root), "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "t.affect")],
        "reproduce": ["reproduce", "--affwild2", str(root), "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "r")],
        "finetune": ["finetune", "--affwild2", str(root), "--out", str(tmp_path / "f.affect")],
    }
    for name, args in commands.items():
        proc = _cli(args, tmp_path)
        line = _one_line(proc)
        assert proc.returncode == 2, (name, proc.stderr)
        assert line == f"affect-live: error: {name} needs TensorFlow, which the run time does not install: {TRAIN_EXTRA}"
    assert not (tmp_path / "c").exists() and not (tmp_path / "r").exists()  # stopped before any work


def test_importing_a_keras_model_needs_the_train_extra(tmp_path):
    keras_file = tmp_path / "model.keras"
    with zipfile.ZipFile(keras_file, "w") as archive:  # a .keras archive's members, any content
        archive.writestr("config.json", "{}")
        archive.writestr("metadata.json", "{}")
        archive.writestr("model.weights.h5", b"")
    args = ["import-weights", str(keras_file), "--input", "64x64", "--classes", "neutral,happiness", "--out", str(tmp_path / "k.affect")]
    proc = _cli(args, tmp_path)
    assert proc.returncode == 2 and "importing a Keras model needs TensorFlow" in _one_line(proc) and TRAIN_EXTRA in proc.stderr
    assert not (tmp_path / "k.affect").exists()


def test_a_format1_bundle_needs_the_train_extra_once(tmp_path):
    old = _format1_bundle(tmp_path)
    proc = _cli(["analyze", str(IMAGES / "astronaut.png"), "--out", str(tmp_path / "x.csv"), "--weights", str(old)], tmp_path)
    line = _one_line(proc)
    assert proc.returncode == 2 and "is a format-1 bundle: converting it needs TensorFlow" in line and TRAIN_EXTRA in line
    assert not (tmp_path / "x.csv").exists()


def test_the_run_time_commands_need_no_extra(tmp_path):
    proc = _cli(["analyze", str(CLIPS / "two_faces.mp4"), "--out", str(tmp_path / "two.csv"), "--quiet"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads((tmp_path / "two.meta.json").read_text())
    assert meta["status"] == "complete" and meta["model"]["device"] == "CPU (LiteRT)"
    report = _cli(["report", str(tmp_path / "two.csv"), "--out", str(tmp_path / "report")], tmp_path)
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "report" / "index.html").is_file()


def test_a_gpu_without_tensorflow_runs_on_the_cpu_and_says_why(monkeypatch):
    """`--device auto` on a machine with an NVIDIA GPU but without the train-gpu extra: the CPU,
    and the device label (status bar, sidecar) gives the reason; `--device gpu` is one line."""
    from affect_live.backends import device

    monkeypatch.setattr(device, "nvidia_gpu_present", lambda: True)  # this machine has no GPU
    monkeypatch.setattr(device, "tensorflow_installed", lambda: False)
    device.gpu_unusable_reason.cache_clear()
    try:
        assert device.resolve_device("auto") == "CPU"
        label = device.device_label("CPU")
        assert label.startswith("CPU (LiteRT); GPU unused") and TRAIN_GPU_EXTRA in label
        with pytest.raises(device.DeviceError, match="--device gpu: TensorFlow is not installed"):
            device.resolve_device("gpu")
    finally:
        device.gpu_unusable_reason.cache_clear()
