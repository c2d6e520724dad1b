"""The engine against hand-checkable values, its own reference step and PyTorch."""

import subprocess
import sys

import numpy as np
import pytest

from lstm_viewer.engine import (
    CellWeights,
    Head,
    InputError,
    Layer,
    LSTMModel,
    ModelError,
    TraceRun,
    lstm_step,
    run,
)


def random_model(rng, n_x=5, sizes=(7,), bidirectional=False, peephole=False, head=None, dtype=np.float32):
    layers, n_in = [], n_x
    for H in sizes:
        cells = []
        for reverse in ([False, True] if bidirectional else [False]):
            cells.append(CellWeights(
                rng.standard_normal((4 * H, n_in)).astype(dtype) * 0.5,
                rng.standard_normal((4 * H, H)).astype(dtype) * 0.5,
                rng.standard_normal(4 * H).astype(dtype) * 0.5,
                rng.standard_normal((3, H)).astype(dtype) * 0.5 if peephole else None,
                reverse))
        layers.append(Layer(cells))
        n_in = H * len(cells)
    h = None if head is None else Head(rng.standard_normal((head, n_in)).astype(dtype),
                                       rng.standard_normal(head).astype(dtype))
    return LSTMModel(layers, head=h).validate()


def test_one_unit_by_hand():
    # H = 1, n_x = 1: W_x = [1, 2, 3, 4], W_a = 0, b = 0, x = 1.
    cell = CellWeights(np.array([[1.0], [2.0], [3.0], [4.0]]), np.zeros((4, 1)), np.zeros(4))
    model = LSTMModel([Layer([cell])])
    tr = run(model, np.array([[1.0]]), dtype=np.float64)
    d = tr.layers[0][0]
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    assert d.update[0, 0] == pytest.approx(sig(1.0))
    assert d.forget[0, 0] == pytest.approx(sig(2.0))
    assert d.candidate[0, 0] == pytest.approx(np.tanh(3.0))
    assert d.output[0, 0] == pytest.approx(sig(4.0))
    c = sig(1.0) * np.tanh(3.0)  # c⟨0⟩ = 0, so only the write remains
    assert d.c[0, 0] == pytest.approx(c)
    assert d.a[0, 0] == pytest.approx(sig(4.0) * np.tanh(c))


def test_sequence_matches_reference_step(rng):
    for peephole in (False, True):
        model = random_model(rng, peephole=peephole)
        x = rng.standard_normal((9, 5))
        tr = run(model, x, dtype=np.float64)
        a, c = np.zeros(7), np.zeros(7)
        for t in range(9):
            ref = lstm_step(model.layers[0].cells[0], x[t], a, c)
            step = tr.layers[0][0].step(t)
            for name in ("update", "forget", "candidate", "output", "c", "a"):
                np.testing.assert_allclose(step[name], ref[name], atol=1e-6, err_msg=name)
            parts = tr.layers[0][0].preactivation("forget", t)
            H = 7
            np.testing.assert_allclose(parts["W_x·x"], ref["pre_x"][H:2 * H], atol=1e-6)
            np.testing.assert_allclose(parts["W_a·a"], ref["pre_a"][H:2 * H], atol=1e-6)
            a, c = ref["a"], ref["c"]


def test_chunked_run_equals_whole_run(rng):
    model = random_model(rng, sizes=(6, 4), bidirectional=True, head=3)
    x = rng.standard_normal((23, 5)).astype(np.float32)
    whole = run(model, x)
    progress = list(iter(chunked := TraceRun(model, x, chunk=4)))
    assert progress[-1] == pytest.approx(1.0) and len(progress) > 4
    np.testing.assert_array_equal(chunked.trace.y_hat, whole.y_hat)
    for k in range(2):
        for d in range(2):
            np.testing.assert_allclose(chunked.trace.layers[k][d].pre_a, whole.layers[k][d].pre_a, atol=1e-6)


def test_float64_on_request(rng):
    model = random_model(rng)
    assert run(model, rng.standard_normal((3, 5))).layers[0][0].c.dtype == np.float32
    assert run(model, rng.standard_normal((3, 5)), dtype=np.float64).layers[0][0].c.dtype == np.float64


def test_one_hot_and_initial_state(rng):
    model = random_model(rng)
    ids = np.array([0, 3, 4])
    tr = run(model, ids, dtype=np.float64, initial_state=[(np.full(7, 0.1), np.full(7, -0.2))])
    np.testing.assert_array_equal(tr.x0[1], [0, 0, 0, 1, 0])
    ref = lstm_step(model.layers[0].cells[0], tr.x0[0], np.full(7, 0.1), np.full(7, -0.2))
    np.testing.assert_allclose(tr.layers[0][0].c[0], ref["c"], atol=1e-6)


def test_softmax_head_sums_to_one(rng):
    model = random_model(rng, head=4)
    y = run(model, rng.standard_normal((5, 5))).y_hat
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("inputs, message", [
    (np.array([0, 9]), "token id 9 at position 1 is outside 0..4"),
    (np.zeros((3, 4)), "width 4 but the model takes 5"),
    (np.array([], dtype=int), "empty"),
    (np.zeros((2, 2, 2)), "1-D token ids or 2-D"),
    (np.array([0.5, 1.0]), "integer token ids"),
])
def test_bad_inputs_are_one_clear_line(rng, inputs, message):
    with pytest.raises(InputError, match=message):
        run(random_model(rng), inputs)


def test_nan_weight_is_named(rng):
    model = random_model(rng)
    model.layers[0].cells[0].W_a[3, 2] = np.nan
    with pytest.raises(ModelError, match="layer 0.W_a"):
        model.validate()


def test_inconsistent_shapes_are_named(rng):
    model = random_model(rng, sizes=(7, 4))
    model.layers[1].cells[0].W_x = model.layers[1].cells[0].W_x[:, :5]
    with pytest.raises(ModelError, match="layer 1: W_x takes 5 inputs but layer 0 gives 7"):
        model.validate()


def test_against_pytorch(rng):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    for bidirectional in (False, True):
        net = torch.nn.LSTM(5, 7, num_layers=2, bidirectional=bidirectional)
        sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
        layers = []
        for k in range(2):
            suffixes = ["", "_reverse"] if bidirectional else [""]
            layers.append(Layer([CellWeights(sd[f"weight_ih_l{k}{s}"], sd[f"weight_hh_l{k}{s}"],
                                             sd[f"bias_ih_l{k}{s}"] + sd[f"bias_hh_l{k}{s}"],
                                             reverse=bool(s)) for s in suffixes]))
        x = rng.standard_normal((30, 5)).astype(np.float32)
        expected, _ = net(torch.from_numpy(x))
        got = run(LSTMModel(layers).validate(), x).layer_output(1)
        np.testing.assert_allclose(got, expected.detach().numpy(), atol=1e-5)


def test_engine_imports_no_qt():
    code = ("import sys, lstm_viewer.engine, lstm_viewer.formats, lstm_viewer.app, lstm_viewer.cli;"
            "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'shiboken'))];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
