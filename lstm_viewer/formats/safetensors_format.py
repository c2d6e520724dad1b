"""safetensors files: PyTorch-style keys, or our native lstm-viewer file.

The header is parsed and checked here rather than trusted to a library: an
8-byte little-endian length N, N bytes of JSON ``{name: {dtype, shape,
data_offsets}}`` (plus an optional ``__metadata__`` of strings), then the
data. Every tensor's byte range must lie inside the data section and
match dtype × shape *before* any array is made, so a hostile header cannot
make us allocate a claimed shape.

PyTorch-style names follow :mod:`lstm_viewer.formats.pytorch_keys`; native
names follow :mod:`lstm_viewer.formats.native`.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path

import numpy as np

from ..engine.model import LSTMModel
from .common import MAX_HEADER_BYTES
from .errors import LoadError
from .native import from_tensors, is_native
from .pytorch_keys import model_from_state_dict

#: safetensors dtype → NumPy dtype (``BF16`` is widened by hand).
DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?",
}


def looks_like_safetensors(head: bytes, size: int) -> bool:
    """True when ``head`` (the first bytes) starts a plausible safetensors header."""
    if len(head) < 9:
        return False
    (n,) = struct.unpack("<Q", head[:8])
    # A header longer than the file still counts: read_header then says it is truncated.
    return 2 <= n <= MAX_HEADER_BYTES and head[8:9] == b"{"


def read_header(f, size: int) -> tuple[int, dict, dict]:
    """Parse and check the header of an open safetensors file of ``size`` bytes.

    Returns
    -------
    data_start : int
        File offset of the data section.
    entries : dict
        Tensor name → (numpy dtype string, shape tuple, begin, end), in file order.
    metadata : dict
        The ``__metadata__`` strings (empty when absent).
    """
    head = f.read(8)
    if len(head) < 8:
        raise LoadError(f"file is {size} bytes, too short for a safetensors header")
    (n,) = struct.unpack("<Q", head)
    if n > size - 8:
        raise LoadError(f"safetensors header claims {n} bytes but the file has only {size - 8} after it")
    if n > MAX_HEADER_BYTES:
        raise LoadError(f"safetensors header claims {n} bytes, more than any real header")
    try:
        header = json.loads(f.read(n).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise LoadError(f"safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise LoadError("safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise LoadError("safetensors __metadata__ must map strings to strings")
    data_size = size - 8 - n
    entries = {}
    for name, spec in header.items():
        if not isinstance(spec, dict):
            raise LoadError(f"safetensors entry '{name}' is not an object")
        dtype, shape, offsets = spec.get("dtype"), spec.get("shape"), spec.get("data_offsets")
        if dtype not in DTYPES:
            raise LoadError(f"tensor '{name}' has unknown dtype {dtype!r}")
        if not (isinstance(shape, list) and all(isinstance(s, int) and s >= 0 for s in shape)):
            raise LoadError(f"tensor '{name}' has an invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2
                and all(isinstance(o, int) for o in offsets)):
            raise LoadError(f"tensor '{name}' has invalid data_offsets {offsets!r}")
        begin, end = offsets
        if not 0 <= begin <= end <= data_size:
            raise LoadError(
                f"tensor '{name}' data_offsets [{begin}, {end}] lie outside the {data_size}-byte data section"
            )
        expected = math.prod(shape) * np.dtype(DTYPES[dtype]).itemsize
        if end - begin != expected:
            raise LoadError(
                f"tensor '{name}' has {end - begin} bytes but dtype {dtype} and shape "
                f"{tuple(shape)} need {expected}"
            )
        entries[name] = (dtype, tuple(shape), begin, end)
    return 8 + n, entries, metadata


def read_tensors(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """All tensors (in file order) and the metadata of a checked safetensors file."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        start, entries, metadata = read_header(f, size)
        tensors = {}
        for name, (dtype, shape, begin, end) in sorted(entries.items(), key=lambda e: e[1][2]):
            f.seek(start + begin)
            raw = f.read(end - begin)
            arr = np.frombuffer(raw, DTYPES[dtype])
            if dtype == "BF16":
                arr = (arr.astype(np.uint32) << 16).view(np.float32)
            tensors[name] = arr.astype(arr.dtype.newbyteorder("=")).reshape(shape)
    # Keep the header's order: a state_dict's order locates embedding and head.
    return {name: tensors[name] for name in entries}, metadata


def load(path: Path) -> LSTMModel:
    """Load a native lstm-viewer file or a PyTorch-style safetensors file."""
    tensors, metadata = read_tensors(path)
    if is_native(metadata):
        return from_tensors(tensors, metadata)
    vocab = None
    if metadata.get("vocab"):
        try:
            vocab = json.loads(metadata["vocab"])
        except json.JSONDecodeError:
            vocab = None
        if not (isinstance(vocab, list) and all(isinstance(t, str) for t in vocab)):
            vocab = None
    return model_from_state_dict(tensors, "safetensors (PyTorch names)", vocab=vocab)
