"""The trainer's gradients against finite differences, and its forward pass against the engine."""

import numpy as np
import pytest

from lstm_viewer.engine import run
from lstm_viewer.training.network import VARIANTS, Adam, forward, init_params, loss_and_grads, softmax_xent
from lstm_viewer.training.tasks import get_task
from lstm_viewer.training.trainer import to_model


def _random_params(rng, peephole, n=5, H=3):
    params = init_params(n, H, n, rng, peephole=peephole, dtype=np.float64)
    for value in params.values():
        # Away from the initial values so every gate sits off its midpoint.
        value += rng.normal(0.0, 0.4, value.shape)
    return params


@pytest.mark.parametrize("peephole", [False, True], ids=["plain", "peephole"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_gradients_match_finite_differences(variant, peephole):
    rng = np.random.default_rng(7)
    params = _random_params(rng, peephole)
    ids = rng.integers(0, 5, (2, 5))
    targets = rng.integers(0, 5, (2, 5))
    weights = rng.random((2, 5))
    _, grads = loss_and_grads(params, ids, targets, weights, variant)
    eps = 1e-6
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for i in np.ndindex(value.shape):
            old = value[i]
            value[i] = old + eps
            up, _ = loss_and_grads(params, ids, targets, weights, variant)
            value[i] = old - eps
            down, _ = loss_and_grads(params, ids, targets, weights, variant)
            value[i] = old
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], numeric, atol=1e-8, rtol=1e-5,
                                   err_msg=f"{variant} {name}")


def test_removed_gate_gets_no_gradient():
    rng = np.random.default_rng(3)
    params = _random_params(rng, peephole=True)
    ids = rng.integers(0, 5, (2, 4))
    _, grads = loss_and_grads(params, ids, ids, np.ones((2, 4)), "nig")
    H = params["W_a"].shape[1]
    assert not grads["W_x"][:H].any() and not grads["b"][:H].any() and not grads["peephole"][0].any()
    assert grads["b"][H:].any()


@pytest.mark.parametrize("peephole", [False, True], ids=["plain", "peephole"])
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_engine_reproduces_trained_variant(variant, peephole):
    """A saved variant run by the engine with its card's interventions gives the trainer's logits."""
    rng = np.random.default_rng(11)
    task = get_task("latch")
    V = len(task.vocab)
    params = init_params(V, 4, V, rng, peephole=peephole, dtype=np.float64)
    for value in params.values():
        value += rng.normal(0.0, 0.5, value.shape)
    ids = rng.integers(0, V, (1, 25))
    logits, _ = forward(params, ids, variant)
    model = to_model(params, task, variant).astype(np.float64)
    assert model.card["variant"] == variant
    trace = run(model, ids[0], dtype=np.float64, interventions=model.card["interventions"])
    # to_model stores float32 weights; the difference is float32 rounding.
    np.testing.assert_allclose(trace.logits, logits[:, 0], atol=2e-5)
    if variant != "standard":
        block = {"nig": 0, "cifg": 0, "nfg": 1, "nog": 3}[variant]
        cell = model.layers[0].cells[0]
        assert not cell.W_x[block * 4:(block + 1) * 4].any() and not cell.b[block * 4:(block + 1) * 4].any()
        intact = run(model, ids[0], dtype=np.float64)
        assert not np.allclose(intact.logits, logits[:, 0], atol=1e-3)


def test_xent_ignores_zero_weight_positions():
    logits = np.zeros((3, 1, 4))
    targets = np.array([[0, 1, 2]])
    loss, d = softmax_xent(logits, targets, np.array([[1.0, 0.0, 1.0]]))
    assert loss == pytest.approx(np.log(4))
    assert not d[1].any() and d[0].any()


def test_adam_clips_the_global_norm():
    params = {"w": np.zeros(2)}
    opt = Adam(params, lr=0.1, clip=1.0)
    norm = opt.step(params, {"w": np.array([30.0, 40.0])})
    assert norm == pytest.approx(50.0)
    # Adam's first step moves each weight by lr in the gradient's direction.
    np.testing.assert_allclose(params["w"], [-0.1, -0.1], atol=1e-6)
