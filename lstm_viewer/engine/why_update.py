"""Why the update gate? The write Γ_u ⊙ c̃ of one unit taken apart.

The question this answers (the seed's): W_c and b_c could switch candidate
values off by making c̃ = tanh(z_c) zero, so why multiply by a separate gate?
For one unit over one run, :func:`analyse` splits the write into its two
factors, counts how often each is near zero, measures how much of the
variation of the write's size each factor explains on its own, and
:meth:`WhyUpdate.explanation` says in words what those numbers show.
:func:`rank_units` finds the units where the gate does the switching, so a
view can open on the unit the argument is about, and :class:`GateOffFigure`
holds and words the model-level figure (accuracy and loss intact and with
Γ_u switched off), whoever computes it.

The reasoning the text draws on: σ(z) < ε for every z below logit(ε) — a
half-line of pre-activations, reached by many inputs with no precision —
while |tanh(z)| < ε only for |z| < atanh(ε), a thin band around 0. To write
nothing through c̃ alone, W_c·[a, x] + b_c would have to land in that band
for every input that must not write, while the same weights carry the value
for the inputs that must. Hochreiter & Schmidhuber (1997) named this the
*input weight conflict*; the gate resolves it by giving "whether to write"
its own weights. NumPy only, no Qt.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .trace import Trace

DEFAULT_EPS = 0.05


def _r2(x: np.ndarray, y: np.ndarray) -> float:
    """Squared correlation of x and y; NaN when either does not vary."""
    if x.size < 2 or np.ptp(x) < 1e-12 or np.ptp(y) < 1e-12:
        return float("nan")
    r = np.corrcoef(x, y)[0, 1]
    return float(r * r)


@dataclass
class WhyUpdate:
    """The two factors of one unit's write and what they say.

    Attributes
    ----------
    layer, unit, direction : int
        Which unit (direction 1 is the reverse half of a bidirectional layer).
    update, candidate, write : ndarray (T,)
        Γ_u, c̃ and Γ_u ⊙ c̃ as used in the run.
    z_update, z_candidate : ndarray (T,)
        Their pre-activations (peephole term included for the gate).
    tokens : ndarray (T,) of int or None
        Input token ids, for colouring a scatter plot.
    eps : float
        What "near zero" means.
    gate_fixed : str or None
        Spec of an intervention that fixes Γ_u on this unit, if any.
    """

    layer: int
    unit: int
    direction: int
    update: np.ndarray
    candidate: np.ndarray
    write: np.ndarray
    z_update: np.ndarray
    z_candidate: np.ndarray
    tokens: np.ndarray | None
    eps: float
    gate_fixed: str | None = None

    @property
    def steps(self) -> int:
        return int(self.write.shape[0])

    @property
    def gate_closed(self) -> np.ndarray:
        """Steps where the gate is near zero (Γ_u < ε)."""
        return self.update < self.eps

    @property
    def candidate_zero(self) -> np.ndarray:
        """Steps where the candidate is near zero (|c̃| < ε)."""
        return np.abs(self.candidate) < self.eps

    @property
    def write_off(self) -> np.ndarray:
        """Steps where (almost) nothing is written (|Γ_u ⊙ c̃| < ε)."""
        return np.abs(self.write) < self.eps

    @property
    def frac_gate_closed(self) -> float:
        return float(self.gate_closed.mean())

    @property
    def frac_candidate_zero(self) -> float:
        return float(self.candidate_zero.mean())

    @property
    def frac_write_off(self) -> float:
        return float(self.write_off.mean())

    def write_off_causes(self) -> dict[str, float]:
        """Of all steps, the fraction whose write is off by each cause.

        Keys ``gate`` (gate near zero, candidate not), ``candidate``
        (candidate near zero, gate not), ``both`` and ``product`` (neither
        factor near zero, but their product is).
        """
        off, g, c = self.write_off, self.gate_closed, self.candidate_zero
        return {"gate": float(np.mean(off & g & ~c)), "candidate": float(np.mean(off & c & ~g)),
                "both": float(np.mean(off & g & c)), "product": float(np.mean(off & ~g & ~c))}

    @property
    def r2_gate(self) -> float:
        """Share of the variance of |write| that Γ_u explains on its own (R²)."""
        return _r2(self.update, np.abs(self.write))

    @property
    def r2_candidate(self) -> float:
        """Share of the variance of |write| that |c̃| explains on its own (R²)."""
        return _r2(np.abs(self.candidate), np.abs(self.write))

    @property
    def gate_threshold(self) -> float:
        """Γ_u < ε exactly when z_u < this value: logit(ε)."""
        return float(np.log(self.eps / (1.0 - self.eps)))

    @property
    def candidate_band(self) -> float:
        """|c̃| < ε exactly when |z_c| < this value: atanh(ε)."""
        return float(np.arctanh(self.eps))

    def open_candidate_magnitude(self) -> float:
        """Mean |c̃| on steps where the gate is open (Γ_u ≥ 0.5); NaN if none."""
        open_ = self.update >= 0.5
        return float(np.abs(self.candidate[open_]).mean()) if open_.any() else float("nan")

    def explanation(self) -> str:
        """A few sentences describing the numbers of this unit on this run."""
        eps, T = self.eps, self.steps
        g, c, off = self.frac_gate_closed, self.frac_candidate_zero, self.frac_write_off
        causes = self.write_off_causes()
        who = f"Unit {self.unit} of layer {self.layer}{' (reverse)' if self.direction else ''}"
        out = [f"{who}, over {T} steps (near zero means below {eps:g}):"]
        if self.gate_fixed is not None and self.gate_closed.all():
            out.append(
                f"the update gate is held shut here ({self.gate_fixed}), so nothing is ever written "
                f"and c only decays through Γ_f, whatever the candidate is (near zero on {c:.0%} of steps)."
            )
            return " ".join(out)
        if self.gate_fixed is not None:
            out.append(
                f"the update gate is fixed here ({self.gate_fixed}), so Γ_u never decides anything: "
                f"the write is off on {off:.0%} of steps, and only because the candidate is near zero "
                f"({c:.0%} of steps). Whatever the unit must not store now gets stored unless "
                f"W_c and b_c put z_c inside the band |z_c| < {self.candidate_band:.3f}."
            )
            return " ".join(out)
        out.append(
            f"the gate Γ_u is closed on {g:.0%} of steps, the candidate is near zero on {c:.0%}, "
            f"and the write Γ_u × candidate is off on {off:.0%}."
        )
        if off > 0:
            out.append(
                f"Of the steps that write nothing, the gate alone shut {causes['gate'] / off:.0%}, "
                f"the candidate alone {causes['candidate'] / off:.0%}, both together "
                f"{causes['both'] / off:.0%}."
            )
        r2g, r2c = self.r2_gate, self.r2_candidate
        if np.isfinite(r2g) or np.isfinite(r2c):
            part = {True: "{:.0%}", False: "none (it does not vary)"}
            out.append(
                "On its own the gate explains "
                f"{part[bool(np.isfinite(r2g))].format(r2g)} of the variation in the size of the write, "
                f"the candidate {part[bool(np.isfinite(r2c))].format(r2c)}."
            )
        # The verdict follows the numbers, whichever way they point.
        if off < 0.05:
            out.append(
                "This unit writes on nearly every step, so on this sequence neither factor is "
                "used as an off switch; try a unit or an input where it holds a value."
            )
        elif causes["gate"] + causes["both"] >= 2 * (causes["candidate"] + causes["product"]):
            out.append(
                "So here the gate, not W_c and b_c, decides when nothing is written, while the candidate "
                f"keeps carrying a value (mean |candidate| {self.open_candidate_magnitude():.2f} when the gate "
                "is open)."
            )
        elif causes["candidate"] >= 2 * (causes["gate"] + causes["both"]):
            out.append(
                "Here the candidate itself is switched off more often than the gate: this unit does "
                "what the question suggests and silences its write through W_c and b_c — at the "
                "price of the thin band below."
            )
        else:
            out.append("Gate and candidate share the work of switching the write off on this sequence.")
        z_c = self.z_candidate
        out.append(
            f"Why the split matters: Γ_u < {eps:g} for every z_u below {self.gate_threshold:.2f}, a "
            f"half-line, but |candidate| < {eps:g} only while |z_c| < {self.candidate_band:.3f}, a band "
            f"{2 * self.candidate_band:.3f} wide, against a spread of z_c from {z_c.min():.2f} to "
            f"{z_c.max():.2f} on this run. Holding z_c in that band for every input that must not write, "
            "while the same W_c, b_c carry the value for the inputs that must, is the input weight "
            "conflict of Hochreiter & Schmidhuber (1997); a separate gate removes it."
        )
        return " ".join(out)


def _gate_fixed(trace: Trace, layer: int, unit: int) -> str | None:
    for iv in trace.interventions:
        if not iv.applies_to(layer) or (iv.units is not None and unit not in iv.units):
            continue
        if (iv.kind == "clamp" and iv.target == "update") or iv.kind == "freeze":
            return iv.spec
    return None


def analyse(trace: Trace, layer: int, unit: int, direction: int = 0,
            eps: float = DEFAULT_EPS) -> WhyUpdate:
    """Take the write of one unit apart.

    Parameters
    ----------
    trace : Trace
        A run (intact or intervened).
    layer, unit : int
        The unit to look at.
    direction : int
        0 forward, 1 reverse (bidirectional layers only).
    eps : float
        Threshold for "near zero", in (0, 0.5).

    Returns
    -------
    WhyUpdate
    """
    if not 0 <= layer < len(trace.layers):
        raise ValueError(f"the model has no layer {layer}")
    if not 0 <= direction < len(trace.layers[layer]):
        raise ValueError(f"layer {layer} has no direction {direction}")
    d = trace.layers[layer][direction]
    if not 0 <= unit < d.hidden_size:
        raise ValueError(f"layer {layer} has no unit {unit} (hidden size {d.hidden_size})")
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must lie in (0, 0.5), got {eps}")
    H = d.hidden_size
    # Records keep the blocks as update, forget, output, candidate (trace.py),
    # so Γ_u is column ``unit`` and c̃ column 3H + unit.
    z_u = d.pre_x[:, unit] + d.pre_a[:, unit] + d.bias[unit]
    if d.pre_c is not None:
        z_u = z_u + d.pre_c[:, unit]
    k = 3 * H + unit
    z_c = d.pre_x[:, k] + d.pre_a[:, k] + d.bias[k]
    return WhyUpdate(
        layer=layer, unit=unit, direction=direction,
        update=np.asarray(d.update[:, unit], np.float64),
        candidate=np.asarray(d.candidate[:, unit], np.float64),
        write=np.asarray(d.write[:, unit], np.float64),
        z_update=np.asarray(z_u, np.float64), z_candidate=np.asarray(z_c, np.float64),
        tokens=None if trace.tokens is None else np.asarray(trace.tokens),
        eps=float(eps), gate_fixed=_gate_fixed(trace, layer, unit),
    )


# --- which unit to look at -------------------------------------------------------------------

#: z of the two-sided 95 % interval used to discount shares resting on few steps.
_Z95 = 1.959964


def _wilson_low(hits: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Lower end of the 95 % Wilson interval of hits / n (0 where n is 0)."""
    n = np.asarray(n, np.float64)
    safe = np.maximum(n, 1.0)
    p = np.asarray(hits, np.float64) / safe
    z2 = _Z95 * _Z95
    centre = p + z2 / (2 * safe)
    spread = _Z95 * np.sqrt(p * (1 - p) / safe + z2 / (4 * safe * safe))
    return np.where(n > 0, (centre - spread) / (1 + z2 / safe), 0.0)


