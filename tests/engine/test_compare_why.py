"""compare (intact vs intervened) and why_update (the write taken apart)."""

import numpy as np
import pytest

from lstm_viewer.engine import CellWeights, Head, Layer, LSTMModel, run
from lstm_viewer.engine.compare import compare, run_pair, score
from lstm_viewer.engine.why_update import analyse


def model_with_head(rng, H=3, n_x=4, n_y=4, layers=1):
    cells, n_in = [], n_x
    for _ in range(layers):
        cells.append(Layer([CellWeights(rng.standard_normal((4 * H, n_in)), rng.standard_normal((4 * H, H)),
                                        rng.standard_normal(4 * H))]))
        n_in = H
    return LSTMModel(cells, head=Head(rng.standard_normal((n_y, H)), rng.standard_normal(n_y))).validate()


def test_divergence_is_the_norm_of_the_state_difference(rng):
    model = model_with_head(rng, layers=2)
    ids = rng.integers(0, 4, 10)
    intact, hit = run_pair(model, ids, ["update=1#1"], dtype=np.float64)
    result = compare(intact, hit)
    expected = np.linalg.norm(intact.layers[1][0].c - hit.layers[1][0].c, axis=1)
    # Layer 0 is untouched, so all layers together equal layer 1 alone.
    np.testing.assert_allclose(result.div_c, expected)
    np.testing.assert_allclose(result.div_c_layers[0], 0.0)
    np.testing.assert_allclose(compare(intact, hit, layer=1).div_a,
                               np.linalg.norm(intact.layers[1][0].a - hit.layers[1][0].a, axis=1))
    assert result.first_divergence() == 0
    assert result.interventions == ["update=1#1"]


def test_score_by_hand(rng):
    model = model_with_head(rng)
    ids = rng.integers(0, 4, 6)
    trace = run(model, ids, dtype=np.float64)
    targets = np.array([-1, 2, 0, -1, 3, 1])
    s = score(trace, targets)
    rows = [1, 2, 4, 5]
    p = trace.y_hat[rows, targets[rows]]
    np.testing.assert_allclose(s.p_correct[rows], p)
    assert np.isnan(s.p_correct[0]) and np.isnan(s.p_correct[3])
    assert s.loss == pytest.approx(-np.mean(np.log(p)))
    right = trace.y_hat[rows].argmax(axis=1) == targets[rows]
    assert s.accuracy == pytest.approx(right.mean())
    assert s.sequence_correct == bool(right.all()) and s.n_scored == 4


def test_score_rejects_wrong_targets(rng):
    trace = run(model_with_head(rng), rng.integers(0, 4, 5))
    with pytest.raises(ValueError, match="expected \\(5,\\)"):
        score(trace, [0, 1])
    with pytest.raises(ValueError, match="outside 0..3"):
        score(trace, [0, 1, 9, 0, 0])


def test_compare_rejects_runs_that_do_not_match(rng):
    model = model_with_head(rng)
    with pytest.raises(ValueError, match="different lengths"):
        compare(run(model, [0, 1, 2]), run(model, [0, 1]))


def test_summary_reports_the_numbers(rng):
    model = model_with_head(rng)
    ids = rng.integers(0, 4, 20)
    intact, hit = run_pair(model, ids, ["forget=0"])
    result = compare(intact, hit, targets=rng.integers(0, 4, 20))
    text = "\n".join(result.summary_lines())
    assert "forget=0" in text and f"{result.intervened.loss:.4f}" in text


def gate_or_candidate_model(switch_with_gate):
    """One unit that must write on token 1 only, switched off by the gate or by c̃.

    Token 0 silences the write; token 1 writes ≈ 0.96.
    """
    W_x = np.zeros((4, 2))
    if switch_with_gate:
        W_x[0] = [-8.0, 8.0]   # Γ_u: shut on 0, open on 1
        W_x[2] = [2.0, 2.0]    # c̃ always ≈ 0.96
    else:
        W_x[0] = [8.0, 8.0]    # Γ_u always open
        W_x[2] = [0.0, 2.0]    # c̃ = tanh(0) = 0 on token 0
    W_x[1] = [8.0, 8.0]
    W_x[3] = [8.0, 8.0]
    cell = CellWeights(W_x, np.zeros((4, 1)), np.zeros(4))
    return LSTMModel([Layer([cell])]).validate()


