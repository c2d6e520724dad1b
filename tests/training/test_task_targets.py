"""Task.targets(ids) follows the same rule as the task's own generated examples."""

import numpy as np
import pytest

from lstm_viewer.training.tasks import get_task


@pytest.mark.parametrize("name", ["latch", "counting", "peephole", "charlm"])
def test_targets_match_generated_examples(name):
    task = get_task(name)
    for ids, targets, scored in task.examples("test")[:25]:
        got, got_scored = task.targets(ids)
        scored = scored.astype(bool)
        if name == "charlm":
            # A test window knows the character after its end; ids alone do not.
            scored = scored.copy()
            scored[-1] = False
        np.testing.assert_array_equal(got_scored, scored)
        np.testing.assert_array_equal(got[scored], targets[scored])


def test_latch_recall_before_any_store_is_not_scored():
    task = get_task("latch")
    ids = np.array([task.index(ch) for ch in "ab?>c?d?"])
    targets, scored = task.targets(ids)
    assert list(scored) == [False, False, False, False, False, True, False, True]
    assert targets[5] == targets[7] == task.index("c")


def test_counting_depth_out_of_range_is_not_scored():
    task = get_task("counting")
    ids = np.array([task.index(ch) for ch in "())(("])
    targets, scored = task.targets(ids)
    assert list(scored) == [True, True, False, True, True]
    assert [task.vocab[t] for t in targets[[0, 1, 4]]] == ["1", "0", "1"]
