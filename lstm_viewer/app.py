"""Entry point: ``lstm-viewer`` / ``python main.py``.

With no subcommand (or just a weights path) it starts the GUI; the
subcommands run headless and never import Qt.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> (module under lstm_viewer.cli, one-line help). Each module
# provides ``add_arguments(parser)`` and ``run(args) -> int``.
SUBCOMMANDS = {
    "info": ("info", "describe a weights file or bundled model"),
    "trace": ("trace", "run a sequence and save every intermediate to .npz"),
    "models": ("models", "list the bundled models"),
    "evaluate": ("evaluate", "accuracy and loss of a model on its task's test set"),
    "lab": ("lab", "train gate variants from scratch and compare them"),
}


class CLIError(Exception):
    """A problem to report as one line, with exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstm-viewer",
        description="Watch a trained LSTM think. Without a subcommand, opens the app.",
        epilog="GUI: lstm-viewer [PATH | MODEL] [--view FILE.json] [--text TEXT] [--step N] "
               "[--unit U] [--layer L[:DIR]] [--intervene SPEC ...] "
               "[--panel why|comparison|lab|interventions|inspector|model|plots ...] "
               "[--presentation] [--inspect NODE] [--dark | --light] [--size WxH] "
               "[--screenshot PNG] (lstm-viewer PATH --help); "
               "'lstm-viewer models' lists the bundled models.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        try:
            importlib.import_module(f"lstm_viewer.cli.{module}").add_arguments(p)
        except ModuleNotFoundError as exc:
            if exc.name != f"lstm_viewer.cli.{module}":
                raise
            p.set_defaults(_missing=True)
    return parser


def run_cli(argv: list[str]) -> int:
    """Run one headless subcommand; errors become one line on stderr."""
    from .engine.interventions import InterventionError
    from .engine.model import ModelError
    from .formats.errors import LoadError

    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "_missing", False):
        print(f"lstm-viewer: '{args.command}' is not available in this version", file=sys.stderr)
        return 2
    module = importlib.import_module(f"lstm_viewer.cli.{args._module}")
    try:
        return int(module.run(args) or 0)
    except (LoadError, ModelError, InterventionError, CLIError) as exc:
        print(f"lstm-viewer: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"lstm-viewer: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "),
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _not_a_command(word: str) -> str | None:
    """The error for a first argument that looks like a mistyped command, else None.

    A word without a path separator or a dot that is neither an existing
    file nor a bundled model: ``tarce`` is a typo, ``model.pt`` is a file the
    window will report on.
    """
    import difflib
    from pathlib import Path

    if word.startswith("-") or "/" in word or "\\" in word or "." in word or Path(word).exists():
        return None
    from .formats import bundled_models

    if word in bundled_models():
        return None
    close = difflib.get_close_matches(word, list(SUBCOMMANDS), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return (f"'{word}' is neither a command ({', '.join(SUBCOMMANDS)}) nor a weights file "
            f"or bundled model{hint}")


def _no_display() -> bool:
    """True on Linux/BSD without a display for the window (and no Qt platform chosen)."""
    import os

    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return False
    return not any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def main(argv: list[str] | None = None) -> int:
    """Start the GUI, or run a subcommand when one is named."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help")):
        return run_cli(argv)
    problem = _not_a_command(argv[0]) if argv else None
    if problem is None and _no_display() and not {"-h", "--help"} & set(argv):
        problem = ("no display to open the window on (DISPLAY is not set); the commands "
                   f"{', '.join(SUBCOMMANDS)} run without one")
    if problem is not None:
        print(f"lstm-viewer: error: {problem}", file=sys.stderr)
        return 2
    from .gui.launch import launch  # Qt is imported only on this path

    return launch(argv)


if __name__ == "__main__":
    sys.exit(main())
