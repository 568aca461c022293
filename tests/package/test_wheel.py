"""A wheel built from the repository carries its data and works with no checkout beside it.

The wheel is built once per module, offline (`--no-build-isolation`, the venv's setuptools), from
a copy of what the build reads, so the checkout gets no `build/` or `*.egg-info` and stale
files in a `build/` folder cannot slip into the wheel. It is installed with `--target` into a
temporary folder and run from another one, with only that folder on PYTHONPATH: the venv's
site-packages give the dependencies, nothing gives the checkout.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import IMAGES, REPO, running

pytestmark = pytest.mark.slow

BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md", "LICENSE", "affect_live", "models")
SHIPPED = (
    "affect_live/shipped_models/faceapi-expression/faceapi-expression.affect",
    "affect_live/shipped_models/faceapi-expression/MODEL_CARD.md",
    "affect_live/shipped_models/faceapi-expression/LICENSE-face-api.txt",
    "affect_live/shipped_models/mediapipe-face/face_detection_short_range.tflite",
    "affect_live/shipped_models/mediapipe-face/face_detection_full_range_sparse.tflite",
    "affect_live/shipped_models/mediapipe-face/face_landmark.tflite",
    "affect_live/shipped_models/mediapipe-face/LICENSE",
    "affect_live/shipped_models/mediapipe-face/MODEL_CARD.md",
    "affect_live/shipped_models/face-landmarker/face_landmarks_detector.tflite",
    "affect_live/shipped_models/face-landmarker/face_blendshapes.tflite",
    "affect_live/shipped_models/face-landmarker/canonical_face.npy",
    "affect_live/shipped_models/face-landmarker/LICENSE",
    "affect_live/shipped_models/face-landmarker/MODEL_CARD.md",
    "affect_live/shipped_models/face-recognition/face_recognition.tflite",
    "affect_live/shipped_models/face-recognition/descriptor.json",
    "affect_live/shipped_models/face-recognition/MODEL_CARD.md",
    "affect_live/shipped_models/face-recognition/LICENSE-face-api.txt",
    "affect_live/assets/clips/leave_return.mp4",
    "affect_live/assets/clips/swap_return.mp4",
    "affect_live/assets/clips/two_faces.mp4",
    "affect_live/assets/clips/astronaut_motion.mp4",
    "affect_live/assets/clips/three_faces.mp4",
    "affect_live/assets/clips/dyad_delayed.mp4",
    "affect_live/assets/clips/dyad_control.mp4",
    "affect_live/assets/face_crops.npz",
    "affect_live/assets/lsl_machine_only.cfg",
    "affect_live/catalogue/catalogue.json",
)
TIMEOUT_S = 300


@dataclass(frozen=True)
class Installed:
    wheel: Path
    site: Path  # the --target folder
    run_dir: Path  # an empty working directory, no checkout in sight


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """subprocess.run waits for the child, and kills it on timeout: nothing is left running."""
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT_S)


def _site_env(site: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env["PYTHONPATH"] = str(site)
    env["PYTHONNOUSERSITE"] = "1"
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    source.mkdir()
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    for name in BUILD_INPUTS:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=junk)
        else:
            shutil.copy2(path, source / name)
    dist = root / "dist"
    pip = [sys.executable, "-m", "pip"]
    built = _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", str(source), "-w", str(dist)], cwd=root)
    assert built.returncode == 0, built.stdout + built.stderr
    wheels = sorted(dist.glob("affect_live-*.whl"))
    assert len(wheels) == 1, wheels
    site = root / "site"
    done = _run([*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheels[0])], cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    run_dir = root / "elsewhere"
    run_dir.mkdir()
    return Installed(wheels[0], site, run_dir)


def test_wheel_carries_the_weights_clips_and_crops_and_nothing_else(installed):
    with zipfile.ZipFile(installed.wheel) as archive:
        names = set(archive.namelist())
        for name in SHIPPED:
            assert name in names, f"{name} is not in the wheel"
            shipped = REPO / name.replace("affect_live/shipped_models/", "models/", 1)
            assert archive.read(name) == shipped.read_bytes(), f"{name} differs from the checkout"
    outside = sorted(n for n in names if not n.startswith(("affect_live/", "affect_live-")))
    assert not outside, f"the wheel holds files outside the package: {outside[:5]}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    modules = {p.relative_to(REPO).as_posix() for p in (REPO / "affect_live").rglob("*.py") if "__pycache__" not in p.parts}
    assert not sorted(modules - names), "modules of the checkout missing from the wheel (packages not found by setup.py?)"


def test_installed_wheel_finds_its_data_without_a_checkout(installed):
    probe = (
        "import json, affect_live, affect_live.resources as r\n"
        "from affect_live.cli.commands import bundled_models\n"
        "from affect_live.model.bundle.reading import DEFAULT_BUNDLE, MODELS_DIR\n"
        "print(json.dumps({'package': affect_live.__file__, 'models_dir': str(r.MODELS_DIR),\n"
        "  'default_bundle': str(r.DEFAULT_BUNDLE), 'bundle_py': [str(DEFAULT_BUNDLE), str(MODELS_DIR)],\n"
        "  'bundled': [str(p) for p in bundled_models()], 'demo': str(r.DEMO_CLIP),\n"
        "  'clips': [str(r.clip(n)) for n in ('astronaut_motion.mp4', 'three_faces.mp4')],\n"
        "  'crops': list(r.face_crops().shape), 'names': r.face_crop_names()}))\n"
    )
    proc = _run([sys.executable, "-c", probe], cwd=installed.run_dir, env=_site_env(installed.site))
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout.splitlines()[-1])
    site = installed.site.resolve()
    paths = [found["package"], found["models_dir"], found["default_bundle"], *found["bundle_py"], *found["bundled"], found["demo"], *found["clips"]]
    for path in paths:
        assert Path(path).resolve().is_relative_to(site), f"{path} is not from the installed wheel"
        assert Path(path).exists(), path
    assert found["default_bundle"] in found["bundled"]
    assert found["crops"] == [len(found["names"]), 112, 112, 3] and len(found["names"]) >= 3


def test_installed_wheel_analyzes_an_image_and_lists_its_model(installed):
    image = installed.run_dir / "astronaut.png"
    shutil.copy(IMAGES / "astronaut.png", image)
    script = installed.site / "bin" / "affect-live"  # the console script pip made from the wheel
    env = _site_env(installed.site)
    proc = _run([sys.executable, str(script), "analyze", image.name, "--out", "out.csv", "--quiet"], cwd=installed.run_dir, env=env)
    assert proc.returncode == 0, proc.stderr
    with open(installed.run_dir / "out.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1 and rows[0]["face_id"] != "", rows  # one image, one face
    meta = json.loads((installed.run_dir / "out.meta.json").read_text())
    assert meta["status"] == "complete"

    listed = _run(
        [sys.executable, "-c", "import sys; from affect_live.cli.parser import main; sys.exit(main())", "models", "--brief"],
        cwd=installed.run_dir, env=env,
    )
    assert listed.returncode == 0, listed.stderr
    bundle = installed.site.resolve() / "affect_live" / "shipped_models" / "faceapi-expression" / "faceapi-expression.affect"
    assert str(bundle) in listed.stdout and "faceapi-expression" in listed.stdout, listed.stdout


def test_installed_wheel_runs_bench_and_the_app_on_its_own_clips(installed):
    env = _site_env(installed.site)
    cli = [sys.executable, "-c", "import sys; from affect_live.cli.parser import main; sys.exit(main())"]
    bench = _run([*cli, "bench", "--frames", "8", "--long", "8"], cwd=installed.run_dir, env=env)
    assert bench.returncode == 0, bench.stderr
    runs = json.loads(bench.stdout.strip().splitlines()[-1])["runs"]
    assert [(r["clip"], r["actions"]) for r in runs] == [
        ("astronaut_motion.mp4", False), ("three_faces.mp4", False), ("astronaut_motion.mp4", True), ("three_faces.mp4", True), ("astronaut_motion.mp4", True)
    ]
    assert all(r["frames"] == 8 and r["faces_per_frame"] > 0 for r in runs), runs

    # No camera here: the app plays the demo clip shipped in the wheel and predicts on it.
    app_env = env | {"QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(installed.run_dir / "config")}
    seen = []
    with running([*cli, "-v"], cwd=installed.run_dir, env=app_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:  # ends when the app exits; the test's timeout guards a hang
            seen.append(line.rstrip())
            if "first prediction shown" in line:
                break
    text = "\n".join(seen)
    assert "first prediction shown" in text and "Traceback" not in text, text
    assert "playing the bundled demo clip" in text and "analysing two_faces.mp4 (video)" in text, text
