"""Accuracy and loss of a model on its task's fixed evaluation set, run by the engine.

This is the one place the figures in model cards and ``main.py evaluate``
come from, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.blas import single_thread
from ..engine.interventions import parse_all
from ..engine.trace import run
from .tasks import TASKS, get_task


class UnknownTaskError(ValueError):
    """The model's card names no task this version knows."""


@dataclass
class Score:
    """Accuracy and mean cross-entropy over the scored positions."""

    accuracy: float
    loss: float
    positions: int
    sequences: int


def task_of(model):
    """The task recorded in ``model.card["task"]``, or :class:`UnknownTaskError`."""
    name = (model.card or {}).get("task")
    if name not in TASKS:
        shown = f"'{name}'" if name else "no task"
        raise UnknownTaskError(
            f"model card names {shown}; evaluate knows the tasks {', '.join(TASKS)}"
        )
    task = get_task(name)
    if model.vocab is not None and list(model.vocab) != list(task.vocab):
        raise UnknownTaskError(f"the model's vocabulary is not the '{name}' task's vocabulary")
    return task


def evaluate(model, task=None, interventions=(), split: str = "test") -> Score:
    """Run every evaluation sequence through the engine and score it.

    The variant's own interventions (``model.card["interventions"]``) are
    always applied first, so an NIG model is run as an NIG model; the
    ``interventions`` given are added on top.
    """
    task = task_of(model) if task is None else get_task(task)
    specs = parse_all(list((model.card or {}).get("interventions", [])) + list(interventions))
    correct = 0
    nll = 0.0
    count = 0
    examples = task.examples(split)
    with single_thread():
        for ids, targets, scored in examples:
            y_hat = run(model, ids, interventions=specs).y_hat
            idx = np.flatnonzero(scored)
            probs = y_hat[idx, targets[idx]].astype(np.float64)
            nll += float(-np.log(np.maximum(probs, 1e-12)).sum())
            correct += int((y_hat[idx].argmax(axis=1) == targets[idx]).sum())
            count += idx.size
    return Score(correct / max(count, 1), nll / max(count, 1), count, len(examples))
