"""Start the app: ``lstm-viewer [MODEL] [options]`` (or ``python main.py ...``).

Opens MODEL (a weights file or bundled name), else the view file of
``--view``, else the last file opened (when it still exists), else the
bundled default model. When nothing can be loaded the window still opens and
says why.

The view options reproduce any view from the command line::

    lstm-viewer latch --text ">a?b?" --step 3 --unit 12 --intervene update=0 \
        --panel comparison --size 1280x800 --screenshot shot.png

Model, text, layer and interventions are applied at once; step, unit,
panels and presentation once the resulting trace is shown (see
:class:`~lstm_viewer.gui.view_file.PendingView`). A bad value is one line on
stderr and in the window; the other options still apply.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

ORGANIZATION = "lstm-viewer"
APPLICATION = "lstm-viewer"
#: Panel names taken by ``--panel`` (as ``MainWindow.show_panel`` takes them).
PANEL_NAMES = ("why", "comparison", "lab", "interventions", "inspector", "model", "plots")
DIRECTIONS = {"0": 0, "1": 1, "f": 0, "forward": 0, "b": 1, "backward": 1, "r": 1, "reverse": 1}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstm-viewer", description="Watch a trained LSTM think.",
        epilog="A bad option value is reported in one line (on stderr and in the window) "
               "and the window opens without it.")
    parser.add_argument("path", nargs="?", metavar="MODEL",
                        help="weights file or bundled model name (default: latch)")
    theme = parser.add_mutually_exclusive_group()
    theme.add_argument("--dark", action="store_true", help="use the dark theme")
    theme.add_argument("--light", action="store_true", help="use the light theme")
    view = parser.add_argument_group("the view to open on")
    view.add_argument("--view", metavar="FILE.json",
                      help="open a view saved by File ▸ Save View (options below apply on top)")
    view.add_argument("--text", metavar="TEXT",
                      help="input text (for a model without vocabulary: token ids, e.g. \"3 17 4\")")
    view.add_argument("--step", metavar="N", help="start at step N (0 is the first)")
    view.add_argument("--unit", metavar="U", help="select hidden unit U")
    view.add_argument("--layer", metavar="L[:DIR]",
                      help="show layer L (0 is the lowest); DIR forward or backward for a "
                           "bidirectional layer, e.g. 1:backward")
    view.add_argument("--intervene", metavar="SPEC", action="append", default=None,
                      help="switch an intervention on (repeatable), e.g. update=0, forget=1@0-3#0, "
                           "coupled; the intact-vs-intervened comparison opens")
    view.add_argument("--panel", metavar="NAME", action="append", default=None,
                      help=f"open a panel (repeatable): {', '.join(PANEL_NAMES)}")
    view.add_argument("--presentation", action="store_true",
                      help="start in presentation mode (full screen, the diagram and timeline only)")
    view.add_argument("--inspect", metavar="NODE", default=None,
                      help="node shown in the inspector (c, a, update, forget, candidate, output, ...)")
    out = parser.add_argument_group("window")
    out.add_argument("--size", default=None, metavar="WxH", help="window size, e.g. 1280x800")
    out.add_argument("--screenshot", metavar="PNG",
                     help="save a screenshot of the window once the view is shown, then quit")
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


def build_window(settings=None):
    """The main window as the app opens it: interventions docks, Experiments menu, saved layout.

    Parameters
    ----------
    settings : QSettings, optional
        Where layout and recent files persist (tests pass a temporary one).
    """
    from PySide6.QtCore import QSettings

    from .window.experiments import install as install_interventions
    from .window.main_window import LAYOUT_VERSION, MainWindow

    settings = settings if settings is not None else QSettings()
    window = MainWindow(settings=settings)
    if getattr(window, "interventions", None) is None:
        # Interventions panel, intact-vs-intervened comparison, why-update view, lab.
        install_interventions(window)
    layout = settings.value("windowState")
    if layout is not None:  # again, now that the interventions docks exist
        window.restoreState(layout, LAYOUT_VERSION)
    bar = window.menuBar()
    bar.removeAction(window.help_menu.menuAction())  # Help stays the last menu
    bar.addAction(window.help_menu.menuAction())
    window.inspector_dock.raise_()
    return window


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x800"`` → (1280, 800); ValueError with a one-line reason otherwise."""
    w, sep, h = text.lower().partition("x")
    if not (sep and text.isascii() and w.strip().isdigit() and h.strip().isdigit()):
        raise ValueError("use WxH, e.g. 1280x800")
    size = int(w), int(h)
    if not (200 <= size[0] <= 16384 and 200 <= size[1] <= 16384):
        raise ValueError("width and height must lie between 200 and 16384 pixels")
    return size


def _index(text: str, what: str) -> int:
    text = text.strip()
    if not (text.isascii() and text.isdigit()):
        raise ValueError(f"'{text}' is not a {what} (0, 1, 2, ...)")
    return int(text)


def parse_layer(text: str) -> tuple[int, int | None]:
    """``"1"`` → (1, None); ``"1:backward"`` → (1, 1); ValueError otherwise."""
    layer, sep, direction = text.partition(":")
    k = _index(layer, "layer number")
    if not sep:
        return k, None
    if direction.strip().lower() not in DIRECTIONS:
        raise ValueError(f"unknown direction '{direction}' (forward or backward)")
    return k, DIRECTIONS[direction.strip().lower()]


#: View field → the option that sets it, for messages.
OPTION_OF = {"input": "--text", "step": "--step", "unit": "--unit", "layer": "--layer",
             "direction": "--layer", "interventions": "--intervene", "panels": "--panel"}