def test_why_update_counts_and_text_follow_the_numbers():
    ids = np.array([0, 0, 0, 1, 0, 0, 1, 0, 0, 0])
    by_gate = analyse(run(gate_or_candidate_model(True), ids), 0, 0)
    assert by_gate.frac_gate_closed == pytest.approx(0.8)
    assert by_gate.frac_candidate_zero == 0.0
    assert by_gate.write_off_causes()["gate"] == pytest.approx(0.8)
    assert by_gate.r2_gate > 0.99
    text = by_gate.explanation()
    assert "closed on 80% of steps" in text and "near zero on 0%" in text
    assert "the gate, not W_c and b_c, decides" in text

    by_cand = analyse(run(gate_or_candidate_model(False), ids), 0, 0)
    assert by_cand.frac_gate_closed == 0.0
    assert by_cand.frac_candidate_zero == pytest.approx(0.8)
    assert by_cand.write_off_causes()["candidate"] == pytest.approx(0.8)
    text2 = by_cand.explanation()
    assert "closed on 0% of steps" in text2 and "near zero on 80%" in text2
    assert "candidate itself is switched off" in text2
    assert text != text2
    # Both mention the thresholds they were computed with.
    assert "-2.94" in text and "0.050" in text


def test_why_update_with_the_gate_removed(rng):
    model = model_with_head(rng)
    ids = rng.integers(0, 4, 15)
    result = analyse(run(model, ids, interventions=["update=1@1"]), 0, 1)
    assert np.all(result.update == 1.0)
    assert result.gate_fixed == "update=1@1"
    assert "fixed here (update=1@1)" in result.explanation()
    shut = analyse(run(model, ids, interventions=["update=0"]), 0, 2)
    assert "held shut" in shut.explanation()
    # Another unit is not affected by a clamp on unit 1.
    assert analyse(run(model, ids, interventions=["update=1@1"]), 0, 0).gate_fixed is None


def test_why_update_preactivations_match_the_trace(rng):
    model = model_with_head(rng)
    trace = run(model, rng.integers(0, 4, 8), dtype=np.float64)
    result = analyse(trace, 0, 2)
    for t in range(8):
        d = trace.layers[0][0]
        assert result.z_update[t] == pytest.approx(d.preactivation("update", t)["total"][2])
        assert result.z_candidate[t] == pytest.approx(d.preactivation("candidate", t)["total"][2])
    np.testing.assert_allclose(result.candidate, np.tanh(result.z_candidate), atol=1e-12)
    np.testing.assert_allclose(result.write, result.update * result.candidate, atol=1e-12)


def test_why_update_bad_arguments(rng):
    trace = run(model_with_head(rng), [0, 1])
    with pytest.raises(ValueError, match="no unit 3"):
        analyse(trace, 0, 3)
    with pytest.raises(ValueError, match="no layer 1"):
        analyse(trace, 1, 0)
    with pytest.raises(ValueError, match="eps"):
        analyse(trace, 0, 0, eps=0.7)


# --- ranking units: where does the gate do the switching? -------------------------------------

def two_unit_model():
    """Unit 0 is shut by its gate on token 0; unit 1 by its candidate (as gate_or_candidate_model)."""
    W_x = np.zeros((8, 2))
    # Blocks in the canonical order update, forget, candidate, output; units 0 and 1 in each.
    W_x[0] = [-8.0, 8.0]   # Γ_u of unit 0: shut on token 0
    W_x[1] = [8.0, 8.0]    # Γ_u of unit 1: always open
    W_x[2:4] = [8.0, 8.0]  # forget gates open
    W_x[4] = [2.0, 2.0]    # c̃ of unit 0 ≈ 0.96 always
    W_x[5] = [0.0, 2.0]    # c̃ of unit 1 = 0 on token 0
    W_x[6:8] = [8.0, 8.0]
    return LSTMModel([Layer([CellWeights(W_x, np.zeros((8, 2)), np.zeros(8))])]).validate()


