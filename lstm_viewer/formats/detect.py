"""Tell a weights file's format from its content (the suffix only breaks ties).

========================  ===========================================
format id                 recognised by
========================  ===========================================
``torch``                 zip with a ``*/data.pkl`` member; bare pickle
``keras``                 zip with ``config.json`` + ``model.weights.h5``
``npz``                   zip whose members are all ``*.npy``
``safetensors``           8-byte length N ≤ file size, then ``{``
``keras-h5``              HDF5 signature (at 0, 512, 1024 or 2048)
``onnx``                  protobuf starting with ir_version (tag 0x08)
========================  ===========================================
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from .errors import LoadError
from .keras_h5 import HDF5_SIGNATURE
from .onnx_format import looks_like_onnx
from .safetensors_format import looks_like_safetensors
from .torch_pickle import is_legacy_pickle

#: Format id → human name, as listed in messages and ``info``.
FORMAT_NAMES = {
    "torch": "PyTorch torch.save state_dict (.pt/.pth)",
    "safetensors": "safetensors (PyTorch names or lstm-viewer native)",
    "keras": "Keras 3 .keras",
    "keras-h5": "Keras .h5 / .weights.h5",
    "onnx": "ONNX with an LSTM node (.onnx)",
    "npz": "course parameter dict (.npz)",
}

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def known_formats_text() -> str:
    return "; ".join(FORMAT_NAMES.values())


def _zip_kind(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as exc:
        raise LoadError(f"a zip file that is truncated or damaged ({exc})") from None
    if any(n == "data.pkl" or n.endswith("/data.pkl") for n in names):
        return "torch"
    if "model.weights.h5" in names and "config.json" in names:
        return "keras"
    if names and all(n.endswith(".npy") for n in names):
        return "npz"
    shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    raise LoadError(f"a zip file that is not a weights file (members: {shown or 'none'}); "
                    f"known formats: {known_formats_text()}")


def check_file(path: Path) -> int:
    """The size of ``path``, or :class:`LoadError` for missing, directory or empty."""
    if not path.exists():
        raise LoadError("file does not exist")
    if path.is_dir():
        raise LoadError("is a directory, not a weights file")
    size = os.path.getsize(path)
    if size == 0:
        raise LoadError("file is empty")
    return size


def detect(path: Path) -> str:
    """The format id of the file at ``path`` (a key of :data:`FORMAT_NAMES`).

    Raises
    ------
    LoadError
        For a missing, empty or unreadable file, or one of no known format.
    """
    size = check_file(path)
    with open(path, "rb") as f:
        head = f.read(64)
        hdf5 = head.startswith(HDF5_SIGNATURE)
        for offset in (512, 1024, 2048):
            if hdf5 or size < offset + 8:
                break
            f.seek(offset)
            hdf5 = f.read(8) == HDF5_SIGNATURE
    if head[:4] in _ZIP_MAGIC:
        return _zip_kind(path)
    if hdf5:
        return "keras-h5"
    if looks_like_safetensors(head, size):
        return "safetensors"
    if is_legacy_pickle(head):
        return "torch"
    if head.startswith(b"\x93NUMPY"):
        raise LoadError("a single .npy array is not a weights file (expected an .npz of named arrays, "
                        "or another known format)")
    if looks_like_onnx(head) or (path.suffix.lower() == ".onnx" and head[:1] == b"\x08"):
        return "onnx"
    if path.suffix.lower() == ".safetensors" and size >= 8:
        claimed = int.from_bytes(head[:8], "little")
        raise LoadError(f"not a readable safetensors file: its header claims {claimed} bytes, "
                        f"the file has {size}")
    raise LoadError(f"unknown file format (first bytes {head[:8].hex()}); known formats: "
                    f"{known_formats_text()}")
