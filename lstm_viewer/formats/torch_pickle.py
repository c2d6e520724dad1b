"""Read a ``torch.save`` zip file without torch and without running its code.

A ``torch.save`` file is a zip: ``<stem>/data.pkl`` is a pickle whose
tensors are ``torch._utils._rebuild_tensor_v2(storage, offset, size,
stride, ...)`` calls, each storage a persistent id ``('storage',
torch.FloatStorage, key, location, numel)`` whose bytes are the member
``<stem>/data/<key>``.

Unpickling can call any importable function, so :class:`_SafeUnpickler`
resolves only the names in :data:`ALLOWED` — to *our own* stand-ins, never
to the real objects — and refuses every other global by name. Nothing from
the file is imported or executed.

See :mod:`lstm_viewer.formats.pytorch_keys` for how the tensor names map
to the seed's gates.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..engine.model import LSTMModel
from .common import MAX_HEADER_BYTES, read_zip_member
from .errors import LoadError
from .pytorch_keys import model_from_state_dict

# Storage class name → element dtype (little-endian; byte order fixed later).
_STORAGE_DTYPES = {
    "FloatStorage": "f4", "DoubleStorage": "f8", "HalfStorage": "f2", "BFloat16Storage": "bf16",
    "LongStorage": "i8", "IntStorage": "i4", "ShortStorage": "i2", "CharStorage": "i1",
    "ByteStorage": "u1", "BoolStorage": "?",
}


class _StorageType:
    """Stand-in for ``torch.FloatStorage`` and friends: only carries a dtype."""

    def __init__(self, name: str):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]


class _Storage:
    """A storage named by the pickle; its bytes are read on first use."""

    def __init__(self, archive: _Archive, key: str, storage_type: _StorageType, numel: int):
        self.archive, self.key, self.type, self.numel = archive, key, storage_type, numel
        self._array = None

    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = self.archive.read_storage(self.key, self.type.dtype, self.numel)
        return self._array


class _Archive:
    """The zip members of one ``torch.save`` file."""

    def __init__(self, zf: zipfile.ZipFile, root: str, big_endian: bool):
        self.zf, self.root, self.big_endian = zf, root, big_endian

    def read_storage(self, key: str, dtype: str, numel: int) -> np.ndarray:
        member = f"{self.root}/data/{key}"
        try:
            info = self.zf.getinfo(member)
        except KeyError:
            raise LoadError(f"storage '{key}' named by the pickle is missing from the archive") from None
        itemsize = 2 if dtype == "bf16" else np.dtype(dtype).itemsize
        if info.file_size < numel * itemsize:
            raise LoadError(
                f"storage '{key}' claims {numel} elements but holds only {info.file_size} bytes"
            )
        raw = read_zip_member(self.zf, member)[: numel * itemsize]
        if dtype == "bf16":
            # bfloat16 is the top half of a float32.
            half = np.frombuffer(raw, (">" if self.big_endian else "<") + "u2").astype(np.uint32)
            return (half << 16).view(np.float32)
        order = ">" if self.big_endian else "<"
        return np.frombuffer(raw, np.dtype(dtype).newbyteorder(order)).astype(np.dtype(dtype).newbyteorder("="))


def _rebuild_tensor(storage, storage_offset, size, stride, *_ignored):
    """Our stand-in for ``torch._utils._rebuild_tensor_v2``: a NumPy copy."""
    if not isinstance(storage, _Storage):
        raise LoadError("a tensor in the pickle does not refer to a storage")
    try:
        size = tuple(int(s) for s in size)
        stride = tuple(int(s) for s in stride)
        offset = int(storage_offset)
    except (TypeError, ValueError):
        raise LoadError("a tensor in the pickle has a malformed size or stride") from None
    if len(size) != len(stride) or offset < 0 or any(s < 0 for s in size) or any(s < 0 for s in stride):
        raise LoadError(f"a tensor in the pickle has size {size} and stride {stride}")
    if 0 in size:
        return np.zeros(size, np.float32)
    # A state_dict tensor never has more elements than its storage (no broadcast views).
    if int(np.prod(size, dtype=object)) > storage.numel:
        raise LoadError(f"a tensor of size {size} has more elements than its storage '{storage.key}' "
                        f"({storage.numel})")
    # Check the tensor fits its storage before touching any bytes.
    last = offset + sum((n - 1) * st for n, st in zip(size, stride, strict=True))
    if last >= storage.numel:
        raise LoadError(
            f"a tensor of size {size} at offset {offset} reaches past its storage '{storage.key}' "
            f"of {storage.numel} elements"
        )
    data = storage.array()
    itemsize = data.itemsize
    view = np.lib.stride_tricks.as_strided(
        data[offset:], shape=size, strides=tuple(st * itemsize for st in stride), writeable=False
    )
    return np.array(view)


def _rebuild_parameter(data, *_ignored):
    return data


#: (module, name) → what the unpickler hands back. Nothing else resolves.
ALLOWED = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_tensor"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("collections", "OrderedDict"): OrderedDict,
    **{("torch", name): _StorageType(name) for name in _STORAGE_DTYPES},
}


class _SafeUnpickler(pickle.Unpickler):
    """Unpickler whose globals come only from :data:`ALLOWED`."""

    def __init__(self, data: bytes, archive: _Archive):
        super().__init__(io.BytesIO(data))
        self.archive = archive
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module, name):
        try:
            return ALLOWED[(module, name)]
        except (KeyError, TypeError):
            # A whole module (torch.save(model)) or TorchScript names its classes.
            hint = ("; save the weights with torch.save(model.state_dict(), path)"
                    if str(module).startswith(("__main__", "torch.nn", "__torch__")) else "")
            raise LoadError(
                f"the pickle asks for '{module}.{name}', which is not a tensor-rebuilding name; "
                f"refused (no code from the file was run){hint}"
            ) from None

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise LoadError(f"unsupported persistent id in the pickle: {str(pid)[:60]}")
        _, storage_type, key, _location, numel = pid
        key = str(key)
        if not isinstance(numel, int) or numel < 0:
            raise LoadError(f"storage '{key}' has an invalid element count")
        if key not in self.storages:
            self.storages[key] = _Storage(self.archive, key, storage_type, numel)
        return self.storages[key]


def _find_state_dict(obj):
    """The name → array mapping in a state_dict or a checkpoint dict holding one."""
    if isinstance(obj, dict):
        arrays = {k: v for k, v in obj.items() if isinstance(k, str) and isinstance(v, np.ndarray)}
        if arrays and len(arrays) >= len(obj) // 2:
            return arrays
        for key in ("state_dict", "model_state_dict", "model", "net", "weights"):
            if isinstance(obj.get(key), dict):
                return _find_state_dict(obj[key])
    raise LoadError("the pickle holds no state_dict of tensors (save model.state_dict(), not the model)")


def _find_vocab(obj):
    """A list of strings stored beside the weights under a usual key, if any."""
    if isinstance(obj, dict):
        for key in ("vocab", "chars", "itos", "vocabulary"):
            value = obj.get(key)
            if isinstance(value, (list, tuple)) and value and all(isinstance(t, str) for t in value):
                return list(value)
            if isinstance(value, str) and value:
                return list(value)
    return None


def read_state_dict(path: Path) -> tuple[dict, list | None]:
    """The tensors (name → ndarray) and any vocabulary in a ``torch.save`` zip."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LoadError(f"not a readable torch.save zip file ({exc})") from None
    with zf:
        pickles = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise LoadError("zip file has no data.pkl: not a torch.save file")
        member = pickles[0]
        root = member.rsplit("/", 1)[0] if "/" in member else ""
        big = False
        if f"{root}/byteorder" in zf.namelist():
            big = read_zip_member(zf, f"{root}/byteorder", 64).strip() == b"big"
        unpickler = _SafeUnpickler(read_zip_member(zf, member, MAX_HEADER_BYTES), _Archive(zf, root, big))
        try:
            obj = unpickler.load()
        except LoadError:
            raise
        except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError,
                IndexError, KeyError, struct.error, zipfile.BadZipFile, RecursionError) as exc:
            raise LoadError(f"data.pkl is not a valid pickle ({type(exc).__name__}: {exc})") from None
        return _find_state_dict(obj), _find_vocab(obj)


def is_legacy_pickle(head: bytes) -> bool:
    """True for a raw pickle (``torch.save`` before 1.6, or ``pickle.dump``)."""
    return len(head) >= 2 and head[0] == 0x80 and 2 <= head[1] <= 5


def load(path: Path) -> LSTMModel:
    """Load a ``torch.save`` state_dict (``.pt``/``.pth``) as an :class:`LSTMModel`."""
    with open(path, "rb") as f:
        head = f.read(2)
    if is_legacy_pickle(head):
        raise LoadError(
            "this is a bare pickle (torch.save before PyTorch 1.6, or pickle.dump), which is not "
            "read for safety; re-save it with a recent torch.save(model.state_dict(), ...)"
        )
    tensors, vocab = read_state_dict(path)
    model = model_from_state_dict(tensors, "PyTorch torch.save state_dict", vocab=vocab)
    return model
