"""LSL: an inlet in the test receives the data stream with its channel labels and the markers.
LSL is kept on this machine by affect_live/assets/lsl_machine_only.cfg (LSLAPICFG, set in conftest)."""

from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import numpy as np
import pytest

from affect_live.baselines import MIN_FRAMES, Baseline, BaselineRecorder, LiveBaselines
from affect_live.lsl.outlets import DATA_STREAM, MARKER_STREAM, LslStreams
from affect_live.measures import CORRECTED_COLUMNS, CORRECTED_MEASURES, corrected_values, delta_column, numeric_columns, z_column
from affect_live.recording.rows import ACTION_COLUMNS, csv_columns, format_cell, format_rows
from affect_live.session.markers import FaceEvents
from tests.conftest import CLIPS

import mne_lsl.lsl as lsl  # noqa: E402  (a required dependency: a broken install fails here)
BOUND_S = 60.0


def test_lsl_is_kept_on_this_machine():
    config = Path(os.environ["LSLAPICFG"]).read_text()
    assert "ResolveScope = machine" in config and "KnownPeers = {127.0.0.1}" in config


def inlet(name: str):  # noqa: ANN201
    streams = lsl.resolve_streams(timeout=BOUND_S, name=name)
    assert streams, f"no stream {name}"
    opened = lsl.StreamInlet(streams[0])
    opened.open_stream(timeout=BOUND_S)
    return opened


def pull_until(stream, until, what: str) -> tuple[list, list[float]]:  # noqa: ANN001
    samples, stamps = [], []
    deadline = time.monotonic() + BOUND_S
    while not until(samples):
        assert time.monotonic() < deadline, f"never received {what}"
        data, ts = stream.pull_chunk(timeout=0.2)
        if len(ts):
            samples.extend(list(data))
            stamps.extend(float(t) for t in ts)
    return samples, stamps


def channel_metadata(info) -> list[dict[str, str]]:  # noqa: ANN001 (an mne_lsl StreamInfo)
    """Each channel's desc/channels/channel children, as an XDF reader sees them."""
    import xml.etree.ElementTree as ET

    channels = ET.fromstring(info.as_xml).find("desc/channels")
    return [{child.tag: child.text or "" for child in channel} for channel in channels]


@pytest.fixture(scope="module")
def results(default_bundle) -> list:
    """two_faces.mp4's results, every frame (a plain run of the pipeline)."""
    from affect_live.model.inference.engine import AffectEngine
    from affect_live.pipeline.sources import open_source
    from affect_live.pipeline.threads import Pipeline, PipelineSettings

    return list(Pipeline(open_source(CLIPS / "two_faces.mp4"), AffectEngine([default_bundle]), PipelineSettings()).results())


@pytest.fixture(scope="module")
def calibrated(results) -> Baseline:
    """Face 1's baseline over its first second of the clip."""
    recorder = BaselineRecorder(1, 0.0, 1.0, "first 1 s")
    for result in results:
        for p in result.predictions:
            recorder.add(p.face_id, result.time_s, corrected_values(p))
    baseline = recorder.finish()
    assert baseline is not None and baseline.frames >= MIN_FRAMES
    return baseline


