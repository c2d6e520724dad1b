"""The Qt-free state object: events fire once per real change, setters clamp."""

import sys

import numpy as np

from lstm_viewer.engine import run
from lstm_viewer.gui.viewer_state import ViewerState, display_token

from .conftest import make_model


def test_state_imports_no_qt():
    import subprocess

    code = ("import sys, lstm_viewer.gui.viewer_state; "
            "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_events_fire_once_per_change():
    state = ViewerState()
    seen = []
    state.events.step.connect(lambda e: seen.append(("step", e.value)))
    state.events.unit.connect(lambda e: seen.append(("unit", e.value)))
    model = make_model()
    state.set_model(model, "tiny")
    ids, _ = model.encode("abcabc")
    state.set_trace(run(model, ids))
    seen.clear()
    state.set_step(3)
    state.set_step(3)
    state.set_step(99)          # clamped to the last step
    state.set_unit(2)
    state.set_unit(2)
    state.set_unit(100)         # out of range: ignored
    assert seen == [("step", 3), ("step", 5), ("unit", 2)]


def test_step_values_follow_layer_choice():
    model = make_model(layers=2)
    state = ViewerState()
    state.set_model(model)
    ids, _ = model.encode("abcd")
    trace = run(model, ids)
    state.set_trace(trace)
    state.set_layer(1)
    state.set_step(2)
    np.testing.assert_array_equal(state.step_values()["c"], trace.layers[1][0].c[2])
    assert state.y_hat() is not None
    state.set_layer(0)
    assert state.y_hat() is None  # ŷ belongs to the top layer only


def test_display_token():
    assert display_token(" ") == "␣"
    assert display_token("\n") == "⏎"
    assert display_token("a") == "a"
