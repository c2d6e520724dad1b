"""Interventions applied inside the forward pass: gates switched off or clamped.

Each :class:`Intervention` names what it changes, on which layer (all when
``layer`` is None) and which units (all when ``units`` is None). The names
follow Greff et al. 2017, "LSTM: A Search Space Odyssey":

=====================  ====================================  =========
spec string            effect                                paper
=====================  ====================================  =========
``update=1``           Γ_u := 1 (no update gate)             NIG
``forget=1``           Γ_f := 1 (no forget gate)             NFG
``output=1``           Γ_o := 1 (no output gate)             NOG
``coupled``            Γ_u := 1 − Γ_f                        CIFG
``no-candidate-tanh``  c̃ = z_c, no squashing                 NIAF
``no-output-tanh``     a = Γ_o ⊙ c                           NOAF
``candidate=V``        c̃ := V
``freeze``             Γ_f := 1, Γ_u := 0, a := a⟨t−1⟩
``no-peepholes``       p ⊙ c := 0 (gates stop seeing c)      NP
=====================  ====================================  =========

Any spec takes ``@UNITS`` (``update=0.5@0,3,5`` or ``@2-6``) and ``#LAYER``
(``forget=1#1``), in either order. Recorded gate values are the values
actually used, so an intervened trace has the same form as an intact one.

Within a step the changes are applied in a fixed order, whatever the order
of the specs: the candidate's squashing, then clamps of Γ_f, then the
coupling Γ_u := 1 − Γ_f (so it sees the forget gate as used), then clamps of
Γ_u and c̃, then freezing (which wins over everything else on its units).
A frozen unit writes nothing and forgets nothing, so its c stays exactly
c⟨t−1⟩ and the records show why; its a is held at a⟨t−1⟩ too, the one
record that then differs from Γ_o ⊙ tanh(c).

``no-peepholes`` zeroes the peephole weights of the chosen units, so the
recorded p ⊙ c terms are the zeros actually added; on a model without
peepholes it changes nothing.

Gates are clamped to values in [0, 1] only: a sigmoid gate cannot leave that
range, and a "gate" of 2 would be a different cell, not a switched-off gate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLAMPABLE = ("update", "forget", "candidate", "output")
KINDS = ("clamp", "coupled", "no-candidate-tanh", "no-output-tanh", "freeze", "no-peepholes")


class InterventionError(ValueError):
    """An intervention spec that cannot be understood or applied."""


@dataclass(frozen=True)
class Intervention:
    """One change to the forward pass.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    target : str, optional
        For ``clamp``: which of :data:`CLAMPABLE` is set.
    value : float
        For ``clamp``: the value it is set to.
    units : tuple of int, optional
        Units affected; all when None.
    layer : int, optional
        Layer affected; all when None.
    """

    kind: str
    target: str | None = None
    value: float = 1.0
    units: tuple[int, ...] | None = None
    layer: int | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise InterventionError(f"unknown intervention '{self.kind}'; known: {', '.join(KINDS)}")
        if self.kind == "clamp" and self.target not in CLAMPABLE:
            raise InterventionError(
                f"cannot clamp '{self.target}'; choose one of {', '.join(CLAMPABLE)}"
            )
        if self.kind == "clamp" and self.target != "candidate" and not 0.0 <= self.value <= 1.0:
            raise InterventionError(f"cannot clamp {self.target} to {self.value:g}: a gate lies in [0, 1]")

    def applies_to(self, layer: int) -> bool:
        """True when this intervention acts on layer ``layer``."""
        return self.layer is None or self.layer == layer

    @property
    def spec(self) -> str:
        """The spec string that :func:`parse` turns back into this intervention."""
        text = f"{self.target}={self.value:g}" if self.kind == "clamp" else self.kind
        if self.units is not None:
            text += "@" + ",".join(str(u) for u in self.units)
        if self.layer is not None:
            text += f"#{self.layer}"
        return text

    @property
    def label(self) -> str:
        """Short human description, e.g. "Γ_u := 1 (NIG)"."""
        symbols = {"update": "Γ_u", "forget": "Γ_f", "output": "Γ_o", "candidate": "c̃"}
        papers = {("update", 1.0): "NIG", ("forget", 1.0): "NFG", ("output", 1.0): "NOG"}
        if self.kind == "clamp":
            text = f"{symbols[self.target]} := {self.value:g}"
            if (self.target, self.value) in papers:
                text += f" ({papers[(self.target, self.value)]})"
        else:
            text = {"coupled": "Γ_u := 1 − Γ_f (CIFG)",
                    "no-candidate-tanh": "c̃ without tanh (NIAF)",
                    "no-output-tanh": "a = Γ_o ⊙ c (NOAF)",
                    "freeze": "units frozen",
                    "no-peepholes": "p ⊙ c := 0 (NP)"}[self.kind]
        if self.units is not None:
            text += f" on units {','.join(str(u) for u in self.units)}"
        if self.layer is not None:
            text += f" in layer {self.layer}"
        return text


def parse_units(text: str) -> tuple[int, ...]:
    """``0,3,5`` or ``2-6`` (or a mix) → sorted unique unit indices."""
    units: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            if "-" in part:
                lo, hi = (int(p) for p in part.split("-", 1))
                units.extend(range(lo, hi + 1))
            else:
                units.append(int(part))
        except ValueError:
            raise InterventionError(f"bad unit list '{text}': use e.g. 0,3,5 or 2-6") from None
    if not units or min(units) < 0:
        raise InterventionError(f"bad unit list '{text}': use e.g. 0,3,5 or 2-6")
    return tuple(sorted(set(units)))


_parse_units = parse_units


def _split_suffixes(spec: str) -> tuple[str, str | None, str | None]:
    """Split ``body@UNITS#LAYER`` (suffixes in either order) into its three parts."""
    body, units, layer = spec, None, None
    # Peel suffixes from the right so that "@0-3#1" and "#1@0-3" both work.
    for _ in range(2):
        cut = max(body.rfind("@"), body.rfind("#"))
        if cut < 0:
            break
        mark, tail, body = body[cut], body[cut + 1:], body[:cut]
        if mark == "@":
            if units is not None:
                raise InterventionError(f"'{spec}' names units twice")
            units = tail
        else:
            if layer is not None:
                raise InterventionError(f"'{spec}' names a layer twice")
            layer = tail
    if "@" in body or "#" in body:
        raise InterventionError(f"'{spec}': too many @ or # parts")
    return body.strip(), units, layer


