"""The LSTM cell drawn bottom to top, as the seed's answer redraws it.

x⟨t⟩ enters at the bottom, is concatenated with the a⟨t−1⟩ register, fans
out into the four branches (σ forget, σ update, tanh candidate on the main
path, σ output), the two Hadamard products and the sum make c⟨t⟩, and
tanh(c⟨t⟩)⊙Γ_o makes a⟨t⟩, which feeds ŷ⟨t⟩ at the top. The c and a
registers sit *inside* the cell boundary, left and right of the main path,
with the loop that carries c⟨t⟩ and a⟨t⟩ to the next step drawn.

Every node is a :class:`~.vector_strip.VectorStrip` (ŷ with a vocabulary:
a :class:`~.top_k.TopKBars`); the operators are :class:`~.op_node.OpNode`,
the arrows one :class:`~.diagram_edges.DiagramEdges`, the boundary a
:class:`~.cell_frame.CellFrame` and the colour key a
:class:`~.diagram_legend.DiagramLegend`, each in its own module. One
``QVariantAnimation`` drives every frame through :meth:`CellDiagram._frame`:
each node interpolates from the values it showed to the new ones in a time
window that starts later the higher the node sits, so a step visibly travels
up the cell, and a pulse runs along the edges into the nodes being updated.

Scene coordinates have y pointing down (the view box is inverted) so text
paints upright; "bottom" in the picture is large y.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEasingCurve, QPointF, QRectF, Qt, QVariantAnimation, Signal

from .cell_frame import CellFrame
from .edges import DiagramEdges
from .legend import DiagramLegend
from .style import OP_R, SCENE_W, TOPK, TOPK_W, visible_token
from .op_node import OpNode
from .ranges import nice_ceiling
from .top_k import TopKBars
from .style import PRESENT_FONT, PRESENT_STROKE
from .vector_strip import TITLE_H, VectorStrip, theme_colors

# --------------------------------------------------------------- layout
# SCENE_W, OP_R and TOPK_W, shared with the graphics items, are in diagram_style.
STRIP_W = 160.0
REG_W = 140.0
PEEP_W = 140.0
GAP = 8.0               # between a strip (below its caption row) and the operator next to it
COL = {"forget": 228.0, "update": 403.0, "candidate": 578.0, "output": 753.0}
MAIN_X = COL["candidate"]
C_REG_X = 80.0          # centre of the c⟨t−1⟩ register (left of the main path)
A_REG_X = 826.0         # centre of the a⟨t−1⟩ register (right of the main path)
A_LOOP_X = 880.0        # the a loop runs down right of the output gate and its label

# Animation stage of each node, bottom (0) to top (7).
STAGE = {"x": 0, "c_prev": 0, "a_prev": 0, "concat": 1,
         "forget": 2, "update": 2, "candidate": 2, "output": 2,
         "peep_forget": 2, "peep_update": 2, "peep_output": 2,
         "write": 3, "keep": 3, "c": 4, "tanh_c": 5, "a": 6, "y_hat": 7}
N_STAGES = 8
WINDOW = 0.34           # fraction of the duration one stage takes to blend

# name -> (title, colour map, value family)
NODE_SPEC = {
    "x": ("x⟨t⟩", "diverging", "x"),
    "concat": ("[a⟨t−1⟩, x⟨t⟩]", "diverging", "concat"),
    "forget": ("Γ_f  forget gate", "sequential", "gate"),
    "update": ("Γ_u  update gate", "sequential", "gate"),
    "candidate": ("c̃⟨t⟩  candidate", "diverging", "unit"),
    "output": ("Γ_o  output gate", "sequential", "gate"),
    "write": ("Γ_u ⊙ c̃⟨t⟩  write", "diverging", "unit"),
    "keep": ("Γ_f ⊙ c⟨t−1⟩  keep", "diverging", "state"),
    "c_prev": ("c⟨t−1⟩ register", "diverging", "state"),
    "c": ("c⟨t⟩  cell state", "diverging", "state"),
    "tanh_c": ("tanh(c⟨t⟩)", "diverging", "unit"),
    "a_prev": ("a⟨t−1⟩ register", "diverging", "unit"),
    "a": ("a⟨t⟩  hidden state", "diverging", "unit"),
    "y_hat": ("ŷ⟨t⟩ = head(W_y a⟨t⟩ + b_y)", "sequential", "prob"),
}
PEEP_SPEC = {"forget": "p_f ⊙ c⟨t−1⟩", "update": "p_u ⊙ c⟨t−1⟩", "output": "p_o ⊙ c⟨t⟩"}
HIDDEN_NODES = ("forget", "update", "candidate", "output", "write", "keep",
                "c_prev", "c", "tanh_c", "a_prev", "a")
SELECTION_MODES = ("all", "most_active", "most_changed", "manual")
#: Legend text of each colour-range mode.
RANGE_MODE_TEXT = {"trace": "whole trace", "locked": "locked", "step": "this step"}


def _top_indices(score: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n largest scores (ties: lowest index), sorted by index."""
    if n >= score.size:
        return np.arange(score.size)
    order = np.argsort(-score, kind="stable")[:n]
    return np.sort(order)


