"""The model description every loader returns and the engine runs.

One canonical layout, whatever the source framework: per direction of a
layer, ``W_x`` (4H, n_in), ``W_a`` (4H, H) and one bias ``b`` (4H,), with the
four row blocks in the gate order of :data:`GATES` (PyTorch's i, f, g, o).
Peephole weights, when present, are ``(3, H)`` in the order of
:data:`PEEPHOLE_GATES`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Row-block order of ``W_x``, ``W_a`` and ``b`` (PyTorch: i, f, g, o).
GATES = ("update", "forget", "candidate", "output")
#: Row order of the peephole matrix.
PEEPHOLE_GATES = ("update", "forget", "output")
#: Head activations the engine knows.
HEAD_ACTIVATIONS = ("softmax", "sigmoid", "linear")


class ModelError(ValueError):
    """A model description that cannot be run (bad shapes, bad values)."""


def _check_finite(name: str, array: np.ndarray) -> None:
    if not np.all(np.isfinite(array)):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ModelError(f"tensor '{name}' holds {bad} NaN or Inf value(s)")


@dataclass
class CellWeights:
    """Weights of one direction of one LSTM layer.

    Parameters
    ----------
    W_x : ndarray, shape (4H, n_in)
        Input weights, row blocks in :data:`GATES` order.
    W_a : ndarray, shape (4H, H)
        Recurrent weights acting on a⟨t−1⟩.
    b : ndarray, shape (4H,)
        Bias (framework biases already summed).
    peephole : ndarray, shape (3, H), optional
        Diagonal peephole weights for update, forget, output; the output gate
        sees the new c⟨t⟩ (as ONNX and TF1 do).
    reverse : bool
        True for the backward direction of a bidirectional layer.
    """

    W_x: np.ndarray
    W_a: np.ndarray
    b: np.ndarray
    peephole: np.ndarray | None = None
    reverse: bool = False

    @property
    def hidden_size(self) -> int:
        return int(self.W_a.shape[1])

    @property
    def input_size(self) -> int:
        return int(self.W_x.shape[1])

    def validate(self, where: str) -> None:
        """Raise :class:`ModelError` naming the tensor whose shape or values are wrong."""
        if self.W_a.ndim != 2 or self.W_x.ndim != 2 or self.b.ndim != 1:
            raise ModelError(
                f"{where}: expected 2-D W_x, W_a and 1-D b, got shapes "
                f"{self.W_x.shape}, {self.W_a.shape}, {self.b.shape}"
            )
        H = self.W_a.shape[1]
        if self.W_a.shape != (4 * H, H):
            raise ModelError(f"{where}: W_a has shape {self.W_a.shape}, expected (4H, H)")
        if self.W_x.shape[0] != 4 * H:
            raise ModelError(
                f"{where}: W_x has shape {self.W_x.shape}, expected ({4 * H}, n_in) for H={H}"
            )
        if self.b.shape != (4 * H,):
            raise ModelError(f"{where}: b has shape {self.b.shape}, expected ({4 * H},)")
        if self.peephole is not None and self.peephole.shape != (3, H):
            raise ModelError(
                f"{where}: peephole has shape {self.peephole.shape}, expected (3, {H})"
            )
        for name in ("W_x", "W_a", "b", "peephole"):
            value = getattr(self, name)
            if value is not None:
                _check_finite(f"{where}.{name}", value)


@dataclass
class Layer:
    """One stacked layer: a forward cell and, if bidirectional, a reverse one."""

    cells: list[CellWeights]

    @property
    def bidirectional(self) -> bool:
        return len(self.cells) == 2

    @property
    def hidden_size(self) -> int:
        return self.cells[0].hidden_size

    @property
    def output_size(self) -> int:
        """Width of this layer's a as seen by the next layer or the head."""
        return sum(cell.hidden_size for cell in self.cells)


