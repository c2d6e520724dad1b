"""The variant lab: a tiny budget gives a table with every variant; the text follows the numbers."""

import numpy as np
import pytest

from lstm_viewer.training.evaluation import evaluate
from lstm_viewer.training.lab import (
    ALL_VARIANTS,
    VARIANT_NAMES,
    LabLatchTask,
    LabResult,
    RunResult,
    lab_task,
    run_lab,
    variant_in_weights,
)
from lstm_viewer.training.tasks import LatchTask


def test_tiny_lab_has_every_variant():
    seen = []
    lab = run_lab("counting", seeds=1, steps=3, on_run=seen.append)
    assert [r.variant for r in lab.runs] == list(ALL_VARIANTS) == [r.variant for r in seen]
    table = lab.table()
    for name in ("standard", "NIG", "NFG", "NOG", "CIFG"):
        assert f"\n{name} " in table
    for run in lab.runs:
        assert 0.0 <= run.accuracy <= 1.0 and np.isfinite(run.loss)
        assert run.steps[-1] == 3
    assert 0.0 < lab.baseline < 1.0
    assert "Ranking on counting" in lab.results_text()


def test_same_seed_same_result_and_cancel():
    one = run_lab("counting", variants=["standard"], seeds=[5], steps=2)
    two = run_lab("counting", variants=["standard"], seeds=[5], steps=2)
    assert one.runs[0].accuracy == two.runs[0].accuracy and one.runs[0].loss == two.runs[0].loss
    calls = []

    def progress(variant, seed, step, loss, steps):
        calls.append((variant, seed, step))
        return False

    stopped = run_lab("counting", variants=["standard", "nig"], seeds=2, steps=50, progress=progress,
                      callback_every=5)
    assert stopped.cancelled and stopped.runs == [] and calls == [("standard", 0, 5)]
    assert "No run finished" in stopped.results_text()


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown variant 'gru'"):
        run_lab("counting", variants=["gru"], seeds=1, steps=1)
    with pytest.raises(ValueError, match="seed"):
        run_lab("counting", seeds=0, steps=1)


def fake_lab(accuracies: dict, baseline=0.2) -> LabResult:
    lab = LabResult("latch", list(accuracies), [0, 1, 2], 100, 8, baseline=baseline)
    for variant, accs in accuracies.items():
        for seed, acc in enumerate(accs):
            lab.runs.append(RunResult(variant, seed, acc, 1.0 - acc))
    return lab


def test_results_text_says_what_the_numbers_say():
    agree = fake_lab({"standard": [0.90, 0.91, 0.92], "nig": [0.60, 0.62, 0.61], "nfg": [0.40, 0.41, 0.42],
                      "nog": [0.89, 0.90, 0.91], "cifg": [0.90, 0.92, 0.91]}).results_text()
    assert "NFG scores clearly below the standard cell (-50.0%), in line with the paper" in agree
    assert "CIFG is within the noise of the standard cell (+0.0%), in line with the paper" in agree
    assert "NIG scores clearly below" in agree
    assert "NOG is within the noise" in agree and "this run does not show it" in agree
    # Agreeing or not on a toy task says little about the paper's benchmarks, and the text says so.
    assert "contradicts" not in agree and "says little about those" in agree
    disagree = fake_lab({"standard": [0.60, 0.61, 0.62], "nfg": [0.90, 0.91, 0.92],
                         "cifg": [0.30, 0.31, 0.32]}).results_text()
    assert "NFG scores clearly above the standard cell (+30.0%), unlike on the paper's benchmarks" in disagree
    assert "CIFG scores clearly below the standard cell (-30.0%), unlike on the paper's benchmarks" in disagree
    assert disagree.index("NFG 91.0%") < disagree.index("standard 61.0%")
    nothing = fake_lab({"standard": [0.20, 0.21, 0.19], "nig": [0.2, 0.2, 0.2]}, baseline=0.2).results_text()
    assert "has not learned latch" in nothing and "in line with" not in nothing
    # Nothing learned, nothing ranked: the means come in table order, with no ">".
    assert nothing.startswith("Ranking on latch: none can be concluded. Mean test accuracy: standard 20.0%, NIG")
    assert " > " not in nothing


