"""ONNX graphs with ``LSTM`` nodes, read with the ``onnx`` package only.

Each ``LSTM`` node is one layer (in graph order). Its inputs W [D, 4H, I],
R [D, 4H, H], B [D, 8H] = [Wb; Rb] and P [D, 3H] must be initializers or
``Constant`` nodes. ONNX stacks the gates as i, o, f, c; canonical blocks
are (update, forget, candidate, output) = ONNX blocks (0, 2, 3, 1), and the
peepholes (i, o, f) become (update, forget, output) = P rows (0, 2, 1).
Wb + Rb are summed. An embedding is a ``Gather`` of a constant (V, I)
feeding the first layer; the head is a ``MatMul``/``Gemm`` with a constant
weight of the last layer's width, its ``Add`` bias, and the activation of a
following ``Softmax``/``Sigmoid`` (when none follows, softmax is assumed
and the model says so: ``Head.activation_assumed``).

Refused with a clear message: non-default activations, ``clip``,
``input_forget``, ``layout = 1``, a non-zero constant initial state,
external data, weights computed by the graph.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engine.model import CellWeights, Head, Layer, LSTMModel
from .common import finish, float_array, shape_text
from .errors import LoadError

_ONNX_TO_CANONICAL = (0, 2, 3, 1)
_PEEPHOLE_TO_CANONICAL = (0, 2, 1)
_DEFAULT_ACTIVATIONS = ["sigmoid", "tanh", "tanh"]


def looks_like_onnx(head: bytes) -> bool:
    """True when ``head`` starts like an ONNX ModelProto (field 1, ir_version, a varint)."""
    if len(head) < 3 or head[0] != 0x08:
        return False
    i = 1
    while i < len(head) and head[i] & 0x80:
        i += 1
    # ir_version is small; the next field is producer_name, domain, graph, opset...
    return i < 4 and i + 1 < len(head) and head[i + 1] in (0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x52)


def _read_model(path: Path):
    try:
        import onnx
    except ImportError:
        raise LoadError("reading ONNX files needs the 'onnx' package (pip install onnx)") from None
    try:
        return onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # protobuf raises its own DecodeError types
        raise LoadError(f"not a readable ONNX model ({type(exc).__name__})") from None


def _constants(graph) -> dict[str, np.ndarray]:
    """Initializers and Constant-node tensors by output name."""
    from onnx import TensorProto, numpy_helper

    def array(tensor, name):
        if tensor.data_location == TensorProto.EXTERNAL:
            raise LoadError(f"tensor '{name}' is stored as external data, which is not supported")
        try:
            return numpy_helper.to_array(tensor)
        except Exception as exc:
            raise LoadError(f"tensor '{name}' cannot be decoded ({type(exc).__name__}: {exc})") from None

    values = {t.name: (lambda t=t: array(t, t.name)) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.output:
            for attr in node.attribute:
                if attr.name == "value" and attr.HasField("t"):
                    values[node.output[0]] = (lambda t=attr.t, n=node.output[0]: array(t, n))
    return values


def _attributes(node) -> dict:
    from onnx import helper

    out = {}
    for attr in node.attribute:
        value = helper.get_attribute_value(attr)
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        elif isinstance(value, list):
            value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
        out[attr.name] = value
    return out


def _layer(node, index: int, consts: dict, name_map: dict) -> Layer:
    """One LSTM node as a canonical layer, after checking attributes and shapes."""
    where = f"LSTM node '{node.name or index}'"
    attrs = _attributes(node)
    direction = attrs.get("direction", "forward")
    if direction not in ("forward", "reverse", "bidirectional"):
        raise LoadError(f"{where}: unknown direction '{direction}'")
    D = 2 if direction == "bidirectional" else 1
    acts = [a.lower() for a in attrs.get("activations", _DEFAULT_ACTIVATIONS * D)]
    if acts != _DEFAULT_ACTIVATIONS * D:
        raise LoadError(f"{where}: activations {attrs['activations']} are not supported "
                        "(only Sigmoid, Tanh, Tanh)")
    if "clip" in attrs:
        raise LoadError(f"{where}: cell clipping (clip={attrs['clip']}) is not supported")
    if attrs.get("input_forget", 0):
        raise LoadError(f"{where}: input_forget=1 (coupled input and forget gates) is not supported")
    if attrs.get("layout", 0):
        raise LoadError(f"{where}: layout=1 (batch-first) is not supported")

    inputs = list(node.input) + [""] * (8 - len(node.input))

    def const(slot: int, role: str, required: bool):
        name = inputs[slot]
        if not name:
            if required:
                raise LoadError(f"{where}: input {role} is missing")
            return None, None
        if name not in consts:
            raise LoadError(f"{where}: {role} '{name}' is computed by the graph, not stored; "
                            "only constant weights are supported")
        return name, float_array(name, consts[name]())

    W_name, W = const(1, "W", True)
    R_name, R = const(2, "R", True)
    B_name, B = const(3, "B", False)
    P_name, P = const(7, "P", False)
    if R.ndim != 3 or R.shape[0] != D or R.shape[1] != 4 * R.shape[2]:
        raise LoadError(f"{where}: R '{R_name}' has shape {shape_text(R.shape)}, expected ({D}, 4H, H)")
    H = R.shape[2]
    if attrs.get("hidden_size", H) != H:
        raise LoadError(f"{where}: hidden_size={attrs['hidden_size']} but R '{R_name}' has "
                        f"shape {shape_text(R.shape)}")
    if W.ndim != 3 or W.shape[:2] != (D, 4 * H):
        raise LoadError(f"{where}: W '{W_name}' has shape {shape_text(W.shape)}, expected ({D}, {4 * H}, I)")
    if B is not None and B.shape != (D, 8 * H):
        raise LoadError(f"{where}: B '{B_name}' has shape {shape_text(B.shape)}, expected ({D}, {8 * H})")
    if P is not None and P.shape != (D, 3 * H):
        raise LoadError(f"{where}: P '{P_name}' has shape {shape_text(P.shape)}, expected ({D}, {3 * H})")
    for slot, role in ((5, "initial_h"), (6, "initial_c")):
        if inputs[slot] in consts and np.any(consts[inputs[slot]]() != 0):
            raise LoadError(f"{where}: a non-zero constant {role} '{inputs[slot]}' is not supported")

    def blocks(a, order, n):
        return np.concatenate([a[k * n:(k + 1) * n] for k in order], axis=0)

    cells = []
    for d in range(D):
        reverse = direction == "reverse" or d == 1
        b = np.zeros(4 * H, W.dtype) if B is None else B[d, :4 * H] + B[d, 4 * H:]
        peep = None
        if P is not None:
            peep = blocks(P[d], _PEEPHOLE_TO_CANONICAL, H).reshape(3, H)
        cells.append(CellWeights(
            W_x=blocks(W[d], _ONNX_TO_CANONICAL, H), W_a=blocks(R[d], _ONNX_TO_CANONICAL, H),
            b=blocks(b, _ONNX_TO_CANONICAL, H), peephole=peep, reverse=reverse,
        ))
        canon = f"layer{index}{'_reverse' if reverse else ''}"
        name_map[f"{canon}.W_x"] = f"{W_name}[{d}]"
        name_map[f"{canon}.W_a"] = f"{R_name}[{d}]"
        name_map[f"{canon}.b"] = f"{B_name}[{d}] (Wb + Rb)" if B_name else "(no B: zeros)"
        if P_name:
            name_map[f"{canon}.peephole"] = f"{P_name}[{d}]"
    return Layer(cells)


def _consumers(graph, name: str):
    return [n for n in graph.node if name in n.input]


def _embedding(graph, consts, n_in):
    """The (V, n_in) constant gathered into the first LSTM's input, if any."""
    for node in graph.node:
        if node.op_type == "Gather" and node.input and node.input[0] in consts:
            value = consts[node.input[0]]()
            if value.ndim == 2 and value.shape[1] == n_in:
                return node.input[0], float_array(node.input[0], value)
    return None, None