@dataclass(frozen=True)
class UnitRank:
    """How much of one unit's switching-off its gate does alone.

    Attributes
    ----------
    unit : int
    steps : int
        Length of the run.
    no_write : int
        Steps whose write is off (|Γ_u ⊙ c̃| < ε), as :attr:`WhyUpdate.write_off`.
    gate_alone : int
        Of those, the steps the gate shut alone: Γ_u < ε while |c̃| ≥ ε.
    score : float
        The share ``gate_alone / no_write`` discounted for resting on few
        steps (the lower end of its 95 % Wilson interval); units are ranked
        by it. 0 without no-write steps.
    gate_fixed : str or None
        Spec of an intervention that fixes Γ_u on this unit: its gate decides
        nothing, so such a unit is ranked last.
    """

    unit: int
    steps: int
    no_write: int
    gate_alone: int
    score: float
    gate_fixed: str | None = None

    @property
    def share(self) -> float:
        """Share of the no-write steps the gate shut alone; NaN without such steps."""
        return self.gate_alone / self.no_write if self.no_write else float("nan")

    def label(self) -> str:
        """One line for a unit picker."""
        if self.gate_fixed is not None:
            return f"unit {self.unit} — Γ_u fixed by {self.gate_fixed}"
        if self.no_write == 0:
            return f"unit {self.unit} — writes on every step"
        steps = "step" if self.no_write == 1 else "steps"
        return (f"unit {self.unit} — the gate alone shuts {self.share:.0%} of its "
                f"{self.no_write} no-write {steps}")


