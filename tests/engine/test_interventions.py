"""Each intervention against steps computed by hand or by a plain reference loop."""

import numpy as np
import pytest

from lstm_viewer.engine import CellWeights, Head, Layer, LSTMModel, ModelError, run
from lstm_viewer.engine.compare import compare, run_pair
from lstm_viewer.engine.interventions import Intervention, InterventionError, parse


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def one_unit_model():
    # H = 1, n_x = 1: W_x = [u 1, f 2, c̃ 3, o 4], W_a = 0, b = 0.
    cell = CellWeights(np.array([[1.0], [2.0], [3.0], [4.0]]), np.zeros((4, 1)), np.zeros(4))
    return LSTMModel([Layer([cell])]).validate()


def two_unit_model(rng, n_x=2, layers=1, head=None):
    cells = []
    n_in = n_x
    for _ in range(layers):
        cells.append(Layer([CellWeights(rng.standard_normal((8, n_in)), rng.standard_normal((8, 2)) * 0.7,
                                        rng.standard_normal(8) * 0.5)]))
        n_in = 2
    h = None if head is None else Head(rng.standard_normal((head, 2)), np.zeros(head))
    return LSTMModel(cells, head=h).validate()


# --- by hand, one unit, x = 1 --------------------------------------------------------------

def first_step(spec):
    d = run(one_unit_model(), np.array([[1.0]]), dtype=np.float64,
            interventions=[spec] if spec else []).layers[0][0]
    return {name: float(getattr(d, name)[0, 0]) for name in
            ("update", "forget", "candidate", "output", "c", "a", "write", "tanh_c")}


def test_intact_first_step_by_hand():
    s = first_step(None)
    assert s["c"] == pytest.approx(sig(1) * np.tanh(3))
    assert s["a"] == pytest.approx(sig(4) * np.tanh(sig(1) * np.tanh(3)))


def test_no_update_gate_by_hand():
    s = first_step("update=1")
    assert s["update"] == 1.0
    assert s["write"] == pytest.approx(np.tanh(3))
    assert s["c"] == pytest.approx(np.tanh(3))  # c⟨0⟩ = 0: c is the candidate itself
    assert s["a"] == pytest.approx(sig(4) * np.tanh(np.tanh(3)))


def test_no_output_gate_by_hand():
    s = first_step("output=1")
    assert s["output"] == 1.0
    assert s["a"] == pytest.approx(np.tanh(sig(1) * np.tanh(3)))


def test_coupled_by_hand():
    s = first_step("coupled")
    assert s["update"] == pytest.approx(1 - sig(2))
    assert s["c"] == pytest.approx((1 - sig(2)) * np.tanh(3))


def test_no_candidate_tanh_by_hand():
    s = first_step("no-candidate-tanh")
    assert s["candidate"] == pytest.approx(3.0)
    assert s["c"] == pytest.approx(sig(1) * 3.0)


def test_no_output_tanh_by_hand():
    s = first_step("no-output-tanh")
    c = sig(1) * np.tanh(3)
    assert s["tanh_c"] == pytest.approx(c)
    assert s["a"] == pytest.approx(sig(4) * c)


def test_candidate_clamp_by_hand():
    s = first_step("candidate=-0.25")
    assert s["c"] == pytest.approx(sig(1) * -0.25)


def test_freeze_by_hand():
    s = first_step("freeze")
    assert s["c"] == 0.0 and s["a"] == 0.0 and s["write"] == 0.0
    assert s["update"] == 0.0 and s["forget"] == 1.0


def test_second_step_no_forget_gate_by_hand():
    # W_a = 0, so step 1 sees the same gates; with Γ_f := 1 nothing is forgotten.
    d = run(one_unit_model(), np.array([[1.0], [1.0]]), dtype=np.float64,
            interventions=["forget=1"]).layers[0][0]
    w = sig(1) * np.tanh(3)
    assert d.c[0, 0] == pytest.approx(w)
    assert d.c[1, 0] == pytest.approx(2 * w)
    intact = run(one_unit_model(), np.array([[1.0], [1.0]]), dtype=np.float64).layers[0][0]
    assert intact.c[1, 0] == pytest.approx(sig(2) * w + w)


# --- a plain reference loop with recurrent weights, two units --------------------------------

def reference(cell, xs, gates=None, output=None, squash=np.tanh, candidate=np.tanh, freeze=()):
    """The cell written out step by step; the hooks say what each intervention does."""
    H = cell.hidden_size
    a, c = np.zeros(H), np.zeros(H)
    cs, as_ = [], []
    for x in xs:
        z = cell.W_x @ x + cell.W_a @ a + cell.b
        u, f, g, o = sig(z[:H]), sig(z[H:2 * H]), candidate(z[2 * H:3 * H]), sig(z[3 * H:])
        if gates:
            u, f, g = gates(u.copy(), f.copy(), g.copy())
        c_new = f * c + u * g
        if output:
            o = output(o.copy())
        a_new = o * squash(c_new)
        for k in freeze:
            c_new[k], a_new[k] = c[k], a[k]
        a, c = a_new, c_new
        cs.append(c)
        as_.append(a)
    return np.array(cs), np.array(as_)


