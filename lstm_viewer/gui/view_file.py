"""View files: a small JSON file that reopens the window exactly as it was.

A lecturer prepares a class in advance: File ▸ Save View writes the model,
the input, the step, the selected unit, the layer shown, the interventions
switched on, the panels open and the colour mode; File ▸ Open View (or
``lstm-viewer --view FILE.json``) shows all of it again::

    {"version": 1, "model": "latch", "input": ">a?b?", "step": 3, "unit": 12,
     "layer": 0, "direction": 0, "interventions": ["update=0"],
     "panels": ["comparison", "inspector"], "colour_mode": "trace"}

Every key but ``version`` and ``model`` may be left out (or null): the model's
own default is kept. For a model without a vocabulary ``input`` holds token
ids, as a list or as text like ``"3 17 4"``.

A file is read and checked in full -- its JSON, every key, every type, and
every value against the model it names (steps, units, layers, token ids,
intervention specs) -- before anything in the window changes, so a bad view
file is one line in the window and leaves the window as it was.

The launch options (``--text``, ``--step``, ``--unit``, ``--layer``,
``--intervene``, ``--panel``, ``--presentation``) go through the same
checks and the same application order (see :func:`apply_view`), except that
a bad option is dropped on its own while the others still apply.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

from ..engine.interventions import InterventionError, parse, parse_all

#: The format written, and the only one read.
VERSION = 1
#: A view file is a few hundred bytes; anything past this is refused unread.
MAX_BYTES = 1_000_000
#: Panel names, as ``MainWindow.show_panel`` and ``--panel`` take them.
PANELS = ("why", "comparison", "lab", "interventions", "inspector", "model", "plots")
#: Colour-scale modes of ``ViewerState.colour_mode``.
COLOUR_MODES = ("trace", "locked", "step")
#: Keys of the JSON object, in the order they are written.
KEYS = ("version", "model", "input", "step", "unit", "layer", "direction", "interventions",
        "panels", "colour_mode")
#: Longest model source accepted (a path or a bundled name).
MAX_SOURCE = 4096
#: File-dialog filter.
VIEW_FILTER = "lstm-viewer views (*.json);;All files (*)"


class ViewFileError(ValueError):
    """A view file (or launch option) that cannot be used; ``str()`` is one line."""


@dataclass(frozen=True)
class View:
    """What a view file holds; None everywhere means "keep the model's default".

    Parameters
    ----------
    model : str or None
        Weights file or bundled model name (None: the model already shown).
    input : str, list of int, or None
        Text for a model with a vocabulary; token ids for one without.
    step, unit, layer, direction : int or None
        Current step t, selected unit, layer and direction shown.
    interventions : tuple of str or None
        Intervention specs (``update=0@12#0`` ...); ``()`` is the intact run.
    panels : tuple of str or None
        Panels to show, from :data:`PANELS`.
    colour_mode : str or None
        One of :data:`COLOUR_MODES`.
    presentation : bool or None
        Presentation mode (a launch option; not stored in the file).
    """

    model: str | None = None
    input: str | tuple[int, ...] | None = None
    step: int | None = None
    unit: int | None = None
    layer: int | None = None
    direction: int | None = None
    interventions: tuple[str, ...] | None = None
    panels: tuple[str, ...] | None = None
    colour_mode: str | None = None
    presentation: bool | None = None

    def to_json(self) -> dict:
        """The JSON object of this view (``presentation`` is not stored)."""
        out = {"version": VERSION}
        for key in KEYS[1:]:
            value = getattr(self, key)
            out[key] = list(value) if isinstance(value, tuple) else value
        return out


# ---------------------------------------------------------------------------- reading


def read_view(path) -> View:
    """Read and check the structure of a view file.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    View
        Its values are well-typed; whether they fit the model is checked by
        :func:`prepare_view`.

    Raises
    ------
    ViewFileError
        One line naming what is wrong.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ViewFileError("it is a folder, not a view file")
        if size > MAX_BYTES:
            raise ViewFileError(f"it is {size / 1e6:.1f} MB; a view file is at most {MAX_BYTES // 1000} kB")
        with path.open("rb") as handle:
            # Read one byte past the limit: a growing or special file is refused too.
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise ViewFileError(exc.strerror or str(exc)) from None
    return parse_view(data)


def parse_view(data: bytes | str) -> View:
    """Check a view file's text (see :func:`read_view`)."""
    if len(data) > MAX_BYTES:
        raise ViewFileError(f"it is larger than {MAX_BYTES // 1000} kB; a view file is a few hundred bytes")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ViewFileError("not a view file (not UTF-8 text)") from None
    try:
        obj = json.loads(data, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ViewFileError(f"not a view file (not JSON: {exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ViewFileError("not a view file (nested too deeply)") from None
    except ValueError as exc:  # NaN/Infinity, or an integer of thousands of digits
        reason = "a number in it is too long" if "digits" in str(exc) else str(exc)
        raise ViewFileError(f"not a view file ({reason})") from None
    if not isinstance(obj, dict):
        raise ViewFileError(f"not a view file (it holds {_kind(obj)}, not an object)")
    unknown = [k for k in obj if k not in KEYS]
    if unknown:
        raise ViewFileError(f"unknown key {_short(unknown[0])} (known: {', '.join(KEYS)})")
    if "version" not in obj:
        raise ViewFileError("not a view file (no \"version\")")
    version = obj["version"]
    if not _is_int(version):
        raise ViewFileError(f"\"version\" must be an integer, not {_kind(version)}")
    if version != VERSION:
        newer = " (written by a newer lstm-viewer)" if version > VERSION else ""
        raise ViewFileError(f"view file version {version}{newer}; this lstm-viewer reads version {VERSION}")
    model = obj.get("model")
    if not isinstance(model, str) or not model.strip():
        raise ViewFileError("\"model\" must name a weights file or bundled model"
                            + ("" if "model" in obj else " (missing)"))
    if len(model) > MAX_SOURCE or "\x00" in model:
        raise ViewFileError("\"model\" is not a usable path")
    return View(
        model=model,
        input=_input(obj.get("input")),
        step=_index(obj, "step"),
        unit=_index(obj, "unit"),
        layer=_index(obj, "layer"),
        direction=_index(obj, "direction"),
        interventions=_specs(obj.get("interventions")),
        panels=_panels(obj.get("panels")),
        colour_mode=_colour_mode(obj.get("colour_mode")),
    )


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def _kind(value) -> str:
    """How a JSON value reads in a message: numbers and booleans as themselves, else their kind."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _short(value)
    return {str: "a string", list: "a list", dict: "an object",
            type(None): "null"}.get(type(value), type(value).__name__)


def _short(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _index(obj: dict, key: str) -> int | None:
    value = obj.get(key)
    if value is None:
        return None
    if not _is_int(value):
        raise ViewFileError(f"\"{key}\" must be a whole number, not {_kind(value)}")
    if value < 0:
        raise ViewFileError(f"\"{key}\" must be 0 or more, not {value}")
    return value


def _input(value) -> str | tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if not value:
            raise ViewFileError("\"input\" is empty")
        return value
    if isinstance(value, list):
        if not value:
            raise ViewFileError("\"input\" is an empty list of token ids")
        for item in value:
            if not _is_int(item) or item < 0:
                raise ViewFileError(f"\"input\" must be text or a list of token ids; {_short(item)} is not a token id")
        return tuple(value)
    raise ViewFileError(f"\"input\" must be text or a list of token ids, not {_kind(value)}")


def _specs(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ViewFileError(f"\"interventions\" must be a list of specs like \"update=0\", not {_kind(value)}")
    for item in value:
        if not isinstance(item, str):
            raise ViewFileError(f"\"interventions\" holds {_kind(item)}; each must be a spec like \"update=0\"")
        try:
            parse(item)
        except InterventionError as exc:
            raise ViewFileError(f"intervention {_short(item)}: {exc}") from None
    return tuple(value)


def _panels(value) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise ViewFileError(f"\"panels\" must be a list of panel names, not {_kind(value)}")
    for item in value:
        check_panel(item)
    return tuple(dict.fromkeys(value))  # once each, in order


def check_panel(name) -> str:
    """``name`` when it is one of :data:`PANELS`; else a :class:`ViewFileError`."""
    if not isinstance(name, str) or name not in PANELS:
        raise ViewFileError(f"unknown panel {_short(name)} (panels: {', '.join(PANELS)})")
    return name


def _colour_mode(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or value not in COLOUR_MODES:
        raise ViewFileError(f"unknown colour mode {_short(value)} (modes: {', '.join(COLOUR_MODES)})")
    return value


# ---------------------------------------------------------------------------- writing


def write_view(path, view: View) -> Path:
    """Write ``view`` to ``path`` atomically (a temporary file, then a rename).

    An existing file is either replaced whole or left as it was.

    Raises
    ------
    ViewFileError
        When the view would be larger than :data:`MAX_BYTES`.
    OSError
        When the folder cannot be written.
    """
    path = Path(path)
    text = json.dumps(view.to_json(), indent=2, ensure_ascii=False) + "\n"
    data = text.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise ViewFileError(f"the input is too long for a view file ({len(data) / 1e6:.1f} MB; "
                            f"at most {MAX_BYTES // 1000} kB)")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


# ---------------------------------------------------------------------------- checking against a model


@dataclass
class Prepared:
    """A view checked against its model, ready for :func:`apply_view`.

    Attributes
    ----------
    view : View
    model : LSTMModel or None
        The loaded model (None: keep the window's).
    source : str
        Where the model was loaded from.
    ids : ndarray or None
        The token ids of ``view.input`` (None: no input given).
    problems : dict
        Field name → one-line problem, for the fields that were dropped.
    exact_panels : bool
        True (a view file): the panels not listed close. False (``--panel``):
        the listed panels open and the others stay as they are.
    """

    view: View
    model: object = None
    source: str = ""
    ids: object = None
    problems: dict = field(default_factory=dict)
    exact_panels: bool = True


def resolve_source(source: str, base: Path | None) -> str:
    """A model source relative to the view file's folder when it names a file there."""
    path = Path(source).expanduser()
    if base is not None and not path.is_absolute():
        beside = base / path
        if beside.exists():
            return str(beside)
    return str(path) if path.exists() else source


def prepare_view(view: View, base: Path | None = None, load=None) -> Prepared:
    """Load the view's model and check every value against it.

    Parameters
    ----------
    view : View
        From :func:`read_view`.
    base : Path, optional
        The view file's folder: a relative model path is looked up there first.
    load : callable, optional
        ``load(source) -> LSTMModel`` raising ``LoadError``/``ModelError``
        (default: the window's loader).

    Raises
    ------
    ViewFileError
        The first problem found, in one line; nothing has been changed.
    """
    from ..engine.model import ModelError
    from ..formats import LoadError

    if load is None:
        from .window.main_window import load_model as load
    source = resolve_source(view.model, base)
    try:
        model = load(source)
    except (LoadError, ModelError) as exc:
        raise ViewFileError(f"model {_short(view.model, 80)}: {getattr(exc, 'reason', exc)}") from None
    prepared = check_view(view, model)
    if prepared.problems:
        first = next(iter(prepared.problems.values()))
        more = len(prepared.problems) - 1
        raise ViewFileError(first + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""))
    prepared.model, prepared.source = model, source
    return prepared


def parse_ids(text: str) -> tuple[int, ...]:
    """Token ids from text like ``"3 17 4"`` or ``"3,17,4"``; ViewFileError otherwise."""
    parts = [p for p in re.split(r"[\s,;]+", text.strip()) if p]
    if not parts or not all(p.isascii() and p.isdigit() for p in parts):
        raise ViewFileError("this model has no vocabulary: the input must be token ids like \"3 17 4\"")
    return tuple(int(p) for p in parts)


def input_ids(model, value):
    """Token ids of ``value`` (text or ids) for ``model``; ViewFileError when unusable."""
    if isinstance(value, str) and model.vocab is not None:
        ids, _unknown = model.encode(value)
        if ids.size == 0:
            raise ViewFileError("the input holds no character of the model's vocabulary")
        return ids
    from .panels.input_panel import id_limit

    ids = parse_ids(value) if isinstance(value, str) else tuple(value)
    limit = id_limit(model)
    bad = [i for i in ids if i >= limit]
    if bad:
        raise ViewFileError(f"token id {bad[0]} is out of range (the model takes ids 0…{limit - 1})")
    return np.asarray(ids, dtype=np.int64)


def check_view(view: View, model, length: int | None = None, layer: int = 0) -> Prepared:
    """Check each value of ``view`` against ``model``; bad ones are listed, not raised.

    Parameters
    ----------
    view : View
    model : LSTMModel
    length : int, optional
        Steps of the input shown now, used when ``view.input`` is None
        (default: the length of the model's default input).
    layer : int
        The layer shown now, used when ``view.layer`` is None.

    Returns
    -------
    Prepared
        With ``problems`` holding one line per bad field (dropped from
        ``view``), and no model: applying it keeps the window's.
    """
    problems: dict[str, str] = {}
    ids = None
    if view.input is not None:
        try:
            ids = input_ids(model, view.input)
            length = len(ids)
        except ViewFileError as exc:
            problems["input"] = str(exc)
    if length is None:
        length = _default_length(model)
    n_layers = len(model.layers)
    layer = min(layer, n_layers - 1) if view.layer is None else view.layer
    if view.layer is not None and view.layer >= n_layers:
        problems["layer"] = (f"layer {view.layer} does not exist (the model has {n_layers} "
                             f"layer{'s' * (n_layers > 1)}: 0…{n_layers - 1})")
        layer = 0
    if view.direction is not None:
        n_dirs = len(model.layers[layer].cells)
        if view.direction >= n_dirs:
            problems["direction"] = (f"direction {view.direction} does not exist (layer {layer} "
                                     + ("is not bidirectional)" if n_dirs == 1 else "has directions 0, 1)"))
    hidden = model.layers[layer].hidden_size
    if view.unit is not None and view.unit >= hidden:
        problems["unit"] = f"unit {view.unit} does not exist (layer {layer} has units 0…{hidden - 1})"
    if view.step is not None and length and view.step >= length:
        problems["step"] = f"step {view.step} is outside the input (steps 0…{length - 1})"
    if view.interventions:
        try:
            check_interventions(model, view.interventions)
        except ViewFileError as exc:
            problems["interventions"] = str(exc)
    kept = {name: None for name in problems}
    # model stays None: the caller decides whether this view loads it (prepare_view) or not.
    return Prepared(view=replace(view, **kept), ids=ids, problems=problems)


def check_interventions(model, specs) -> list:
    """Parse ``specs`` and check their layers and units exist in ``model``."""
    try:
        interventions = parse_all(list(specs))
    except InterventionError as exc:
        raise ViewFileError(str(exc)) from None
    n_layers = len(model.layers)
    for iv in interventions:
        if iv.layer is not None and iv.layer >= n_layers:
            raise ViewFileError(f"'{iv.spec}': the model has no layer {iv.layer} (layers 0…{n_layers - 1})")
        if iv.units is not None:
            layers = range(n_layers) if iv.layer is None else [iv.layer]
            smallest = min(model.layers[k].hidden_size for k in layers)
            if max(iv.units) >= smallest:
                raise ViewFileError(f"'{iv.spec}': unit {max(iv.units)} does not exist "
                                    f"(hidden size {smallest})")
    return interventions


def _default_length(model) -> int:
    """Steps of the input ``model`` opens with (text, typed ids or demo vectors)."""
    from .panels.input_panel import default_input, id_limit
    from .panels.input_panel import parse_ids as typed_ids

    inputs, text = default_input(model)
    if text is None:
        return len(inputs)
    if model.vocab is not None:
        return len(model.encode(text)[0])
    return len(typed_ids(text, id_limit(model))[0])


# ---------------------------------------------------------------------------- the window


def capture_view(window) -> View:
    """The view the window shows now (what File ▸ Save View writes).

    Raises
    ------
    ViewFileError
        When there is nothing to save, or the model has no file to reopen.
    """
    from ..formats import bundled_models

    s = window.state
    if s.model is None:
        raise ViewFileError("no model is loaded")
    source = str(s.source)
    path = Path(source).expanduser()
    if path.is_file():
        source = str(path.resolve())
    elif source not in bundled_models():
        raise ViewFileError(f"the model shown ({s.model.name or source or 'unnamed'}) has no file to "
                            "reopen it from; save it to a file and open that first")
    return View(
        model=source,
        input=_current_input(s),
        step=int(s.t),
        unit=None if s.unit is None else int(s.unit),
        layer=int(s.layer),
        direction=int(s.direction),
        interventions=tuple(getattr(iv, "spec", str(iv)) for iv in s.interventions),
        panels=_panels_front_last(window),
        colour_mode=s.colour_mode,
    )


def _panels_front_last(window) -> tuple[str, ...]:
    """The open panels, those behind another tab first: reopened in this order, the
    tabs in front come out in front again."""
    docks = window.panel_docks()
    names = [p for p in window.visible_panels() if p in PANELS]
    return tuple(sorted(names, key=lambda p: p not in docks or docks[p].isVisible()))


def _current_input(state):
    if state.text is not None:
        return state.text
    inputs = state.inputs
    if inputs is not None and inputs.ndim == 1 and np.issubdtype(inputs.dtype, np.integer):
        return tuple(int(i) for i in inputs)
    return None  # vectors: the view reopens on the model's default input


def _relative_to(source: str, folder: Path) -> str:
    """``source`` relative to ``folder`` when the model file lies in it (a class folder can move)."""
    path = Path(source)
    if path.is_absolute():
        try:
            return path.relative_to(folder.resolve()).as_posix()
        except ValueError:
            pass
    return source


def save_view(window, path) -> bool:
    """Write the window's view to ``path``; problems go to ``window.show_error``."""
    path = Path(path)
    try:
        view = capture_view(window)
        view = replace(view, model=_relative_to(view.model, path.parent))
        write_view(path, view)
    except ViewFileError as exc:
        window.show_error(f"Could not save the view: {exc}")
        return False
    except OSError as exc:
        window.show_error(f"Could not save the view to {path.name}: {exc.strerror or exc}")
        return False
    note = "" if view.input is not None or window.state.inputs is None else \
        " (the input vectors are not stored: it reopens on the model's default input)"
    window.statusBar().showMessage(f"View saved to {path}{note}", 8000)
    return True


def open_view(window, path) -> bool:
    """Read, check and show the view file ``path``; a bad file changes nothing.

    Returns True when the view is being shown (its step, unit and panels
    follow once the trace arrives).
    """
    path = Path(path)
    try:
        prepared = prepare_view(read_view(path), base=path.parent)
    except ViewFileError as exc:
        window.show_error(f"Could not open the view {path.name}: {exc}")
        return False
    apply_view(window, prepared)
    window.statusBar().showMessage(f"View {path.name} opened", 5000)
    return True


def apply_view(window, prepared: Prepared, supersede: bool = True):
    """Show a checked view in ``window``, in the order each part depends on.

    Model, colour mode, input, layer and interventions are applied at once
    (each re-run goes to the worker, the last one wins); step, unit, panels
    and presentation follow when the resulting trace is shown, since a step
    or unit only exists in a trace.

    Parameters
    ----------
    window : MainWindow
    prepared : Prepared
        From :func:`prepare_view` or :func:`check_view`.
    supersede : bool
        Cancel the step, unit and panels of an earlier view still waiting for
        its trace (False: those apply first, then these on top).

    Returns
    -------
    PendingView
        The part waiting for the trace (already applied when no new trace
        is coming).
    """
    view, s = prepared.view, window.state
    if supersede:
        for old in window.findChildren(PendingView):
            old.cancel()
    rerun = False
    if prepared.model is not None:
        window.set_model(prepared.model, prepared.source)
        rerun = True
    if view.colour_mode is not None:
        s.set_colour_mode(view.colour_mode)
    if view.input is not None and prepared.ids is not None:
        _show_input(window, view.input, np.asarray(prepared.ids))
        rerun = True
    if view.layer is not None or view.direction is not None:
        s.set_layer(s.layer if view.layer is None else view.layer,
                    0 if view.direction is None else view.direction)
    if view.interventions is not None:
        interventions = parse_all(list(view.interventions))
        ctl = getattr(window, "interventions", None)
        if ctl is not None:  # the switches the user would set
            ctl.panel.set_specs(list(view.interventions))
        rerun = rerun or interventions != list(s.interventions)
        s.set_interventions(interventions)
    pending = PendingView(window, view, exact_panels=prepared.exact_panels)
    if not rerun and s.trace is not None:
        pending.apply()
    return pending


def _show_input(window, value, ids) -> None:
    """Put the input in the field as the user would type it; ids go in directly if the field cannot."""
    from .panels.input_panel import input_kind

    s, model = window.state, window.state.model
    kind = input_kind(model)
    if isinstance(value, str) and kind == "text":
        window.input_panel.set_text(value)
        return
    if kind != "vectors":  # the field takes text or typed ids; a vector model's does not
        text = " ".join(str(int(i)) for i in ids)
        if kind == "text":
            decoded = "".join(model.vocab[int(i)] for i in ids)
            if np.array_equal(model.encode(decoded)[0], ids):
                text = decoded  # a character model's ids shown as the text they spell
        window.input_panel.set_text(text)
    if s.inputs is None or s.inputs.ndim != 1 or not np.array_equal(s.inputs, ids):
        s.set_inputs(ids)


class PendingView(QObject):
    """Applies a view's step, unit, panels and presentation when the next trace is shown.

    A child of the window, so it goes away with it; :func:`apply_view`
    cancels one still waiting when a newer view is opened.
    """

    #: Emitted once step, unit, panels and presentation have been applied.
    applied = Signal()

    def __init__(self, window, view: View, exact_panels: bool = True):
        super().__init__(window)
        self.window, self.view, self.exact_panels = window, view, exact_panels
        #: True until applied or cancelled.
        self.waiting = True
        window.traceReady.connect(self._on_trace)

    def _on_trace(self, job_id: int) -> None:
        self.apply()

    def cancel(self) -> None:
        """Stop waiting (nothing more is applied)."""
        if self.waiting:
            self.waiting = False
            self.window.traceReady.disconnect(self._on_trace)
            self.setParent(None)  # Python's reference is the last one

    def apply(self) -> None:
        """Apply the rest of the view now (once)."""
        if not self.waiting:
            return
        self.cancel()
        view, w, s = self.view, self.window, self.window.state
        if view.step is not None:
            s.set_step(view.step)
        if view.unit is not None:
            s.set_unit(view.unit)
        docks = w.panel_docks()
        if view.panels is not None and self.exact_panels:
            # The docks not in the view close; the lab window is left alone
            # (closing it would stop a training the user started).
            for name in w.visible_panels():
                if name not in view.panels and name in docks:
                    docks[name].hide()
        has_lab = getattr(w, "interventions", None) is not None
        for name in view.panels or ():
            if name in docks or (name == "lab" and has_lab):  # a bare window has no experiment docks
                w.show_panel(name)  # the last one listed ends up in front
        # A panel may pick its own unit or step when it opens; the view's win.
        if view.step is not None:
            s.set_step(view.step)
        if view.unit is not None:
            s.set_unit(view.unit)
        if view.presentation:
            w.set_presentation(True)
        self.applied.emit()


# ---------------------------------------------------------------------------- dialogs


def save_view_dialog(window) -> bool:
    """File ▸ Save View: ask for a .json path, then write the view there."""
    from PySide6.QtWidgets import QFileDialog

    s = window.state
    folder = window.settings.value("lastViewDir", "", str)
    name = (getattr(s.model, "name", "") or "view").replace(" ", "-")
    start = str(Path(folder) / f"{name}-t{s.t}.json") if folder else f"{name}-t{s.t}.json"
    path, _ = QFileDialog.getSaveFileName(window, "Save view", start, VIEW_FILTER)
    if not path:
        return False
    if not Path(path).suffix:
        path += ".json"
    window.settings.setValue("lastViewDir", str(Path(path).parent))
    return save_view(window, path)


def open_view_dialog(window) -> bool:
    """File ▸ Open View: ask for a .json view file, then show it."""
    from PySide6.QtWidgets import QFileDialog

    folder = window.settings.value("lastViewDir", "", str)
    path, _ = QFileDialog.getOpenFileName(window, "Open view", folder, VIEW_FILTER)
    if not path:
        return False
    window.settings.setValue("lastViewDir", str(Path(path).parent))
    return open_view(window, path)


__all__ = ["COLOUR_MODES", "MAX_BYTES", "PANELS", "VERSION", "PendingView", "Prepared", "View",
           "ViewFileError", "apply_view", "capture_view", "check_view", "open_view",
           "open_view_dialog", "parse_view", "prepare_view", "read_view", "save_view",
           "save_view_dialog", "write_view"]
