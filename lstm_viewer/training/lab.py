"""The variant lab: train each gate variant from scratch and compare them.

Every variant of Greff et al. 2017 ("LSTM: A Search Space Odyssey") that
this trainer knows — the standard cell, NIG (Γ_u := 1), NFG (Γ_f := 1), NOG
(Γ_o := 1) and CIFG (Γ_u := 1 − Γ_f) — is trained on one task with the same
hidden size, the same seeds and the same budget, then scored on the task's
fixed held-out test set. Counting is the bundled task; latch is trained and
tested in a lab configuration (:class:`LabLatchTask`: fewer letters, shorter
and denser training sequences) that a standard cell learns within the lab's
budget on every seed, which the table header states. :class:`LabResult` turns the runs into a table (mean
and spread over seeds) and a text that compares the ranking with the paper's
findings, saying whatever the numbers say and no more: with fewer than
:data:`MIN_SEEDS` seeds per variant it ranks nothing.

Every run keeps its trained network as an engine model
(:attr:`RunResult.model`) with the variant built into its weights
(:func:`variant_in_weights`), so the viewer can open it as a model of its
own and runs it as it was trained, with no intervention to remember.

NumPy only, no Qt: the GUI's lab view runs :func:`run_lab` on a worker
thread and the ``lab`` subcommand runs it headless.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import numpy as np

from ..engine.model import LSTMModel
from .evaluation import evaluate
from .network import VARIANTS
from .tasks import LatchTask, Task, get_task
from .trainer import train

#: The variants in table order.
ALL_VARIANTS = ("standard", "nig", "nfg", "nog", "cifg")
#: Table names and what each removes.
VARIANT_NAMES = {
    "standard": ("standard", "all gates"),
    "nig": ("NIG", "no update gate, Γ_u := 1"),
    "nfg": ("NFG", "no forget gate, Γ_f := 1"),
    "nog": ("NOG", "no output gate, Γ_o := 1"),
    "cifg": ("CIFG", "coupled, Γ_u := 1 − Γ_f"),
}
#: Lab tasks and their default budget: a few minutes for the whole lab on
#: two idle cores (5 variants × 3 seeds for latch, × 5 for counting).
LAB_TASKS = ("latch", "counting")
DEFAULT_STEPS = {"latch": 1500, "counting": 1000}
DEFAULT_SIZES = {"latch": dict(hidden_size=12, batch_size=32)}
#: Seeds per variant: both lab tasks train in a few seconds a run, so five
#: seeds fit the budget and narrow the spread the verdicts are judged by.
DEFAULT_SEEDS = {"latch": 5, "counting": 5}
# A difference in mean accuracy counts as real only when it exceeds both of
# these: an absolute floor and twice its standard error over seeds.
MIN_DIFFERENCE = 0.02
# Mean accuracy from which a variant counts as at the task's ceiling: two
# variants both above it cannot be told apart by accuracy at all.
CEILING = 0.98
#: Seeds per variant below which the lab ranks nothing: with one or two seeds
#: there is no usable estimate of how much a result depends on its seed.
MIN_SEEDS = 3
# Two-sided 95% quantiles of Student's t by degrees of freedom (the largest
# listed df not above the actual one is used, which errs on the cautious side).
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 30: 2.042, 60: 2.000, 120: 1.980}
# Pre-activation that σ(z) = ½·tanh(½z) + ½ turns into exactly 1.0 in float32
# and float64 alike (tanh rounds to 1 from about 9.0 in float32, 19.1 in float64).
SATURATED = 50.0


def _t95(df: int) -> float:
    return _T95[max(k for k in _T95 if k <= max(1, df))]


def variant_in_weights(model: LSTMModel, variant: str) -> LSTMModel:
    """A copy of a trained variant that any standard LSTM engine runs as it was trained.

    :func:`~lstm_viewer.training.trainer.to_model` leaves a removed gate's
    rows at zero and records the intervention that removes it in
    ``card["interventions"]``; a viewer that did not apply it would run
    Γ = σ(0) = 0.5. Here the variant goes into the weights instead:

    * NIG, NFG, NOG: the removed gate's bias is :data:`SATURATED` with its
      weights (and peephole) zero, so σ gives exactly 1.0 at every step;
    * CIFG: the update gate's rows are the forget gate's negated, so
      Γ_u = σ(−z_f) = 1 − Γ_f (equal to rounding).

    The card says so (``variant_in_weights``) and lists no interventions.
    """
    out = copy.deepcopy(model)
    out.card = dict(model.card or {})
    out.card.pop("interventions", None)
    block = {"nig": 0, "nfg": 1, "nog": 3}.get(variant)
    for layer in out.layers:
        for cell in layer.cells:
            H = cell.hidden_size
            if block is not None:
                rows = slice(block * H, (block + 1) * H)
                cell.W_x[rows], cell.W_a[rows], cell.b[rows] = 0.0, 0.0, SATURATED
                if cell.peephole is not None:
                    cell.peephole[(0, 1, None, 2)[block]] = 0.0
            elif variant == "cifg":
                u, f = slice(0, H), slice(H, 2 * H)
                cell.W_x[u], cell.W_a[u], cell.b[u] = -cell.W_x[f], -cell.W_a[f], -cell.b[f]
                if cell.peephole is not None:
                    cell.peephole[0] = -cell.peephole[1]
    how = {
        "nig": f"update gate Γ_u := 1 (NIG): its weights are 0 and its bias {SATURATED:g}, so σ gives 1",
        "nfg": f"forget gate Γ_f := 1 (NFG): its weights are 0 and its bias {SATURATED:g}, so σ gives 1",
        "nog": f"output gate Γ_o := 1 (NOG): its weights are 0 and its bias {SATURATED:g}, so σ gives 1",
        "cifg": "Γ_u := 1 − Γ_f (CIFG): the update gate's weights and bias are the forget gate's "
                "negated, so Γ_u = σ(−z_f) = 1 − Γ_f",
    }.get(variant)
    if how:
        out.card["variant_in_weights"] = how + "; it was trained that way and runs that way here"
    return out.validate()


def _example_text(task, length: int = 40) -> str:
    """The ``length`` test steps with the most scored positions, as text (the viewer's first input)."""
    ids, _, scored = task.examples("test")[0]
    scored = np.asarray(scored, dtype=float)
    start = 0
    if len(ids) > length:
        start = int(np.argmax(np.convolve(scored, np.ones(length), mode="valid")))
    return "".join(task.vocab[int(i)] for i in ids[start:start + length])


#: What a variant's card tells the viewer to look at: what the missing gate
#: implies by the equations, not claims about what the cell learned.
LOOK_AT = {
    "nig": "this cell was trained without an update gate: Γ_u is 1 at every step, so c̃ is written "
           "into c in full; look at c̃ and Γ_f where nothing should be stored to see how it copes",
    "nfg": "this cell was trained without a forget gate: Γ_f is 1 at every step, so c only adds "
           "Γ_u ⊙ c̃ and never decays; follow c over a long input",
    "nog": "this cell was trained without an output gate: Γ_o is 1 at every step, so a = tanh(c) "
           "shows all of c to ŷ at every step",
    "cifg": "this cell couples its gates, Γ_u = 1 − Γ_f: it writes exactly as much as it forgets; "
            "compare Γ_u and Γ_f step by step",
}


def run_name(task: str, variant: str, seed: int) -> str:
    """The display name of one trained run, e.g. ``"latch · NIG · seed 0"``."""
    return f"{task} · {VARIANT_NAMES[variant][0]} · seed {seed}"


class LabLatchTask(LatchTask):
    """The latch task as the lab trains and tests it: 4 letters, short dense sequences.

    The bundled latch task (8 letters, 30–80-step sequences, recalls at rate
    0.12) keeps a standard cell on its "always answer '.'" plateau for about
    1000 steps, so within the lab's budget whether a run learned recall at
    all depended on its seed, and the table ranked luck rather than gates.
    Four letters, 20–40-step training sequences and twice the recall rate
    give recall a strong, cheap gradient: a standard cell (H=12, batch 32)
    learns it in about 1000 steps on every seed tried, at about 5 ms a step.
    The test set is held out (its own fixed seed) and longer than any
    training sequence, so some store–recall gaps are longer than any seen in
    training; it is scored like the bundled task, on the '?' positions only.
    """

    LETTERS = "abcd"
    TRAIN_LENGTH = (20, 40)
    TRAIN_RATES = ((0.05, 0.15), 0.2)
    TEST_RATES = (0.05, 0.1)
    TEST_LENGTH = 80
    N_TEST = 400

    def __init__(self):
        super().__init__()
        self.description = ("latch memory (lab configuration): a stream of distractor letters "
                            f"{self.LETTERS[0]}-{self.LETTERS[-1]}; '>' means 'store the next letter', "
                            "'?' asks for the letter stored last (target '.' elsewhere)")
        # The bundled text would claim test gaps "far longer than any in
        # training", which is not so here; the card says what the lab does.
        self.data = self.setting().removeprefix("lab latch configuration: ")

    def setting(self) -> str:
        """One line saying what is trained and what is tested."""
        (lo, hi), recall = self.TRAIN_RATES
        return (f"lab latch configuration: {len(self.LETTERS)} letters {self.LETTERS}; training on "
                f"{self.TRAIN_LENGTH[0]}-{self.TRAIN_LENGTH[1]}-step sequences (store rate {lo}-{hi}, "
                f"recall rate {recall}); test = {self.N_TEST} held-out {self.TEST_LENGTH}-step "
                f"sequences (store rate {self.TEST_RATES[0]}, recall rate {self.TEST_RATES[1]}), "
                "scored on the '?' (recall) positions only")


#: Tasks the lab trains in its own configuration instead of the bundled one.
LAB_CONFIGS: dict[str, type[Task]] = {"latch": LabLatchTask}


def lab_task(name) -> Task:
    """The task object the lab trains and tests for ``name``.

    Tasks in :data:`LAB_CONFIGS` get their lab configuration; any other name
    (or a :class:`Task` object) is the trainer's own task.
    """
    if isinstance(name, str) and name in LAB_CONFIGS:
        return LAB_CONFIGS[name]()
    return get_task(name)


class LabCancelled(Exception):
    """Raised inside a training callback to stop the lab."""


@dataclass
class RunResult:
    """One variant trained with one seed.

    Attributes
    ----------
    variant : str
    seed : int
    accuracy, loss : float
        On the task's test set, scored positions only.
    steps : list of int
        Training steps of the learning curve.
    train_loss : list of float
        Mean training loss up to each of ``steps``.
    seconds : float
        Training and evaluation time.
    model : LSTMModel, optional
        The trained network, named by :func:`run_name`, its variant built
        into the weights (:func:`variant_in_weights`); the figures above are
        this model's.
    """

    variant: str
    seed: int
    accuracy: float
    loss: float
    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    model: LSTMModel | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        """``"latch · NIG · seed 0"`` (the model's name when there is one)."""
        return self.model.name if self.model is not None else f"{VARIANT_NAMES[self.variant][0]} · seed {self.seed}"


@dataclass
class VariantSummary:
    """Mean and spread of one variant over seeds."""

    variant: str
    n: int
    acc_mean: float
    acc_std: float
    acc_min: float
    acc_max: float
    loss_mean: float
    loss_std: float

    @property
    def name(self) -> str:
        return VARIANT_NAMES[self.variant][0]


def _std(values) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


@dataclass
class LabResult:
    """Every run of a lab and what they add up to.

    Attributes
    ----------
    task : str
    variants : list of str
        Requested variants, in order.
    seeds : list of int
    steps, hidden_size : int
        The shared budget and size.
    runs : list of RunResult
        Finished runs (fewer than requested when cancelled).
    cancelled : bool
    seconds : float
    baseline : float
        Test accuracy of always answering the most common target: what a
        model that learned nothing about the sequence scores.
    batch_size : int
        Shared batch size (0 when unknown).
    setting : str
        What was trained and tested when the lab uses its own configuration
        of the task (see :data:`LAB_CONFIGS`); empty for the bundled task.
    """

    task: str
    variants: list[str]
    seeds: list[int]
    steps: int
    hidden_size: int
    runs: list[RunResult] = field(default_factory=list)
    cancelled: bool = False
    seconds: float = 0.0
    baseline: float = float("nan")
    batch_size: int = 0
    setting: str = ""

    def summary(self, variant: str) -> VariantSummary | None:
        """Mean and spread over seeds of one variant; None if it has no finished run."""
        runs = [r for r in self.runs if r.variant == variant]
        if not runs:
            return None
        acc = [r.accuracy for r in runs]
        loss = [r.loss for r in runs]
        return VariantSummary(variant, len(runs), float(np.mean(acc)), _std(acc), float(min(acc)),
                              float(max(acc)), float(np.mean(loss)), _std(loss))

    def summaries(self) -> list[VariantSummary]:
        return [s for s in (self.summary(v) for v in self.variants) if s is not None]

    def ranking(self) -> list[VariantSummary]:
        """Variants best first: higher mean accuracy, then lower mean loss."""
        return sorted(self.summaries(), key=lambda s: (-s.acc_mean, s.loss_mean))

    def table(self) -> str:
        """The results table as fixed-width text."""
        batch = f", batch {self.batch_size}" if self.batch_size else ""
        head = (f"task {self.task}: hidden {self.hidden_size}{batch}, {self.steps} training steps, "
                f"seeds {','.join(str(s) for s in self.seeds)}"
                + (" (cancelled: partial results)" if self.cancelled else ""))
        # The configuration goes right under the header so nobody reads the
        # figures as scores on the bundled task.
        lines = [head] + ([self.setting] if self.setting else []) + [
                 f"{'variant':<9} {'removes':<25} {'seeds':>5}  {'test accuracy':<31} {'test loss':<15}",
                 f"{'':<9} {'':<25} {'':>5}  {'mean ± sd  [min–max]':<31} {'mean ± sd':<15}"]
        for v in self.variants:
            name, removes = VARIANT_NAMES[v]
            s = self.summary(v)
            if s is None:
                lines.append(f"{name:<9} {removes:<25} {0:>5}  {'not run':<31}")
                continue
            # One seed has no spread: a "± 0.0%" would read as a measured one.
            acc_sd, loss_sd = (f"{s.acc_std:4.1%}", f"{s.loss_std:.3f}") if s.n > 1 else ("  — ", "—")
            acc = f"{s.acc_mean:6.1%} ± {acc_sd} [{s.acc_min:.1%}–{s.acc_max:.1%}]"
            loss = f"{s.loss_mean:.3f} ± {loss_sd}"
            lines.append(f"{name:<9} {removes:<25} {s.n:>5}  {acc:<31} {loss:<15}")
        return "\n".join(lines)

    def _differs(self, a: VariantSummary, b: VariantSummary) -> float:
        """Mean accuracy of ``a`` minus ``b`` if the gap is clear, else 0.

        Clear means larger than :data:`MIN_DIFFERENCE` and than the 95%
        margin of a two-sample t-test over the seeds (pooled variance), so
        with three seeds a gap must exceed about 2.8 standard errors.
        """
        gap = a.acc_mean - b.acc_mean
        if a.n < MIN_SEEDS or b.n < MIN_SEEDS:
            return 0.0
        df = a.n + b.n - 2
        pooled = ((a.n - 1) * a.acc_std ** 2 + (b.n - 1) * b.acc_std ** 2) / df
        se = np.sqrt(pooled * (1 / a.n + 1 / b.n))
        return gap if abs(gap) > max(MIN_DIFFERENCE, _t95(df) * se) else 0.0

    def results_text(self) -> str:
        """What the numbers show, set against Greff et al. 2017's findings.

        Ends with the lab configuration, when there is one, whatever the
        verdict: the text is read without the table as often as with it.
        """
        text = self._verdicts()
        if self.setting and self.runs:
            text += f" Trained and tested in the {self.setting[0].lower()}{self.setting[1:]}."
        return text

    def _verdicts(self) -> str:
        ranked = self.ranking()
        if not ranked:
            return "No run finished, so there is nothing to compare."
        counts = sorted({s.n for s in ranked})
        seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
        paper = ("Greff et al.'s findings (forget gate crucial, CIFG harmless, no input gate hurting on "
                 "speech and handwriting)")
        cancelled = (["The lab was cancelled, so some variants have fewer seeds than asked for."]
                     if self.cancelled else [])
        # Means in table order, not sorted, wherever no ranking is made: a sorted list reads as one.
        means = ", ".join(f"{s.name} {s.acc_mean:.1%}" for s in self.summaries())
        std = self.summary("standard")
        learned, unlearned = [], False
        if std is not None and np.isfinite(self.baseline):
            learned.append(f"Always answering the most common target would score {self.baseline:.1%}; "
                           f"the standard cell reached {std.acc_mean:.1%}.")
            unlearned = std.acc_mean - self.baseline <= MIN_DIFFERENCE
            if unlearned:
                learned.append(f"So within {self.steps} steps the standard cell has not learned {self.task}, "
                               "and variants cannot be ranked by what none of them learned: raise the "
                               "number of steps.")
        if counts[0] < MIN_SEEDS:
            word = "seed" if counts[-1] == 1 else "seeds"
            return " ".join([
                f"Ranking on {self.task}: with {seeds} {word} per variant no ranking can be concluded. "
                f"Mean test accuracy: {means}.",
                *learned,
                "On a short budget a run's result depends on its seed as much as on its gates, and "
                f"fewer than {MIN_SEEDS} seeds give no estimate of that spread, so {paper} are neither "
                f"confirmed nor contradicted by this run. Train at least {MIN_SEEDS} seeds per variant "
                "to compare them.",
                *cancelled])
        if unlearned:
            return " ".join([f"Ranking on {self.task}: none can be concluded. Mean test accuracy: {means}.",
                             *learned, f"{paper} can be neither confirmed nor refuted by this run.",
                             *cancelled])
        order = " > ".join(f"{s.name} {s.acc_mean:.1%}" for s in ranked)
        out = [f"Ranking on {self.task} by mean test accuracy: {order}."]
        if std is None:
            out.append("The standard cell was not trained, so no variant can be compared with it.")
            return " ".join(out + cancelled)
        out += learned
        out.append(
            f"A gap to the standard cell counts as clear here only when it exceeds {MIN_DIFFERENCE:.0%} "
            f"and the 95% margin of a t-test over the {seeds} seeds; smaller gaps are within the noise "
            "and the order among them means nothing."
        )

        widest = max(ranked, key=lambda s: s.acc_max - s.acc_min)
        if widest.acc_max - widest.acc_min > 0.25:
            out.append(
                f"Seeds disagree a lot: {widest.name} ranges from {widest.acc_min:.1%} to "
                f"{widest.acc_max:.1%}. On this budget, whether a run gets past the plateau depends "
                "much on its seed; more seeds or steps would sharpen the comparison."
            )

        claims = [
            ("nfg", "Greff et al. found the forget gate crucial (NFG hurt on every data set)", True),
            ("cifg", "They found coupling the gates (CIFG) harmless", False),
            ("nig", "They found that removing the input (update) gate hurt on speech and handwriting, "
                    "not on music", True),
            ("nog", "They found that removing the output gate hurt on speech and handwriting", True),
        ]
        for variant, claim, paper_says_worse in claims:
            s = self.summary(variant)
            if s is None:
                continue
            gap = self._differs(s, std)
            if gap < 0:
                what = f"here {s.name} scores clearly below the standard cell ({gap:+.1%})"
                tail = "in line with the paper" if paper_says_worse else "unlike on the paper's benchmarks"
            elif gap > 0:
                what = f"here {s.name} scores clearly above the standard cell ({gap:+.1%})"
                tail = "unlike on the paper's benchmarks"
            else:
                what = (f"here {s.name} is within the noise of the standard cell "
                        f"({s.acc_mean - std.acc_mean:+.1%})")
                tail = ("so this run does not show it" if paper_says_worse
                        else "in line with the paper")
            out.append(f"{claim}; {what}, {tail}.")
        ceiling = [s.name for s in ranked if s.variant != "standard" and s.acc_mean >= CEILING
                   and not self._differs(s, std)]
        if std.acc_mean >= CEILING and ceiling:
            # Without this, "within the noise" at 99% reads as "the gate does
            # not matter", when the task is merely too easy to tell.
            out.append(
                f"The standard cell and {', '.join(ceiling)} all score at least {CEILING:.0%}: that close "
                "to the ceiling, accuracy on this task cannot separate them, so for them 'within the "
                "noise' says the task is easy with or without that gate, not that the gate is useless "
                "in general (the test loss may still differ)."
            )
        if self.cancelled:
            out.append("The lab was cancelled, so some variants have fewer seeds than asked for.")
        out.append(
            f"These are tiny one-layer models on a synthetic {self.task} task with a short budget "
            f"({self.steps} steps), not the paper's speech, handwriting and music benchmarks with "
            "tuned hyperparameters: agreeing or not with the paper here says little about those, and "
            "a longer budget can change the picture."
        )
        return " ".join(out)


def _baseline(task) -> float:
    """Test accuracy of always predicting the most common scored target."""
    counts: dict[int, int] = {}
    total = 0
    for _, targets, scored in task.examples("test"):
        values, n = np.unique(targets[np.asarray(scored, bool)], return_counts=True)
        for v, k in zip(values.tolist(), n.tolist(), strict=True):
            counts[v] = counts.get(v, 0) + k
        total += int(n.sum())
    return max(counts.values()) / total if total else float("nan")


def run_lab(task: str, variants=ALL_VARIANTS, seeds=None, steps: int | None = None,
            hidden_size: int | None = None, batch_size: int | None = None,
            progress=None, on_run=None, should_stop=None, callback_every: int = 25) -> LabResult:
    """Train every variant with every seed on ``task`` and score each on its test set.

    Parameters
    ----------
    task : str or Task
        ``"latch"`` or ``"counting"`` (any task name the trainer knows, or a
        :class:`Task` object, works). Latch is trained and tested in its lab
        configuration, :class:`LabLatchTask`.
    variants : iterable of str
        Subset of :data:`ALL_VARIANTS`, in the order to run and show them.
    seeds : int or iterable of int, optional
        A count (seeds 0..N−1) or the seeds themselves (default from
        :data:`DEFAULT_SEEDS`, 3 for an unlisted task); every variant gets
        the same seeds, so run k of every variant starts from the same
        random stream.
    steps, hidden_size, batch_size : int, optional
        Shared budget and size; defaults from :data:`DEFAULT_STEPS`,
        :data:`DEFAULT_SIZES` and the task.
    progress : callable, optional
        ``progress(variant, seed, step, train_loss, steps)`` during training;
        returning ``False`` cancels the lab (finished runs are kept).
    on_run : callable, optional
        ``on_run(result)`` with each :class:`RunResult` as it finishes; its
        ``model`` is the trained network, ready for the viewer.
    should_stop : callable, optional
        ``should_stop() -> bool``, asked before each run and at every
        progress point; True cancels the lab (finished runs are kept).

    Returns
    -------
    LabResult
    """
    spec = lab_task(task)
    variants = [str(v).lower() for v in variants]
    for v in variants:
        if v not in VARIANTS:
            raise ValueError(f"unknown variant '{v}'; known: {', '.join(ALL_VARIANTS)}")
    if not variants:
        raise ValueError("no variant to train")
    if seeds is None:
        seeds = DEFAULT_SEEDS.get(spec.name, 3)
    seed_list = list(range(int(seeds))) if np.isscalar(seeds) else [int(s) for s in seeds]
    if not seed_list:
        raise ValueError("at least one seed is needed")
    steps = int(steps if steps is not None else DEFAULT_STEPS.get(spec.name, spec.steps))
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    sizes = DEFAULT_SIZES.get(spec.name, {})
    H = int(hidden_size or sizes.get("hidden_size") or spec.hidden_size)
    batch_size = batch_size or sizes.get("batch_size")
    setting = spec.setting() if hasattr(spec, "setting") else ""
    result = LabResult(spec.name, variants, seed_list, steps, H, baseline=_baseline(spec),
                       batch_size=int(batch_size or spec.batch_size), setting=setting)
    example = _example_text(spec)
    start = time.perf_counter()
    # Seed-major order: after one round every variant has a result, so a lab
    # cancelled early still compares all of them.
    for seed in seed_list:
        for variant in variants:
            if should_stop is not None and should_stop():
                result.cancelled = True
                break
            t0 = time.perf_counter()
            curve_steps: list[int] = []
            curve_loss: list[float] = []

            def report(step, train_loss, steps, _v=variant, _s=seed, _cs=curve_steps,
                       _cl=curve_loss, **_):
                _cs.append(int(step))
                _cl.append(float(train_loss))
                if should_stop is not None and should_stop():
                    return False
                if progress is not None and progress(_v, _s, int(step), float(train_loss), steps) is False:
                    return False
                return True

            # The task object, not its name: the trainer would build the bundled task.
            trained, history = train(spec, hidden_size=H, variant=variant, seed=seed, steps=steps,
                                     batch_size=batch_size, callback=report,
                                     callback_every=max(1, min(callback_every, steps)))
            if history["stopped"]:
                result.cancelled = True
                break
            model = variant_in_weights(trained, variant)
            model.name = run_name(spec.name, variant, seed)
            # Scored as the model the viewer opens: its figures are the table's.
            score = evaluate(model, spec)
            model.card.update(
                description=spec.description, data=spec.data, scored_on=spec.scored_on,
                trained_by=f"the variant lab (lstm-viewer lab {spec.name}), one of "
                           f"{len(variants)} variants x {len(seed_list)} seeds",
                test={"accuracy": round(float(score.accuracy), 4), "loss": round(float(score.loss), 4)},
                example=example, look_at=LOOK_AT.get(variant, spec.look_at))
            if setting:
                model.card["setting"] = setting
            run = RunResult(variant, seed, float(score.accuracy), float(score.loss),
                            curve_steps, curve_loss, time.perf_counter() - t0, model=model)
            result.runs.append(run)
            if on_run is not None:
                on_run(run)
        if result.cancelled:
            break
    result.seconds = time.perf_counter() - start
    return result