def test_analyze_streams_the_csv_and_the_corrected_channels_and_the_markers(tmp_path, default_bundle, calibrated):
    """The data stream carries every numeric CSV column, labelled as in the CSV, with the CSV's
    values (unrounded: equal at the CSV's precision), then the corrected channels: face 1's
    against its baseline, NaN for face 2, which has none."""
    from affect_live.session.analyze import analyze_source
    from affect_live.model.inference.engine import AffectEngine
    from affect_live.pipeline.threads import PipelineSettings
    from affect_live.session.metadata import stream_model_description

    engine = AffectEngine([default_bundle])
    baselines = LiveBaselines()
    baselines.set(calibrated)
    model = stream_model_description(engine)
    streams = LslStreams(source_id=f"test-{os.getpid()}", model=model, baselines=baselines)
    data, markers = inlet(DATA_STREAM), inlet(MARKER_STREAM)
    try:
        info = data.get_sinfo()
        assert info.stype == "Affect" and info.dtype == np.float64
        before = lsl.local_clock()
        out = tmp_path / "two.csv"
        outcome = analyze_source(str(CLIPS / "two_faces.mp4"), out, engine, PipelineSettings(), quiet=True, lsl=streams)
        assert outcome.ok
        with open(out, newline="") as handle:
            reader = csv.DictReader(handle)
            header, rows = list(reader.fieldnames or []), list(reader)
        samples, stamps = pull_until(data, lambda s: len(s) >= len(rows), "every row")
        texts, _ = pull_until(markers, lambda s: any("recording stopped" in m[0] for m in s), "the last marker")
    finally:
        streams.close()
    measured = [c for c in header if c != "expression"]
    labels = info.get_channel_names()
    assert labels == measured + list(CORRECTED_COLUMNS) == [c.label for c in streams.channels]
    meta = {m["label"]: m for m in channel_metadata(info)}
    assert (meta["time_s"]["unit"], meta["yaw"]["unit"], meta["mouthSmileLeft"]["type"]) == ("s", "degrees", "Blendshape")
    assert (meta["delta_valence"]["unit"], meta["z_valence"]["unit"]) == ("normalized", "sd")
    # The default model's valence and arousal are priors: their channels say so, raw and corrected.
    assert model["heads"]["valence"] == "prior"
    for label in ("valence", "arousal", "delta_valence", "z_arousal", "happiness", "delta_happiness"):
        head = "expression" if "happiness" in label else label.split("_")[-1]
        assert (meta[label]["head"], meta[label]["head_label"]) == (head, model["heads"][head])
    assert "head" not in meta["yaw"] and "head" not in meta["browInnerUp"]

    assert len(samples) == len(rows) == streams.samples_pushed
    got = np.array(samples)
    for i, column in enumerate(measured):  # column by column, at the CSV's precision
        assert [format_cell(column, v) for v in got[:, i]] == [r[column] for r in rows], column
    raw = got[:, [labels.index(m) for m in CORRECTED_MEASURES]]
    delta = got[:, [labels.index(delta_column(m)) for m in CORRECTED_MEASURES]]
    z = got[:, [labels.index(z_column(m)) for m in CORRECTED_MEASURES]]
    one = got[:, labels.index("face_id")] == calibrated.face_id
    assert one.any() and (~one).any()
    assert np.allclose(delta[one], raw[one] - calibrated.mean, equal_nan=True)
    assert np.allclose(z[one], (raw[one] - calibrated.mean) / calibrated.sd, equal_nan=True)
    assert np.isfinite(delta[one]).all() and np.isfinite(z[one]).any()
    assert np.isnan(delta[~one]).all() and np.isnan(z[~one]).all()  # no baseline: empty, never 0
    assert before <= stamps[0] and stamps == sorted(stamps)  # capture times on LSL's clock, in order
    said = [m[0] for m in texts]
    assert said[0] == "source changed: " + str(CLIPS / "two_faces.mp4") and said[1] == "recording started: two.csv"
    assert said[-1] == "recording stopped: complete"
    # One "appeared" per person (the astronaut walks out of the frame and is re-identified on return).
    assert sum("appeared" in m for m in said) == len({r["face_id"] for r in rows}) and any(m.endswith("lost") for m in said)


def test_without_actions_or_baselines_the_stream_has_the_csv_columns_of_that_run():
    """`analyze --no-actions --lsl`: the channels are that CSV's numeric columns, no more."""
    streams = LslStreams(source_id=f"test-plain-{os.getpid()}", actions=False)
    try:
        assert [c.label for c in streams.channels] == [c for c in csv_columns(actions=False) if c != "expression"]
    finally:
        streams.close()


def test_a_face_without_actions_has_nan_in_the_action_channels(results):
    """The app's stream keeps the action channels while Actions is off: NaN there, where the
    CSV has empty cells; the other channels as measured."""
    from dataclasses import replace

    from affect_live.lsl.outlets import affect_channels, face_samples

    result = next(r for r in results if len(r.predictions) == 2)
    off = replace(result, predictions=(result.predictions[0], replace(result.predictions[1], actions=None)))
    labels = [c.label for c in affect_channels(actions=True)]
    rows = face_samples(off, actions=True)
    actions = [labels.index(c) for c in ("yaw", "gaze_pitch", "_neutral", "mouthSmileLeft", "noseSneerRight")]
    assert np.isfinite(rows[0]).all() and np.isnan(rows[1, actions]).all()
    assert np.isnan(rows[1, labels.index("yaw") :]).all() and np.isfinite(rows[1, : labels.index("yaw")]).all()
    assert rows[1, labels.index("valence")] == result.predictions[1].valence
    line = format_rows(off, actions=True).splitlines()[1].split(",")
    assert line[-len(ACTION_COLUMNS) :] == [""] * len(ACTION_COLUMNS)