@pytest.mark.parametrize("seeds", [1, 2])
def test_fewer_than_three_seeds_rank_nothing(seeds):
    # Gaps that three tight seeds would call clear are not ranked from one or two.
    lab = fake_lab({"standard": [0.95, 0.96][:seeds], "nig": [0.40, 0.42][:seeds], "nfg": [0.2, 0.21][:seeds],
                    "cifg": [0.99, 1.0][:seeds]})
    lab.seeds = list(range(seeds))
    text = lab.results_text()
    word = "seed" if seeds == 1 else "seeds"
    assert text.startswith(f"Ranking on latch: with {seeds} {word} per variant no ranking can be concluded.")
    assert "neither confirmed nor contradicted" in text and "at least 3 seeds" in text
    for claim in ("clearly", "in line with", "unlike", "agrees", "contradicts the paper", " > "):
        assert claim not in text
    # The means are still given, in table order rather than best first.
    assert "Mean test accuracy: standard 95" in text and text.index("NIG") < text.index("CIFG")
    assert lab._differs(lab.summary("nfg"), lab.summary("standard")) == 0.0
    assert "has not learned" not in text
    untrained = fake_lab({"standard": [0.2, 0.21][:seeds], "nig": [0.2, 0.2][:seeds]}, baseline=0.2).results_text()
    assert "no ranking can be concluded" in untrained and "has not learned latch" in untrained


def test_a_gap_must_beat_the_t_margin_of_three_seeds():
    # 3 vs 3 seeds, sd 3%: a 6% gap is ~2.4 standard errors, inside the t(4) margin of 2.78.
    close = fake_lab({"standard": [0.87, 0.90, 0.93], "nig": [0.81, 0.84, 0.87]})
    assert close._differs(close.summary("nig"), close.summary("standard")) == 0.0
    assert "NIG is within the noise" in close.results_text()
    far = fake_lab({"standard": [0.87, 0.90, 0.93], "nig": [0.76, 0.79, 0.82]})
    assert far._differs(far.summary("nig"), far.summary("standard")) == pytest.approx(-0.11)


def test_table_shows_mean_and_spread():
    lab = fake_lab({"standard": [0.5, 0.7, 0.6], "nig": [0.1, 0.1, 0.1]})
    s = lab.summary("standard")
    assert s.acc_mean == pytest.approx(0.6) and s.acc_std == pytest.approx(0.1)
    assert "60.0% ± 10.0% [50.0%–70.0%]" in lab.table()
    assert [x.variant for x in lab.ranking()] == ["standard", "nig"]
    one = fake_lab({"standard": [0.5]})
    assert "50.0% ±   —  [50.0%–50.0%]" in one.table() and "± 0.0%" not in one.table()


def test_results_text_mentions_a_wide_seed_spread():
    text = fake_lab({"standard": [0.15, 0.9, 0.5], "cifg": [0.5, 0.55, 0.6]}).results_text()
    assert "Seeds disagree a lot: standard ranges from 15.0% to 90.0%" in text
    calm = fake_lab({"standard": [0.80, 0.82, 0.81], "cifg": [0.79, 0.80, 0.81]}).results_text()
    assert "Seeds disagree" not in calm


def test_lab_latch_configuration_is_held_out_and_scored_on_recalls():
    task = lab_task("latch")
    assert isinstance(task, LabLatchTask) and lab_task("counting").name == "counting"
    assert task.vocab == (".", "a", "b", "c", "d", ">", "?")
    test, again = task.examples("test"), task.examples("test")
    assert len(test) == LabLatchTask.N_TEST and all(len(ids) == LabLatchTask.TEST_LENGTH for ids, _, _ in test)
    assert all((a[0] == b[0]).all() for a, b in zip(test, again, strict=True))
    # Same scoring rule as the bundled task: only '?' positions, answered by the stored letter.
    for ids, targets, scored in test[:50]:
        assert (scored == (ids == task.index("?"))).all()
        rule_targets, rule_scored = task.targets(ids)
        assert (rule_targets[scored] == targets[scored]).all() and (rule_scored == scored).all()
    # Training sequences are shorter than the test ones, so test gaps can be longer.
    ids, targets, weights = task.train_batch(np.random.default_rng(0), 8)
    assert ids.shape == (8, LabLatchTask.TRAIN_LENGTH[1]) and LabLatchTask.TRAIN_LENGTH[1] < LabLatchTask.TEST_LENGTH
    assert ((weights > 0).sum(axis=1) >= LabLatchTask.TRAIN_LENGTH[0]).all()
    assert LatchTask().vocab != task.vocab  # the bundled task is untouched
    assert "far longer" not in task.data and task.data.startswith("4 letters abcd; training on 20-40")


