"""The viewer's state as a plain Python object with events (no Qt).

Views take a :class:`ViewerState` in ``__init__`` and subscribe to the events
they draw, napari style::

    state.events.step.connect(self._on_step)

Every setter emits only when the value really changes, so views can call
setters freely without feedback loops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

#: The events a ViewerState emits, in the order a full reload emits them.
EVENT_NAMES = (
    "model",          # a new model was loaded (value: LSTMModel or None)
    "inputs",         # the input sequence changed (value: the inputs)
    "trace",          # a new trace arrived (value: Trace or None)
    "layer",          # the layer/direction shown changed (value: (layer, direction))
    "step",           # the current step t changed (value: t)
    "unit",           # the selected unit changed (value: unit or None)
    "node",           # the inspected node changed (value: node name or None)
    "speed",          # playback speed in steps per second
    "interventions",  # the intervention list changed
    "playing",        # playback started or stopped (value: bool)
    "dark",           # theme changed (value: bool)
    "colour_mode",    # how colour ranges are chosen: "trace", "locked" or "step"
)

#: Colour-range modes: fixed per trace (default), kept across traces, refit every step.
COLOUR_MODES = ("trace", "locked", "step")


@dataclass
class Event:
    """What an emitter passes to its callbacks."""

    type: str
    value: Any
    source: Any = None


class EventEmitter:
    """A minimal signal: callbacks are called in connection order with an :class:`Event`."""

    def __init__(self, name: str, source: Any = None):
        self.name = name
        self.source = source
        self._callbacks: list[Callable[[Event], Any]] = []

    def connect(self, callback: Callable[[Event], Any]) -> Callable[[Event], Any]:
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[Event], Any] | None = None) -> None:
        """Remove ``callback``, or every callback when it is None."""
        if callback is None:
            self._callbacks.clear()
        elif callback in self._callbacks:
            self._callbacks.remove(callback)

    def __call__(self, value: Any = None) -> None:
        event = Event(self.name, value, self.source)
        for callback in list(self._callbacks):
            callback(event)


class EmitterGroup:
    """Holds one :class:`EventEmitter` per name, as attributes."""

    def __init__(self, source: Any, names: tuple[str, ...]):
        for name in names:
            setattr(self, name, EventEmitter(name, source))

    def disconnect_all(self) -> None:
        for emitter in vars(self).values():
            emitter.disconnect()


class ViewerState:
    """Everything the views show: model, input, trace, step, selection, playback.

    Attributes
    ----------
    model : LSTMModel or None
    source : str
        Where the model came from (a path or a bundled name).
    inputs : ndarray or None
        Token ids (1-D) or vectors (2-D) of the current input.
    text : str or None
        The input text when it was typed, with ``unknown`` the positions of
        characters missing from the vocabulary (skipped, not fatal).
    trace : Trace or None
        The engine's record of the current input (set by the worker's result).
    overview : dict or None
        Per (layer, direction): time-downsampled c and a for the plots,
        prepared off the GUI thread.
    t : int
        Current step, 0 ≤ t < length.
    """

    MIN_SPEED, MAX_SPEED = 0.25, 60.0

    def __init__(self):
        self.events = EmitterGroup(self, EVENT_NAMES)
        self.model = None
        self.source = ""
        self.inputs: np.ndarray | None = None
        self.text: str | None = None
        self.unknown: list[int] = []
        self.trace = None
        self.overview: dict | None = None
        self.t = 0
        self.layer = 0
        self.direction = 0
        self.unit: int | None = None
        self.node: str | None = "c"
        self.speed = 4.0
        self.interventions: list = []
        self.playing = False
        self.dark = False
        self.colour_mode = "trace"

    # -- derived -------------------------------------------------------
    @property
    def length(self) -> int:
        """Number of steps of the current trace (0 without one)."""
        return 0 if self.trace is None else self.trace.length

    @property
    def direction_trace(self):
        """The DirectionTrace of the selected layer and direction, or None."""
        if self.trace is None or self.layer >= len(self.trace.layers):
            return None
        directions = self.trace.layers[self.layer]
        return directions[min(self.direction, len(directions) - 1)]

    @property
    def hidden_size(self) -> int:
        if self.model is None:
            return 0
        return self.model.layers[min(self.layer, len(self.model.layers) - 1)].hidden_size

    def token_label(self, t: int) -> str:
        """Short display text of input position t (the character, or the index)."""
        trace = self.trace
        if trace is not None and trace.tokens is not None and self.model is not None and self.model.vocab:
            return display_token(self.model.vocab[int(trace.tokens[t])])
        if trace is not None and trace.tokens is not None:
            return str(int(trace.tokens[t]))
        return str(t)

    def step_values(self, t: int | None = None) -> dict | None:
        """``DirectionTrace.step(t)`` for the shown layer, or None without a trace."""
        d = self.direction_trace
        if d is None or self.length == 0:
            return None
        return d.step(self.t if t is None else t)

    def y_hat(self, t: int | None = None) -> np.ndarray | None:
        """ŷ⟨t⟩ when the model has a head and the shown layer is the top one."""
        trace = self.trace
        if trace is None or trace.y_hat is None or self.layer != len(trace.layers) - 1:
            return None
        return trace.y_hat[self.t if t is None else t]

    # -- setters -------------------------------------------------------
    def set_model(self, model, source: str = "") -> None:
        """Show a new model; the trace, selection and layer are reset."""
        self.model = model
        self.source = source
        self.trace = None
        self.overview = None
        self.layer = self.direction = 0
        self.unit = None
        self.t = 0
        self.interventions = []
        self.events.model(model)

    def set_inputs(self, inputs, text: str | None = None, unknown: list[int] | None = None) -> None:
        """Set the input sequence; the worker reacts by running the engine."""
        self.inputs = None if inputs is None else np.asarray(inputs)
        self.text = text
        self.unknown = list(unknown or [])
        self.events.inputs(self.inputs)

    def set_trace(self, trace, overview: dict | None = None) -> None:
        """Install the engine's result; the step is kept when still in range."""
        self.trace = trace
        self.overview = overview
        # The step is brought inside the new trace before anyone hears of it.
        if self.t >= self.length:
            self.t = max(0, self.length - 1)
        self.events.trace(trace)
        # Views redraw the current step for the new trace.
        self.events.step(self.t)

    def set_step(self, t: int) -> None:
        if self.length == 0:
            return
        t = int(min(max(t, 0), self.length - 1))
        if t != self.t:
            self.t = t
            self.events.step(t)

    def set_layer(self, layer: int, direction: int = 0) -> None:
        if self.model is None:
            return
        layer = int(min(max(layer, 0), len(self.model.layers) - 1))
        direction = int(min(max(direction, 0), len(self.model.layers[layer].cells) - 1))
        if (layer, direction) != (self.layer, self.direction):
            self.layer, self.direction = layer, direction
            if self.unit is not None and self.unit >= self.hidden_size:
                self.set_unit(None)
            self.events.layer((layer, direction))
            self.events.step(self.t)

    def set_unit(self, unit: int | None) -> None:
        if unit is not None:
            unit = int(unit)
            if not 0 <= unit < max(self.hidden_size, 1):
                return
        if unit != self.unit:
            self.unit = unit
            self.events.unit(unit)

    def set_node(self, node: str | None) -> None:
        if node != self.node:
            self.node = node
            self.events.node(node)

    def set_speed(self, speed: float) -> None:
        speed = float(min(max(speed, self.MIN_SPEED), self.MAX_SPEED))
        if speed != self.speed:
            self.speed = speed
            self.events.speed(speed)

    def set_interventions(self, interventions: list) -> None:
        """Change the forward-pass interventions; the worker re-runs the input."""
        interventions = list(interventions)
        if interventions != self.interventions:
            self.interventions = interventions
            self.events.interventions(interventions)

    def set_playing(self, playing: bool) -> None:
        playing = bool(playing) and self.length > 0
        if playing != self.playing:
            self.playing = playing
            self.events.playing(playing)

    def set_colour_mode(self, mode: str) -> None:
        """How the diagram's colour ranges are chosen (one of :data:`COLOUR_MODES`)."""
        if mode not in COLOUR_MODES:
            raise ValueError(f"unknown colour mode {mode!r}; expected one of {', '.join(COLOUR_MODES)}")
        if mode != self.colour_mode:
            self.colour_mode = mode
            self.events.colour_mode(mode)

    def set_dark(self, dark: bool) -> None:
        if bool(dark) != self.dark:
            self.dark = bool(dark)
            self.events.dark(self.dark)


def display_token(token: str) -> str:
    """A visible stand-in for whitespace and control characters."""
    special = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍", "": "∅"}
    if token in special:
        return special[token]
    if len(token) == 1 and not token.isprintable():
        return f"\\x{ord(token):02x}"
    return token
