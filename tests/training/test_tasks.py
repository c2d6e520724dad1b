"""Each task's data, and a few training steps that must lower the loss."""

import numpy as np
import pytest

from lstm_viewer.training import TASKS, get_task, train

# Per task: (hidden size, steps, learning rate) tiny enough for CI.
BUDGETS = {"latch": (6, 40, 2e-2), "counting": (6, 40, 2e-2), "peephole": (4, 40, 2e-2),
           "charlm": (16, 30, 1e-2)}


@pytest.mark.parametrize("name", list(TASKS))
def test_a_few_steps_lower_the_loss(name):
    hidden, steps, lr = BUDGETS[name]
    losses = []
    model, history = train(name, hidden_size=hidden, steps=steps, lr=lr, batch_size=8, seed=1,
                           callback=lambda step, loss, **info: losses.append(loss), callback_every=5)
    assert len(losses) == steps // 5
    assert np.mean(losses[-2:]) < 0.9 * np.mean(losses[:2])
    assert model.card["task"] == name and model.layers[0].hidden_size == hidden


def test_callback_false_stops_training():
    calls = []

    def stop_at_ten(step, loss, **info):
        calls.append(step)
        return step < 10

    model, history = train("counting", hidden_size=4, steps=100, callback=stop_at_ten,
                           callback_every=5)
    assert calls == [5, 10] and history["stopped"] and model.card["steps"] == 10


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError, match="unknown variant"):
        train("latch", hidden_size=4, steps=1, variant="gru")


@pytest.mark.parametrize("name", list(TASKS))
def test_test_set_is_fixed_and_differs_from_train(name):
    task = get_task(name)
    first, again = task.examples("test")[:3], get_task(name).examples("test")[:3]
    for (a, b, c), (x, y, z) in zip(first, again, strict=True):
        assert np.array_equal(a, x) and np.array_equal(b, y) and np.array_equal(c, z)
    train_ids = task.examples("train")[0][0]
    assert not np.array_equal(first[0][0][:len(train_ids)], train_ids[:len(first[0][0])])
    for ids, targets, scored in first:
        assert scored.any() and ids.max() < len(task.vocab) and targets.max() < len(task.vocab)


def test_latch_targets_are_the_letter_stored_last():
    task = get_task("latch")
    rng = np.random.default_rng(5)
    ids, targets, scored = task.sample(rng, 300)
    held = None
    for t in range(len(ids)):
        if t > 0 and task.vocab[ids[t - 1]] == ">":
            held = ids[t]
        if scored[t]:
            assert task.vocab[ids[t]] == "?" and targets[t] == held
        else:
            assert task.vocab[targets[t]] == "."


def test_latch_test_sequences_are_longer_than_training():
    task = get_task("latch")
    ids, _, _ = task.train_batch(np.random.default_rng(0), 4)
    assert len(task.examples("test")[0][0]) >= 2 * ids.shape[1]


def test_counting_targets_are_the_depth():
    task = get_task("counting")
    ids, targets, _ = task.sample(np.random.default_rng(2), 200)
    steps = {"(": 1, ")": -1, "x": 0}
    depth = np.cumsum([steps[task.vocab[i]] for i in ids])
    assert depth.min() >= 0
    assert [task.vocab[t] for t in targets] == [str(d) for d in depth]


def test_timing_marks_every_k_steps_after_start():
    task = get_task("peephole")
    ids, targets, scored = task.sample(np.random.default_rng(4), 200)
    starts = np.flatnonzero(ids == task.index("S"))
    marks = np.flatnonzero(targets == task.index("!"))
    assert starts.size and marks.size
    for m in marks:
        last = starts[starts < m].max()
        assert (m - last) % task.K == 0
    assert not scored[:starts[0]].any() and scored[starts[0]:].all()


def test_charlm_held_out_text_is_not_training_text():
    task = get_task("charlm")
    test_text = "".join(task.vocab[i] for i in task.examples("test")[0][0])
    train_text = "".join(task.vocab[i] for i in task._encoded("train"))
    assert len(test_text) == task.TEST_CHUNK and test_text not in train_text