def test_latch_lab_states_its_configuration():
    lab = run_lab("latch", variants=["standard", "nfg"], seeds=1, steps=2)
    header, setting = lab.table().splitlines()[:2]
    assert header.startswith("task latch: hidden 12, batch 32, 2 training steps")
    assert setting == lab.setting == LabLatchTask().setting()
    assert "4 letters abcd" in setting and "400 held-out 80-step sequences" in setting
    assert "'?' (recall) positions only" in setting
    assert lab.results_text().endswith("scored on the '?' (recall) positions only.")
    # About a quarter of recalls share the most common letter; untrained, nothing beats that much.
    assert 0.2 < lab.baseline < 0.35
    assert run_lab("counting", variants=["nog"], seeds=1, steps=1).setting == ""


def test_results_text_names_a_ceiling():
    text = fake_lab({"standard": [0.99, 1.0, 0.995], "cifg": [1.0, 0.99, 1.0],
                     "nfg": [0.7, 0.72, 0.71]}).results_text()
    assert "The standard cell and CIFG all score at least 98%" in text and "NFG all" not in text
    lower = fake_lab({"standard": [0.90, 0.91, 0.92], "cifg": [0.90, 0.92, 0.91]}).results_text()
    assert "ceiling" not in lower


def test_every_run_keeps_its_trained_model_named_and_carded():
    from lstm_viewer.engine import run

    lab = run_lab("latch", variants=list(ALL_VARIANTS), seeds=1, steps=3)
    task = lab_task("latch")
    for r in lab.runs:
        m = r.model
        assert m.name == r.name == f"latch · {VARIANT_NAMES[r.variant][0]} · seed 0"
        assert m.vocab == list(task.vocab) and m.card["variant"] == r.variant
        assert m.card["test"] == {"accuracy": round(r.accuracy, 4), "loss": round(r.loss, 4)}
        assert m.card["setting"] == lab.setting and "interventions" not in m.card
        ids, unknown = m.encode(m.card["example"])
        assert not unknown and len(ids) == 40 and (ids == task.index("?")).sum() >= 2
        # The model's figures are the lab's: scoring the opened model gives the table's numbers.
        score = evaluate(m, task)
        assert (score.accuracy, score.loss) == (r.accuracy, r.loss)
        d = run(m, ids).layers[0][0]
        gate = {"nig": d.update, "nfg": d.forget, "nog": d.output}.get(r.variant)
        if gate is not None:
            assert (gate == 1.0).all()
    assert "variant_in_weights" not in lab.runs[0].model.card
    assert "Γ_u = σ(−z_f) = 1 − Γ_f" in lab.runs[-1].model.card["variant_in_weights"]


@pytest.mark.parametrize("variant", ["standard", "nig", "nfg", "nog", "cifg"])
@pytest.mark.parametrize("peephole", [False, True])
def test_variant_in_weights_runs_as_the_intervened_model(variant, peephole):
    # Trained briefly so no row is at its initial value; the peephole cell checks the p rows too.
    from lstm_viewer.engine import run
    from lstm_viewer.training import train

    task = lab_task("latch")
    trained, _ = train(task, hidden_size=6, variant=variant, peephole=peephole, seed=1, steps=20, batch_size=8)
    before = [a.copy() for a in (trained.layers[0].cells[0].W_x, trained.layers[0].cells[0].b)]
    folded = variant_in_weights(trained, variant)
    ids = np.asarray(task.examples("test")[0][0])
    for dtype in (np.float32, np.float64):
        want = run(trained, ids, interventions=trained.card["interventions"], dtype=dtype)
        got = run(folded, ids, dtype=dtype)
        tol = 1e-5 if dtype == np.float32 else 1e-12
        for name in ("update", "forget", "candidate", "output", "c", "a"):
            np.testing.assert_allclose(getattr(got.layers[0][0], name), getattr(want.layers[0][0], name),
                                       atol=tol, err_msg=name)
        np.testing.assert_allclose(got.y_hat, want.y_hat, atol=tol)
    # The trained model is left as it was.
    np.testing.assert_array_equal(trained.layers[0].cells[0].W_x, before[0])
    np.testing.assert_array_equal(trained.layers[0].cells[0].b, before[1])