def test_face_events_from_consecutive_results(default_bundle):
    from affect_live.pipeline.threads import Pipeline, PipelineSettings
    from affect_live.model.inference.engine import AffectEngine
    from affect_live.pipeline.sources import LoopingVideoSource

    results = list(Pipeline(LoopingVideoSource(CLIPS / "two_faces.mp4", total_frames=90), AffectEngine([default_bundle]), PipelineSettings()).results())
    events = FaceEvents()
    said = [m for result in results for m in events.update(result)]
    hopper = [m for m in said if m.startswith(f"face {results[0].predictions[-1].face_id} ")]
    assert said and all(m.split()[-1] in ("appeared", "lost", "re-identified") for m in said)
    assert hopper[0].endswith("appeared") and all(m.split()[-1] != "appeared" for m in hopper[1:])


def test_another_programs_markers_go_into_the_events_file(tmp_path):
    from affect_live.lsl.inlet import MarkerInlet
    from affect_live.session.markers import mark
    from affect_live.recording.recording import Recording, events_path

    name = f"stimuli-{os.getpid()}"
    outlet = lsl.StreamOutlet(lsl.StreamInfo(name, "Markers", 1, 0.0, "string", f"{name}-src"))
    recording = Recording(tmp_path / "ext.csv", {})
    follower = MarkerInlet(name, lambda text, stamp: mark(text, name, recording, None, stamp))
    try:
        assert follower.connected.wait(BOUND_S)
        sent_at = lsl.local_clock()
        outlet.push_sample(["stimulus 1, left"], sent_at)
        deadline = time.monotonic() + BOUND_S
        while follower.received < 1:
            assert time.monotonic() < deadline, "the marker never arrived"
            time.sleep(0.01)
    finally:
        follower.close()
        recording.finish("complete")
    with open(events_path(tmp_path / "ext.csv"), newline="") as handle:
        events = list(csv.DictReader(handle))
    assert [(e["origin"], e["marker"]) for e in events] == [(name, "stimulus 1, left")]
    assert float(events[0]["lsl_time"]) == pytest.approx(sent_at, abs=0.01)  # same machine: no clock offset


def test_analyze_with_the_lsl_flags_streams_and_records_another_programs_markers(tmp_path):
    """`analyze FILE --realtime --lsl --lsl-markers NAME` in its own process, as a lab runs it."""
    import signal
    import subprocess
    import sys

    from tests.conftest import REPO, running
    from tests.session.test_analyze import _long_clip, _wait_for_rows

    name = f"stimulus-log-{os.getpid()}"
    outlet = lsl.StreamOutlet(lsl.StreamInfo(name, "Markers", 1, 0.0, "string", f"{name}-src"))
    clip, out = _long_clip(tmp_path, 900), tmp_path / "long.csv"
    command = [sys.executable, str(REPO / "main.py"), "analyze", str(clip), "--realtime", "--lsl", "--lsl-markers", name, "--out", str(out), "--quiet"]
    events = out.with_suffix(".events.csv")
    with running(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        samples, stamps = pull_until(inlet(DATA_STREAM), lambda s: len(s) >= 10, "10 samples from analyze --lsl")
        assert stamps == sorted(stamps) and all(len(s) == len(numeric_columns(actions=True)) for s in samples)
        _wait_for_rows(out, 5, proc)
        deadline = time.monotonic() + BOUND_S  # its inlet finds our stream whenever it appears: repeat until recorded
        while not (events.exists() and "stimulus A" in events.read_text()):
            assert time.monotonic() < deadline and proc.poll() is None, "the stimulus marker never reached the events file"
            outlet.push_sample(["stimulus A"])
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in stderr
    with open(events, newline="") as handle:
        recorded = [(e["origin"], e["marker"]) for e in csv.DictReader(handle)]
    assert (name, "stimulus A") in recorded and ("affect-live", "recording stopped: interrupted") in recorded


# ------------------------------------------------------------------ scope and --lsl-wait
def _analyze_waiting(out: Path) -> list[str]:
    import sys

    from tests.conftest import REPO

    clip = CLIPS / "two_faces.mp4"  # 3 s at its own pace
    return [sys.executable, str(REPO / "main.py"), "analyze", str(clip), "--realtime", "--lsl", "--lsl-wait", "600", "--out", str(out), "--quiet"]


def _wait_for_line(proc, text: str) -> list[str]:  # noqa: ANN001
    """stderr lines up to the one containing `text` (an event of the child's, not a time)."""
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"the child ended ({proc.wait()}) without saying {text!r}: {''.join(seen)}")