def set_at(vec, units, value):
    vec[list(units)] = value
    return vec


CASES = {
    "update=1": dict(gates=lambda u, f, g: (np.ones_like(u), f, g)),
    "forget=1": dict(gates=lambda u, f, g: (u, np.ones_like(f), g)),
    "output=1": dict(output=np.ones_like),
    "coupled": dict(gates=lambda u, f, g: (1 - f, f, g)),
    "no-candidate-tanh": dict(candidate=lambda z: z),
    "no-output-tanh": dict(squash=lambda c: c),
    "candidate=0.3": dict(gates=lambda u, f, g: (u, f, np.full_like(g, 0.3))),
    "forget=0.5": dict(gates=lambda u, f, g: (u, np.full_like(f, 0.5), g)),
    "update=0.2@1": dict(gates=lambda u, f, g: (set_at(u, [1], 0.2), f, g)),
    "forget=0@0": dict(gates=lambda u, f, g: (u, set_at(f, [0], 0.0), g)),
    "output=0@1": dict(output=lambda o: set_at(o, [1], 0.0)),
    "freeze@1": dict(freeze=[1]),
    "no-candidate-tanh@0": dict(candidate=lambda z: np.concatenate([z[:1], np.tanh(z[1:])])),
    "no-output-tanh@1": dict(squash=lambda c: np.array([np.tanh(c[0]), c[1]])),
    "coupled@0": dict(gates=lambda u, f, g: (np.array([1 - f[0], u[1]]), f, g)),
}


@pytest.mark.parametrize("spec", list(CASES))
def test_against_reference_loop(rng, spec):
    model = two_unit_model(rng)
    xs = rng.standard_normal((6, 2))
    d = run(model, xs, dtype=np.float64, interventions=[spec]).layers[0][0]
    c_ref, a_ref = reference(model.layers[0].cells[0], xs, **CASES[spec])
    np.testing.assert_allclose(d.c, c_ref, atol=1e-12)
    np.testing.assert_allclose(d.a, a_ref, atol=1e-12)
    # Records stay consistent: the write is Γ_u ⊙ c̃ as used.
    np.testing.assert_allclose(d.write, d.update * d.candidate, atol=1e-12)


def test_combination_order_is_fixed(rng):
    # Coupling sees the forget gate as clamped, whatever order the specs come in.
    model = two_unit_model(rng)
    xs = rng.standard_normal((5, 2))
    one = run(model, xs, dtype=np.float64, interventions=["coupled", "forget=0.25"]).layers[0][0]
    two = run(model, xs, dtype=np.float64, interventions=["forget=0.25", "coupled"]).layers[0][0]
    np.testing.assert_array_equal(one.c, two.c)
    assert np.all(one.update == 0.75)


def test_unit_subset_leaves_other_units_alone_at_first_step(rng):
    model = two_unit_model(rng)
    xs = rng.standard_normal((4, 2))
    intact = run(model, xs, dtype=np.float64).layers[0][0]
    d = run(model, xs, dtype=np.float64, interventions=["update=0@1"]).layers[0][0]
    assert d.update[0, 0] == intact.update[0, 0]
    assert np.all(d.update[:, 1] == 0.0)
    assert d.c[0, 0] == intact.c[0, 0]
    assert not np.allclose(d.c[:, 1], intact.c[:, 1])


def test_layer_selection(rng):
    model = two_unit_model(rng, layers=2)
    xs = rng.standard_normal((5, 2))
    intact = run(model, xs, dtype=np.float64)
    hit = run(model, xs, dtype=np.float64, interventions=["forget=1#1"])
    np.testing.assert_array_equal(hit.layers[0][0].c, intact.layers[0][0].c)
    assert np.all(hit.layers[1][0].forget == 1.0)
    assert not np.allclose(hit.layers[1][0].c, intact.layers[1][0].c)
    both = run(model, xs, dtype=np.float64, interventions=["forget=1"])
    assert np.all(both.layers[0][0].forget == 1.0) and np.all(both.layers[1][0].forget == 1.0)
    with pytest.raises(ModelError, match="no layer 2"):
        run(model, xs, interventions=["forget=1#2"])


def test_no_intervention_gives_zero_divergence(rng):
    model = two_unit_model(rng, layers=2, head=3)
    ids = rng.integers(0, 2, 12)
    intact, same = run_pair(model, ids, [])
    result = compare(intact, same, targets=rng.integers(0, 3, 12))
    assert np.all(result.div_c == 0.0) and np.all(result.div_a == 0.0)
    assert result.first_divergence() is None
    assert result.intact.loss == result.intervened.loss
    assert result.intact.accuracy == result.intervened.accuracy


