"""Build a model from PyTorch-style tensor names (a ``state_dict``).

Used by the ``torch.save`` reader and by safetensors files written from a
PyTorch module. Recognised names, after any module prefix (``lstm.``,
``module.rnn.`` ...):

==============================  =============================  ================
PyTorch name                    canonical name                 note
==============================  =============================  ================
``weight_ih_l{k}[_reverse]``    ``layer{k}[_reverse].W_x``     rows i, f, g, o
``weight_hh_l{k}[_reverse]``    ``layer{k}[_reverse].W_a``     rows i, f, g, o
``bias_ih_l{k}`` + ``bias_hh``  ``layer{k}[_reverse].b``       the two summed
``weight_ih`` ... (LSTMCell)    ``layer0.*``                   no ``_l`` suffix
``weight_hr_l{k}``              —                              refused (proj)
``<emb>.weight`` (V, n_in)      ``embedding``                  found by shape
``<fc>.weight``, ``<fc>.bias``  ``head.W_y``, ``head.b_y``     found by shape
==============================  =============================  ================

PyTorch's gate order i, f, g, o is the canonical order (update, forget,
candidate, output), so no block is moved.
"""

from __future__ import annotations

import re

import numpy as np

from ..engine.model import CellWeights, Head, Layer, LSTMModel
from .common import finish, float_array, shape_text
from .errors import LoadError

_LSTM_KEY = re.compile(
    r"^(?P<prefix>.*?)(?P<kind>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
    r"(?:_l(?P<layer>\d+))?(?P<rev>_reverse)?$"
)


def looks_like_pytorch(names) -> bool:
    """True when some name is an ``nn.LSTM``/``nn.LSTMCell`` weight."""
    return any(_LSTM_KEY.match(n) and "weight_ih" in n for n in names)


def _group_lstm_keys(tensors: dict) -> tuple[str, dict]:
    """The module prefix of the LSTM and its keys by (layer, reverse, kind)."""
    groups: dict[str, dict] = {}
    for name in tensors:
        m = _LSTM_KEY.match(name)
        if m:
            key = (int(m["layer"] or 0), bool(m["rev"]), m["kind"])
            groups.setdefault(m["prefix"], {})[key] = name
    groups = {p: g for p, g in groups.items() if any(k[2] == "weight_ih" for k in g)}
    if not groups:
        raise LoadError("no LSTM weights found (expected PyTorch names like 'weight_ih_l0')")
    if len(groups) > 1:
        shown = ", ".join(repr(p.rstrip(".") or "(root)") for p in groups)
        raise LoadError(f"the file holds several LSTM modules ({shown}); only one is supported")
    prefix, keys = next(iter(groups.items()))
    proj = [n for (_, _, kind), n in keys.items() if kind == "weight_hr"]
    if proj:
        raise LoadError(
            f"'{proj[0]}' is an LSTM projection (proj_size > 0), which the viewer does not support"
        )
    return prefix, keys


def _cell(tensors, keys, k: int, reverse: bool, name_map: dict) -> CellWeights:
    """One direction of layer k, with its shapes checked by framework name."""

    def name(kind):
        return keys.get((k, reverse, kind))

    w_ih, w_hh = name("weight_ih"), name("weight_hh")
    if w_hh is None:
        raise LoadError(f"'{w_ih}' has no matching recurrent weight 'weight_hh'")
    W_x = float_array(w_ih, tensors[w_ih])
    W_a = float_array(w_hh, tensors[w_hh])
    if W_a.ndim != 2 or W_a.shape[0] != 4 * W_a.shape[1]:
        gru = W_a.ndim == 2 and W_a.shape[0] == 3 * W_a.shape[1]
        raise LoadError(f"'{w_hh}' has shape {shape_text(W_a.shape)}, expected (4H, H)"
                        + (": 3 gate blocks, a GRU, not an LSTM" if gru else ""))
    H = W_a.shape[1]
    if W_x.ndim != 2 or W_x.shape[0] != 4 * H:
        raise LoadError(
            f"'{w_ih}' has shape {shape_text(W_x.shape)} but '{w_hh}' has "
            f"{shape_text(W_a.shape)}: expected ({4 * H}, n_in)"
        )
    b = np.zeros(4 * H, W_x.dtype)
    used = []
    for kind in ("bias_ih", "bias_hh"):
        n = name(kind)
        if n is None:
            continue
        part = float_array(n, tensors[n])
        if part.shape != (4 * H,):
            raise LoadError(f"'{n}' has shape {shape_text(part.shape)}, expected ({4 * H},) for H={H}")
        b = b + part
        used.append(n)
    canon = f"layer{k}{'_reverse' if reverse else ''}"
    name_map[f"{canon}.W_x"] = w_ih
    name_map[f"{canon}.W_a"] = w_hh
    name_map[f"{canon}.b"] = " + ".join(used) if used else "(no bias: zeros)"
    return CellWeights(W_x, W_a, b, None, reverse)


