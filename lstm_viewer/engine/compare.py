"""Intact versus intervened: how far the states drift and what it costs.

Given two traces of the same model on the same inputs — one intact, one with
gates switched off or clamped — :func:`compare` measures, per step, the
divergence ‖c_int − c_abl‖ and ‖a_int − a_abl‖ and, when targets are given,
the probability each run gives the correct next token, its accuracy and its
loss. NumPy only, no Qt: the GUI's comparison view and tests read the same
numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .model import LSTMModel
from .trace import Trace, run

# Probabilities are floored here before the log so that a run that gives the
# target probability 0 has a large but finite loss.
_P_FLOOR = 1e-12


@dataclass
class RunScore:
    """How well one run predicts its targets.

    Attributes
    ----------
    p_correct : ndarray (T,)
        Probability given to the target at each step; NaN where the step has
        no target (target < 0).
    predicted : ndarray (T,) of int
        The most probable output at each step.
    accuracy : float
        Fraction of scored steps whose most probable output is the target.
    loss : float
        Mean cross-entropy −log p(target) over scored steps (nats).
    sequence_correct : bool
        True when every scored step is right.
    n_scored : int
        Number of steps with a target.
    """

    p_correct: np.ndarray
    predicted: np.ndarray
    accuracy: float
    loss: float
    sequence_correct: bool
    n_scored: int


@dataclass
class Comparison:
    """Per-step divergence of two runs and, with targets, the score of each.

    Attributes
    ----------
    div_c, div_a : ndarray (T,)
        ‖c_int − c_abl‖ and ‖a_int − a_abl‖ at each step (Euclidean norm over
        the units compared).
    div_c_layers, div_a_layers : list of ndarray (T,)
        The same per layer (directions of a layer taken together).
    intact, intervened : RunScore or None
        None without targets or when the model has no probabilistic head.
    interventions : list of str
        Spec strings of the intervened run.
    layer : int or None
        The layer ``div_c``/``div_a`` cover; None for all layers together.
    """

    div_c: np.ndarray
    div_a: np.ndarray
    div_c_layers: list[np.ndarray]
    div_a_layers: list[np.ndarray]
    intact: RunScore | None = None
    intervened: RunScore | None = None
    interventions: list[str] = field(default_factory=list)
    layer: int | None = None

    @property
    def length(self) -> int:
        return int(self.div_c.shape[0])

    def first_divergence(self, tol: float = 1e-6) -> int | None:
        """First step at which ‖c_int − c_abl‖ exceeds ``tol``, or None."""
        hit = np.flatnonzero(self.div_c > tol)
        return int(hit[0]) if hit.size else None

    def summary_lines(self) -> list[str]:
        """Plain-text summary: what changed, when states part, what it cost."""
        what = ", ".join(self.interventions) if self.interventions else "nothing"
        lines = [f"intervention: {what}"]
        first = self.first_divergence()
        if first is None:
            lines.append("the two runs never diverge: c and a are identical at every step")
        else:
            lines.append(
                f"c diverges from step {first}; largest ‖c_int − c_abl‖ = {self.div_c.max():.3g}"
                f" at step {int(self.div_c.argmax())}, mean {self.div_c.mean():.3g}"
            )
        if self.intact is not None and self.intervened is not None:
            lines.append(
                f"accuracy: intact {self.intact.accuracy:.1%}, intervened {self.intervened.accuracy:.1%}"
                f" ({self.intact.n_scored} scored steps)"
            )
            lines.append(f"loss: intact {self.intact.loss:.4f}, intervened {self.intervened.loss:.4f}")
        return lines


def score(trace: Trace, targets) -> RunScore | None:
    """Score one run against ``targets``.

    Parameters
    ----------
    trace : Trace
        A run of a model with a softmax head, or a sigmoid head with one
        output (targets 0/1).
    targets : array_like of int, shape (T,)
        The correct output at each step; a negative value means the step is
        not scored (e.g. the input part of a sequence).

    Returns
    -------
    RunScore or None
        None when the model has no head or a linear one.
    """
    if trace.y_hat is None or trace.model.head is None:
        return None
    targets = np.asarray(targets)
    T = trace.length
    if targets.shape != (T,):
        raise ValueError(f"targets have shape {targets.shape}, expected ({T},) for this sequence")
    y = np.asarray(trace.y_hat, np.float64)
    activation = trace.model.head.activation
    if activation == "softmax":
        probs = y
    elif activation == "sigmoid" and y.shape[1] == 1:
        probs = np.concatenate([1.0 - y, y], axis=1)
    else:
        return None
    scored = targets >= 0
    if np.any(targets[scored] >= probs.shape[1]):
        raise ValueError(f"a target is outside 0..{probs.shape[1] - 1}")
    p = np.full(T, np.nan)
    p[scored] = probs[np.flatnonzero(scored), targets[scored]]
    predicted = probs.argmax(axis=1)
    n = int(scored.sum())
    if n == 0:
        return RunScore(p, predicted, float("nan"), float("nan"), True, 0)
    right = predicted[scored] == targets[scored]
    loss = float(-np.mean(np.log(np.maximum(p[scored], _P_FLOOR))))
    return RunScore(p, predicted, float(right.mean()), loss, bool(right.all()), n)


def _layer_states(trace: Trace, k: int, name: str) -> np.ndarray:
    return np.concatenate([getattr(d, name) for d in trace.layers[k]], axis=1).astype(np.float64)


def compare(intact: Trace, intervened: Trace, targets=None, layer: int | None = None) -> Comparison:
    """Divergence and scores of an intervened run against the intact one.

    Parameters
    ----------
    intact, intervened : Trace
        Runs of the same model on the same inputs.
    targets : array_like of int, optional
        Correct output per step (negative: not scored); see :func:`score`.
    layer : int, optional
        Measure the divergence of this layer only; all layers together when
        None (their states concatenated).

    Returns
    -------
    Comparison
    """
    if intact.length != intervened.length:
        raise ValueError(
            f"the runs have different lengths ({intact.length} and {intervened.length})"
        )
    if len(intact.layers) != len(intervened.layers):
        raise ValueError("the runs come from models with different numbers of layers")
    if layer is not None and not 0 <= layer < len(intact.layers):
        raise ValueError(f"the model has no layer {layer}")
    div = {}
    for name in ("c", "a"):
        per_layer_sq = [
            np.sum((_layer_states(intact, k, name) - _layer_states(intervened, k, name)) ** 2, axis=1)
            for k in range(len(intact.layers))
        ]
        chosen = per_layer_sq if layer is None else [per_layer_sq[layer]]
        div[name] = (np.sqrt(np.sum(chosen, axis=0)), [np.sqrt(s) for s in per_layer_sq])
    result = Comparison(div["c"][0], div["a"][0], div["c"][1], div["a"][1],
                        interventions=[iv.spec for iv in intervened.interventions], layer=layer)
    if targets is not None:
        result.intact = score(intact, targets)
        result.intervened = score(intervened, targets)
    return result


def run_pair(model: LSTMModel, inputs, interventions, dtype=np.float32) -> tuple[Trace, Trace]:
    """Run ``inputs`` intact and with ``interventions``; return both traces."""
    return run(model, inputs, dtype), run(model, inputs, dtype, interventions=interventions)
