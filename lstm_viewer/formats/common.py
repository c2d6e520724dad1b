"""Helpers shared by every loader: finiteness checks, validation, tensor names.

Seed names of the four gates and what each framework calls them — the one
place this mapping is written down (every loader follows it):

===========  ==============  ==============  ===========  ============  ==========
seed name    canonical rows  PyTorch         Keras        ONNX W/R/B    course npz
===========  ==============  ==============  ===========  ============  ==========
update Γ_u   block 0         i (block 0)     i (col 0)    i (block 0)   Wi, bi
forget Γ_f   block 1         f (block 1)     f (col 1)    f (block 2)   Wf, bf
candidate c̃  block 2         g (block 2)     c (col 2)    c (block 3)   Wc, bc
output Γ_o   block 3         o (block 3)     o (col 3)    o (block 1)   Wo, bo
===========  ==============  ==============  ===========  ============  ==========

ONNX peepholes P are (i, o, f); canonical peepholes are (update, forget,
output).
"""

from __future__ import annotations

import zipfile
import zlib

import numpy as np

from ..engine.model import LSTMModel, ModelError
from .errors import LoadError

#: Largest JSON/pickle/config blob any loader reads into memory (bytes).
MAX_HEADER_BYTES = 100 * 1024 * 1024


def check_zip_member(info, what: str) -> None:
    """Refuse a zip member whose claimed size is absurd for its compressed size (a zip bomb)."""
    if info.file_size > 200 * info.compress_size + (1 << 20):
        raise LoadError(f"{what} claims {info.file_size} bytes from {info.compress_size} compressed; refused")


def read_zip_member(zf, name: str, limit: int | None = None) -> bytes:
    """The bytes of member ``name``; a damaged member or archive is a :class:`LoadError`."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise LoadError(f"the archive has no member '{name}'") from None
    check_zip_member(info, f"member '{name}'")
    if limit is not None and info.file_size > limit:
        raise LoadError(f"member '{name}' is {info.file_size} bytes, more than {limit} allowed")
    try:
        return zf.read(name)
    except (zipfile.BadZipFile, NotImplementedError, zlib.error, OSError, EOFError, ValueError) as exc:
        raise LoadError(f"member '{name}' of the zip file is damaged ({exc})") from None


def float_array(name: str, value) -> np.ndarray:
    """``value`` as a finite floating array, or :class:`LoadError` naming ``name``."""
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.floating)
                                   or np.issubdtype(arr.dtype, np.integer)):
        raise LoadError(f"tensor '{name}' has dtype {arr.dtype}, expected floating point")
    if not np.issubdtype(arr.dtype, np.floating) or arr.dtype.itemsize < 4:
        arr = arr.astype(np.float32)
    finite = np.isfinite(arr)
    if not finite.all():
        bad = int(arr.size - np.count_nonzero(finite))
        raise LoadError(f"tensor '{name}' holds {bad} NaN or Inf value(s)")
    return arr


def shape_text(shape) -> str:
    """A shape as Python writes a tuple: ``(4, 3)``, ``(40,)``, ``()``."""
    return str(tuple(int(s) for s in shape))


def finish(model: LSTMModel) -> LSTMModel:
    """Validate ``model``; turn its :class:`ModelError` into :class:`LoadError`."""
    try:
        return model.validate()
    except ModelError as exc:
        raise LoadError(str(exc)) from None


def split_blocks(array: np.ndarray, order, axis: int = 0) -> np.ndarray:
    """Reorder the four equal gate blocks of ``array`` along ``axis``.

    ``order[k]`` is the source block that becomes canonical block k.
    """
    n = array.shape[axis]
    if n % 4:
        raise LoadError(f"a gate tensor has {n} rows, not a multiple of 4")
    blocks = np.split(array, 4, axis=axis)
    return np.concatenate([blocks[k] for k in order], axis=axis)
