"""Batched forward and backward pass of a one-layer LSTM with a softmax head.

The equations are the engine's (:mod:`lstm_viewer.engine.cell`), written for
a batch of B sequences of equal length T so every step is a matrix product::

    z    = W_x·x⟨t⟩ + W_a·a⟨t−1⟩ + b          (blocks update, forget, candidate, output)
    Γ_u  = σ(z_u [+ p_u ⊙ c⟨t−1⟩])             variant nig: Γ_u := 1, cifg: Γ_u := 1 − Γ_f
    Γ_f  = σ(z_f [+ p_f ⊙ c⟨t−1⟩])             variant nfg: Γ_f := 1
    c̃    = tanh(z_c)
    c⟨t⟩ = Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃
    Γ_o  = σ(z_o [+ p_o ⊙ c⟨t⟩])               variant nog: Γ_o := 1
    a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩)
    ŷ⟨t⟩ = softmax(W_y·a⟨t⟩ + b_y)

Inputs are token ids; x⟨t⟩ is their one-hot vector, so W_x·x is a column
lookup. The loss is the weighted cross-entropy ``Σ w·(−log ŷ[target]) / Σ w``.
"""

from __future__ import annotations

import numpy as np

from ..engine.cell import sigmoid

#: Gate variants (Greff et al. 2017) and the engine interventions that run them.
VARIANTS = {
    "standard": [],
    "nig": ["update=1"],
    "nfg": ["forget=1"],
    "nog": ["output=1"],
    "cifg": ["coupled"],
}
#: Parameter names in a fixed order (the peephole only when present).
PARAM_NAMES = ("W_x", "W_a", "b", "peephole", "W_y", "b_y")


