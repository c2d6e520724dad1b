"""The variant lab: a tiny budget gives a table with every variant; the text follows the numbers."""

import numpy as np
import pytest

from lstm_viewer.training.lab import ALL_VARIANTS, LabLatchTask, LabResult, RunResult, lab_task, run_lab
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
    assert "NFG is clearly worse than the standard cell (-50.0%), which agrees with the paper" in agree
    assert "CIFG is within the noise of the standard cell (+0.0%), which agrees with the paper" in agree
    assert "NIG is clearly worse" in agree
    assert "NOG is within the noise" in agree and "does not confirm" in agree
    disagree = fake_lab({"standard": [0.60, 0.61, 0.62], "nfg": [0.90, 0.91, 0.92],
                         "cifg": [0.30, 0.31, 0.32]}).results_text()
    assert "NFG is clearly better than the standard cell (+30.0%), which contradicts the paper" in disagree
    assert "CIFG is clearly worse than the standard cell (-30.0%), which contradicts the paper" in disagree
    assert disagree.index("NFG 91.0%") < disagree.index("standard 61.0%")
    nothing = fake_lab({"standard": [0.20, 0.21, 0.19], "nig": [0.2, 0.2, 0.2]}, baseline=0.2).results_text()
    assert "has not learned latch" in nothing and "agrees" not in nothing


def test_table_shows_mean_and_spread():
    lab = fake_lab({"standard": [0.5, 0.7, 0.6], "nig": [0.1, 0.1, 0.1]})
    s = lab.summary("standard")
    assert s.acc_mean == pytest.approx(0.6) and s.acc_std == pytest.approx(0.1)
    assert "60.0% ± 10.0% [50.0%–70.0%]" in lab.table()
    assert [x.variant for x in lab.ranking()] == ["standard", "nig"]


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
