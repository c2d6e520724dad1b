"""The course's own seeded example, through the .npz loader and the engine."""

import numpy as np
import pytest

from lstm_viewer.engine import run
from lstm_viewer.formats import LoadError, load

# Published expected output of lstm_cell_forward (Coursera "Building your Recurrent
# Neural Network - Step by Step", np.random.seed(1)), as printed in the notebook.
A_NEXT_4 = [-0.66408471, 0.0036921, 0.02088357, 0.22834167, -0.85575339,
            0.00138482, 0.76566531, 0.34631421, -0.00215674, 0.43827275]
C_NEXT_2 = [0.63267805, 1.00570849, 0.35504474, 0.20690913, -1.64566718,
            0.11832942, 0.76449811, -0.0981561, -0.74348425, -0.26810932]
YT_1 = [0.79913913, 0.15986619, 0.22412122, 0.15606108, 0.97057211,
        0.31146381, 0.00943007, 0.12666353, 0.39380172, 0.07828381]


def course_draw():
    """The notebook's draws, in its order: xt, a_prev, c_prev, then the parameters."""
    np.random.seed(1)
    xt = np.random.randn(3, 10)
    a_prev = np.random.randn(5, 10)
    c_prev = np.random.randn(5, 10)
    params = {}
    for name, shape in (("Wf", (5, 8)), ("bf", (5, 1)), ("Wi", (5, 8)), ("bi", (5, 1)),
                        ("Wo", (5, 8)), ("bo", (5, 1)), ("Wc", (5, 8)), ("bc", (5, 1)),
                        ("Wy", (2, 5)), ("by", (2, 1))):
        params[name] = np.random.randn(*shape)
    return xt, a_prev, c_prev, params


def course_cell(xt, a_prev, c_prev, p):
    """The course equations written out directly: W acts on [a_prev; x]."""
    def sigmoid(z):
        return 1 / (1 + np.exp(-z))

    concat = np.concatenate([a_prev, xt], axis=0)
    ft = sigmoid(p["Wf"] @ concat + p["bf"])
    it = sigmoid(p["Wi"] @ concat + p["bi"])
    cct = np.tanh(p["Wc"] @ concat + p["bc"])
    c_next = ft * c_prev + it * cct
    ot = sigmoid(p["Wo"] @ concat + p["bo"])
    a_next = ot * np.tanh(c_next)
    z = p["Wy"] @ a_next + p["by"]
    yt = np.exp(z - z.max(axis=0)) / np.exp(z - z.max(axis=0)).sum(axis=0)
    return a_next, c_next, yt


def test_direct_implementation_reproduces_published_values():
    a, c, y = course_cell(*course_draw())
    np.testing.assert_allclose(a[4], A_NEXT_4, atol=1e-8)
    np.testing.assert_allclose(c[2], C_NEXT_2, atol=1e-8)
    np.testing.assert_allclose(y[1], YT_1, atol=1e-8)


@pytest.fixture
def course_file(tmp_path):
    xt, a_prev, c_prev, params = course_draw()
    path = tmp_path / "course.npz"
    np.savez(path, **params)
    return path, xt, a_prev, c_prev


def test_npz_loader_and_engine_give_published_values(course_file):
    path, xt, a_prev, c_prev = course_file
    model = load(path)
    assert model.source_format.startswith("course")
    assert model.input_size == 3 and model.layers[0].hidden_size == 5 and model.output_size == 2
    a = np.empty((5, 10))
    c = np.empty((5, 10))
    y = np.empty((2, 10))
    # The notebook's 10 columns are 10 independent examples: one step each.
    for m in range(10):
        trace = run(model, xt[:, m][None, :], dtype=np.float64,
                    initial_state=[(a_prev[:, m], c_prev[:, m])])
        a[:, m] = trace.layers[0][0].a[0]
        c[:, m] = trace.layers[0][0].c[0]
        y[:, m] = trace.y_hat[0]
    np.testing.assert_allclose(a[4], A_NEXT_4, atol=1e-8)
    np.testing.assert_allclose(c[2], C_NEXT_2, atol=1e-8)
    np.testing.assert_allclose(y[1], YT_1, atol=1e-8)


def test_npz_sequence_matches_direct_course_equations(course_file, rng):
    path, *_ = course_file
    _, _, _, params = course_draw()
    model = load(path)
    x = rng.standard_normal((6, 3))
    trace = run(model, x, dtype=np.float64)
    a = np.zeros((5, 1))
    c = np.zeros((5, 1))
    for t in range(6):
        a, c, y = course_cell(x[t][:, None], a, c, params)
        np.testing.assert_allclose(trace.layers[0][0].a[t], a[:, 0], atol=1e-12)
        np.testing.assert_allclose(trace.y_hat[t], y[:, 0], atol=1e-12)


def test_npz_split_of_concat_is_a_first(tmp_path):
    # Columns 0..n_a-1 of each W act on a_prev: put a marker only there.
    n_a, n_x = 2, 3
    params = {f"W{g}": np.zeros((n_a, n_a + n_x)) for g in "fioc"}
    params.update({f"b{g}": np.zeros((n_a, 1)) for g in "fioc"})
    params["Wf"][:, :n_a] = 7.0
    np.savez(tmp_path / "p.npz", **params)
    cell = load(tmp_path / "p.npz").layers[0].cells[0]
    assert np.all(cell.W_a[n_a:2 * n_a] == 7.0)      # forget block of W_a
    assert np.all(cell.W_x == 0.0)


def test_npz_with_wrong_bias_shape_names_it(tmp_path):
    _, _, _, params = course_draw()
    params["bo"] = np.zeros((4, 1))
    np.savez(tmp_path / "p.npz", **params)
    with pytest.raises(LoadError, match=r"'bo' has shape \(4, 1\), expected \(5, 1\)"):
        load(tmp_path / "p.npz")