def check_variant(variant: str) -> str:
    """Return ``variant`` or raise ValueError listing the known ones."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant '{variant}'; known: {', '.join(VARIANTS)}")
    return variant


def init_params(n_in: int, hidden: int, n_out: int, rng: np.random.Generator,
                peephole: bool = False, dtype=np.float64) -> dict[str, np.ndarray]:
    """Small uniform weights, forget-gate bias 1 (Jozefowicz et al. 2015).

    A forget bias of 1 starts Γ_f near 0.73 so gradients flow through c over
    many steps from the first update on.
    """
    H = hidden
    s = 1.0 / np.sqrt(H)
    params = {
        "W_x": rng.uniform(-s, s, (4 * H, n_in)),
        "W_a": rng.uniform(-s, s, (4 * H, H)),
        "b": np.zeros(4 * H),
        "W_y": rng.uniform(-s, s, (n_out, H)),
        "b_y": np.zeros(n_out),
    }
    params["b"][H:2 * H] = 1.0
    if peephole:
        params["peephole"] = rng.uniform(-0.1, 0.1, (3, H))
    return {k: np.ascontiguousarray(v, dtype=dtype) for k, v in params.items()}


def forward(params: dict, ids: np.ndarray, variant: str = "standard", keep: bool = True):
    """Run a batch; return logits (T, B, n_y) and the cache for :func:`backward`.

    Parameters
    ----------
    params : dict
        See :func:`init_params`.
    ids : ndarray of int, shape (B, T)
    variant : str
        One of :data:`VARIANTS`.
    keep : bool
        Keep the per-step values needed by the backward pass.
    """
    W_x, W_a, b = params["W_x"], params["W_a"], params["b"]
    peep = params.get("peephole")
    dtype = W_a.dtype
    H = W_a.shape[1]
    B, T = ids.shape
    ids_t = np.ascontiguousarray(ids.T)
    # The one-hot product W_x·x is a lookup of W_x's columns.
    zx = W_x.T[ids_t] + b  # (T, B, 4H)
    W_aT = np.ascontiguousarray(W_a.T)
    gates = np.empty((T, B, 4, H), dtype)  # u, f, c̃, o as used
    cs = np.empty((T + 1, B, H), dtype)
    As = np.empty((T + 1, B, H), dtype)
    tcs = np.empty((T, B, H), dtype)
    cs[0] = 0.0
    As[0] = 0.0
    for t in range(T):
        z = zx[t] + As[t] @ W_aT
        zu, zf, zc, zo = z[:, :H], z[:, H:2 * H], z[:, 2 * H:3 * H], z[:, 3 * H:]
        c_prev = cs[t]
        if peep is not None:
            zu = zu + peep[0] * c_prev
            zf = zf + peep[1] * c_prev
        g = gates[t]
        g[:, 1] = 1.0 if variant == "nfg" else sigmoid(zf)
        if variant == "nig":
            g[:, 0] = 1.0
        elif variant == "cifg":
            g[:, 0] = 1.0 - g[:, 1]
        else:
            g[:, 0] = sigmoid(zu)
        g[:, 2] = np.tanh(zc)
        c = g[:, 1] * c_prev + g[:, 0] * g[:, 2]
        cs[t + 1] = c
        if peep is not None:
            zo = zo + peep[2] * c
        g[:, 3] = 1.0 if variant == "nog" else sigmoid(zo)
        tcs[t] = np.tanh(c)
        As[t + 1] = g[:, 3] * tcs[t]
    logits = As[1:] @ params["W_y"].T + params["b_y"]
    cache = dict(ids_t=ids_t, gates=gates, cs=cs, As=As, tcs=tcs, variant=variant) if keep else None
    return logits, cache


def softmax_xent(logits: np.ndarray, targets: np.ndarray, weights: np.ndarray):
    """Weighted mean cross-entropy and its gradient with respect to the logits.

    ``logits`` is (T, B, n_y); ``targets`` and ``weights`` are (B, T) as the
    tasks produce them.
    """
    tg = targets.T
    w = weights.T.astype(logits.dtype)
    total = float(w.sum())
    if total <= 0:
        raise ValueError("a batch with no weighted position has no loss")
    shifted = logits - logits.max(axis=2, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    picked = np.take_along_axis(logp, tg[:, :, None], axis=2)[:, :, 0]
    loss = float(-(picked * w).sum() / total)
    dlogits = np.exp(logp)
    np.put_along_axis(dlogits, tg[:, :, None],
                      np.take_along_axis(dlogits, tg[:, :, None], axis=2) - 1.0, axis=2)
    dlogits *= (w / total)[:, :, None]
    return loss, dlogits


def backward(params: dict, cache: dict, dlogits: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients of the loss for every parameter, by backpropagation through time."""
    W_a, W_y = params["W_a"], params["W_y"]
    peep = params.get("peephole")
    variant = cache["variant"]
    gates, cs, As, tcs, ids_t = cache["gates"], cache["cs"], cache["As"], cache["tcs"], cache["ids_t"]
    T, B, _, H = gates.shape
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    A = As[1:]
    grads["W_y"] = np.einsum("tbo,tbh->oh", dlogits, A)
    grads["b_y"] = dlogits.sum(axis=(0, 1))
    da_all = dlogits @ W_y  # (T, B, H): the head's share of dL/da⟨t⟩
    dz_all = np.empty((T, B, 4 * H), W_a.dtype)
    da_next = np.zeros((B, H), W_a.dtype)
    dc_next = np.zeros((B, H), W_a.dtype)
    if peep is not None:
        dpeep = np.zeros_like(peep)
    for t in range(T - 1, -1, -1):
        u, f, g, o = gates[t, :, 0], gates[t, :, 1], gates[t, :, 2], gates[t, :, 3]
        c, c_prev, tc = cs[t + 1], cs[t], tcs[t]
        da = da_all[t] + da_next
        dz = dz_all[t]
        dc = dc_next + da * o * (1.0 - tc * tc)
        if variant == "nog":
            dz[:, 3 * H:] = 0.0
        else:
            dzo = da * tc * o * (1.0 - o)
            dz[:, 3 * H:] = dzo
            if peep is not None:
                # The output gate peeks at the new c, so its error reaches c⟨t⟩.
                dpeep[2] += (dzo * c).sum(axis=0)
                dc = dc + dzo * peep[2]
        du = dc * g
        df = dc * c_prev
        dz[:, 2 * H:3 * H] = dc * u * (1.0 - g * g)
        if variant == "cifg":
            # Γ_u = 1 − Γ_f: the update gate's error flows into the forget gate.
            df = df - du
        if variant in ("nig", "cifg"):
            dz[:, :H] = 0.0
        else:
            dz[:, :H] = du * u * (1.0 - u)
        if variant == "nfg":
            dz[:, H:2 * H] = 0.0
        else:
            dz[:, H:2 * H] = df * f * (1.0 - f)
        dc_prev = dc * f
        if peep is not None:
            dzu, dzf = dz[:, :H], dz[:, H:2 * H]
            dpeep[0] += (dzu * c_prev).sum(axis=0)
            dpeep[1] += (dzf * c_prev).sum(axis=0)
            dc_prev = dc_prev + dzu * peep[0] + dzf * peep[1]
        da_next = dz @ W_a
        dc_next = dc_prev
    flat = dz_all.reshape(T * B, 4 * H)
    grads["W_a"] = flat.T @ As[:-1].reshape(T * B, H)
    grads["b"] = flat.sum(axis=0)
    # Scatter-add into the input columns the one-hot inputs selected.
    gx = np.zeros((params["W_x"].shape[1], 4 * H), W_a.dtype)
    np.add.at(gx, ids_t.reshape(-1), flat)
    grads["W_x"] = np.ascontiguousarray(gx.T)
    if peep is not None:
        grads["peephole"] = dpeep
    return grads


def loss_and_grads(params: dict, ids, targets, weights, variant: str = "standard"):
    """One forward and backward pass: ``(loss, grads)``."""
    logits, cache = forward(params, ids, variant)
    loss, dlogits = softmax_xent(logits, targets, weights)
    return loss, backward(params, cache, dlogits)


class Adam:
    """Adam (Kingma & Ba 2015) with global gradient-norm clipping.

    Clipping the norm of all gradients together keeps the direction of the
    step and stops the rare exploding BPTT gradient from wrecking the weights.
    """

    def __init__(self, params: dict, lr: float = 1e-2, clip: float = 1.0,
                 betas=(0.9, 0.999), eps: float = 1e-8):
        self.lr, self.clip, self.betas, self.eps = lr, clip, betas, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, params: dict, grads: dict, lr: float | None = None) -> float:
        """Update ``params`` in place; return the gradient norm before clipping."""
        norm = float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))
        scale = self.clip / norm if self.clip and norm > self.clip else 1.0
        self.t += 1
        b1, b2 = self.betas
        lr = self.lr if lr is None else lr
        step = lr * np.sqrt(1 - b2 ** self.t) / (1 - b1 ** self.t)
        for k, p in params.items():
            g = grads[k] * scale
            self.m[k] *= b1
            self.m[k] += (1 - b1) * g
            self.v[k] *= b2
            self.v[k] += (1 - b2) * g * g
            p -= step * self.m[k] / (np.sqrt(self.v[k]) + self.eps)
        return norm
