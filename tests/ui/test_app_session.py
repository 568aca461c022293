"""The app through a real session (offscreen Qt, real clips and model): controls that stay put,
markers that are never lost, recordings that start where the user means, a status that tells
the truth, faces that do not jump, a window that fits 1024x700. Waits are on events and
frames, never on time."""

from __future__ import annotations

import json

import pytest

from tests.conftest import CLIPS
from tests.helpers.app_window import TWO_FACES, WAIT_MS, open_and_wait, open_window, read_rows, recorded_rows, start_and_wait, store, wait_for_frames  # noqa: F401 (fixtures)

from PyQt5.QtCore import Qt, QTimer  # noqa: E402  (after app_window prepared Qt)
from PyQt5.QtWidgets import QApplication, QMessageBox  # noqa: E402

from affect_live.recording.recording import events_path  # noqa: E402
from affect_live.recording.sidecar import sidecar_path  # noqa: E402
from affect_live.resources import DEMO_CLIP  # noqa: E402
from affect_live.ui.actions_view import SWITCHED_OFF_TEXT  # noqa: E402
from affect_live.ui.dialogs import RecordDialog  # noqa: E402
from affect_live.ui.settings import AppSettings  # noqa: E402

pytestmark = pytest.mark.gui


def said(window) -> list[str]:  # noqa: ANN001
    return [message for _, message in window.messages]


def wait_said(qtbot, window, text: str) -> str:  # noqa: ANN001
    qtbot.waitUntil(lambda: any(text in m for m in said(window)), timeout=WAIT_MS)
    return next(m for m in reversed(said(window)) if text in m)


def control_geometry(window) -> dict[str, tuple[int, int, int, int]]:  # noqa: ANN001
    """Where every toolbar control sits, in window coordinates."""
    QApplication.processEvents()
    places = {}
    for bar in window.controls.toolbars:
        for action in bar.actions():
            widget = bar.widgetForAction(action)
            if widget is not None and not action.isSeparator():
                rect = widget.geometry().translated(bar.pos())
                places[action.text() or type(widget).__name__ + str(len(places))] = (rect.x(), rect.y(), rect.width(), rect.height())
    return places


def events_of(csv_path) -> list[dict[str, str]]:  # noqa: ANN001
    return read_rows(events_path(csv_path))[1]


def test_toolbar_controls_never_move_when_a_recording_starts_and_grows(qtbot, open_window, tmp_path):
    window = open_window()
    wait_for_frames(qtbot, window, faces=1)
    before = control_geometry(window)
    start_and_wait(qtbot, window, tmp_path / "steady.csv", 10)
    window.refresh_status()
    assert window.status_panel.recording.text().startswith("● REC") and "steady.csv" in window.status_panel.recording.text()
    assert control_geometry(window) == before
    qtbot.waitUntil(lambda: recorded_rows(window) >= 100, timeout=WAIT_MS)  # three digits
    window.refresh_status()
    assert control_geometry(window) == before


def test_markers_keys_in_and_out_of_the_field_and_where_each_went(qtbot, open_window, tmp_path):
    window = open_window()
    wait_for_frames(qtbot, window, faces=1)
    window.activateWindow()
    field, video = window.controls.marker_text, window.video
    # Nothing records or streams: the marker is refused out loud, never silently dropped.
    video.setFocus()
    qtbot.keyClick(video, Qt.Key_M)
    refused = wait_said(qtbot, window, "not saved")
    assert window.banner.level == "warning" and '"marker" not saved' in refused
    csv_path = tmp_path / "keys.csv"
    start_and_wait(qtbot, window, csv_path, 3)
    # Typing in the field is text: Space does not pause, M does not add a marker.
    field.setFocus()
    qtbot.keyClicks(field, "stim m")
    assert field.text() == "stim m" and window.session.flush() and not window.session.paused
    # Enter adds it and gives the keyboard back: M then adds the field's text again.
    qtbot.keyClick(field, Qt.Key_Return)
    assert QApplication.focusWidget() is video
    qtbot.keyClick(video, Qt.Key_M)
    # Escape leaves the field too.
    field.setFocus()
    qtbot.keyClick(field, Qt.Key_Escape)
    assert QApplication.focusWidget() is video
    saved = wait_said(qtbot, window, '"stim m" saved')
    assert saved == 'marker "stim m" saved: keys.events.csv'
    window.stop_recording()
    wait_said(qtbot, window, "recording saved")
    user = [e["marker"] for e in events_of(csv_path) if e["origin"] == "user"]
    assert user == ["stim m", "stim m"]