_ALIASES = {"no-update": "update=1", "no-forget": "forget=1", "no-output": "output=1",
            "nig": "update=1", "nfg": "forget=1", "nog": "output=1", "cifg": "coupled",
            "niaf": "no-candidate-tanh", "noaf": "no-output-tanh", "np": "no-peepholes",
            "no-peephole": "no-peepholes"}


def parse(spec: str) -> Intervention:
    """Turn a spec string into an :class:`Intervention`.

    Parameters
    ----------
    spec : str
        ``update=V``, ``forget=V``, ``output=V``, ``candidate=V``,
        ``coupled``, ``no-candidate-tanh``, ``no-output-tanh``, ``freeze`` or
        ``no-peepholes`` (or the paper names ``nig``, ``nfg``, ``nog``,
        ``cifg``, ``niaf``, ``noaf``, ``np``), optionally followed by
        ``@UNITS`` and ``#LAYER``.

    Raises
    ------
    InterventionError
        With a one-line message saying what is wrong and what would do.
    """
    if not isinstance(spec, str):
        raise InterventionError(f"an intervention spec must be a string, got {type(spec).__name__}")
    text, unit_text, layer_text = _split_suffixes(spec.strip())
    layer = None
    if layer_text is not None:
        try:
            layer = int(layer_text)
        except ValueError:
            raise InterventionError(f"bad layer in '{spec}': use e.g. forget=1#0") from None
        if layer < 0:
            raise InterventionError(f"bad layer in '{spec}': layers count from 0")
    units = None if unit_text is None else parse_units(unit_text)
    text = text.lower()
    text = _ALIASES.get(text, text)
    if "=" in text:
        target, _, value_text = text.partition("=")
        target = target.strip()
        try:
            value = float(value_text)
        except ValueError:
            raise InterventionError(f"bad value in '{spec}': expected a number after '='") from None
        if not np.isfinite(value):
            raise InterventionError(f"bad value in '{spec}': the value must be finite")
        if target not in CLAMPABLE:
            raise InterventionError(
                f"cannot clamp '{target}' in '{spec}'; choose one of {', '.join(CLAMPABLE)}"
            )
        if target != "candidate" and not 0.0 <= value <= 1.0:
            raise InterventionError(
                f"bad value in '{spec}': a gate lies in [0, 1], so clamp it to a value in that range"
            )
        return Intervention("clamp", target, value, units, layer)
    if text in KINDS and text != "clamp":
        return Intervention(text, None, 1.0, units, layer)
    raise InterventionError(
        f"unknown intervention '{spec}'; use update=V, forget=V, output=V, candidate=V, "
        "coupled, no-candidate-tanh, no-output-tanh, freeze or no-peepholes, "
        "optionally @UNITS and #LAYER"
    )