def _module_of(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else ""


def _find_embedding(tensors, order, lstm_names, n_in):
    """A bias-less 2-D ``*.weight`` of shape (V, n_in), preferring one before the LSTM."""
    first_lstm = min(order[n] for n in lstm_names)
    found = []
    for name, value in tensors.items():
        if name in lstm_names or not name.endswith("weight") or np.ndim(value) != 2:
            continue
        if np.shape(value)[1] != n_in or f"{_module_of(name)}.bias" in tensors:
            continue
        found.append((order[name] > first_lstm, "emb" not in name.lower(), order[name], name))
    return min(found)[-1] if found else None


def _find_head(tensors, order, lstm_names, n_out, skip):
    """A ``*.weight`` (n_y, n_out) with a ``*.bias`` (n_y,), preferring one after the LSTM."""
    last_lstm = max(order[n] for n in lstm_names)
    found = []
    for name, value in tensors.items():
        if name in lstm_names or name == skip or not name.endswith("weight") or np.ndim(value) != 2:
            continue
        if np.shape(value)[1] != n_out:
            continue
        bias = f"{_module_of(name)}.bias" if "." in name else "bias"
        if bias not in tensors or np.shape(tensors[bias]) != (np.shape(value)[0],):
            continue
        found.append((order[name] < last_lstm, order[name], name, bias))
    if not found:
        return None
    return min(found)[2:]


def model_from_state_dict(tensors: dict, source_format: str, vocab=None) -> LSTMModel:
    """An :class:`LSTMModel` from PyTorch state-dict names → arrays.

    Parameters
    ----------
    tensors : dict of str to ndarray
        In the file's order (the module definition order in a state_dict).
    source_format : str
        Human name recorded in the model.
    vocab : list of str, optional
        A vocabulary found beside the weights (checkpoint dicts sometimes hold one).

    Raises
    ------
    LoadError
        Naming the tensor whose shape or values do not fit.
    """
    prefix, keys = _group_lstm_keys(tensors)
    name_map: dict[str, str] = {}
    layers = []
    n_layers = 1 + max(k for k, _, _ in keys)
    for k in range(n_layers):
        if (k, False, "weight_ih") not in keys:
            raise LoadError(f"'{prefix}weight_ih_l{k}' is missing (the file has layer {n_layers - 1})")
        cells = [_cell(tensors, keys, k, False, name_map)]
        if (k, True, "weight_ih") in keys:
            cells.append(_cell(tensors, keys, k, True, name_map))
        layers.append(Layer(cells))
    for k in range(1, n_layers):
        n_in, given = layers[k].cells[0].input_size, layers[k - 1].output_size
        if n_in != given:
            raise LoadError(
                f"'{keys[(k, False, 'weight_ih')]}' takes {n_in} inputs but layer {k - 1} "
                f"gives {given} ('{keys[(k - 1, False, 'weight_hh')]}')"
            )
    order = {name: i for i, name in enumerate(tensors)}
    lstm_names = set(keys.values())
    embedding = None
    emb_name = _find_embedding(tensors, order, lstm_names, layers[0].cells[0].input_size)
    if emb_name is not None:
        embedding = float_array(emb_name, tensors[emb_name])
        name_map["embedding"] = emb_name
    head = None
    found = _find_head(tensors, order, lstm_names, layers[-1].output_size, emb_name)
    if found is not None:
        w_name, b_name = found
        # A state_dict holds no activation: softmax is assumed (and said so).
        head = Head(float_array(w_name, tensors[w_name]), float_array(b_name, tensors[b_name]),
                    "softmax", activation_assumed=True)
        name_map["head.W_y"], name_map["head.b_y"] = w_name, b_name
    used = lstm_names | {n for n in (emb_name, *(found or ())) if n is not None}
    unused = [n for n in tensors if n not in used and np.ndim(tensors[n]) >= 1]
    _refuse_layers_around(tensors, unused, head, found, layers[0].cells[0].input_size, emb_name)
    if vocab is not None and len(vocab) != (embedding.shape[0] if embedding is not None
                                            else layers[0].cells[0].input_size):
        vocab = None  # a list that does not fit the inputs is not this model's vocabulary
    return finish(LSTMModel(
        layers=layers, embedding=embedding, head=head, vocab=vocab,
        source_format=source_format,
        gate_reordering="none (PyTorch i,f,g,o is the canonical order); bias_ih + bias_hh summed",
        name_map=name_map, unused=[f"{n} {shape_text(np.shape(tensors[n]))}" for n in unused],
    ))


def _refuse_layers_around(tensors, unused, head, head_names, n_in, emb_name) -> None:
    """Refuse a Linear that takes the head's output, or one that feeds the LSTM.

    Either means the file computes something else than embedding → LSTM →
    head, and a trace would silently differ from it.
    """
    for name in unused:
        value = tensors[name]
        if not name.endswith("weight") or np.ndim(value) != 2:
            continue
        rows, cols = np.shape(value)
        if head is not None and cols == head.W_y.shape[0]:
            raise LoadError(f"'{name}' {shape_text(np.shape(value))} takes the output of the head "
                            f"'{head_names[0]}': a second layer after the LSTM is not supported")
        if emb_name is None and rows == n_in and f"{_module_of(name)}.bias" in tensors:
            raise LoadError(f"'{name}' {shape_text(np.shape(value))} feeds the LSTM's {n_in} inputs: "
                            "a layer before the LSTM is not supported (only an embedding)")