def rank_units(trace: Trace, layer: int = 0, direction: int = 0,
               eps: float = DEFAULT_EPS) -> list[UnitRank]:
    """Every unit of one layer, the one whose gate does most of the switching first.

    A unit ranks high when the gate alone shuts a large share of the steps on
    which it writes nothing — and that share rests on many steps: a unit
    whose write is off once, shut by the gate, has a share of 100 % but says
    little. So units are ordered by the lower end of the share's 95 % Wilson
    interval, then by how many steps the gate shut alone, then by number.
    The counts are those of :func:`analyse` with the same ``eps``.

    Parameters
    ----------
    trace : Trace
    layer, direction : int
    eps : float
        Threshold for "near zero", in (0, 0.5).

    Returns
    -------
    list of UnitRank
        One per unit, best first.
    """
    if not 0 <= layer < len(trace.layers):
        raise ValueError(f"the model has no layer {layer}")
    if not 0 <= direction < len(trace.layers[layer]):
        raise ValueError(f"layer {layer} has no direction {direction}")
    if not 0.0 < eps < 0.5:
        raise ValueError(f"eps must lie in (0, 0.5), got {eps}")
    d = trace.layers[layer][direction]
    # A float64 threshold, so float32 records are compared exactly as analyse() compares them.
    eps = np.float64(eps)
    off = np.abs(d.write) < eps
    alone = off & (d.update < eps)
    alone &= np.abs(d.candidate) >= eps
    no_write = off.sum(axis=0)
    gate_alone = alone.sum(axis=0)
    score = _wilson_low(gate_alone, no_write)
    ranks = []
    for u in range(d.hidden_size):
        fixed = _gate_fixed(trace, layer, u)
        ranks.append(UnitRank(u, int(trace.length), int(no_write[u]), int(gate_alone[u]),
                              -1.0 if fixed is not None else float(score[u]), fixed))
    ranks.sort(key=lambda r: (-r.score, -r.gate_alone, r.unit))
    return ranks


