"""Our native file: safetensors with canonical tensor names and a JSON card.

Tensors
-------
``embedding`` (V, n_x), optional
``layer{k}.W_x`` (4H, n_in), ``layer{k}.W_a`` (4H, H), ``layer{k}.b`` (4H,)
``layer{k}.peephole`` (3, H), optional
``layer{k}_reverse.*`` the backward direction of a bidirectional layer
``head.W_y`` (n_y, H), ``head.b_y`` (n_y,), optional

Row blocks are in :data:`lstm_viewer.engine.model.GATES` order. The
``__metadata__`` map (strings only) holds ``format = "lstm-viewer"``,
``version``, ``name``, ``vocab`` (a JSON list), ``card`` (a JSON object) and
``head_activation``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..engine.model import CellWeights, Head, Layer, LSTMModel, ModelError
from .errors import LoadError

FORMAT_TAG = "lstm-viewer"
VERSION = "1"


def to_tensors(model: LSTMModel, dtype=np.float32) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """The tensors and metadata strings that represent ``model`` on disk.

    ``dtype`` None keeps each tensor's own dtype.
    """
    tensors: dict[str, np.ndarray] = {}
    if model.embedding is not None:
        tensors["embedding"] = model.embedding
    for k, layer in enumerate(model.layers):
        for cell in layer.cells:
            prefix = f"layer{k}{'_reverse' if cell.reverse else ''}"
            tensors[f"{prefix}.W_x"] = cell.W_x
            tensors[f"{prefix}.W_a"] = cell.W_a
            tensors[f"{prefix}.b"] = cell.b
            if cell.peephole is not None:
                tensors[f"{prefix}.peephole"] = cell.peephole
    if model.head is not None:
        tensors["head.W_y"] = model.head.W_y
        tensors["head.b_y"] = model.head.b_y
    metadata = {
        "format": FORMAT_TAG,
        "version": VERSION,
        "name": model.name,
        "card": json.dumps(model.card),
        "head_activation": model.head.activation if model.head is not None else "",
    }
    if model.head is not None and model.head.activation_assumed:
        metadata["head_activation_assumed"] = "1"
    if model.vocab is not None:
        metadata["vocab"] = json.dumps(model.vocab)
    return {k: np.ascontiguousarray(v, dtype=dtype) for k, v in tensors.items()}, metadata


def save_native(model: LSTMModel, path: str | Path) -> Path:
    """Write ``model`` as a native lstm-viewer safetensors file."""
    from safetensors.numpy import save_file

    tensors, metadata = to_tensors(model.validate())
    path = Path(path)
    save_file(tensors, str(path), metadata=metadata)
    return path


def is_native(metadata: dict | None) -> bool:
    return bool(metadata) and metadata.get("format") == FORMAT_TAG


def from_tensors(tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> LSTMModel:
    """Build the model from a native file's tensors and metadata.

    Raises
    ------
    LoadError
        When a tensor is missing, metadata is not valid JSON, or the shapes
        and values do not make a runnable model.
    """

    def need(name: str) -> np.ndarray:
        if name not in tensors:
            raise LoadError(f"native file lacks tensor '{name}'")
        return tensors[name]

    try:
        vocab = json.loads(metadata["vocab"]) if metadata.get("vocab") else None
        card = json.loads(metadata.get("card") or "{}")
    except json.JSONDecodeError as exc:
        raise LoadError(f"native file metadata is not valid JSON ({exc.msg})") from None
    if vocab is not None and not (isinstance(vocab, list) and all(isinstance(t, str) for t in vocab)):
        raise LoadError("native file vocabulary must be a JSON list of strings")
    layers = []
    k = 0
    while f"layer{k}.W_x" in tensors:
        cells = []
        for prefix, reverse in ((f"layer{k}", False), (f"layer{k}_reverse", True)):
            if reverse and f"{prefix}.W_x" not in tensors:
                continue
            cells.append(CellWeights(need(f"{prefix}.W_x"), need(f"{prefix}.W_a"), need(f"{prefix}.b"),
                                     tensors.get(f"{prefix}.peephole"), reverse))
        layers.append(Layer(cells))
        k += 1
    if not layers:
        raise LoadError("native file holds no layer0.W_x: no LSTM layer")
    head = None
    if "head.W_y" in tensors:
        stored = metadata.get("head_activation")
        head = Head(need("head.W_y"), need("head.b_y"), stored or "softmax",
                    activation_assumed=not stored or metadata.get("head_activation_assumed") == "1")
    model = LSTMModel(
        layers=layers, embedding=tensors.get("embedding"), head=head, vocab=vocab,
        source_format="lstm-viewer native (safetensors)", gate_reordering="none (canonical order)",
        card=card if isinstance(card, dict) else {}, name=metadata.get("name", ""),
        name_map={name: name for name in tensors},
    )
    try:
        return model.validate()
    except ModelError as exc:
        raise LoadError(str(exc)) from None
