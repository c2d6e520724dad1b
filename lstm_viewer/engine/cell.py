r"""The LSTM cell in the notation of the seed question, one step at a time.

Notation
--------
x⟨t⟩        input at step t, shape (n_x,)
a⟨t−1⟩      previous hidden state, shape (H,)
c⟨t−1⟩      previous cell state, shape (H,)
Γ_f         forget gate   (PyTorch f, Keras f, ONNX f)
Γ_u         update gate   (PyTorch i, Keras i, ONNX i: the "input gate")
c̃           candidate     (PyTorch g, Keras c, ONNX c, TF1 j)
Γ_o         output gate   (PyTorch o, Keras o, ONNX o)
ŷ⟨t⟩        output of the head, when the model has one

Equations
---------
With z = W_x·x⟨t⟩ + W_a·a⟨t−1⟩ + b split into the blocks of
:data:`~lstm_viewer.engine.model.GATES`::

    Γ_u  = σ(z_u [+ p_u ⊙ c⟨t−1⟩])
    Γ_f  = σ(z_f [+ p_f ⊙ c⟨t−1⟩])
    c̃    = tanh(z_c)
    c⟨t⟩ = Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃
    Γ_o  = σ(z_o [+ p_o ⊙ c⟨t⟩])          # peephole sees the new c
    a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩)
    ŷ⟨t⟩ = softmax(W_y·a⟨t⟩ + b_y)

The bracketed peephole terms exist only in the peephole variant (Gers &
Schmidhuber 2000). This module is the readable reference; the fast runner in
:mod:`lstm_viewer.engine.trace` computes the same numbers for a whole
sequence and is tested against :func:`lstm_step`.
"""

from __future__ import annotations

import numpy as np

from .model import CellWeights


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function, written through tanh so that it never overflows."""
    return 0.5 * np.tanh(0.5 * z) + 0.5


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis``."""
    e = np.exp(z - np.max(z, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def lstm_step(cell: CellWeights, x: np.ndarray, a_prev: np.ndarray, c_prev: np.ndarray) -> dict:
    """Run one step of one cell, returning every intermediate by name.

    Parameters
    ----------
    cell : CellWeights
        Canonical weights (row blocks update, forget, candidate, output).
    x, a_prev, c_prev : ndarray
        x⟨t⟩, a⟨t−1⟩ and c⟨t−1⟩.

    Returns
    -------
    dict
        ``update, forget, candidate, output, c, a`` and the pre-activation
        parts ``pre_x`` (W_x·x), ``pre_a`` (W_a·a⟨t−1⟩), ``bias`` (4H each).
    """
    H = cell.hidden_size
    pre_x = cell.W_x @ x
    pre_a = cell.W_a @ a_prev
    z = pre_x + pre_a + cell.b
    z_u, z_f, z_c, z_o = (z[k * H:(k + 1) * H] for k in range(4))
    if cell.peephole is not None:
        p_u, p_f, p_o = cell.peephole
        z_u = z_u + p_u * c_prev
        z_f = z_f + p_f * c_prev
    update, forget, candidate = sigmoid(z_u), sigmoid(z_f), np.tanh(z_c)
    c = forget * c_prev + update * candidate
    if cell.peephole is not None:
        z_o = z_o + p_o * c
    output = sigmoid(z_o)
    a = output * np.tanh(c)
    return dict(update=update, forget=forget, candidate=candidate, output=output,
                c=c, a=a, pre_x=pre_x, pre_a=pre_a, bias=cell.b)