def options_view(args) -> tuple[object, list[str]]:
    """The :class:`~lstm_viewer.gui.view_file.View` the view options ask for, and their syntax problems.

    Each problem is one line naming the option; that option is left out.
    """
    from .view_file import View, ViewFileError, check_panel

    problems: list[str] = []
    fields: dict = {}
    for key, option, parse in (("step", "--step", lambda v: _index(v, "step number")),
                               ("unit", "--unit", lambda v: _index(v, "unit number"))):
        text = getattr(args, key, None)
        if text is not None:
            try:
                fields[key] = parse(text)
            except ValueError as exc:
                problems.append(f"{option} {text}: {exc}.")
    if getattr(args, "layer", None) is not None:
        try:
            fields["layer"], fields["direction"] = parse_layer(args.layer)
        except ValueError as exc:
            problems.append(f"--layer {args.layer}: {exc}.")
    if getattr(args, "text", None) is not None:
        if args.text:
            fields["input"] = args.text
        else:
            problems.append("--text: the text is empty.")
    if getattr(args, "intervene", None):
        fields["interventions"] = tuple(args.intervene)
    if getattr(args, "panel", None):
        panels = []
        for name in args.panel:
            try:
                panels.append(check_panel(name.strip().lower()))
            except ViewFileError as exc:
                problems.append(f"--panel {name}: {exc}.")
        if panels:
            fields["panels"] = tuple(dict.fromkeys(panels))
    if getattr(args, "presentation", False):
        fields["presentation"] = True
    return View(**fields), problems


def apply_options(window, args):
    """Check the view options against the model shown and apply the good ones.

    Parameters
    ----------
    window : MainWindow
        With its model loaded (its input and first job under way).
    args : argparse.Namespace
        From :func:`build_parser`.

    Returns
    -------
    pending : PendingView or None
        Applies step, unit, panels and presentation once the trace is shown.
    problems : list of str
        One line per bad option, naming it; the caller reports them.
    """
    from dataclasses import replace

    from .view_file import View, check_view

    view, problems = options_view(args)
    if view == View():
        return None, problems
    state = window.state
    if state.model is None:
        return None, problems + ["The view options were not applied: no model is loaded."]
    length = None if state.inputs is None else len(state.inputs)
    prepared = check_view(view, state.model, length=length, layer=state.layer)
    for key, problem in prepared.problems.items():
        given = {"input": args.text, "interventions": " ".join(args.intervene or ())}.get(key)
        given = given if given is not None else getattr(args, OPTION_OF[key].lstrip("-"), "")
        given = given if len(str(given)) <= 40 else str(given)[:39] + "…"
        problems.append(f"{OPTION_OF[key]} {given}: {problem}.")
    prepared.exact_panels = False  # --panel opens panels; the others stay open
    if prepared.view.interventions:
        # An intervention opens with its comparison shown, before any panel asked for.
        panels = prepared.view.panels or ()
        if "comparison" not in panels:
            prepared.view = replace(prepared.view, panels=("comparison", *panels))
    from .view_file import apply_view

    # After a --view file: its own step, unit and panels apply first, these on top.
    return apply_view(window, prepared, supersede=False), problems


def launch(argv: list[str] | None = None) -> int:
    """Open the window and run the event loop; returns the exit status."""
    args = build_parser().parse_args(list(argv or []))
    app = make_app()
    from PySide6.QtCore import QSettings, QTimer

    window, helpers = open_window(args, QSettings())
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


def open_window(args, settings=None):
    """Build and show the window for the parsed command line, with its model and view.

    Every problem (a file that cannot be opened, a bad option value) is one
    line on stderr, and all of them together one line in the window.

    Parameters
    ----------
    args : argparse.Namespace
        From :func:`build_parser`.
    settings : QSettings, optional

    Returns
    -------
    window : MainWindow
    helpers : list
        Objects to keep referenced while the window is open (the part of the
        view waiting for the first trace).
    """
    from .view_file import ViewFileError, apply_view, prepare_view, read_view

    window = build_window(settings)
    settings = window.settings
    if args.dark or args.light:
        window.state.set_dark(args.dark)
    messages: list[str] = []  # one-line problems, shown together once the window is up
    if args.size:
        try:
            window.resize(*parse_size(args.size))
        except ValueError as exc:
            messages.append(f"--size {args.size}: {exc}.")
    window.show()
    opened = False
    if args.view:
        path = Path(args.view)
        try:
            prepared = prepare_view(read_view(path), base=path.parent)
        except ViewFileError as exc:
            messages.append(f"Could not open the view {path.name}: {exc}.")
        else:
            if args.path:
                messages.append(f"The view's model is shown; {args.path} was not opened.")
            apply_view(window, prepared)
            opened = True
    failures = []
    for source in ([] if opened else initial_source(args.path, settings)):
        if window.open_source(source, remember=bool(args.path)):
            if failures and args.path:
                messages.append(f"{failures[0].rstrip('.')}. Showing the bundled model '{source}' instead.")
            break
        failures.append(window.banner.text)
    else:
        if not opened:
            reason = failures[0] if args.path else "No model could be loaded (the bundled models are missing)."
            if not reason.endswith((".", "!")):
                reason += "."
            messages.append(f"{reason} Use File ▸ Open (Ctrl+O) or drop a weights file on the window.")
    if args.inspect:
        window.state.set_node(args.inspect)
        window._pinned_node = args.inspect
    pending, problems = apply_options(window, args)
    messages += problems
    for message in messages:
        print(f"lstm-viewer: {message}", file=sys.stderr)
    if messages:
        window.show_error(" ".join(messages))
    return window, [pending]


def _noop() -> None:
    pass


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
