"""Screenshots of the running app for the README: run under a real X server, e.g.

    xvfb-run -a -s "-screen 0 1440x900x24" python tools/screenshot_app.py docs/screenshots

Starts the real window on the shipped clips, lets the analysis run, and grabs the X screen.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from affect_live.backends.native_logs import quiet_native_logs

quiet_native_logs()

from affect_live.resources import clip  # noqa: E402
from affect_live.ui.app import AppOptions, build_window, prepare_qt_environment  # noqa: E402


def run_for(app, seconds: float) -> None:  # noqa: ANN001
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def grab(app, window, path: Path) -> None:  # noqa: ANN001
    """The window as the X server shows it (a real screenshot, not a widget render)."""
    geometry = window.frameGeometry()
    shot = app.primaryScreen().grabWindow(0, geometry.x(), geometry.y(), geometry.width(), geometry.height())
    shot.save(str(path), "PNG")
    print(f"wrote {path} ({shot.width()}x{shot.height()})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    prepare_qt_environment()
    from PyQt5.QtCore import QSettings
    from PyQt5.QtWidgets import QApplication

    from affect_live.ui.settings import AppSettings

    app = QApplication([])
    with tempfile.TemporaryDirectory() as tmp:
        store = QSettings(str(Path(tmp) / "settings.ini"), QSettings.IniFormat)
        window = build_window(AppOptions(source=None), AppSettings.load(store), store, cameras=[])  # demo clip
        window.move(0, 0)
        window.resize(1440, 800)
        window.show()
        run_for(app, 8.0)
        while len(window.video.predictions) < 2:  # both faces in view (the clip hides one a while)
            run_for(app, 0.05)
        grab(app, window, args.out / "app-demo.png")
        window.open_source(str(clip("three_faces.mp4")), loop=True, label="three_faces.mp4")
        run_for(app, 8.0)
        smallest = min(window.video.predictions, key=lambda p: p.detection.box[2])
        window.select_face(smallest.face_id)
        window.start_recording(Path(tmp) / "session.csv")
        run_for(app, 1.0)
        grab(app, window, args.out / "app-three-faces.png")
        window.save_screenshot(args.out / "plots.png")
        window.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