def test_recording_a_file_from_its_start_pauses_for_the_dialog_and_has_every_frame(qtbot, open_window, tmp_path):
    window = open_window()  # two_faces.mp4, 90 frames, not looped
    shown = wait_for_frames(qtbot, window, n=20, faces=1)
    assert shown >= 20 and window.session.stats().frames_read >= 20
    csv_path = tmp_path / "whole.csv"
    seen = {}

    def in_the_dialog() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, RecordDialog)
        seen["paused"] = window.session.flush() and window.session.paused
        seen["from_start"] = dialog.from_start.isChecked()  # the default for a file
        dialog.path_edit.setText(str(csv_path))
        dialog.accept()

    QTimer.singleShot(0, in_the_dialog)
    window.controls.record_action.trigger()
    assert seen == {"paused": True, "from_start": True}
    message = wait_said(qtbot, window, "recording saved")
    assert "end of file: two_faces.mp4 played to its end" in message
    assert "whole.events.csv" in message and "whole.meta.json" in message
    meta = json.loads(sidecar_path(csv_path).read_text())
    assert meta["status"] == "complete" and "end of file" in meta["message"]
    assert meta["frames_processed"] == 90 and meta["dropped_frames"] == 0  # every frame, from frame 0
    frames = [int(row["frame"]) for row in read_rows(csv_path)[1]]
    assert frames[0] == 0 and frames[-1] == 89


def test_a_file_recorded_from_here_starts_at_the_frame_shown(qtbot, open_window, tmp_path):
    window = open_window(source=str(CLIPS / "astronaut_motion.mp4"))
    wait_for_frames(qtbot, window, n=10, faces=1)
    window.set_paused(True)
    qtbot.waitUntil(lambda: window.session.stats().capture_parked, timeout=WAIT_MS)
    read_so_far = window.session.stats().frames_read
    assert window.start_recording(tmp_path / "here.csv", from_start=False)
    window.set_paused(False)
    wait_said(qtbot, window, "recording saved")
    frames = [int(row["frame"]) for row in read_rows(tmp_path / "here.csv")[1]]
    assert frames and frames[0] >= read_so_far - 1  # from the paused frame on, not from 0


def test_the_selection_stays_on_one_face_until_picked_and_says_when_it_is_out_of_view(qtbot, default_bundle):
    """Real results of every frame of two_faces.mp4, fed as the app's timer would: the largest
    face is followed through a 3-frame occlusion; a picked face that walks out stays picked,
    marked out of view, until it is back."""
    from affect_live.model.inference.engine import AffectEngine
    from affect_live.pipeline.sources import open_source
    from affect_live.pipeline.threads import Pipeline, PipelineSettings
    from affect_live.session.history import FaceHistory
    from affect_live.ui.face_panel import FacePanel
    from affect_live.ui.face_selection import FaceSelection

    results = list(Pipeline(open_source(TWO_FACES), AffectEngine([default_bundle]), PipelineSettings()).results())
    history, selection, panel = FaceHistory(), FaceSelection(), FacePanel()
    qtbot.addWidget(panel)
    followed = []
    for result in results:
        history.add(result)
        followed.append(selection.follow([p.face_id for p in result.predictions], history))
    assert len(set(followed)) == 1 and not selection.picked  # hopper (the larger) all along
    hopper = followed[0]
    astronaut = next(p.face_id for p in results[0].predictions if p.face_id != hopper)
    # Picked: the astronaut, who walks out at frame 44 and is back by 79.
    history.clear()
    selection.pick(astronaut)
    notes = {}
    for result in results:
        history.add(result)
        assert selection.follow([p.face_id for p in result.predictions], history) == astronaut
        panel.show_face(history, astronaut)
        notes[result.frame_index] = panel.presence.text()
    assert notes[10] == "" and notes[89] == ""
    assert "out of view" in notes[70]


def test_the_highlighted_box_and_the_synchrony_row_follow_the_selection_on_a_paused_frame(qtbot, open_window):
    window = open_window()
    wait_for_frames(qtbot, window, faces=2)
    window.set_paused(True)
    qtbot.waitUntil(lambda: window.session.stats().capture_parked, timeout=WAIT_MS)
    QApplication.processEvents()
    ids = [p.face_id for p in window.video.predictions]
    other = next(i for i in ids if i != window.selected_face)
    before = window.video.grab().toImage()
    window.select_face(other)
    assert window.video.selected_id == other == window.faces.face_box.currentData()
    assert window.video.grab().toImage() != before  # redrawn: the thick box moved
    assert window.synchrony.title.text() == f"Synchrony of #{other} with"  # at once, not at its next tick


