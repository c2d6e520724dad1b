"""Find the bundled ``resources/`` folder from a checkout or an installed wheel."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resources_dir() -> Path:
    """The folder holding ``models/``, icons and styles.

    An installed package carries it as ``lstm_viewer/resources`` (see
    ``pyproject.toml``); a source checkout has it beside the package.
    """
    for candidate in (_HERE / "resources", _HERE.parent / "resources"):
        if (candidate / "models").is_dir():
            return candidate
    raise FileNotFoundError("the bundled resources folder is missing from this installation")


def resource_path(*parts: str) -> Path:
    """Path of a file inside the resources folder."""
    return resources_dir().joinpath(*parts)
