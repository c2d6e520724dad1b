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
        epilog="GUI: lstm-viewer [PATH | MODEL] [--dark] [--step N] [--unit U] [--screenshot PNG]; "
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


def main(argv: list[str] | None = None) -> int:
    """Start the GUI, or run a subcommand when one is named."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and (argv[0] in SUBCOMMANDS or argv[0] in ("-h", "--help")):
        return run_cli(argv)
    from .gui.launch import launch  # Qt is imported only on this path

    return launch(argv)


if __name__ == "__main__":
    sys.exit(main())