# ------------------------------------------------------------- the scene
class DiagramScene(pg.GraphicsObject):
    """The animated bottom-to-top LSTM cell, as one graphics item that needs no window.

    Every node, operator, edge and the legend are its child items, so the
    whole cell can be shown by a :class:`~.canvas.DiagramCanvas`, rendered
    into an image or an SVG file, or scaled, all from the same items.

    Signals
    -------
    nodeClicked(str)
        A node was clicked; its name is one of :attr:`NODE_NAMES`.
    nodeHovered(str)
        The pointer entered a node; ``""`` when it leaves.
    unitClicked(int)
        A hidden unit's cell was clicked in any hidden-size strip.
    animationFinished()
        The step shown by :meth:`show_step` has reached its final values
        (emitted also when ``animate=False`` or the duration is 0).
    boundsChanged()
        The structure changed the scene's extent (a canvas re-fits).
    """

    nodeClicked = Signal(str)
    nodeHovered = Signal(str)
    unitClicked = Signal(int)
    animationFinished = Signal()
    boundsChanged = Signal()

    NODE_NAMES = ("x", "concat", "forget", "update", "candidate", "output", "write", "keep",
                  "c_prev", "c", "tanh_c", "a_prev", "a", "y_hat")

    def __init__(self, parent=None):
        super().__init__(parent)
        self._bounds = QRectF(0.0, 0.0, SCENE_W, 800.0)
        self._dark = False
        self._duration = 300
        self._max_units = 16
        self._mode: str | None = None        # None: "all" when few units, else most active
        self._manual: list[int] = []
        self._highlight: int | None = None
        self._clamped: dict[str, str] = {}
        self._state_range = 1.0
        self._x_range = 1.0
        self._range_mode = "fixed"
        self._token_text: str | None = None

        self._boundary = CellFrame()
        self._edges = DiagramEdges()
        self._legend = DiagramLegend()
        self._topk = TopKBars()
        self._strips: dict[str, VectorStrip] = {}
        for name, (title, cmap, _family) in NODE_SPEC.items():
            width = REG_W if name in ("c_prev", "a_prev") else STRIP_W
            self._strips[name] = VectorStrip(name, title, cmap, width)
        for gate, title in PEEP_SPEC.items():
            self._strips[f"peep_{gate}"] = VectorStrip(f"peep_{gate}", title, "diverging", PEEP_W)
        for strip in self._strips.values():
            strip.set_unit_numbers(True)
        ops = {
            "forget": ("σ", "W_f, b_f", "forget", "Γ_f = σ(W_f [a⟨t−1⟩, x⟨t⟩] + b_f)"),
            "update": ("σ", "W_u, b_u", "update", "Γ_u = σ(W_u [a⟨t−1⟩, x⟨t⟩] + b_u)"),
            "candidate": ("tanh", "W_c, b_c", "candidate", "c̃⟨t⟩ = tanh(W_c [a⟨t−1⟩, x⟨t⟩] + b_c)"),
            "output": ("σ", "W_o, b_o", "output", "Γ_o = σ(W_o [a⟨t−1⟩, x⟨t⟩] + b_o)"),
            "keep": ("⊙", "", "keep", "keep = Γ_f ⊙ c⟨t−1⟩"),
            "write": ("⊙", "", "write", "write = Γ_u ⊙ c̃⟨t⟩"),
            "plus": ("+", "", "c", "c⟨t⟩ = Γ_f ⊙ c⟨t−1⟩ + Γ_u ⊙ c̃⟨t⟩"),
            "tanh": ("tanh", "", "tanh_c", "tanh(c⟨t⟩)"),
            "out": ("⊙", "", "a", "a⟨t⟩ = Γ_o ⊙ tanh(c⟨t⟩)"),
        }
        self._ops = {key: OpNode(sym, label, produces=node, equation=eq)
                     for key, (sym, label, node, eq) in ops.items()}
        for op in self._ops.values():
            op.clicked.connect(self._on_strip_clicked)
        for static in (self._boundary, self._legend, *self._ops.values()):
            static.setCacheMode(static.CacheMode.DeviceCoordinateCache)
        self._boundary.setZValue(-10)
        self._edges.setZValue(-5)
        for item in (self._boundary, self._edges, self._legend, self._topk,
                     *self._strips.values(), *self._ops.values()):
            item.setParentItem(self)
        for strip in self._strips.values():
            strip.clicked.connect(self._on_strip_clicked)
            strip.hovered.connect(self._on_strip_hovered)
        self._topk.clicked.connect(self._on_strip_clicked)
        self._topk.hovered.connect(self._on_strip_hovered)

        self._anim = QVariantAnimation()
        self._anim.setStartValue(0.0)
        self._anim.setEndValue(1.0)
        self._anim.setEasingCurve(QEasingCurve.Linear)
        self._anim.valueChanged.connect(self._frame_value)
        self._anim.finished.connect(self._on_anim_finished)
        self._stage_start = np.arange(N_STAGES) * (1.0 - WINDOW) / (N_STAGES - 1)
        self._local = np.zeros(N_STAGES)

        self.set_structure(input_size=4, hidden_size=8, has_peepholes=False, has_head=False,
                           output_size=None, vocab=None)

    # ------------------------------------------------------- public API
    def set_structure(self, *, input_size: int, hidden_size: int, has_peepholes: bool,
                      has_head: bool, output_size: int | None, vocab: list[str] | None,
                      title: str = "LSTM cell") -> None:
        """Rebuild the diagram for a model's sizes.

        Parameters
        ----------
        input_size, hidden_size : int
            n_x and H of the layer shown.
        has_peepholes : bool
            Draw the c→gate peephole connections and their p⊙c values.
        has_head : bool
            The model has an output layer (ŷ is drawn at the top).
        output_size : int or None
            Width of ŷ.
        vocab : list of str or None
            Token strings; with a head, ŷ is shown as the top-5 tokens.
        title : str
            The cell frame's caption (which layer and direction it shows).
        """
        self._anim.stop()
        self._nx, self._H = int(input_size), int(hidden_size)
        self._peep = bool(has_peepholes)
        self._has_head = bool(has_head)
        self._ny = int(output_size) if (has_head and output_size) else 0
        self._vocab = list(vocab) if (vocab is not None and self._has_head) else None
        if self._vocab is not None and self._ny and len(self._vocab) != self._ny:
            self._vocab = None       # a vocabulary that does not match ŷ cannot label it
        self._topk_mode = self._vocab is not None and self._ny > 0
        self._token_text = None
        sizes = {name: self._H for name in HIDDEN_NODES}
        sizes.update(x=self._nx, concat=self._H + self._nx, y_hat=self._ny,
                     peep_forget=self._H, peep_update=self._H, peep_output=self._H)
        self._target = {n: np.zeros(s) for n, s in sizes.items()}
        self._old = {n: np.zeros(s) for n, s in sizes.items()}
        self._disp = {n: np.zeros(s) for n, s in sizes.items()}
        self._last_q = dict.fromkeys(self._disp, 0.0)
        self._rerank_pending = False
        for name, strip in self._strips.items():
            if name == "concat":
                strip.set_length(sizes[name], [("a⟨t−1⟩", self._H), ("x⟨t⟩", self._nx)])
            else:
                strip.set_length(sizes[name])
            family = NODE_SPEC.get(name, ("", "", "state"))[2]
            if family == "prob":
                strip.set_range(0.0, 1.0)
        if self._topk_mode:
            self._topk.set_vocab(self._vocab)
        self._strips["x"].set_title(NODE_SPEC["x"][0])
        self._boundary.set_title(title)
        # The ŷ box lists at most as many tokens as the vocabulary has.
        self._topk.set_k(min(TOPK, len(self._vocab)) if self._topk_mode else TOPK)
        self._apply_ranges()
        self._select_units()
        self._place()
        self._apply_clamped()
        self.highlight_unit(self._highlight if self._highlight is not None
                            and self._highlight < self._H else None)

    def show_step(self, values: dict[str, np.ndarray], *, token_text: str | None = None,
                  y_hat: np.ndarray | None = None, peephole: dict[str, np.ndarray] | None = None,
                  animate: bool = True) -> None:
        """Show one step: the :meth:`DirectionTrace.step` dict and extras.

        Parameters
        ----------
        values : dict of str to ndarray
            ``x, concat, forget, update, candidate, output, write, keep,
            c_prev, c, tanh_c, a_prev, a``; missing keys keep their values.
        token_text : str, optional
            The token x⟨t⟩ stands for, shown next to its label.
        y_hat : ndarray, optional
            ŷ⟨t⟩ (probabilities) when the model has a head.
        peephole : dict, optional
            ``{"update"|"forget"|"output": p⊙c}`` for a peephole model.
        animate : bool
            Travel up the cell over the animation duration; otherwise jump.
        """
        if self._anim.state() == QVariantAnimation.Running:
            self._anim.stop()
        for name, disp in self._disp.items():
            np.copyto(self._old[name], disp)
        # Every node shows its old values, i.e. progress 0: frames start from there.
        self._last_q = dict.fromkeys(self._disp, 0.0)
        for name in self.NODE_NAMES:
            if name == "y_hat":
                continue
            if name in values and values[name] is not None:
                self._store(name, values[name])
        if y_hat is not None and self._ny:
            self._store("y_hat", y_hat)
        if peephole:
            for gate, vals in peephole.items():
                if f"peep_{gate}" in self._target and vals is not None:
                    self._store(f"peep_{gate}", vals)
        if token_text is not None or self._token_text is not None:
            self._token_text = token_text
            sub = f"‘{visible_token(token_text)}’" if token_text is not None else ""
            self._strips["x"].set_title(NODE_SPEC["x"][0], sub)
        if self._range_mode == "step":
            self._step_ranges()
        self._select_units()
        # The top-5 list is re-ranked when ŷ starts to change, not before.
        self._rerank_pending = self._topk_mode
        if self._topk_mode and not (animate and self._duration > 0):
            self._topk.set_order_from(self._target["y_hat"])
            self._rerank_pending = False
        if animate and self._duration > 0:
            self._anim.setDuration(self._duration)
            self._anim.start()
        else:
            self._frame(1.0)
            self.animationFinished.emit()

    def node_values(self, name: str) -> np.ndarray:
        """The whole vector node ``name`` shows once the current animation ends.

        During an animation this is already the step's final vector; what is
        drawn at this instant is :meth:`displayed_values`.
        """
        if name not in self.NODE_NAMES:
            raise KeyError(f"unknown node {name!r}; expected one of {self.NODE_NAMES}")
        return self._target[name].copy()

    def displayed_values(self, name: str) -> np.ndarray:
        """The vector node ``name`` draws at this instant (mid-animation: interpolated)."""
        if name not in self.NODE_NAMES:
            raise KeyError(f"unknown node {name!r}; expected one of {self.NODE_NAMES}")
        if name == "y_hat" and self._topk_mode:
            return self._topk.values()
        return self._strips[name].values()

    def top_tokens(self) -> list[str]:
        """The tokens listed in the ŷ top-5 box, most probable first ([] without one)."""
        return self._topk.tokens() if self._topk_mode else []

    def peephole_values(self, gate: str) -> np.ndarray:
        """The p⊙c values shown beside gate ``gate`` ("forget", "update" or "output")."""
        return self._strips[f"peep_{gate}"].values()

    def shown_units(self, name: str = "a") -> np.ndarray:
        """The vector indices node ``name`` draws as cells (the rest are summarised)."""
        return self._strips[name].shown()

    def node_summary(self, name: str) -> list[str]:
        """Captions of node ``name``'s summary cells ('' per segment with nothing hidden)."""
        return self._strips[name].summary()

    def node_marker(self, name: str) -> str | None:
        """The clamp marker text node ``name`` shows, or None."""
        return self._strips[name].marker()

    def node_scene_rect(self, name: str) -> QRectF:
        """Where node ``name`` is drawn, in diagram-scene units (for tests and overlays)."""
        item = self.node_item(name)
        return item.mapRectToParent(item.boundingRect())

    def frame_rect(self) -> QRectF:
        """The cell boundary, in diagram-scene units."""
        return self._boundary.mapRectToParent(self._boundary.boundingRect())

    def node_item(self, name: str):
        """The graphics item that draws node ``name`` (a strip, or the ŷ top-k box)."""
        if name not in self.NODE_NAMES and not name.startswith("peep_"):
            raise KeyError(f"unknown node {name!r}; expected one of {self.NODE_NAMES}")
        return self._topk if (name == "y_hat" and self._topk_mode) else self._strips[name]

    def operator_item(self, key: str):
        """The operator node ``key`` ("forget", "update", "candidate", "output", "keep",
        "write", "plus", "tanh", "out")."""
        return self._ops[key]

    @property
    def animation(self) -> QVariantAnimation:
        """The one animation that drives every frame."""
        return self._anim

    def set_animation_duration(self, ms: int) -> None:
        """Duration of a step's animation in ms; 0 switches animation off."""
        self._duration = max(0, int(ms))

    def set_unit_selection(self, mode: str, units: list[int] | None = None) -> None:
        """Choose which hidden units the strips show.

        Parameters
        ----------
        mode : {"all", "most_active", "most_changed", "manual"}
            ``all``: units 0, 1, ... up to the maximum; ``most_active``: the
            largest |a⟨t⟩|; ``most_changed``: the largest |a⟨t⟩ − a⟨t−1⟩|;
            ``manual``: ``units`` (None: keep the units shown now). At most :meth:`set_max_units` are drawn;
            the rest are summarised.
        """
        if mode not in SELECTION_MODES:
            raise ValueError(f"unknown selection mode {mode!r}; expected one of {SELECTION_MODES}")
        if mode == "manual":
            # Without a list, manual mode freezes the units shown now.
            self._manual = ([int(u) for u in units] if units is not None
                            else [int(u) for u in self._strips["a"].shown()])
        self._mode = mode
        self._select_units()
        self._place_edges()

    def set_max_units(self, n: int) -> None:
        """The most units a strip draws (default 16); the rest are summarised."""
        self._max_units = max(1, int(n))
        self._select_units()
        self._place_edges()

    def highlight_unit(self, unit: int | None) -> None:
        """Outline hidden unit ``unit`` in every strip (None clears).

        Outside manual mode the unit is drawn even when the selection rule
        would not pick it, so a unit selected elsewhere is always visible.
        """
        self._highlight = None if unit is None else int(unit)
        self._select_units()
        for name in (*HIDDEN_NODES, "concat", "peep_forget", "peep_update", "peep_output"):
            self._strips[name].set_highlight(self._highlight)

    def set_clamped(self, nodes: dict[str, str]) -> None:
        """Mark clamped nodes, e.g. ``{"update": "Γ_u := 1"}``; ``{}`` clears every marker."""
        unknown = set(nodes) - set(self.NODE_NAMES)
        if unknown:
            raise KeyError(f"unknown node(s) {sorted(unknown)}")
        self._clamped = dict(nodes)
        self._apply_clamped()

    def set_dark(self, dark: bool) -> None:
        """Switch between the light and the dark theme."""
        self._dark = bool(dark)
        for item in (self._boundary, self._edges, self._legend, self._topk,
                     *self._strips.values(), *self._ops.values()):
            item.set_dark(self._dark)

    def set_presentation(self, on: bool) -> None:
        """Larger fonts and thicker strokes for a projector (and back)."""
        font, stroke = (PRESENT_FONT, PRESENT_STROKE) if on else (1.0, 1.0)
        for strip in self._strips.values():
            strip.set_font_scale(font)
        for item in (self._boundary, self._edges, self._legend, self._topk, *self._ops.values()):
            item.set_style(font, stroke)

    def set_describer(self, describe) -> None:
        """``describe(node, unit) -> str``: extra tooltip lines for a hovered cell
        (the window adds a gate's W·x, W·a and bias parts)."""
        def for_strip(name, index, _describe=describe):
            return _describe(name[5:] if name.startswith("peep_") else name, index)
        for strip in self._strips.values():
            strip.describe = for_strip if describe is not None else None

    def title(self) -> str:
        """The cell frame's caption."""
        return self._boundary.title()

    def background(self):
        """The theme's background colour (canvases and exports fill with it)."""
        return theme_colors(self._dark)["bg"]

    def boundingRect(self) -> QRectF:
        return QRectF(self._bounds)

    def paint(self, p, *args) -> None:
        pass        # the children draw everything

    # --------------------------------------------------------- internals
    def _store(self, name: str, vals) -> None:
        vals = np.asarray(vals, float).ravel()
        target = self._target[name]
        if vals.shape != target.shape:
            raise ValueError(f"{name}: expected {target.size} values, got {vals.size}")
        np.copyto(target, vals)

    def _step_ranges(self) -> None:
        """Per-step mode: fit the c and x colour ranges to this step's own values."""
        c_max = max((float(np.abs(self._target[n]).max()) if self._target[n].size else 0.0)
                    for n in ("c", "c_prev", "keep"))
        x_max = float(np.abs(self._target["x"]).max()) if self._nx else 0.0
        state, x = nice_ceiling(c_max), nice_ceiling(x_max)
        if (state, x) != (self._state_range, self._x_range):
            self._state_range, self._x_range = state, x
            self._apply_ranges()

    def set_color_ranges(self, state: float, x: float, mode: str = "trace") -> None:
        """Fix the colour ranges: ±``state`` for c (and keep, c⟨t−1⟩), ±``x`` for x⟨t⟩.

        Parameters
        ----------
        state, x : float
            Half-widths of the symmetric ranges.
        mode : {"trace", "locked", "step"}
            How the caller chose them (shown on the legend). In ``"step"``
            mode the scene refits both ranges to every step it shows.
        """
        self._range_mode = "step" if mode == "step" else "fixed"
        self._legend.set_mode(RANGE_MODE_TEXT.get(mode, mode))
        if self._range_mode == "step":
            self._step_ranges()
            return
        state, x = float(state), float(x)
        if (state, x) != (self._state_range, self._x_range):
            self._state_range, self._x_range = state, x
            self._apply_ranges()

    def color_ranges(self) -> tuple[float, float]:
        """The half-widths of the c and x colour ranges in use."""
        return self._state_range, self._x_range

    def _apply_ranges(self) -> None:
        self._legend.set_ranges(self._state_range, self._x_range)
        for name, (_t, _cmap, family) in NODE_SPEC.items():
            if family == "state":
                self._strips[name].set_range(-self._state_range, self._state_range)
            elif family == "x":
                self._strips[name].set_range(-self._x_range, self._x_range)
        # The x⟨t⟩ part of the concatenation is coloured like x⟨t⟩ itself.
        self._strips["concat"].set_range(-self._x_range, self._x_range, segment=1)

    def _hidden_selection(self) -> np.ndarray:
        """The hidden units to draw, sorted; the highlighted unit is always among them
        (except in manual mode, where the user's list is the law)."""
        H, n = self._H, self._max_units
        mode = self._mode or ("all" if H <= n else "most_active")
        if mode == "manual":
            units = [u for u in dict.fromkeys(self._manual) if 0 <= u < H]
            return np.sort(np.array(units, np.intp))
        if mode == "all" or H <= n:
            return np.arange(H)             # every unit: large layers wrap into a grid
        elif mode == "most_active":
            chosen = np.argsort(-np.abs(self._target["a"]), kind="stable")[:n]
        else:
            chosen = np.argsort(-np.abs(self._target["a"] - self._target["a_prev"]), kind="stable")[:n]
        h = self._highlight
        if h is not None and 0 <= h < H and h not in chosen:
            chosen = np.append(chosen[:n - 1], h)     # it replaces the lowest-ranked unit
        return np.sort(chosen)

    def _select_units(self) -> None:
        """Apply the unit selection to every strip; relayout only when it changed."""
        hidden = self._hidden_selection()
        x_sel = _top_indices(np.abs(self._target["x"]), self._max_units)
        plan = {name: [hidden] for name in (*HIDDEN_NODES, "peep_forget", "peep_update", "peep_output")}
        plan["x"] = [x_sel]
        plan["concat"] = [hidden, x_sel + self._H]
        plan["y_hat"] = [_top_indices(self._target["y_hat"], self._max_units)]
        changed = False
        for name, shown in plan.items():
            strip = self._strips[name]
            current = strip.shown()
            new = np.concatenate(shown) if len(shown) > 1 else shown[0]
            if current.shape != new.shape or not np.array_equal(current, new):
                changed |= strip.set_shown(shown)
        if changed and hasattr(self, "_rows"):
            self._place_edges()

    def _frame_value(self, value) -> None:
        self._frame(float(value))

    def _frame(self, p: float) -> None:
        """Blend every node to progress ``p`` of the step (the one update path)."""
        np.subtract(p, self._stage_start, out=self._local)
        self._local /= WINDOW
        np.clip(self._local, 0.0, 1.0, out=self._local)
        last = self._last_q
        for name, disp in self._disp.items():
            q = float(self._local[STAGE[name]])
            if not disp.size or q == last[name]:
                continue        # this node is not blending now: nothing to redraw
            last[name] = q
            old, new = self._old[name], self._target[name]
            if q >= 1.0:
                np.copyto(disp, new)
            else:
                eased = q * q * (3.0 - 2.0 * q)   # smoothstep: no jump at either end
                np.subtract(new, old, out=disp)
                disp *= eased
                disp += old
            if name == "y_hat" and self._topk_mode:
                if self._rerank_pending:
                    self._topk.set_order_from(self._target["y_hat"])
                    self._rerank_pending = False
                self._topk.set_values(disp)
            else:
                self._strips[name].set_values(disp)
        self._edges.set_progress(self._local if p < 1.0 else None)

    def _on_anim_finished(self) -> None:
        self._frame(1.0)
        self.animationFinished.emit()

    def _apply_clamped(self) -> None:
        for name in self.NODE_NAMES:
            self._strips[name].set_marker(self._clamped.get(name))

    def _on_strip_clicked(self, name: str, index: int) -> None:
        if name.startswith("peep_"):
            name = name[5:]
        self.nodeClicked.emit(name)
        if index < 0:
            return
        if name in HIDDEN_NODES or (name == "concat" and index < self._H):
            self.unitClicked.emit(int(index))

    def _on_strip_hovered(self, name: str, _index: int) -> None:
        if name.startswith("peep_"):
            name = name[5:]
        self.nodeHovered.emit(name)

    # ------------------------------------------------------------ layout
    def _place(self) -> None:
        """Position every item for the current structure (y grows downward)."""
        strips, ops = self._strips, self._ops
        y = 0.0
        top_h = 0.0
        self._topk.setVisible(self._topk_mode)
        strips["y_hat"].setVisible(self._has_head and not self._topk_mode and self._ny > 0)
        if self._topk_mode:
            self._topk.setPos(MAIN_X - TOPK_W / 2 + 40, 4.0)
            top_h = self._topk.height() + 8
        elif strips["y_hat"].isVisible():
            strips["y_hat"].set_width(TOPK_W - 40)
            strips["y_hat"].setPos(MAIN_X - (TOPK_W - 40) / 2, 40.0)
            top_h = 40.0 + strips["y_hat"].height()
        y = top_h + 8.0
        frame_top = y
        # The legend sits inside the cell's top-left corner, which the cell leaves empty.
        self._legend.setPos(18.0, frame_top + 28.0)
        y += 26.0
        self._rows = {}
        hh = strips["a"].height()            # every hidden-size strip has this height

        def put(name, x_center, top, width=STRIP_W):
            strips[name].setPos(x_center - width / 2, top)

        # The main path, top down: each strip, then the operator that makes it.
        for name, op_name in (("a", "out"), ("tanh_c", "tanh"), ("c", "plus"), ("write", "write")):
            put(name, MAIN_X, y)
            self._rows[name] = y
            y += hh + GAP + OP_R
            ops[op_name].setPos(MAIN_X, y)
            y += OP_R + GAP
        put("keep", COL["forget"], self._rows["write"])
        ops["keep"].setPos(COL["forget"], ops["write"].y())
        put("c_prev", C_REG_X, ops["write"].y() - TITLE_H - strips["c_prev"].cells_height() / 2, REG_W)
        for gate in COL:
            put(gate, COL[gate], y)
        self._rows["gates"] = y
        y += hh + GAP
        peep_top = y
        if self._peep:
            y += hh + GAP           # a row for the p⊙c strips, right of each branch
        op_y = y + OP_R
        for gate, x in COL.items():
            ops[gate].setPos(x, op_y)
            ops[gate].label_side = "left" if self._peep else "right"
        self._rows["ops_low"] = op_y
        self._rows["peep"] = peep_top
        for gate in PEEP_SPEC:
            strip = strips[f"peep_{gate}"]
            strip.setVisible(self._peep)
            # Right of its branch, except the output gate's: the a loop runs down its right.
            x0 = COL[gate] - 8 - PEEP_W if gate == "output" else COL[gate] + 8
            strip.setPos(x0, peep_top)
        y = op_y + OP_R + GAP + 16      # + the fan-out bus
        # The concatenation spans the branches but stops short of the a⟨t−1⟩ register.
        concat_w = (A_REG_X - REG_W / 2 - 24) - (COL["forget"] - STRIP_W / 2)
        strips["concat"].set_width(concat_w)
        strips["concat"].setPos(COL["forget"] - STRIP_W / 2, y)
        self._rows["concat"] = y
        put("a_prev", A_REG_X, y, REG_W)
        y += max(strips["concat"].height(), hh) + 4
        frame_bottom = y
        y += 14
        self._rows["x"] = y
        self._boundary.set_rect(QRectF(4.0, frame_top, SCENE_W - 8.0, frame_bottom - frame_top))
        self.prepareGeometryChange()
        self._bounds = QRectF(0.0, 0.0, SCENE_W, y + strips["x"].height() + 6)
        # concat.set_length reset its shown units: reselect, then place x under its segment.
        self._select_units()
        self._place_edges()
        self.boundsChanged.emit()

    def _place_edges(self) -> None:
        """Rebuild the arrows from the strips' current cell positions."""
        if not hasattr(self, "_rows"):
            return
        strips, ops, rows = self._strips, self._ops, self._rows
        concat = strips["concat"]
        x_center = concat.pos().x() + concat.segment_center_x(1)
        x_center = min(max(x_center, STRIP_W / 2 + 10), SCENE_W - STRIP_W / 2 - 10)
        strips["x"].setPos(x_center - STRIP_W / 2, rows["x"])

        def P(x, y):
            return QPointF(x, y)

        def top(name):
            return strips[name].pos().y()

        def bottom(name):
            return strips[name].pos().y() + strips[name].height()

        def cells_y(name):
            return strips[name].pos().y() + TITLE_H + strips[name].cells_height() / 2

        def op(name):
            return ops[name].pos()

        def op_bottom(name):
            return op(name).y() + OP_R

        def op_top(name):
            return op(name).y() - OP_R

        edges = []
        M = MAIN_X
        edges.append(([P(x_center, rows["x"]), P(x_center, bottom("concat"))], 1, "main"))
        a_prev_y = cells_y("a_prev")
        edges.append(([P(A_REG_X - REG_W / 2, a_prev_y), P(concat.pos().x() + concat.cells_rect().right() + 3, a_prev_y)],
                      1, "main"))
        # Fan-out bus from the concatenation to the four branches.
        bus_y = top("concat") - 14
        edges.append(([P(M, top("concat")), P(M, bus_y)], 2, "main"))
        for gate, x in COL.items():
            edges.append(([P(M, bus_y), P(x, bus_y), P(x, op_bottom(gate))] if x != M
                          else [P(M, bus_y), P(M, op_bottom(gate))], 2, "main"))
            edges.append(([P(x, op_top(gate)), P(x, bottom(gate))], 2, "main"))
        F, U, O = COL["forget"], COL["update"], COL["output"]
        edges.append(([P(F, top("forget")), P(F, op_bottom("keep"))], 3, "main"))
        edges.append(([P(C_REG_X + REG_W / 2, op("keep").y()), P(F - OP_R, op("keep").y())], 3, "main"))
        edges.append(([P(F, op_top("keep")), P(F, bottom("keep"))], 3, "main"))
        edges.append(([P(U, top("update")), P(U, op("write").y()), P(M - OP_R, op("write").y())], 3, "main"))
        edges.append(([P(M, top("candidate")), P(M, op_bottom("write"))], 3, "main"))
        edges.append(([P(M, op_top("write")), P(M, bottom("write"))], 3, "main"))
        edges.append(([P(M, top("write")), P(M, op_bottom("plus"))], 4, "main"))
        edges.append(([P(F, top("keep")), P(F, op("plus").y()), P(M - OP_R, op("plus").y())], 4, "main"))
        edges.append(([P(M, op_top("plus")), P(M, bottom("c"))], 4, "main"))
        edges.append(([P(M, top("c")), P(M, op_bottom("tanh"))], 5, "main"))
        edges.append(([P(M, op_top("tanh")), P(M, bottom("tanh_c"))], 5, "main"))
        edges.append(([P(M, top("tanh_c")), P(M, op_bottom("out"))], 6, "main"))
        edges.append(([P(O, top("output")), P(O, op("out").y()), P(M + OP_R, op("out").y())], 6, "main"))
        edges.append(([P(M, op_top("out")), P(M, bottom("a"))], 6, "main"))
        if self._topk_mode:
            topk_bottom = self._topk.pos().y() + self._topk.height()
            edges.append(([P(M, top("a")), P(M, topk_bottom + 2)], 7, "main"))
        elif strips["y_hat"].isVisible():
            edges.append(([P(M, top("a")), P(M, bottom("y_hat"))], 7, "main"))
        # The recurrent loops: c⟨t⟩ and a⟨t⟩ become next step's registers.
        c_strip, a_strip = strips["c"], strips["a"]
        c_left = c_strip.pos().x() + c_strip.cells_rect().left() - 4
        cy = cells_y("c")
        edges.append(([P(c_left, cy), P(C_REG_X, cy), P(C_REG_X, top("c_prev") - 2)], 0, "loop"))
        a_right = a_strip.pos().x() + a_strip.cells_rect().right() + 4
        ay = cells_y("a")
        edges.append(([P(a_right, ay), P(A_LOOP_X, ay), P(A_LOOP_X, top("a_prev") - 2)], 0, "loop"))
        labels = [
            (QRectF(C_REG_X - 64, cy - 21, 250, 18), "c⟨t⟩ → c⟨t−1⟩ of t+1",
             Qt.AlignLeft | Qt.AlignVCenter),
            (QRectF(A_LOOP_X - 320, ay - 21, 318, 18), "a⟨t⟩ → a⟨t−1⟩ of t+1",
             Qt.AlignRight | Qt.AlignVCenter),
        ]
        if self._peep:
            # Dashed buses carry c⟨t−1⟩ (forget, update) and c⟨t⟩ (output) to the p⊙c strips.
            bus_y = rows["peep"] - 8
            peeps = {g: strips[f"peep_{g}"] for g in PEEP_SPEC}
            mid = {g: st.pos().x() + st.cells_rect().center().x() for g, st in peeps.items()}
            edges.append(([P(C_REG_X, bottom("c_prev")), P(C_REG_X, bus_y), P(mid["forget"], bus_y),
                           P(mid["forget"], rows["peep"])], 2, "peep"))
            edges.append(([P(mid["forget"], bus_y), P(mid["update"], bus_y),
                           P(mid["update"], rows["peep"])], 2, "peep"))
            gap_x = M + STRIP_W / 2 + 7
            edges.append(([P(c_strip.pos().x() + c_strip.cells_rect().right() + 4, cy + 4),
                           P(gap_x, cy + 4), P(gap_x, bus_y), P(mid["output"], bus_y),
                           P(mid["output"], rows["peep"])], 2, "peep"))
            # ... and each p⊙c joins its gate's pre-activation at the σ.
            for gate, st in peeps.items():
                py = st.pos().y() + TITLE_H + st.cells_height() / 2
                side = -1.0 if gate == "output" else 1.0
                cells = st.cells_rect()
                x0 = st.pos().x() + (cells.right() + 1 if gate == "output" else cells.left() - 1)
                xs = COL[gate] + side * 0.6 * OP_R
                edges.append(([P(x0, py), P(xs, py), P(xs, op(gate).y() - 0.8 * OP_R)], 2, "peep"))
        self._edges.set_edges(edges, labels, self._bounds)