class LayerInterventions:
    """The interventions of one layer, with unit indices resolved once.

    The runner calls the ``on_*`` hooks at fixed points of a step; each works
    in place on views of the step's records. The order inside a hook is fixed
    (see the module docstring), not the order in which specs were given.
    """

    def __init__(self, interventions: list[Intervention], hidden_size: int, layer: int):
        self.items = [iv for iv in interventions if iv.applies_to(layer)]
        for iv in self.items:
            if iv.units is not None and max(iv.units) >= hidden_size:
                raise InterventionError(
                    f"'{iv.spec}': unit {max(iv.units)} does not exist in layer {layer} "
                    f"(hidden size {hidden_size})"
                )
        pairs = [(iv, slice(None) if iv.units is None else np.asarray(iv.units)) for iv in self.items]

        def pick(kind, target=None):
            return [idx if kind != "clamp" else (idx, iv.value) for iv, idx in pairs
                    if iv.kind == kind and (target is None or iv.target == target)]

        self._forget = pick("clamp", "forget")
        self._coupled = pick("coupled")
        self._update = pick("clamp", "update")
        self._candidate = pick("clamp", "candidate")
        self._output = pick("clamp", "output")
        self._freeze = pick("freeze")
        self._niaf = [idx for idx in pick("no-candidate-tanh") if not isinstance(idx, slice)]
        self._noaf = [idx for idx in pick("no-output-tanh") if not isinstance(idx, slice)]
        self.candidate_tanh = not any(iv.kind == "no-candidate-tanh" and iv.units is None
                                      for iv in self.items)
        self.output_tanh = not any(iv.kind == "no-output-tanh" and iv.units is None
                                   for iv in self.items)
        self._no_peepholes = pick("no-peepholes")

    def peephole_mask(self, hidden_size: int) -> np.ndarray | None:
        """1 where the peepholes stay, 0 on units switched to no peepholes (NP).

        None when no ``no-peepholes`` intervention acts on this layer.
        """
        if not self._no_peepholes:
            return None
        mask = np.ones(hidden_size)
        for idx in self._no_peepholes:
            mask[idx] = 0.0
        return mask

    def __bool__(self) -> bool:
        return bool(self.items)

    def on_candidate(self, z_c: np.ndarray, candidate: np.ndarray) -> None:
        """Undo tanh on units where the candidate is not squashed (NIAF)."""
        for idx in self._niaf:
            candidate[idx] = z_c[idx]

    def on_gates(self, update, forget, candidate) -> None:
        """Clamps, coupling and freezing applied before the cell state is written."""
        for idx, value in self._forget:
            forget[idx] = value
        for idx in self._coupled:
            update[idx] = 1.0 - forget[idx]
        for idx, value in self._update:
            update[idx] = value
        for idx, value in self._candidate:
            candidate[idx] = value
        # Γ_f = 1 and Γ_u = 0 hold c exactly (1·c + 0·c̃ is exact in floating point).
        for idx in self._freeze:
            forget[idx] = 1.0
            update[idx] = 0.0

    def on_output(self, output) -> None:
        """Clamps of the output gate (NOG), applied once Γ_o is computed."""
        for idx, value in self._output:
            output[idx] = value

    def on_squash(self, c, tanh_c) -> None:
        """Replace tanh(c) by c where the output is not squashed (NOAF)."""
        if not self.output_tanh:
            tanh_c[:] = c
            return
        for idx in self._noaf:
            tanh_c[idx] = c[idx]

    def on_state(self, c, a, c_prev, a_prev) -> None:
        """Frozen units keep their previous a (their c is held by the gates)."""
        for idx in self._freeze:
            c[idx] = c_prev[idx]
            a[idx] = a_prev[idx]


def parse_all(specs) -> list[Intervention]:
    """Parse several specs (an iterable of strings, or one comma-free string)."""
    if isinstance(specs, str):
        specs = [specs]
    return [spec if isinstance(spec, Intervention) else parse(spec) for spec in specs]
