"""Weights-file loaders (NumPy, safetensors, h5py, onnx only — never Qt).

:func:`load` reads any supported file (format told from content) or a
bundled model by short name and returns a validated
:class:`~lstm_viewer.engine.model.LSTMModel`; every problem is a
:class:`LoadError` with one clear line. The gate-name mapping of every
framework is tabled in :mod:`lstm_viewer.formats.common`.
"""

from __future__ import annotations

from pathlib import Path

from ..engine.model import LSTMModel
from .detect import FORMAT_NAMES, detect
from .errors import LoadError, failure_reason
from .native import save_native

#: Human names of the formats :func:`load` reads.
KNOWN_FORMATS = tuple(FORMAT_NAMES.values())

__all__ = ["KNOWN_FORMATS", "LoadError", "bundled_models", "detect", "load", "save_native"]


def _loader(fmt: str):
    # Imported on demand so a format's dependency (onnx, h5py) is only needed to read it.
    if fmt == "torch":
        from .torch_pickle import load as loader
    elif fmt == "safetensors":
        from .safetensors_format import load as loader
    elif fmt in ("keras", "keras-h5"):
        # libhdf5 can hang on a damaged file: read it in a child process.
        from .isolated import load_isolated

        def loader(path, fmt=fmt):
            return load_isolated(fmt, path)
    elif fmt == "onnx":
        from .onnx_format import load as loader
    else:
        from .course_npz import load as loader
    return loader


def _models_dir() -> Path | None:
    from ..paths import resources_dir

    try:
        return resources_dir() / "models"
    except FileNotFoundError:
        return None


def bundled_models() -> list[str]:
    """Short names of the models shipped in ``resources/models``."""
    folder = _models_dir()
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.safetensors"))


def bundled_cards() -> list[tuple[str, dict]]:
    """(name, model card) of every bundled model, the default (latch) first.

    Only the safetensors headers are read, so listing stays instant.
    """
    import json

    from safetensors import safe_open

    folder = _models_dir()
    if folder is None or not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob("*.safetensors"), key=lambda p: (p.stem != "latch", p.stem)):
        try:
            with safe_open(str(path), framework="numpy") as fh:
                meta = fh.metadata() or {}
            card = json.loads(meta.get("card") or "{}")
        except (OSError, ValueError, RuntimeError):
            card = {}
        out.append((path.stem, card if isinstance(card, dict) else {}))
    return out


def resolve(source) -> Path:
    """The file for ``source``: an existing path, else a bundled model's file.

    Raises
    ------
    LoadError
        When neither exists; the message lists the bundled names.
    """
    path = Path(source)
    if path.exists():
        return path
    folder = _models_dir()
    text = str(source)
    if folder is not None and text and "/" not in text and "\\" not in text:
        candidate = folder / f"{text}.safetensors"
        if candidate.is_file():
            return candidate
    names = bundled_models()
    listing = ", ".join(names) if names else "none installed"
    raise LoadError(f"file does not exist and is not a bundled model (bundled: {listing})", str(source))


def load(source, *, name: str | None = None) -> LSTMModel:
    """Load a weights file or bundled model as a validated :class:`LSTMModel`.

    Parameters
    ----------
    source : str or Path
        A file in any of :data:`KNOWN_FORMATS`, or a bundled model's short name.
    name : str, optional
        Display name; defaults to the file's stem or the name stored in it.

    Raises
    ------
    LoadError
        One line naming the file and what is wrong with it.
    """
    path = resolve(source)
    try:
        fmt = detect(path)
        model = _loader(fmt)(path)
    except Exception as exc:  # LoadError, MemoryError, or a parser's own: one line each
        raise LoadError(failure_reason(exc), str(path)) from None
    stem = path.name[:-len(".weights.h5")] if path.name.endswith(".weights.h5") else path.stem
    model.name = name or model.name or stem
    return model