def _head(graph, last_lstm_pos: int, consts, n_out):
    """(W_y name, W_y, b_y name, b_y, activation) of the layer after the last LSTM."""
    nodes = list(graph.node)[last_lstm_pos + 1:]
    for node in nodes:
        if node.op_type not in ("MatMul", "Gemm") or len(node.input) < 2:
            continue
        w_name = node.input[1]
        if w_name not in consts:
            continue
        W = consts[w_name]()
        attrs = _attributes(node)
        if node.op_type == "Gemm" and attrs.get("transB", 0):
            W = W.T if W.ndim == 2 else W
        if W.ndim != 2 or W.shape[0] != n_out:
            continue
        W_y = float_array(w_name, W).T
        b_name, b_y, out = None, None, node.output[0]
        if node.op_type == "Gemm" and len(node.input) > 2 and node.input[2] in consts:
            b_name = node.input[2]
        else:
            for user in _consumers(graph, out):
                if user.op_type == "Add":
                    other = [i for i in user.input if i != out]
                    if other and other[0] in consts:
                        b_name, out = other[0], user.output[0]
                        break
        if b_name is not None:
            b_y = float_array(b_name, consts[b_name]()).reshape(-1)
        else:
            b_y = np.zeros(W_y.shape[0], W_y.dtype)
        activation = None          # the graph may end at the product
        for user in _consumers(graph, out):
            if user.op_type == "Sigmoid":
                activation = "sigmoid"
            elif user.op_type in ("Softmax", "LogSoftmax"):
                activation = "softmax"
        return w_name, W_y, b_name, b_y, activation
    return None


def load(path: Path) -> LSTMModel:
    """Load the LSTM layers, embedding and head of an ONNX model."""
    model = _read_model(path)
    graph = model.graph
    consts = _constants(graph)
    positions = [i for i, n in enumerate(graph.node) if n.op_type == "LSTM"]
    if not positions:
        ops = sorted({n.op_type for n in graph.node})
        raise LoadError(f"the ONNX graph has no LSTM node (ops: {', '.join(ops[:12]) or 'none'})")
    name_map: dict[str, str] = {}
    layers = [_layer(graph.node[p], k, consts, name_map) for k, p in enumerate(positions)]
    emb_name, embedding = _embedding(graph, consts, layers[0].cells[0].input_size)
    if emb_name:
        name_map["embedding"] = emb_name
    head = None
    found = _head(graph, positions[-1], consts, layers[-1].output_size)
    if found:
        w_name, W_y, b_name, b_y, activation = found
        head = Head(np.ascontiguousarray(W_y), b_y, activation or "softmax",
                    activation_assumed=activation is None)
        name_map["head.W_y"] = f"{w_name} (transposed)"
        name_map["head.b_y"] = b_name or "(no bias: zeros)"
    reorder = "ONNX i,o,f,c -> i,f,c,o (blocks 0,2,3,1); Wb + Rb summed"
    if any(c.peephole is not None for layer in layers for c in layer.cells):
        reorder += "; peepholes i,o,f -> i,f,o (rows 0,2,1)"
    return finish(LSTMModel(
        layers=layers, embedding=embedding, head=head, source_format="ONNX",
        gate_reordering=reorder, name_map=name_map,
    ))
