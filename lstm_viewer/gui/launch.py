"""Start the app: ``python main.py [PATH] [--dark] [--screenshot OUT.png]``.

Opens PATH, else the last file opened (when it still exists), else the
bundled default model. When nothing can be loaded the window still opens and
says why.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

ORGANIZATION = "lstm-viewer"
APPLICATION = "lstm-viewer"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lstm-viewer", description="Watch a trained LSTM think.")
    parser.add_argument("path", nargs="?", help="weights file or bundled model name (default: latch)")
    theme = parser.add_mutually_exclusive_group()
    theme.add_argument("--dark", action="store_true", help="use the dark theme")
    theme.add_argument("--light", action="store_true", help="use the light theme")
    parser.add_argument("--step", type=int, default=None, help="start at this step")
    parser.add_argument("--inspect", metavar="NODE", default=None,
                        help="node shown in the inspector (c, a, update, forget, candidate, output, ...)")
    parser.add_argument("--unit", type=int, default=None, help="select this hidden unit")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="save a screenshot of the window once the first trace is shown, then quit")
    parser.add_argument("--size", default=None, metavar="WxH", help="window size, e.g. 1280x800")
    return parser


def make_app(argv: list[str] | None = None):
    """The QApplication, created once with high-DPI and QSettings names set."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        # Fractional scale factors (150 %) render crisply instead of rounding.
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication([sys.argv[0], *(argv or [])])
    QCoreApplication.setOrganizationName(ORGANIZATION)
    QCoreApplication.setApplicationName(APPLICATION)
    QGuiApplication.setApplicationDisplayName("lstm-viewer")
    import pyqtgraph as pg

    pg.setConfigOptions(antialias=True, imageAxisOrder="row-major")
    return app


def initial_source(path: str | None, settings) -> list[str]:
    """Sources to try in order: PATH, else the last file, then the default model."""
    from .window.main_window import DEFAULT_MODEL

    if path:
        return [path, DEFAULT_MODEL]  # a bad PATH still leaves a usable window
    sources = []
    last = settings.value("lastFile", "", str)
    if last and Path(last).exists():
        sources.append(last)
    sources.append(DEFAULT_MODEL)
    return sources


def launch(argv: list[str] | None = None) -> int:
    """Open the window and run the event loop; returns the exit status."""
    args = build_parser().parse_args(list(argv or []))
    app = make_app()
    from PySide6.QtCore import QSettings, QTimer

    from .window.experiments import install as install_interventions
    from .window.main_window import LAYOUT_VERSION, MainWindow

    settings = QSettings()
    window = MainWindow(settings=settings)
    # Interventions panel, intact-vs-intervened comparison, why-update view, lab.
    install_interventions(window)
    layout = settings.value("windowState")
    if layout is not None:  # again, now that the interventions docks exist
        window.restoreState(layout, LAYOUT_VERSION)
    bar = window.menuBar()
    bar.removeAction(window.help_menu.menuAction())  # Help stays the last menu
    bar.addAction(window.help_menu.menuAction())
    window.inspector_dock.raise_()
    if args.dark or args.light:
        window.state.set_dark(args.dark)
    if args.size:
        w, _, h = args.size.partition("x")
        window.resize(int(w), int(h))
    window.show()
    failures = []
    for source in initial_source(args.path, settings):
        if window.open_source(source, remember=bool(args.path)):
            if failures and args.path:
                window.show_error(f"{failures[0].rstrip('.')}. Showing the bundled model "
                                  f"'{source}' instead.")
                print(f"lstm-viewer: {failures[0]}", file=sys.stderr)
            break
        failures.append(window.banner.text)
    else:
        reason = failures[0] if args.path else "No model could be loaded (the bundled models are missing)."
        if not reason.endswith((".", "!")):
            reason += "."
        window.show_error(f"{reason} Use File ▸ Open (Ctrl+O) or drop a weights file on the window.")
        if args.path:
            print(f"lstm-viewer: {failures[0]}", file=sys.stderr)
    if args.inspect:
        window.state.set_node(args.inspect)
        window._pinned_node = args.inspect
    helpers = []  # referenced until exit: Qt holds no strong reference to them
    if args.step is not None or args.unit is not None:
        helpers.append(_StepOnce(window, args.step, args.unit))
    if args.screenshot:
        helpers.append(_Screenshot(window, args.screenshot))
    # Ctrl+C in the terminal closes the window cleanly. Qt's loop does not
    # run Python signal handlers, so a 200 ms tick gives Python the chance.
    signal.signal(signal.SIGINT, lambda *_: window.close())
    tick = QTimer()
    tick.start(200)
    tick.timeout.connect(_noop)
    status = app.exec()
    window.shutdown()
    return int(status)


def _noop() -> None:
    pass


class _StepOnce:
    """Moves to a given step (and selects a unit) once the first trace arrives."""

    def __init__(self, window, step: int | None, unit: int | None = None):
        self.window, self.step, self.unit = window, step, unit
        window.traceReady.connect(self.apply)

    def apply(self, job_id: int) -> None:
        self.window.traceReady.disconnect(self.apply)
        if self.step is not None:
            self.window.state.set_step(self.step)
        if self.unit is not None:
            self.window.state.set_unit(self.unit)


class _Screenshot:
    """Saves the window as a PNG once a trace is shown and animations settled, then quits."""

    SETTLE_MS = 900

    def __init__(self, window, path: str):
        from PySide6.QtCore import QTimer

        self.window, self.path = window, Path(path)
        self.timer = QTimer()
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.save)
        window.traceReady.connect(self.ready)
        window.errorShown.connect(self.ready)
        # Never hang a CI run: take whatever is shown after 20 s.
        self.deadline = QTimer()
        self.deadline.setSingleShot(True)
        self.deadline.timeout.connect(self.save)
        self.deadline.start(20000)
        if window.state.model is None:
            self.ready()

    def ready(self, *args) -> None:
        self.timer.start(self.SETTLE_MS)

    def save(self) -> None:
        from PySide6.QtWidgets import QApplication

        self.deadline.stop()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ok = self.window.grab().save(str(self.path), "PNG")
        print(f"screenshot {'saved to' if ok else 'FAILED:'} {self.path}", file=sys.stderr)
        self.window.close()
        QApplication.instance().exit(0 if ok else 1)
