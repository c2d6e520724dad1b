"""The training loop: Adam on BPTT gradients, reporting through a callback."""

from __future__ import annotations

import time

import numpy as np

from ..engine.blas import single_thread
from ..engine.model import CellWeights, Head, Layer, LSTMModel
from .network import VARIANTS, Adam, check_variant, init_params, loss_and_grads
from .tasks import get_task


def to_model(params: dict, task, variant: str = "standard", card: dict | None = None) -> LSTMModel:
    """Wrap trained parameters as an engine :class:`LSTMModel` (float32).

    The rows of a gate the variant removes are zeroed: they never received a
    gradient, and zeros make plain that the engine must run the model with
    ``card["interventions"]``.
    """
    H = params["W_a"].shape[1]
    W_x, W_a, b = (params[k].copy() for k in ("W_x", "W_a", "b"))
    # Variant -> (row block in GATES order, peephole row) of the gate it removes.
    removed = {"nig": (0, 0), "cifg": (0, 0), "nfg": (1, 1), "nog": (3, 2)}.get(variant)
    peep = params.get("peephole")
    peep = None if peep is None else peep.copy()
    if removed is not None:
        block, peep_row = removed
        rows = slice(block * H, (block + 1) * H)
        W_x[rows], W_a[rows], b[rows] = 0.0, 0.0, 0.0
        if peep is not None:
            peep[peep_row] = 0.0
    cell = CellWeights(W_x, W_a, b, peep)
    card = dict(card or {})
    card.update(task=task.name, variant=variant, interventions=list(VARIANTS[variant]))
    model = LSTMModel(layers=[Layer([cell])], head=Head(params["W_y"].copy(), params["b_y"].copy()),
                      vocab=list(task.vocab), source_format="lstm-viewer training (in memory)",
                      card=card, name=task.name)
    return model.astype(np.float32).validate()


def train(task, hidden_size: int | None = None, variant: str = "standard", peephole: bool | None = None,
          seed: int = 0, steps: int | None = None, batch_size: int | None = None,
          lr: float | None = None, clip: float = 1.0, callback=None, callback_every: int = 25,
          dtype=np.float32):
    """Train a one-layer LSTM on ``task`` from scratch; see the package docstring.

    Returns
    -------
    model : LSTMModel
        Float32 engine model; ``card`` holds task, variant, interventions,
        hidden size, seed, steps done and the final training loss.
    history : dict
        ``step``, ``loss`` (mean training loss since the previous report),
        ``stopped`` and ``seconds``.
    """
    task = get_task(task)
    check_variant(variant)
    H = hidden_size or task.hidden_size
    peephole = task.peephole if peephole is None else bool(peephole)
    steps = task.steps if steps is None else int(steps)
    batch_size = batch_size or task.batch_size
    lr = lr or task.lr
    rng = np.random.default_rng(seed)
    V = len(task.vocab)
    params = init_params(V, H, V, rng, peephole=peephole, dtype=dtype)
    opt = Adam(params, lr=lr, clip=clip)
    history = {"step": [], "loss": [], "stopped": False, "seconds": 0.0}
    start = time.perf_counter()
    window, norm, step = [], 0.0, 0
    with single_thread():
        for step in range(1, steps + 1):
            ids, targets, weights = task.train_batch(rng, batch_size)
            loss, grads = loss_and_grads(params, ids, targets, weights, variant)
            # Cosine decay to a tenth of the rate settles the weights at the end.
            rate = lr * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * (step - 1) / max(1, steps))))
            norm = opt.step(params, grads, lr=rate)
            window.append(loss)
            if step % callback_every == 0 or step == steps:
                mean = float(np.mean(window))
                window = []
                history["step"].append(step)
                history["loss"].append(mean)
                if callback is not None:
                    go = callback(step, mean, steps=steps, elapsed=time.perf_counter() - start,
                                  grad_norm=norm)
                    if go is False:
                        history["stopped"] = True
                        break
    history["seconds"] = time.perf_counter() - start
    card = {"hidden_size": H, "peephole": peephole, "seed": seed, "steps": step,
            "batch_size": batch_size, "lr": lr, "clip": clip,
            "final_train_loss": history["loss"][-1] if history["loss"] else None}
    return to_model(params, task, variant, card), history