def test_machine_scope_keeps_every_port_on_loopback_and_liblsl_quiet(tmp_path):
    """`analyze --lsl --quiet` without LSLAPICFG: affect-live's own liblsl configuration. While
    it waits for a consumer both outlets are open: no port of it is reachable from elsewhere."""
    import signal
    import subprocess

    from tests.conftest import running
    from tests.helpers.sockets import listening_by_pid, on_loopback

    env = {k: v for k, v in os.environ.items() if k != "LSLAPICFG"}
    out = tmp_path / "exposed.csv"
    with running(_analyze_waiting(out), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        before = _wait_for_line(proc, "waiting up to")
        ports = listening_by_pid().get(proc.pid, [])
        os.kill(proc.pid, signal.SIGINT)
        _, rest = proc.communicate(timeout=120)
    tcp = [p for p in ports if p.rsplit(":", 1)[1] != "*"]
    assert len(ports) >= 5, ports  # two data (TCP) and two time (UDP) ports, and discovery's responder
    assert all(on_loopback(p) for p in ports), ports
    assert tcp and proc.returncode == 130, (proc.returncode, rest)
    said = "".join(before) + rest
    assert "INFO|" not in said and "WARN|" not in said and "Traceback" not in said, said  # liblsl follows --quiet
    assert not out.exists()  # nothing analysed while waiting


def test_lsl_wait_holds_the_first_frame_until_a_consumer_connects(tmp_path):
    """The inlet connects only after the child says it waits: no frame was analysed before, and
    every sample it receives is the CSV's row of that frame and face. liblsl 1.17.7 may report
    the consumer before it has registered its feed and then reconnect it (sccn/liblsl #300,
    fixed upstream after the version mne-lsl 1.14 ships): about 1 run in 8 here lost the first
    frames or got a few twice, so neither the first frame nor contiguity is asserted
    (docs/lsl.md says so)."""
    import csv
    import subprocess

    from tests.conftest import running

    out = tmp_path / "waited.csv"
    with running(_analyze_waiting(out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        _wait_for_line(proc, "waiting up to")
        assert not out.exists()  # no frame before a consumer
        samples, _ = pull_until(inlet(DATA_STREAM), lambda s: len(s) >= 10, "10 samples")
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    with open(out, newline="") as handle:
        rows = {(r["frame"], r["face_id"]): r for r in csv.DictReader(handle)}
    assert ("0", "1") in rows or ("0", "2") in rows  # the CSV has every frame from frame 0
    columns = numeric_columns(actions=True)
    for sample in samples:
        cell = {column: format_cell(column, sample[columns.index(column)]) for column in ("frame", "face_id", "valence", "arousal")}
        row = rows[(cell["frame"], cell["face_id"])]
        assert (cell["valence"], cell["arousal"]) == (row["valence"], row["arousal"])


def test_lsl_wait_without_a_consumer_is_one_line_and_exit_1(tmp_path, capsys):
    """Nobody opens this run's stream (the tests' own LSL session): the wait ends, nothing is analysed."""
    from affect_live.cli.parser import main

    out = tmp_path / "none.csv"
    assert main(["analyze", str(CLIPS / "two_faces.mp4"), "--lsl", "--lsl-wait", "0.5", "--out", str(out), "--quiet"]) == 1  # as any input that could not be analysed
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1] == "affect-live: error: no consumer of the LSL stream affect-live connected within 0.5 s; nothing was analysed"
    assert lines[0].startswith("affect-live: waiting up to 0.5 s") and not out.exists()