# --- the model-level figure --------------------------------------------------------------------

#: The spec "Γ_u switched off" stands for everywhere: the gate removed (NIG),
#: every candidate written in full — as ``lstm-viewer evaluate MODEL --intervene update=1``.
GATE_OFF = "update=1"


@dataclass
class GateOffFigure:
    """Accuracy and loss intact and with Γ_u switched off on every unit.

    Computed by the GUI (in the background) either on the model's task's
    test set with the code of ``lstm-viewer evaluate`` (``scope="task"``) or
    on the current input (``scope="input"``); this class only words it.

    Attributes
    ----------
    scope : {"task", "input"}
    intact_accuracy, off_accuracy, intact_loss, off_loss : float
        NaN when they cannot be scored (no output layer).
    positions : int
        Scored positions (steps, on an input).
    sequences : int
        Sequences scored (1 on an input).
    task : str or None
        The task's name (scope "task", or an input scored by the task's rule).
    scored_on : str
        What is scored, in words.
    agreement : bool
        No targets: the intact run's own predictions are the reference.
    divergence : float
        Mean ‖c_int − c_off‖ over the input (scope "input"), else NaN.
    already_off : bool
        The model always runs without the gate (an NIG variant), so switching
        it off changes nothing.
    """

    scope: str
    intact_accuracy: float
    off_accuracy: float
    intact_loss: float
    off_loss: float
    positions: int
    sequences: int = 1
    task: str | None = None
    scored_on: str = ""
    agreement: bool = False
    divergence: float = float("nan")
    already_off: bool = False

    @property
    def scored(self) -> bool:
        return bool(np.isfinite(self.intact_accuracy) and np.isfinite(self.off_accuracy))

    def text(self) -> str:
        """The figure in one or two sentences."""
        off = "with Γ_u switched off on every unit (Γ_u := 1)"
        if self.scope == "task":
            where = (f"On the {self.task} task's test set ({self.positions} scored positions in "
                     f"{self.sequences} sequences, computed as lstm-viewer evaluate does)")
            out = (f"{where}: accuracy {self.intact_accuracy:.4f} intact, {self.off_accuracy:.4f} {off}; "
                   f"loss {self.intact_loss:.4f} → {self.off_loss:.4f} nats.")
        elif not self.scored:
            out = (f"On the current input ({self.positions} steps; the model has no output layer to "
                   f"score): {off}, c moves from the intact run by ‖Δc‖ = {self.divergence:.3g} "
                   "on average.")
        elif self.agreement:
            out = (f"On the current input ({self.positions} steps; no task says what is right, so the "
                   f"intact run's own predictions are the reference): the run {off} agrees with them on "
                   f"{self.off_accuracy:.1%} of steps; loss (−log p of the intact prediction) "
                   f"{self.intact_loss:.4f} → {self.off_loss:.4f} nats.")
        else:
            steps = f"{self.positions} scored by the {self.task} task's rule" if self.task else \
                f"{self.positions} scored"
            out = (f"On the current input ({steps}): accuracy {self.intact_accuracy:.1%} intact, "
                   f"{self.off_accuracy:.1%} {off}; loss {self.intact_loss:.4f} → {self.off_loss:.4f} nats.")
        if self.already_off:
            out += (" This model was trained without the update gate (its card runs it with "
                    f"{GATE_OFF}), so switching the gate off changes nothing here.")
        return out
