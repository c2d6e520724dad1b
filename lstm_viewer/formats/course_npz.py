"""The course's parameter dict saved with ``np.savez``.

Keys (Coursera "Building your Recurrent Neural Network - Step by Step"):

======  ==================  ===========================================
key     shape               canonical
======  ==================  ===========================================
``Wi``  (n_a, n_a + n_x)    update block of ``W_a`` (first n_a columns)
                            and ``W_x`` (last n_x) — W acts on [a⟨t−1⟩; x⟨t⟩]
``Wf``  (n_a, n_a + n_x)    forget block
``Wc``  (n_a, n_a + n_x)    candidate block
``Wo``  (n_a, n_a + n_x)    output block
``b*``  (n_a, 1) or (n_a,)  the matching bias block
``Wy``  (n_y, n_a)          ``head.W_y`` (optional, with ``by``)
``vocab`` unicode array     vocabulary (optional)
======  ==================  ===========================================

``Wu``/``bu`` are accepted for the update gate too. The file is read with
``allow_pickle=False``: an object array is refused, never unpickled.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from ..engine.model import CellWeights, Head, Layer, LSTMModel
from .common import finish, float_array, shape_text
from .errors import LoadError
from .pytorch_keys import looks_like_pytorch, model_from_state_dict

# Canonical gate order, each with the course's key letters (first found wins).
_GATES = (("update", ("i", "u")), ("forget", ("f",)), ("candidate", ("c",)), ("output", ("o",)))


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz``; object arrays refused by name."""
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as exc:
        raise LoadError(f"not a readable .npz file ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise LoadError("a single .npy array is not a weights file (expected an .npz of named arrays)")
    arrays = {}
    with npz:
        for name in npz.files:
            try:
                arrays[name] = npz[name]
            except ValueError as exc:
                if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
                    raise LoadError(
                        f"array '{name}' holds Python objects (pickled); refused — "
                        "save plain numeric arrays"
                    ) from None
                raise LoadError(f"array '{name}' cannot be read ({exc})") from None
            except (OSError, EOFError, zipfile.BadZipFile, NotImplementedError, zlib.error) as exc:
                raise LoadError(f"array '{name}' cannot be read ({exc})") from None
    return arrays


def _vocab(arrays) -> list[str] | None:
    v = arrays.get("vocab")
    if v is None:
        return None
    if v.dtype.kind != "U":
        raise LoadError(f"array 'vocab' has dtype {v.dtype}, expected strings")
    v = v.ravel()
    return list(v[0]) if v.size == 1 and len(v[0]) > 1 else [str(t) for t in v]


def _course_model(arrays: dict) -> LSTMModel:
    keys = {}
    for gate, letters in _GATES:
        for letter in letters:
            if f"W{letter}" in arrays:
                keys[gate] = (f"W{letter}", f"b{letter}")
                break
        else:
            raise LoadError(
                f"no weights for the {gate} gate: expected 'W{letters[0]}' (course keys Wf, bf, Wi, bi, "
                f"Wc, bc, Wo, bo, Wy, by); found {', '.join(sorted(arrays)) or 'no arrays'}"
            )
    w0 = float_array(keys["update"][0], arrays[keys["update"][0]])
    if w0.ndim != 2:
        raise LoadError(f"'{keys['update'][0]}' has shape {shape_text(w0.shape)}, expected (n_a, n_a + n_x)")
    n_a = w0.shape[0]
    n_x = w0.shape[1] - n_a
    if n_x < 1:
        raise LoadError(
            f"'{keys['update'][0]}' has shape {shape_text(w0.shape)}: it must have more columns than "
            "rows (it acts on [a_prev; x])"
        )
    W_blocks, b_blocks = [], []
    for gate, _ in _GATES:
        w_name, b_name = keys[gate]
        W = float_array(w_name, arrays[w_name])
        if W.shape != (n_a, n_a + n_x):
            raise LoadError(
                f"'{w_name}' has shape {shape_text(W.shape)} but '{keys['update'][0]}' has "
                f"{shape_text(w0.shape)}"
            )
        if b_name not in arrays:
            raise LoadError(f"'{b_name}' is missing (the bias of '{w_name}')")
        b = float_array(b_name, arrays[b_name])
        if b.shape not in ((n_a, 1), (n_a,)):
            raise LoadError(f"'{b_name}' has shape {shape_text(b.shape)}, expected ({n_a}, 1)")
        W_blocks.append(W)
        b_blocks.append(b.reshape(n_a))
    W = np.concatenate(W_blocks, axis=0)
    cell = CellWeights(W_x=np.ascontiguousarray(W[:, n_a:]), W_a=np.ascontiguousarray(W[:, :n_a]),
                       b=np.concatenate(b_blocks))
    name_map = {
        "layer0.W_x": " / ".join(f"{keys[g][0]}[:, {n_a}:]" for g, _ in _GATES),
        "layer0.W_a": " / ".join(f"{keys[g][0]}[:, :{n_a}]" for g, _ in _GATES),
        "layer0.b": " / ".join(keys[g][1] for g, _ in _GATES),
    }
    head = None
    if "Wy" in arrays:
        if "by" not in arrays:
            raise LoadError("'by' is missing (the bias of 'Wy')")
        W_y = float_array("Wy", arrays["Wy"])
        b_y = float_array("by", arrays["by"])
        if W_y.ndim != 2 or W_y.shape[1] != n_a:
            raise LoadError(f"'Wy' has shape {shape_text(W_y.shape)}, expected (n_y, {n_a})")
        if b_y.shape not in ((W_y.shape[0], 1), (W_y.shape[0],)):
            raise LoadError(f"'by' has shape {shape_text(b_y.shape)}, expected ({W_y.shape[0]}, 1)")
        head = Head(W_y, b_y.reshape(-1), "softmax")
        name_map["head.W_y"], name_map["head.b_y"] = "Wy", "by"
    return finish(LSTMModel(
        layers=[Layer([cell])], head=head, vocab=_vocab(arrays),
        source_format="course parameter dict (.npz)",
        gate_reordering="stacked Wi, Wf, Wc, Wo as update, forget, candidate, output; "
                        f"W split into [a_prev | x] columns at {n_a}",
        name_map=name_map,
    ))


def load(path: Path) -> LSTMModel:
    """Load a course parameter dict (or PyTorch-named arrays) from an ``.npz``."""
    arrays = read_arrays(path)
    if not any(k in arrays for k in ("Wf", "Wi", "Wu")) and looks_like_pytorch(arrays):
        return model_from_state_dict(arrays, "NumPy .npz (PyTorch names)", vocab=None)
    return _course_model(arrays)