def test_rank_units_puts_the_gate_switched_unit_first_with_analyse_counts():
    from lstm_viewer.engine.why_update import rank_units

    ids = np.array([0, 0, 0, 1, 0, 0, 1, 0, 0, 0])
    trace = run(two_unit_model(), ids)
    ranks = rank_units(trace)
    assert [r.unit for r in ranks] == [0, 1]
    top = ranks[0]
    # The counts are analyse()'s: 8 no-write steps, all shut by the gate alone.
    r0 = analyse(trace, 0, 0)
    assert top.no_write == int(r0.write_off.sum()) == 8
    assert top.gate_alone == 8 and top.share == 1.0
    assert ranks[1].no_write == 8 and ranks[1].gate_alone == 0 and ranks[1].share == 0.0
    assert top.label() == "unit 0 — the gate alone shuts 100% of its 8 no-write steps"


def test_rank_units_discounts_a_share_resting_on_few_steps():
    from lstm_viewer.engine.why_update import _wilson_low

    # 42 of 43 outranks 12 of 12 and 1 of 1: the lower end of the 95 % interval.
    low = _wilson_low(np.array([42, 12, 1, 0]), np.array([43, 12, 1, 0]))
    assert low[0] > low[1] > low[2] > 0 and low[3] == 0.0
    assert low[0] == pytest.approx(0.8794, abs=1e-3)
    assert low[1] == pytest.approx(0.7575, abs=1e-3)


def test_rank_units_on_the_latch_model_opens_on_unit_12():
    """The unit the latch card names; unit 4's raw share is higher but rests on 12 steps."""
    from lstm_viewer.engine.why_update import rank_units
    from lstm_viewer.formats import load

    model = load("latch")
    ids, _ = model.encode(">cfdebgdhghb?hfhgcf?>ffh>eddaadb?c>g>adf?fh?dag?")
    trace = run(model, ids)
    ranks = rank_units(trace)
    top = ranks[0]
    assert top.unit == 12
    assert top.score == max(r.score for r in ranks)
    assert top.gate_alone == max(r.gate_alone for r in ranks) == 42
    assert top.share == pytest.approx(42 / 43)
    four = next(r for r in ranks if r.unit == 4)
    assert four.share == 1.0 and four.no_write == 12 and four.score < top.score
    # Units that never stop writing come after every unit that does.
    silent = [k for k, r in enumerate(ranks) if r.no_write == 0]
    assert silent and min(silent) > max(k for k, r in enumerate(ranks) if r.gate_alone > 0)


def test_rank_units_puts_units_with_a_fixed_gate_last(rng):
    from lstm_viewer.engine.why_update import rank_units

    model = model_with_head(rng)
    ranks = rank_units(run(model, rng.integers(0, 4, 20), interventions=["update=0@1"]))
    assert ranks[-1].unit == 1 and ranks[-1].gate_fixed == "update=0@1"
    assert "fixed by update=0@1" in ranks[-1].label()
    with pytest.raises(ValueError, match="no layer 2"):
        rank_units(run(model, [0, 1]), layer=2)


def test_gate_off_figure_text():
    from lstm_viewer.engine.why_update import GateOffFigure

    task = GateOffFigure("task", 0.99741, 0.17716, 0.02291, 13.27791, 4589, 400, task="latch")
    text = task.text()
    assert "accuracy 0.9974 intact, 0.1772 with Γ_u switched off" in text
    assert "loss 0.0229 → 13.2779" in text and "4589 scored positions in 400 sequences" in text
    agree = GateOffFigure("input", 1.0, 0.25, 0.1, 2.0, 12, agreement=True)
    assert "agrees with them on 25.0% of steps" in agree.text()
    unscored = GateOffFigure("input", float("nan"), float("nan"), float("nan"), float("nan"), 9,
                             divergence=0.5)
    assert "no output layer" in unscored.text() and "0.5" in unscored.text()
    assert "changes nothing" in GateOffFigure("task", 0.9, 0.9, 0.1, 0.1, 5, 1, task="latch",
                                              already_off=True).text()
