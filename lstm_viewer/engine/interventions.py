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
``freeze``             c and a keep their previous values
=====================  ====================================  =========

Any spec takes ``@UNITS`` (``update=0.5@0,3,5`` or ``@2-6``) and ``#LAYER``
(``forget=1#1``). Recorded gate values are the values actually used, so an
intervened trace has the same form as an intact one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CLAMPABLE = ("update", "forget", "candidate", "output")
KINDS = ("clamp", "coupled", "no-candidate-tanh", "no-output-tanh", "freeze")


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

    def applies_to(self, layer: int) -> bool:
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
                    "freeze": "units frozen"}[self.kind]
        if self.units is not None:
            text += f" on units {','.join(str(u) for u in self.units)}"
        if self.layer is not None:
            text += f" in layer {self.layer}"
        return text


def _parse_units(text: str) -> tuple[int, ...]:
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


def parse(spec: str) -> Intervention:
    """Turn a spec string (``update=1``, ``coupled@0-3#1`` ...) into an :class:`Intervention`."""
    text = spec.strip()
    layer = None
    if "#" in text:
        text, _, layer_text = text.partition("#")
        try:
            layer = int(layer_text)
        except ValueError:
            raise InterventionError(f"bad layer in '{spec}': use e.g. forget=1#0") from None
    units = None
    if "@" in text:
        text, _, unit_text = text.partition("@")
        units = _parse_units(unit_text)
    aliases = {"no-update": "update=1", "no-forget": "forget=1", "no-output": "output=1",
               "nig": "update=1", "nfg": "forget=1", "nog": "output=1", "cifg": "coupled",
               "niaf": "no-candidate-tanh", "noaf": "no-output-tanh"}
    text = aliases.get(text.lower(), text)
    if "=" in text:
        target, _, value_text = text.partition("=")
        try:
            value = float(value_text)
        except ValueError:
            raise InterventionError(f"bad value in '{spec}': expected a number after '='") from None
        if not np.isfinite(value):
            raise InterventionError(f"bad value in '{spec}': the value must be finite")
        if target.strip() not in CLAMPABLE:
            raise InterventionError(
                f"cannot clamp '{target}' in '{spec}'; choose one of {', '.join(CLAMPABLE)}"
            )
        return Intervention("clamp", target.strip(), value, units, layer)
    if text in KINDS and text != "clamp":
        return Intervention(text, None, 1.0, units, layer)
    raise InterventionError(
        f"unknown intervention '{spec}'; use update=V, forget=V, output=V, candidate=V, "
        "coupled, no-candidate-tanh, no-output-tanh or freeze, optionally @UNITS and #LAYER"
    )


class LayerInterventions:
    """The interventions of one layer, with unit indices resolved once.

    The runner calls the ``on_*`` hooks at fixed points of a step; each works
    in place on views of the step's records.
    """

    def __init__(self, interventions: list[Intervention], hidden_size: int, layer: int):
        self.items = [iv for iv in interventions if iv.applies_to(layer)]
        for iv in self.items:
            if iv.units is not None and max(iv.units) >= hidden_size:
                raise InterventionError(
                    f"'{iv.spec}': unit {max(iv.units)} does not exist in layer {layer} "
                    f"(hidden size {hidden_size})"
                )
        self._idx = [slice(None) if iv.units is None else np.asarray(iv.units) for iv in self.items]
        self.candidate_tanh = not any(iv.kind == "no-candidate-tanh" and iv.units is None
                                      for iv in self.items)
        self.output_tanh = not any(iv.kind == "no-output-tanh" and iv.units is None
                                   for iv in self.items)

    def __bool__(self) -> bool:
        return bool(self.items)

    def on_candidate(self, z_c: np.ndarray, candidate: np.ndarray) -> None:
        """Undo tanh on units where the candidate is not squashed (NIAF)."""
        for iv, idx in zip(self.items, self._idx):
            if iv.kind == "no-candidate-tanh" and iv.units is not None:
                candidate[idx] = z_c[idx]

    def on_gates(self, update, forget, candidate) -> None:
        """Clamps and coupling applied before the cell state is written."""
        for iv, idx in zip(self.items, self._idx):
            if iv.kind == "clamp" and iv.target != "output":
                {"update": update, "forget": forget, "candidate": candidate}[iv.target][idx] = iv.value
            elif iv.kind == "coupled":
                update[idx] = 1.0 - forget[idx]

    def on_output(self, output) -> None:
        for iv, idx in zip(self.items, self._idx):
            if iv.kind == "clamp" and iv.target == "output":
                output[idx] = iv.value

    def on_squash(self, c, tanh_c) -> None:
        """Replace tanh(c) by c where the output is not squashed (NOAF)."""
        for iv, idx in zip(self.items, self._idx):
            if iv.kind == "no-output-tanh" and iv.units is not None:
                tanh_c[idx] = c[idx]
        if not self.output_tanh:
            tanh_c[:] = c

    def on_state(self, c, a, c_prev, a_prev) -> None:
        """Frozen units keep their previous c and a."""
        for iv, idx in zip(self.items, self._idx):
            if iv.kind == "freeze":
                c[idx] = c_prev[idx]
                a[idx] = a_prev[idx]


def parse_all(specs) -> list[Intervention]:
    """Parse several specs (an iterable of strings, or one comma-free string)."""
    if isinstance(specs, str):
        specs = [specs]
    return [spec if isinstance(spec, Intervention) else parse(spec) for spec in specs]
