"""Reading HDF5 (Keras) files in a child process with a time limit.

libhdf5 can loop forever on a damaged file: one random corruption in
about 900 of a small Keras ``.h5`` sent it spinning inside an attribute
read (its global heap), where no exception or signal reaches it and the
thread cannot be stopped. So the Keras loaders run in a child process:
it imports what it needs, reports ready, reads the file with the loaders
of :mod:`.keras_h5` and sends the model back as our native safetensors
bytes (plus the source description), never as a pickle. If it is not done
within :func:`time_limit` of being ready it is killed and the file is
refused in one line, and whatever the caller had loaded before stays.

The child costs ~0.3 s per Keras file (a Python start and the imports).
``LSTM_VIEWER_H5_IN_PROCESS=1`` reads in-process instead (debugging).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from ..engine.model import LSTMModel
from .errors import LoadError, failure_reason

IN_PROCESS_ENV = "LSTM_VIEWER_H5_IN_PROCESS"
# The child's start and imports: generous, this is not what can hang.
START_LIMIT = 60.0
_READY = b"R"
_OK = b"K"
_FAILED = b"E"
_LOADERS = ("keras", "keras-h5")


def time_limit(size: int) -> float:
    """Seconds a file of ``size`` bytes may take to read once the child is ready.

    A small Keras file reads in ~20 ms; the start (~0.25 s) comes on top,
    so a file that hangs libhdf5 is refused in under a second in all.
    """
    return 0.6 + size / 100e6


def _loader(fmt: str):
    from . import keras_h5

    return keras_h5.load_keras_zip if fmt == "keras" else keras_h5.load_h5


def _encode(model: LSTMModel) -> bytes:
    from safetensors.numpy import save

    from .native import to_tensors

    tensors, metadata = to_tensors(model, dtype=None)
    metadata["source_format"] = model.source_format
    metadata["gate_reordering"] = model.gate_reordering
    metadata["name_map"] = json.dumps(model.name_map)
    return save(tensors, metadata)


def _decode(data: bytes) -> LSTMModel:
    from safetensors.numpy import load

    from .native import from_tensors

    # safetensors.numpy.load returns the tensors only; the metadata is in
    # the JSON header: 8 bytes of length (little-endian), then the JSON.
    header_len = int.from_bytes(data[:8], "little")
    metadata = json.loads(data[8:8 + header_len]).get("__metadata__", {})
    model = from_tensors(load(data), metadata)
    model.source_format = metadata.get("source_format", model.source_format)
    model.gate_reordering = metadata.get("gate_reordering", model.gate_reordering)
    model.name_map = json.loads(metadata.get("name_map", "{}"))
    return model


def load_isolated(fmt: str, path: Path) -> LSTMModel:
    """Load a Keras file (``fmt`` "keras" or "keras-h5") in a child process.

    Raises
    ------
    LoadError
        What the loader said, or that the file took longer than
        :func:`time_limit` to read.
    """
    if fmt not in _LOADERS:
        raise ValueError(f"not an HDF5 format: {fmt}")
    if os.environ.get(IN_PROCESS_ENV, "") not in ("", "0"):
        return _loader(fmt)(path)
    root = str(Path(__file__).resolve().parents[2])
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen([sys.executable, "-m", __name__, fmt, str(path)],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    ready = threading.Event()
    chunks: list[bytes] = []

    def read_all() -> None:
        first = proc.stdout.read(1)
        chunks.append(first)
        ready.set()
        chunks.append(proc.stdout.read())

    reader = threading.Thread(target=read_all, name="lstm-viewer-h5-read", daemon=True)
    reader.start()
    try:
        limit = time_limit(os.path.getsize(path))
        if not ready.wait(START_LIMIT):
            raise LoadError("could not start the HDF5 reader process")
        reader.join(limit)
        if reader.is_alive():
            raise LoadError(f"the HDF5 library did not finish reading the file in {limit:.1f} s "
                            "(damaged file?)")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reader.join()
    data = b"".join(chunks)
    if data[:1] != _READY or len(data) < 2:
        raise LoadError(f"the HDF5 reader process failed (exit status {proc.returncode})")
    status, payload = data[1:2], data[2:]
    if status == _FAILED:
        raise LoadError(payload.decode("utf-8", "replace"))
    if status != _OK:
        raise LoadError("the HDF5 reader process sent nothing readable")
    return _decode(payload)


def _child(fmt: str, path: str) -> int:
    out = sys.stdout.buffer
    out.write(_READY)
    out.flush()
    try:
        payload = _OK + _encode(_loader(fmt)(Path(path)))
    except Exception as exc:  # one line for the parent, never a traceback
        payload = _FAILED + failure_reason(exc).encode("utf-8")
    out.write(payload)
    out.flush()
    return 0


if __name__ == "__main__":
    # Imports first (they are not what the time limit is for), then ready.
    import h5py  # noqa: F401
    import numpy  # noqa: F401

    from . import keras_h5  # noqa: F401

    sys.exit(_child(sys.argv[1], sys.argv[2]))