def test_the_window_fits_1024x700_with_every_control_in_view(qtbot, open_window):
    window = open_window()
    wait_for_frames(qtbot, window, faces=1)
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() <= 1024 and window.height() <= 700, timeout=WAIT_MS)
    for bar in window.controls.toolbars:
        for action in bar.actions():
            widget = bar.widgetForAction(action)
            if action.isSeparator() or widget is None:
                continue
            assert widget.isVisible() and bar.rect().contains(widget.geometry()), action.text() or widget
    assert window.controls.marker_text.width() >= 150
    assert window.faces.isVisible() and window.video.width() >= 280
    from affect_live.ui.panel_scroll import PanelScroll

    assert window.findChild(PanelScroll).verticalScrollBar().maximum() == 0  # every plot in view


def test_quitting_while_recording_asks_and_saves_everything(qtbot, open_window, tmp_path):
    window = open_window()
    wait_for_frames(qtbot, window, faces=1)
    csv_path = tmp_path / "quit.csv"
    start_and_wait(qtbot, window, csv_path, 5)
    questions = []

    def answer(button: int) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        questions.append(box.text())
        box.button(button).click()

    QTimer.singleShot(0, lambda: answer(QMessageBox.Cancel))
    window.close()
    assert window.isVisible() and window.session.stats().recording is not None  # stayed, still recording
    QTimer.singleShot(0, lambda: answer(QMessageBox.Yes))
    window.close()
    assert not window.isVisible()
    assert "quit.csv" in questions[0] and "saves it" in questions[0]
    assert json.loads(sidecar_path(csv_path).read_text())["status"] == "complete"


def test_the_status_bar_shows_every_mode_and_stale_banners_clear(qtbot, open_window):
    from affect_live.lsl.outlets import DATA_STREAM
    from tests.lsl.test_lsl import inlet

    window = open_window(source=None)  # the demo, looped
    wait_for_frames(qtbot, window, faces=1)
    status = window.status_panel

    def status_says(text: str) -> bool:
        window.refresh_status()
        return text in status.lsl.text()

    window.set_lsl(True)
    qtbot.waitUntil(lambda: status_says("LSL: affect-live + affect-live-markers · no recorder connected yet"), timeout=WAIT_MS)
    recorder = inlet(DATA_STREAM)  # as LabRecorder would
    qtbot.waitUntil(lambda: status_says("· a recorder is connected"), timeout=WAIT_MS)
    recorder.close_stream()
    window.set_paused(True)
    window.refresh_status()
    assert status.device.text() == "CPU (LiteRT)" and "prior: valence, arousal" in status.model.text()
    assert "prior" in status.model.toolTip() and window.controls.pause_action.text() == "Resume"
    window.set_paused(False)
    assert window.controls.pause_action.text() == "Pause"
    window.set_lsl(False)
    qtbot.waitUntil(lambda: status_says("") and status.lsl.text() == "", timeout=WAIT_MS)
    # The end of a file is said until it plays again.
    open_and_wait(qtbot, window, str(CLIPS / "astronaut_motion.mp4"))  # 4 s, not looped
    qtbot.waitUntil(lambda: any("end of file" in line for line in window.banner.lines), timeout=WAIT_MS)
    open_and_wait(qtbot, window, str(CLIPS / "astronaut_motion.mp4"))
    assert not any("end of file" in line for line in window.banner.lines)


def test_the_demo_clip_is_restored_and_actions_can_be_switched_off(qtbot, open_window, store):
    window = open_window(source=None)  # no camera: the demo, looped
    wait_for_frames(qtbot, window, faces=1)
    window.controls.actions_action.trigger()  # off
    shown = wait_for_frames(qtbot, window, n=1, faces=1)
    qtbot.waitUntil(lambda: window.frames_shown > shown and all(p.actions is None for p in window.video.predictions), timeout=WAIT_MS)
    window._draw_plots()
    assert window.faces.actions.off_label.text() == SWITCHED_OFF_TEXT and not window.session.stats().actions
    window.close()
    remembered = AppSettings.load(store)
    assert (remembered.source, remembered.actions) == ("demo", False)
    again = open_window(source=None)
    qtbot.waitUntil(lambda: again.session.stats().source == DEMO_CLIP.name, timeout=WAIT_MS)
    assert not again.controls.actions_action.isChecked()
    again.controls.actions_action.trigger()  # on again: measured from the next frames
    qtbot.waitUntil(lambda: any(p.actions is not None for p in again.video.predictions), timeout=WAIT_MS)


def test_load_weights_opens_in_the_models_folder(tmp_path, monkeypatch):
    from affect_live.catalogue.store import models_folder
    from affect_live.resources import MODELS_DIR
    from affect_live.ui.dialogs import weights_folder

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert weights_folder("") == str(MODELS_DIR)  # nothing installed yet: the shipped models
    models_folder().mkdir(parents=True)
    assert weights_folder("") == str(models_folder())
    assert weights_folder(str(tmp_path)) == str(tmp_path)  # where weights were last loaded from
    assert weights_folder(str(tmp_path / "gone")) == str(models_folder())