def test_intervened_trace_has_the_intact_form(rng):
    model = two_unit_model(rng, layers=2, head=3)
    ids = rng.integers(0, 2, 7)
    intact, hit = run_pair(model, ids, ["update=1", "no-output-tanh@0#1"])
    assert intact.to_arrays().keys() == hit.to_arrays().keys()
    for key, value in intact.to_arrays().items():
        assert hit.to_arrays()[key].shape == value.shape, key


@pytest.mark.parametrize("spec, message", [
    ("update=2", "a gate lies in [0, 1]"),
    ("bogus", "unknown intervention 'bogus'"),
    ("forget=x", "expected a number"),
    ("update=1@a", "bad unit list"),
    ("update=1@5-2", "bad unit list"),
    ("update=1#x", "bad layer"),
    ("update=1#-1", "layers count from 0"),
    ("update=1@1@2", "names units twice"),
    ("gamma=1", "cannot clamp 'gamma'"),
    ("candidate=nan", "must be finite"),
    ("", "unknown intervention"),
])
def test_bad_specs_give_one_line(spec, message):
    with pytest.raises(InterventionError) as info:
        parse(spec)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unit_out_of_range_is_one_line(rng):
    with pytest.raises(InterventionError, match="unit 5 does not exist in layer 0") as info:
        run(two_unit_model(rng), rng.standard_normal((3, 2)), interventions=["update=1@5"])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("spec", ["update=1", "forget=0.5@0,2#1", "coupled@1-3", "freeze#0",
                                  "no-candidate-tanh", "no-output-tanh@2", "candidate=-0.7",
                                  "no-peepholes@0-1#0"])
def test_spec_round_trip(spec):
    iv = parse(spec)
    assert parse(iv.spec) == iv


def test_aliases_and_suffix_order():
    assert parse("NIG") == parse("update=1")
    assert parse("cifg") == parse("coupled")
    assert parse("forget=1#1@0,2") == parse("forget=1@0,2#1")
    assert parse("Update=0.5").target == "update"
    assert "NIG" in parse("update=1").label and "units 1,2" in parse("coupled@1,2").label


def test_direct_construction_checks_values():
    with pytest.raises(InterventionError):
        Intervention("clamp", "forget", 1.5)
    with pytest.raises(InterventionError):
        Intervention("teleport")


# --- no peepholes (NP) ---------------------------------------------------------------------

def _peephole_model(rng, H=3, n_x=2):
    cell = CellWeights(rng.standard_normal((4 * H, n_x)), rng.standard_normal((4 * H, H)) * 0.5,
                       rng.standard_normal(4 * H) * 0.5, rng.standard_normal((3, H)))
    return LSTMModel([Layer([cell])]).validate()


def test_no_peepholes_is_the_model_with_zero_peephole_weights(rng):
    model = _peephole_model(rng)
    x = rng.standard_normal((30, 2))
    cell = model.layers[0].cells[0]
    zeroed = LSTMModel([Layer([CellWeights(cell.W_x, cell.W_a, cell.b, np.zeros_like(cell.peephole))])])
    got = run(model, x, dtype=np.float64, interventions=["no-peepholes"]).layers[0][0]
    want = run(zeroed.validate(), x, dtype=np.float64).layers[0][0]
    for name in ("update", "forget", "output", "candidate", "c", "a", "pre_c"):
        np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
    assert not np.any(got.pre_c)                       # the terms used were zeros
    intact = run(model, x, dtype=np.float64).layers[0][0]
    assert np.max(np.abs(intact.a - got.a)) > 1e-3      # and it changes the run


def test_no_peepholes_on_some_units_only(rng):
    model = _peephole_model(rng, H=3)
    x = rng.standard_normal((10, 2))
    d = run(model, x, dtype=np.float64, interventions=["np@1"]).layers[0][0]
    H = 3
    # Unit 1's peephole terms are zero in all three gates; units 0 and 2 keep theirs.
    assert not np.any(d.pre_c[:, [1, H + 1, 2 * H + 1]])
    assert np.all(d.pre_c[1:, [0, 2, H, H + 2]] != 0)


def test_no_peepholes_without_peepholes_changes_nothing(rng):
    model = two_unit_model(rng)
    x = rng.standard_normal((12, 2))
    got = run(model, x, dtype=np.float64, interventions=["no-peepholes"]).layers[0][0]
    want = run(model, x, dtype=np.float64).layers[0][0]
    # (An intervention takes the general loop: equal to rounding.)
    np.testing.assert_allclose(got.a, want.a, rtol=0, atol=1e-13)
    np.testing.assert_allclose(got.c, want.c, rtol=0, atol=1e-13)
