"""Retrain the bundled models from scratch and write them with their cards.

``python -m lstm_viewer.training all`` (or one name) runs :func:`build`.
Every figure in a card is measured by :func:`~.evaluation.evaluate` on the
file as reloaded from disk — the same call ``main.py evaluate`` makes.
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import numpy as np

from ..formats import load
from ..formats.native import save_native
from ..paths import resource_path
from .evaluation import evaluate
from .interpret import THRESHOLD, counter_unit, find_units, latch_gates
from .tasks import get_task
from .trainer import train

#: Bundled model name → training seed. Order: the default model first.
BUNDLED = {"latch": 0, "counting": 0, "peephole": 0, "charlm": 0}


def _figures(score) -> dict:
    return {"accuracy": round(score.accuracy, 4), "loss": round(score.loss, 4),
            "positions": score.positions, "sequences": score.sequences}


def _without_peepholes(model):
    """A copy of ``model`` whose peephole weights are all zero."""
    copy = model.astype(np.float32)
    for layer in copy.layers:
        for cell in layer.cells:
            if cell.peephole is not None:
                cell.peephole = np.zeros_like(cell.peephole)
    return copy


def _latch_look_at(text: str, card: dict) -> str:
    """The latch card's advice, stating only what the measured gates show."""
    ev = card["gate_evidence"]
    units = ev["units"]
    parts = [text]

    def fmt(us, a, b):
        return ", ".join(f"{u} ({units[str(u)][a]:.2f} vs {units[str(u)][b]:.2f})" for u in us)

    if ev["writers"]:
        parts.append("measured on the test set: the update gate opens at the stored letter more "
                     "than at distractor letters in unit(s) " + fmt(ev["writers"], "u_store", "u_dist"))
    if ev["erasers"]:
        parts.append("the forget gate drops at the stored letter, erasing the old one, in unit(s) "
                     + fmt(ev["erasers"], "f_dist", "f_store").replace(" vs ", " between stores vs "))
    off = card["test_with_update_gate_off"]["accuracy"]
    parts.append(f"with the update gate switched off (evaluate latch --intervene update=1) test "
                 f"accuracy falls from {card['test']['accuracy']:.4f} to {off:.4f}")
    return "; ".join(parts) + "."


def build(name: str, out_dir=None, log=print, steps: int | None = None) -> Path:
    """Train bundled model ``name`` with its fixed seed and write ``{name}.safetensors``.

    ``steps`` overrides the task's budget (tests use a tiny one); the bundled
    files are built with the default.
    """
    task = get_task(name)
    seed = BUNDLED[name]
    out = Path(out_dir) if out_dir else resource_path("models")
    path = out / f"{name}.safetensors"

    def report(step, loss, steps, elapsed, **_):
        log(f"{name}: step {step}/{steps}  train loss {loss:.4f}  {elapsed:.0f} s")

    started = time.perf_counter()
    model, history = train(task, seed=seed, steps=steps, callback=report, callback_every=100)
    seconds = time.perf_counter() - started
    card = dict(model.card)
    card.update(
        description=task.description, data=task.data,
        command=f"python -m lstm_viewer.training {name}",
        training_seconds=round(seconds, 1),
        trained_with=f"NumPy {np.__version__}, Python {platform.python_version()}",
        scored_on=task.scored_on, look_at=task.look_at,
    )
    model.card = card
    model.name = name
    save_native(model, path)
    # Figures come from the file as reloaded, exactly as ``evaluate`` sees it.
    reloaded = load(path)
    card["train"] = _figures(evaluate(reloaded, split="train"))
    card["test"] = _figures(evaluate(reloaded, split="test"))
    if name == "latch":
        card["gate_evidence"] = latch_gates(reloaded, task)
        card["test_with_update_gate_off"] = _figures(evaluate(reloaded, interventions=["update=1"]))
        card["look_at"] = _latch_look_at(task.look_at, card)
    if name == "peephole":
        card["test_with_peepholes_zeroed"] = _figures(evaluate(_without_peepholes(reloaded)))
        card["look_at"] = (f"{task.look_at}; with every peephole weight set to 0 the same weights "
                           f"score test accuracy {card['test_with_peepholes_zeroed']['accuracy']:.4f} "
                           f"instead of {card['test']['accuracy']:.4f}")
    if name == "counting":
        counter = card["counter_unit"] = counter_unit(reloaded, task)
        card["look_at"] = (f"{task.look_at}; measured on the test set, unit {counter['unit']}'s c "
                           f"follows the depth with correlation r = {counter['r']:+.3f}")
    if name == "charlm":
        card["units"] = find_units(reloaded, task)
        if card["units"]:
            found = "; ".join(f"unit {u['unit']}'s c follows {u['feature']} (r = {u['r']:+.2f})"
                              for u in card["units"])
            card["look_at"] = (f"{task.look_at}. Correlation of each unit's c with features of the "
                               f"held-out text (run as one sequence), best unit per feature with "
                               f"|r| >= {THRESHOLD}: {found}")
        else:
            card["look_at"] = (f"{task.look_at}; no unit's c correlates with quotes, bracket depth, "
                               f"indentation or line position at |r| >= {THRESHOLD} on held-out text")
    model.card = card
    save_native(model, path)
    path.chmod(0o644)  # safetensors writes 0600; the file ships to every user
    log(f"{name}: wrote {path} in {seconds:.0f} s; train accuracy {card['train']['accuracy']:.4f}, "
        f"test accuracy {card['test']['accuracy']:.4f}, test loss {card['test']['loss']:.4f}")
    return path


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    names = list(argv) or ["all"]
    if names == ["corpus"]:
        from .tasks import build_corpus

        print(build_corpus())
        return 0
    if names == ["all"]:
        names = list(BUNDLED)
    unknown = [n for n in names if n not in BUNDLED]
    if unknown:
        print(f"unknown model(s) {', '.join(unknown)}; choose from all, corpus, "
              f"{', '.join(BUNDLED)}", file=sys.stderr)
        return 2
    for name in names:
        build(name, log=lambda line: print(line, flush=True))
    return 0
