"""The cell diagram widget: values shown, animation, unit selection, clicks, markers."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from lstm_viewer.gui import colormaps
from lstm_viewer.gui.diagram.canvas import CellDiagram

ROOT = Path(__file__).resolve().parents[2]
HIDDEN_NAMES = ("forget", "update", "candidate", "output", "write", "keep",
                "c_prev", "c", "tanh_c", "a_prev", "a")


def step_values(rng, H, n_x):
    """A consistent LSTM step dict in the DirectionTrace.step layout."""
    x = rng.normal(size=n_x) * 0.5
    a_prev = np.tanh(rng.normal(size=H))
    c_prev = rng.normal(size=H)
    f, u, o = (1 / (1 + np.exp(-rng.normal(size=H))) for _ in range(3))
    cand = np.tanh(rng.normal(size=H))
    c = f * c_prev + u * cand
    return dict(x=x, concat=np.concatenate([a_prev, x]), forget=f, update=u, candidate=cand,
                output=o, write=u * cand, keep=f * c_prev, c_prev=c_prev, c=c,
                tanh_c=np.tanh(c), a_prev=a_prev, a=o * np.tanh(c))


@pytest.fixture
def diagram(qtbot):
    d = CellDiagram()
    qtbot.addWidget(d)
    d.resize(700, 650)
    return d


def structure(d, H=8, n_x=5, vocab=True, peepholes=False):
    voc = [chr(ord("a") + i) for i in range(n_x)] if vocab else None
    d.set_structure(input_size=n_x, hidden_size=H, has_peepholes=peepholes, has_head=vocab,
                    output_size=n_x if vocab else None, vocab=voc)


def assert_shows(d, values):
    """Every node draws exactly ``values`` in its shown cells and reports them whole."""
    for name in d.NODE_NAMES:
        if name == "y_hat":
            continue
        shown = d.shown_units(name)
        np.testing.assert_array_equal(d.displayed_values(name)[shown], values[name][shown])
        np.testing.assert_array_equal(d.node_values(name), values[name])


def test_static_step_shows_exactly_the_values(diagram, rng):
    structure(diagram)
    values = step_values(rng, 8, 5)
    y = np.full(5, 0.2)
    diagram.show_step(values, token_text="b", y_hat=y, animate=False)
    assert_shows(diagram, values)
    for name in diagram.NODE_NAMES:
        if name != "y_hat":        # small sizes: every unit is shown, nothing summarised
            assert diagram.shown_units(name).size == values[name].size
    np.testing.assert_allclose(diagram.node_values("y_hat"), y)


def test_animated_step_travels_and_ends_on_the_final_values(diagram, qtbot, rng):
    structure(diagram)
    first, second = step_values(rng, 8, 5), step_values(rng, 8, 5)
    diagram.show_step(first, animate=False)
    diagram.set_animation_duration(150)
    with qtbot.waitSignal(diagram.animation.finished, timeout=3000):
        diagram.show_step(second, animate=True)
        # The step starts at the bottom: a⟨t⟩ at the top still shows the previous step.
        np.testing.assert_allclose(diagram.displayed_values("a"), first["a"])
        np.testing.assert_allclose(diagram.node_values("a"), second["a"])
    assert_shows(diagram, second)


def test_zero_duration_means_no_animation(diagram, qtbot, rng):
    structure(diagram)
    diagram.set_animation_duration(0)
    values = step_values(rng, 8, 5)
    with qtbot.waitSignal(diagram.animationFinished, timeout=1000):
        diagram.show_step(values, animate=True)
    assert_shows(diagram, values)


def test_unit_selection_modes_pick_the_right_units(diagram, rng):
    H = 40
    structure(diagram, H=H, n_x=30)
    diagram.set_max_units(5)
    values = step_values(rng, H, 30)
    diagram.show_step(values, animate=False)
    top_active = np.sort(np.argsort(-np.abs(values["a"]))[:5])
    np.testing.assert_array_equal(diagram.shown_units("a"), top_active)   # default: most active
    diagram.set_unit_selection("most_changed")
    changed = np.sort(np.argsort(-np.abs(values["a"] - values["a_prev"]))[:5])
    for name in HIDDEN_NAMES:
        np.testing.assert_array_equal(diagram.shown_units(name), changed)
    diagram.set_unit_selection("manual", [39, 3, 1, 3])
    np.testing.assert_array_equal(diagram.shown_units("c"), [1, 3, 39])
    diagram.set_unit_selection("most_active")
    # The rest is summarised, never dropped: caption counts and |mean| of the hidden units.
    rest = np.abs(np.delete(values["forget"], top_active)).mean()
    (caption,) = diagram.node_summary("forget")
    match = re.fullmatch(r"\+(\d+) more, \|mean\| (\d+\.\d+)", caption)
    assert match, caption
    assert int(match[1]) == 35 and float(match[2]) == pytest.approx(rest, abs=0.005 + 1e-9)
    # concat: a⟨t−1⟩ part follows the hidden selection, x part its own largest |x|.
    concat_shown = diagram.shown_units("concat")
    np.testing.assert_array_equal(concat_shown[:5], top_active)
    x_top = np.sort(np.argsort(-np.abs(values["x"]), kind="stable")[:5])
    np.testing.assert_array_equal(concat_shown[5:], x_top + H)
    assert diagram.node_summary("concat")[1].startswith("+25 more")
    # "all" draws every unit, whatever the cap of the ranked modes: nothing is summarised.
    diagram.set_unit_selection("all")
    for name in HIDDEN_NAMES:
        np.testing.assert_array_equal(diagram.shown_units(name), np.arange(H))
    assert diagram.node_summary("forget") == [""]
    assert_shows(diagram, values)


def test_highlighted_unit_is_always_shown(diagram, rng):
    structure(diagram, H=64, n_x=5)
    values = step_values(rng, 64, 5)
    diagram.show_step(values, animate=False)
    quiet = int(np.argmin(np.abs(values["a"])))      # never among the most active
    assert quiet not in diagram.shown_units("a")
    diagram.highlight_unit(quiet)
    for name in HIDDEN_NAMES:
        shown = diagram.shown_units(name)
        assert quiet in shown and shown.size == 16
    assert quiet in diagram.shown_units("concat")


def test_clicking_a_node_emits_its_name(diagram, qtbot, rng):
    structure(diagram)
    diagram.show_step(step_values(rng, 8, 5), animate=False)
    diagram.show()
    qtbot.waitExposed(diagram)
    for name in ("update", "candidate", "c", "x", "y_hat"):
        with qtbot.waitSignal(diagram.nodeClicked, timeout=1000,
                              check_params_cb=lambda n, want=name: n == want):
            qtbot.mouseClick(diagram.viewport, Qt.LeftButton, pos=diagram.node_view_pos(name))


def test_clicking_a_unit_cell_emits_the_unit(diagram, qtbot, rng):
    structure(diagram)
    diagram.show_step(step_values(rng, 8, 5), animate=False)
    diagram.show()
    qtbot.waitExposed(diagram)
    with qtbot.waitSignal(diagram.unitClicked, timeout=1000, check_params_cb=lambda u: u == 6):
        qtbot.mouseClick(diagram.viewport, Qt.LeftButton, pos=diagram.node_view_pos("c", unit=6))


def test_clamped_nodes_show_markers(diagram):
    structure(diagram)
    diagram.set_clamped({"update": "Γ_u := 1", "output": "Γ_o := 1"})
    assert diagram.node_marker("update") == "Γ_u := 1"
    assert diagram.node_marker("output") == "Γ_o := 1"
    assert diagram.node_marker("forget") is None
    diagram.set_clamped({})
    assert all(diagram.node_marker(n) is None for n in diagram.NODE_NAMES)
    with pytest.raises(KeyError):
        diagram.set_clamped({"nonsense": "x"})


def test_large_hidden_size_renders_with_a_summary(diagram, qtbot, rng):
    H = 1024
    structure(diagram, H=H, n_x=64)
    values = step_values(rng, H, 64)
    diagram.set_animation_duration(100)
    with qtbot.waitSignal(diagram.animation.finished, timeout=3000):
        diagram.show_step(values, animate=True)
    assert diagram.shown_units("a").size == 16
    assert diagram.node_summary("c")[0].startswith("+1008 more, |mean| ")
    assert_shows(diagram, values)
    image = diagram.grab_image()
    assert not image.isNull() and image.width() > 0


def test_peephole_values_are_shown(diagram, rng):
    structure(diagram, peepholes=True)
    values = step_values(rng, 8, 5)
    peep = {g: rng.normal(size=8) for g in ("forget", "update", "output")}
    diagram.show_step(values, peephole=peep, animate=False)
    for gate, vals in peep.items():
        np.testing.assert_allclose(diagram.peephole_values(gate), vals)


def test_structure_without_head_or_vocab(diagram, rng):
    diagram.set_structure(input_size=3, hidden_size=4, has_peepholes=False, has_head=True,
                          output_size=2, vocab=None)
    y = np.array([0.25, 0.75])
    diagram.show_step(step_values(rng, 4, 3), y_hat=y, animate=False)
    np.testing.assert_allclose(diagram.node_values("y_hat"), y)
    diagram.set_structure(input_size=3, hidden_size=4, has_peepholes=False, has_head=False,
                          output_size=None, vocab=None)
    diagram.show_step(step_values(rng, 4, 3), animate=False)


def test_dark_theme_and_highlight(diagram, qtbot, rng):
    from . import probe

    structure(diagram)
    diagram.show_step(step_values(rng, 8, 5), animate=False)
    diagram.show()
    qtbot.waitExposed(diagram)

    def pixels():
        return probe.image_array(diagram.grab().toImage())

    def around(image, unit):
        # The cell of hidden unit `unit` in the c strip, with a margin for the outline.
        pos = diagram.viewport.mapTo(diagram, diagram.node_view_pos("c", unit=unit))
        return image[pos.y() - 14:pos.y() + 15, pos.x() - 14:pos.x() + 15]

    def background(image):
        # The most common colour (inside the cell frame) and a corner (outside it).
        return probe.lightness(probe.dominant_colour(image)), probe.lightness(image[-3, -3])

    light = pixels()
    assert min(background(light)) > 200                              # light background
    diagram.highlight_unit(3)
    marked = pixels()
    assert not np.array_equal(around(marked, 3), around(light, 3))  # unit 3 is outlined
    assert np.array_equal(around(marked, 6), around(light, 6))      # unit 6 is not
    diagram.highlight_unit(None)
    assert np.array_equal(around(pixels(), 3), around(light, 3))
    diagram.set_dark(True)
    dark = pixels()
    assert max(background(dark)) < 60                                # dark background
    # Labels are drawn light on it: the c strip (a diverging map, no colour
    # brighter than 180 in the dark theme) holds the bright pixels of its title.
    rect = probe.pixel_rect(diagram, probe.strips(diagram)["c"])
    region = dark[max(rect.top(), 0):rect.bottom(), max(rect.left(), 0):rect.right()].reshape(-1, 3)
    assert sum(probe.lightness(p) > 200 for p in region) > 20
    diagram.set_dark(False)
    assert min(background(pixels())) > 200


def test_colormaps_cover_both_ranges():
    rgba = colormaps.to_rgba(np.array([-1.0, 0.0, 1.0, 5.0]), "diverging")
    assert rgba.shape == (4, 4) and rgba.dtype == np.uint8
    np.testing.assert_array_equal(rgba[2], rgba[3])            # clipped at the range end
    seq = colormaps.lut_indices(np.array([0.0, 0.5, 1.0]), "sequential")
    assert seq.tolist() == [0, 128, 255]
    assert len(colormaps.to_qcolors([0.1, 0.9], "sequential", dark=True)) == 2


@pytest.mark.parametrize("dark", [False, True])
def test_colormaps_read_in_grey_and_are_symmetric(dark):
    def lightness(rgba):
        return 0.2126 * rgba[:, 0] + 0.7152 * rgba[:, 1] + 0.0722 * rgba[:, 2]

    # Sequential (gates): lightness rises monotonically, so it survives colour blindness.
    assert np.all(np.diff(lightness(colormaps.lut("sequential", dark).astype(float))) > -1.0)
    # Diverging: the two halves mirror each other in lightness around zero.
    light = lightness(colormaps.lut("diverging", dark).astype(float))
    assert np.max(np.abs(light - light[::-1])) < 40
    middle = light[127:129].mean()
    assert (middle > light[0] and middle > light[-1]) if not dark else (middle < light[0] and middle < light[-1])


def test_demo_runs_offscreen(qtbot, tmp_path):
    spec = importlib.util.spec_from_file_location("cell_diagram_demo",
                                                  ROOT / "examples" / "cell_diagram_demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    out = tmp_path / "diagram.png"
    assert demo.main(["--screenshot", str(out), "--peepholes", "--size", "700x650"]) == 0
    assert out.stat().st_size > 10_000


def test_hovering_a_node_emits_its_name_and_leaving_emits_empty(diagram, qtbot, rng):
    structure(diagram)
    diagram.show_step(step_values(rng, 8, 5), animate=False)
    diagram.show()
    qtbot.waitExposed(diagram)
    seen = []
    diagram.nodeHovered.connect(seen.append)

    def move_until(pos, name):
        # pyqtgraph's scene drops moves that come faster than 60 Hz: move until seen.
        jiggle = [0]

        def arrived():
            jiggle[0] ^= 1         # a move to the same pixel is no move at all
            qtbot.mouseMove(diagram.viewport, pos + QPoint(jiggle[0], 0))
            return bool(seen) and seen[-1] == name
        qtbot.waitUntil(arrived, timeout=2000)

    move_until(diagram.node_view_pos("forget", unit=2), "forget")
    move_until(diagram.node_view_pos("forget") + QPoint(0, -300), "")


def test_animated_top5_is_reranked_when_y_hat_changes(diagram, qtbot):
    structure(diagram)
    diagram.set_animation_duration(100)
    values = step_values(np.random.default_rng(5), 8, 5)
    diagram.show_step(values, y_hat=np.array([0.5, 0.2, 0.1, 0.1, 0.1]), animate=False)
    with qtbot.waitSignal(diagram.animationFinished, timeout=2000):
        diagram.show_step(values, y_hat=np.array([0.1, 0.1, 0.1, 0.2, 0.5]), animate=True)
    assert diagram.top_tokens()[:2] == ["e", "d"]


def test_clicking_an_operator_selects_the_node_it_makes(diagram, qtbot, rng):
    structure(diagram)
    diagram.show_step(step_values(rng, 8, 5), animate=False)
    diagram.show()
    qtbot.waitExposed(diagram)
    with qtbot.waitSignal(diagram.nodeClicked, timeout=1000, check_params_cb=lambda n: n == "c"):
        qtbot.mouseClick(diagram.viewport, Qt.LeftButton, pos=diagram.operator_view_pos("plus"))


def test_engine_trace_with_peepholes_goes_in_unchanged(diagram, qtbot):
    """The real engine's DirectionTrace.step and preactivation parts, as the window passes them."""
    from lstm_viewer.engine import run

    from .conftest import make_model

    model = make_model(hidden=20, peephole=True)
    trace = run(model, np.array([0, 3, 1, 8, 9, 2]))
    d = trace.layers[0][0]
    diagram.set_structure(input_size=model.layers[0].cells[0].input_size, hidden_size=20,
                          has_peepholes=True, has_head=True, output_size=len(model.vocab),
                          vocab=model.vocab)
    diagram.set_animation_duration(60)
    for t in range(trace.length):
        peep = {g: d.preactivation(g, t)["p⊙c"] for g in ("forget", "update", "output")}
        with qtbot.waitSignal(diagram.animationFinished, timeout=2000):
            diagram.show_step(d.step(t), token_text=model.vocab[int(trace.tokens[t])],
                              y_hat=trace.y_hat[t], peephole=peep, animate=True)
        assert_shows(diagram, d.step(t))
        np.testing.assert_array_equal(diagram.displayed_values("y_hat"), trace.y_hat[t])
        for g, vals in peep.items():
            np.testing.assert_array_equal(diagram.peephole_values(g), vals)
        assert diagram.shown_units("a").size == 16 and diagram.node_summary("a")[0].startswith("+4 more")