@dataclass
class Head:
    """Output layer ŷ = act(W_y a + b_y).

    ``activation_assumed`` is True when the file does not say what follows
    the layer (a PyTorch state_dict, a Keras ``.weights.h5``, an ONNX graph
    that ends at the product): softmax is then assumed, the seed's
    ŷ = softmax(W_y a + b_y), and the logits stay in the trace.
    """

    W_y: np.ndarray
    b_y: np.ndarray
    activation: str = "softmax"
    activation_assumed: bool = False


@dataclass
class LSTMModel:
    """Everything needed to run and describe a trained LSTM.

    Parameters
    ----------
    layers : list of Layer
        Stacked layers, bottom first; layer k's a is layer k+1's x.
    embedding : ndarray, shape (V, n_x), optional
        Token id → input vector. Without it, integer inputs are one-hot.
    head : Head, optional
        The output layer producing ŷ.
    vocab : list of str, optional
        Token strings by id (characters for a character model).
    source_format : str
        Human name of the file format the weights came from.
    gate_reordering : str
        What was done to reach the canonical gate order.
    card : dict
        Model card (task, data, command, seed, figures, what to look at).
    name_map : dict
        Canonical name → the framework's tensor name(s) it came from.
    unused : list of str
        Tensors in the file that the model does not use ("name (shape)").
    """

    layers: list[Layer]
    embedding: np.ndarray | None = None
    head: Head | None = None
    vocab: list[str] | None = None
    source_format: str = "in-memory"
    gate_reordering: str = "none"
    card: dict = field(default_factory=dict)
    name_map: dict = field(default_factory=dict)
    name: str = ""
    unused: list = field(default_factory=list)

    @property
    def input_size(self) -> int:
        return self.layers[0].cells[0].input_size

    @property
    def has_peepholes(self) -> bool:
        return any(cell.peephole is not None for layer in self.layers for cell in layer.cells)

    @property
    def output_size(self) -> int | None:
        return None if self.head is None else int(self.head.W_y.shape[0])

    @property
    def vocab_size(self) -> int | None:
        if self.embedding is not None:
            return int(self.embedding.shape[0])
        if self.vocab is not None:
            return len(self.vocab)
        return None

    def validate(self) -> LSTMModel:
        """Check every shape and value; raise :class:`ModelError` naming the culprit."""
        if not self.layers:
            raise ModelError("the model has no LSTM layer")
        expected_in = (
            int(self.embedding.shape[1]) if self.embedding is not None else self.input_size
        )
        if self.embedding is not None:
            if self.embedding.ndim != 2:
                raise ModelError(f"embedding has shape {self.embedding.shape}, expected (V, n_x)")
            _check_finite("embedding", self.embedding)
        for k, layer in enumerate(self.layers):
            if not 1 <= len(layer.cells) <= 2:
                raise ModelError(f"layer {k} has {len(layer.cells)} directions")
            for cell in layer.cells:
                where = f"layer {k}{' reverse' if cell.reverse else ''}"
                cell.validate(where)
                if cell.input_size != expected_in:
                    raise ModelError(
                        f"{where}: W_x takes {cell.input_size} inputs but "
                        f"{'the embedding' if k == 0 else f'layer {k - 1}'} gives {expected_in}"
                    )
            if layer.bidirectional and layer.cells[0].hidden_size != layer.cells[1].hidden_size:
                raise ModelError(f"layer {k}: the two directions have different hidden sizes")
            expected_in = layer.output_size
        if self.head is not None:
            W_y, b_y = self.head.W_y, self.head.b_y
            if W_y.ndim != 2 or W_y.shape[1] != expected_in:
                raise ModelError(
                    f"output layer W_y has shape {W_y.shape}, expected (n_y, {expected_in})"
                )
            if b_y.shape != (W_y.shape[0],):
                raise ModelError(f"output layer b_y has shape {b_y.shape}, expected ({W_y.shape[0]},)")
            if self.head.activation not in HEAD_ACTIVATIONS:
                raise ModelError(f"unknown output activation '{self.head.activation}'")
            _check_finite("W_y", W_y)
            _check_finite("b_y", b_y)
        if self.vocab is not None and self.vocab_size is not None:
            if len(self.vocab) != self.vocab_size:
                raise ModelError(
                    f"vocabulary has {len(self.vocab)} tokens but the embedding has {self.vocab_size} rows"
                )
        if self.vocab is not None and self.embedding is None and len(self.vocab) != self.input_size:
            raise ModelError(
                f"vocabulary has {len(self.vocab)} tokens but the one-hot input has {self.input_size}"
            )
        return self

    def astype(self, dtype) -> LSTMModel:
        """A copy with every array in ``dtype`` (float32 or float64)."""
        dtype = np.dtype(dtype)

        def cast(a):
            return None if a is None else np.ascontiguousarray(a, dtype=dtype)

        layers = [
            Layer([CellWeights(cast(c.W_x), cast(c.W_a), cast(c.b), cast(c.peephole), c.reverse)
                   for c in layer.cells])
            for layer in self.layers
        ]
        head = None if self.head is None else Head(cast(self.head.W_y), cast(self.head.b_y), self.head.activation)
        return LSTMModel(
            layers=layers, embedding=cast(self.embedding), head=head, vocab=self.vocab,
            source_format=self.source_format, gate_reordering=self.gate_reordering,
            card=self.card, name_map=self.name_map, name=self.name,
        )

    def encode(self, text: str) -> tuple[np.ndarray, list[int]]:
        """Token ids for ``text`` and the positions of characters not in the vocabulary.

        Unknown characters are dropped from the ids (never fatal); their
        positions in ``text`` are returned so a view can mark them.
        """
        if self.vocab is None:
            raise ModelError("this model has no vocabulary: give token ids or vectors instead of text")
        index = {tok: i for i, tok in enumerate(self.vocab)}
        ids, unknown = [], []
        for pos, ch in enumerate(text):
            if ch in index:
                ids.append(index[ch])
            else:
                unknown.append(pos)
        return np.asarray(ids, dtype=np.int64), unknown

    def summary(self) -> list[str]:
        """Human-readable lines: format, layers, sizes, embedding, head, peepholes."""
        lines = [f"format: {self.source_format}"]
        if self.name:
            lines.insert(0, f"model: {self.name}")
        if self.embedding is not None:
            lines.append(f"embedding: {self.embedding.shape[0]} tokens -> {self.embedding.shape[1]}")
        else:
            lines.append(f"input: vectors of {self.input_size} (token ids are one-hot)")
        for k, layer in enumerate(self.layers):
            kind = "bidirectional LSTM" if layer.bidirectional else "LSTM"
            peep = " with peepholes" if any(c.peephole is not None for c in layer.cells) else ""
            lines.append(
                f"layer {k}: {kind}{peep}, input {layer.cells[0].input_size}, hidden {layer.hidden_size}"
            )
        if self.head is not None:
            lines.append(
                f"output layer: {self.head.W_y.shape[1]} -> {self.head.W_y.shape[0]} ({self.head.activation}"
                + (", assumed: the file does not say)" if self.head.activation_assumed else ")")
            )
        else:
            lines.append("output layer: none")
        if self.vocab is not None:
            shown = "".join(self.vocab) if all(len(t) == 1 for t in self.vocab) else " ".join(self.vocab)
            shown = shown.encode("unicode_escape").decode("ascii")
            if len(shown) > 60:
                shown = shown[:57] + "..."
            lines.append(f"vocabulary: {len(self.vocab)} tokens: {shown}")
        else:
            lines.append("vocabulary: none")
        lines.append(f"peepholes: {'yes' if self.has_peepholes else 'no'}")
        lines.append(f"gate reordering: {self.gate_reordering}")
        if self.unused:
            lines.append(f"not used: {', '.join(self.unused)}")
        return lines
