"""The plot and inspector panels as a user sees them (pytest-qt, offscreen).

Where a test needs to know where step t is on screen it computes the pixel
from the widget's geometry and the axis range (a linear axis puts value v
at left + (v − v0) / (v1 − v0) · width), never with the panel's own
inverse, and reads colours from the rendered image.
"""

import gc

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtGui import QColor, QTextDocument  # noqa: E402
from PySide6.QtWidgets import QStyle, QStyleOptionSpinBox  # noqa: E402

from lstm_viewer.engine import run  # noqa: E402
from lstm_viewer.engine.compare import run_pair  # noqa: E402
from lstm_viewer.gui import colormaps  # noqa: E402
from lstm_viewer.gui.launch import make_app  # noqa: E402
from lstm_viewer.gui.panels.comparison_view import ComparisonView  # noqa: E402
from lstm_viewer.gui.panels.inspector import Inspector  # noqa: E402
from lstm_viewer.gui.panels.state_plots import StatePlots, c_colour_limit  # noqa: E402
from lstm_viewer.gui.panels.timeline import Timeline  # noqa: E402
from lstm_viewer.gui.theme import CURSOR_COLOUR, plot_colours  # noqa: E402
from lstm_viewer.gui.viewer_state import ViewerState  # noqa: E402
from lstm_viewer.gui.worker import build_overview  # noqa: E402

from .conftest import make_model  # noqa: E402


@pytest.fixture(autouse=True)
def _app():
    # The window's pyqtgraph settings (row-major images, antialiasing).
    make_app()
    yield
    # A panel and its state refer to each other, so a closed panel is freed by
    # the cycle collector. Freed here, between tests, it cannot be freed in
    # the middle of the next test's paint (which crashes Qt).
    gc.collect()


def state_with(model, length=12, seed=0, dark=False):
    """A ViewerState showing ``model`` on ``length`` random tokens."""
    s = ViewerState()
    s.set_dark(dark)
    s.set_model(model, "test")
    ids = np.random.default_rng(seed).integers(0, len(model.vocab), length)
    s.set_inputs(ids)
    trace = run(model, ids)
    s.set_trace(trace, build_overview(trace))
    return s


def show(qtbot, widget, width, height):
    qtbot.addWidget(widget)
    widget.resize(width, height)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def view_rect(view, plot):
    """The plot's data area in the view's viewport pixels."""
    return view.mapFromScene(plot.vb.sceneBoundingRect()).boundingRect()


def step_to_pixel(view, plot, t):
    """Viewport x of time ``t``: the linear map of the axis range onto the data area."""
    rect = view_rect(view, plot)
    x0, x1 = plot.vb.viewRange()[0]
    return rect.left() + (t - x0) / (x1 - x0) * rect.width()


def unit_to_pixel(view, plot, u):
    """Viewport y of unit ``u`` (the y axis points up)."""
    rect = view_rect(view, plot)
    y0, y1 = plot.vb.viewRange()[1]
    return rect.bottom() - (u - y0) / (y1 - y0) * rect.height()


def rgb_of(value, limit, dark):
    """The diagram's diverging colour of ``value`` in −limit…limit."""
    return colormaps.to_rgba(np.array([value]), "diverging", -limit, limit, dark=dark)[0, :3]


def close(colour: QColor, rgb, tol=8) -> bool:
    return all(abs(a - int(b)) <= tol for a, b in zip((colour.red(), colour.green(), colour.blue()), rgb))


def cursor_columns(image, y, x_from, x_to):
    """x of pixels in row ``y`` that have the cursor's colour."""
    cursor = QColor(CURSOR_COLOUR)
    rgb = (cursor.red(), cursor.green(), cursor.blue())
    return [x for x in range(max(0, x_from), min(image.width(), x_to)) if close(image.pixelColor(x, y), rgb, 40)]


# --- state plots: step t at x = t -------------------------------------------------------------

@pytest.mark.parametrize("dark", [False, True])
def test_heatmap_column_t_is_centred_on_t_in_the_diagram_colours(qtbot, dark):
    model = make_model(hidden=6)
    s = state_with(model, length=12, dark=dark)
    s.set_step(11)                          # the cursor out of the way of the sampled columns
    plots = show(qtbot, StatePlots(s), 380, 760)
    plots.redraw()
    qtbot.wait(20)
    image = plots.view.viewport().grab().toImage()
    plot = plots.plots["c"]
    c = s.trace.layers[0][0].c               # (T, H)
    limit = plots.limits["c"]
    for t, u in ((0, 0), (3, 2), (6, 5), (9, 1)):
        expected = rgb_of(c[t, u], limit, dark)
        # A little above the row's centre, clear of the axis ticks at whole units.
        y = int(round(unit_to_pixel(plots.view, plot, u + 0.2)))
        # The centre of column t and both sides of it, 0.35 of a step away, are step t.
        for dt in (-0.35, 0.0, 0.35):
            x = int(round(step_to_pixel(plots.view, plot, t + dt)))
            got = image.pixelColor(x, y)
            assert close(got, expected), (t, u, dt, got.name(), expected)
    # The view's background is the theme's.
    corner = image.pixelColor(2, image.height() - 2)
    assert close(corner, QColor(plot_colours(dark)["bg"]).getRgb()[:3], 2)
    assert plot.getAxis("left").textPen().color().name() == QColor(plot_colours(dark)["fg"]).name()


def test_cursor_is_drawn_at_step_t_in_every_plot(qtbot):
    s = state_with(make_model(hidden=6), length=10)
    plots = show(qtbot, StatePlots(s), 380, 760)
    plots.redraw()
    s.set_step(4)
    qtbot.wait(20)
    image = plots.view.viewport().grab().toImage()
    for name in ("c", "a", "lines"):
        plot = plots.plots[name]
        rect = view_rect(plots.view, plot)
        y = int(rect.center().y())
        expected = step_to_pixel(plots.view, plot, 4)
        found = cursor_columns(image, y, int(rect.left()), int(rect.right()))
        assert found, name
        assert abs(np.mean(found) - expected) <= 1.5, (name, found, expected)


def test_line_plot_puts_step_t_at_x_t(qtbot):
    s = state_with(make_model(hidden=6), length=10)
    plots = show(qtbot, StatePlots(s), 380, 760)
    plots.redraw()
    x, y = plots._curves[0].getData()
    np.testing.assert_array_equal(x, np.arange(10))
    u = s.overview[(0, 0)]["busiest"][0]
    np.testing.assert_allclose(y, s.trace.layers[0][0].c[:, u])


def test_ticks_are_whole_steps_even_zoomed_in(qtbot):
    s = state_with(make_model(hidden=6), length=30)
    plots = show(qtbot, StatePlots(s), 380, 760)
    plots.redraw()
    # Zoomed in on four steps, a plain axis would tick every half step (column edges).
    for name in ("c", "lines"):
        axis = plots.plots[name].getAxis("bottom")
        for lo, hi in ((-0.5, 3.5), (-0.5, 29.5), (10.2, 12.7)):
            ticks = [v for _, values in axis.tickValues(lo, hi, 300) for v in values]
            assert ticks, (name, lo, hi)
            assert all(float(v).is_integer() for v in ticks), (name, lo, hi, ticks)
    units = [v for _, values in plots.plots["c"].getAxis("left").tickValues(-0.5, 5.5, 300) for v in values]
    assert units and all(float(v).is_integer() for v in units)


def test_click_on_a_plot_moves_to_the_nearest_step(qtbot):
    s = state_with(make_model(hidden=6), length=12)
    plots = show(qtbot, StatePlots(s), 380, 760)
    plots.redraw()
    viewport = plots.view.viewport()
    for name, t, offset in (("c", 5, 0.0), ("c", 5, 0.4), ("a", 7, -0.4), ("lines", 2, 0.3), ("c", 8, 0.6)):
        plot = plots.plots[name]
        x = step_to_pixel(plots.view, plot, t + offset)
        y = view_rect(plots.view, plot).center().y()
        qtbot.mouseClick(viewport, Qt.LeftButton, pos=QPoint(int(round(x)), int(y)))
        expected = t + 1 if offset > 0.5 else t
        assert s.t == expected, (name, t, offset, s.t)


# --- state plots: colours that follow the theme and a fixed, shown range ----------------------

def test_c_range_is_symmetric_fixed_for_the_trace_and_shown(qtbot):
    s = state_with(make_model(hidden=8), length=40)
    plots = show(qtbot, StatePlots(s), 380, 760)
    plots.redraw()
    c = np.abs(s.trace.layers[0][0].c)
    limit = plots.limits["c"]
    lo, hi = (float(v) for v in plots.images["c"].getLevels())
    assert (lo, hi) == (-limit, limit)
    assert limit >= max(1.0, np.percentile(c, 99))
    # The colour bar beside the heatmap states the same range.
    bar = plots.colour_bars["c"]
    assert bar.isVisible()
    assert tuple(bar.values) == (-limit, limit)
    assert tuple(bar.axis.range) == pytest.approx((-limit, limit))
    # Playing through the trace does not change it.
    for t in (s.length - 1, 0, 17):
        s.set_step(t)
        assert tuple(float(v) for v in plots.images["c"].getLevels()) == (lo, hi)


def test_c_range_matches_the_diagram_and_follows_the_colour_mode(qtbot):
    from lstm_viewer.gui.diagram.ranges import trace_ranges

    model = make_model(hidden=8)
    s = state_with(model, length=40)
    plots = show(qtbot, StatePlots(s), 380, 760)
    plots.redraw()
    # The diagram's c range for the same trace is the heatmap's.
    assert plots.limits["c"] == trace_ranges(s.direction_trace)[0]
    # Locked: a new input keeps the range on screen, as the diagram does.
    s.set_colour_mode("locked")
    locked = plots.limits["c"]
    ids = np.zeros(40, int)
    big = run(model, ids)
    big.layers[0][0].c[...] *= 50          # a trace whose c is far larger
    s.set_inputs(ids)
    s.set_trace(big, build_overview(big))
    qtbot.waitUntil(lambda: not plots._pending.isActive())
    assert plots.limits["c"] == locked
    assert tuple(plots.colour_bars["c"].values) == (-locked, locked)
    # Back to per trace: the range is this trace's.
    s.set_colour_mode("trace")
    qtbot.waitUntil(lambda: not plots._pending.isActive())
    assert plots.limits["c"] == trace_ranges(big.layers[0][0])[0] > locked


def test_c_range_is_robust_to_an_outlier():
    rng = np.random.default_rng(0)
    c = rng.uniform(-2.0, 2.0, (16, 500))
    c[3, 7] = 1e4
    assert 2.0 <= c_colour_limit(c) <= 3.0
    assert c_colour_limit(np.zeros((4, 0))) == 1.0
    assert c_colour_limit(np.full((2, 3), np.nan)) == 1.0


def test_theme_switch_recolours_heatmaps_and_axes(qtbot):
    s = state_with(make_model(hidden=6), length=12)
    plots = show(qtbot, StatePlots(s), 380, 760)
    plots.redraw()
    plot = plots.plots["a"]
    y = int(round(unit_to_pixel(plots.view, plot, 2.2)))
    x = int(round(step_to_pixel(plots.view, plot, 3.2)))
    value = s.trace.layers[0][0].a[3, 2]
    light = plots.view.viewport().grab().toImage().pixelColor(x, y)
    s.set_dark(True)
    qtbot.wait(20)
    dark = plots.view.viewport().grab().toImage().pixelColor(x, y)
    assert close(light, rgb_of(value, 1.0, False))
    assert close(dark, rgb_of(value, 1.0, True))
    fg = QColor(plot_colours(True)["fg"]).name()
    assert plots.colour_bars["a"].axis.textPen().color().name() == fg
    assert plot.getAxis("bottom").textPen().color().name() == fg


# --- comparison view --------------------------------------------------------------------------

def comparison_pair(layers=1, hidden=6, length=20):
    model = make_model(hidden=hidden, layers=layers, seed=3)
    ids = np.random.default_rng(5).integers(0, len(model.vocab), length)
    return run_pair(model, ids, ["update=1" + (f"#{layers - 1}" if layers > 1 else "")])


def test_comparison_says_what_to_do_instead_of_empty_axes(qtbot):
    view = show(qtbot, ComparisonView(), 900, 300)
    assert view.empty.isVisible()
    assert "Switch something off in Interventions" in view.empty.text()
    assert not view.view.isVisible() and not view.controls.isVisible()
    intact, hit = comparison_pair()
    view.set_traces(intact, hit)
    assert view.view.isVisible() and view.controls.isVisible()
    assert not view.empty.isVisible()
    view.set_traces(None, None)
    assert view.empty.isVisible() and not view.view.isVisible()


def test_comparison_has_no_legend_box_over_the_curves(qtbot):
    view = show(qtbot, ComparisonView(), 900, 300)
    intact, hit = comparison_pair()
    view.set_traces(intact, hit)
    assert all(plot.legend is None for plot in view.plots.values())
    # The key is in the titles and the heading instead.
    title = view.plots["div"].titleLabel.text
    assert "‖Δc‖" in title and "‖Δa‖" in title
    assert "intact" in view.heading.text() and "intervened" in view.heading.text()


@pytest.mark.parametrize("width, height, columns", [(380, 760, 1), (900, 420, 2), (1400, 260, 4)])
def test_comparison_reads_in_a_narrow_dock_and_a_wide_one(qtbot, width, height, columns):
    view = show(qtbot, ComparisonView(), width, height)
    intact, hit = comparison_pair()
    view.set_traces(intact, hit)
    qtbot.wait(20)
    rects = [view_rect(view.view, plot) for plot in view.plots.values()]
    lefts = {r.left() for r in rects}
    assert len(lefts) == columns
    # Every plot keeps a usable data area.
    assert all(r.width() >= 120 and r.height() >= 50 for r in rects), [(r.width(), r.height()) for r in rects]
    # The controls stay inside the panel.
    assert view.controls.geometry().right() <= view.width()


def test_comparison_click_moves_to_the_nearest_step(qtbot):
    view = show(qtbot, ComparisonView(), 900, 420)
    intact, hit = comparison_pair(length=20)
    view.set_traces(intact, hit)
    qtbot.wait(20)
    plot = view.plots["div"]
    for t, offset in ((6, 0.0), (6, 0.3), (11, -0.4), (3, 0.7)):
        x = step_to_pixel(view.view, plot, t + offset)
        y = view_rect(view.view, plot).center().y()
        with qtbot.waitSignal(view.stepClicked) as blocker:
            qtbot.mouseClick(view.view.viewport(), Qt.LeftButton, pos=QPoint(int(round(x)), int(y)))
        assert blocker.args == [t + 1 if offset > 0.5 else t]


def test_comparison_cursor_is_at_step_t(qtbot):
    view = show(qtbot, ComparisonView(), 900, 420)
    intact, hit = comparison_pair(length=20)
    view.set_traces(intact, hit)
    view.set_step(9)
    qtbot.wait(20)
    image = view.view.viewport().grab().toImage()
    plot = view.plots["p"]
    rect = view_rect(view.view, plot)
    found = cursor_columns(image, int(rect.center().y()), int(rect.left()), int(rect.right()))
    assert found and abs(np.mean(found) - step_to_pixel(view.view, plot, 9)) <= 1.5


def spin_arrow(spin, up=True) -> QPoint:
    opt = QStyleOptionSpinBox()
    spin.initStyleOption(opt)
    control = QStyle.SC_SpinBoxUp if up else QStyle.SC_SpinBoxDown
    return spin.style().subControlRect(QStyle.CC_SpinBox, opt, control, spin).center()


def test_comparison_layer_and_unit_controls_change_what_is_plotted(qtbot):
    view = show(qtbot, ComparisonView(), 900, 420)
    intact, hit = comparison_pair(layers=2)
    view.set_traces(intact, hit, layer=0)
    view.set_unit(1)
    np.testing.assert_allclose(view.curves["c_intact"].getData()[1], intact.layers[0][0].c[:, 1])

    # Pick "layer 1" in the box with the keyboard, as a user does.
    view.layer_box.setFocus()
    qtbot.keyClick(view.layer_box, Qt.Key_Down)
    assert view.layer_box.currentText() == "layer 1"
    unit = view.unit_spin.value()
    np.testing.assert_allclose(view.curves["c_intact"].getData()[1], intact.layers[1][0].c[:, unit])
    np.testing.assert_allclose(view.curves["a_intervened"].getData()[1], hit.layers[1][0].a[:, unit])
    assert "layer 1" in view.plots["c"].titleLabel.text

    # The unit box's up arrow, clicked: the next unit is drawn.
    view.unit_spin.setValue(2)
    qtbot.mouseClick(view.unit_spin, Qt.LeftButton, pos=spin_arrow(view.unit_spin, up=True))
    assert view.unit_spin.value() == 3
    np.testing.assert_allclose(view.curves["c_intact"].getData()[1], intact.layers[1][0].c[:, 3])
    assert "unit 3" in view.plots["c"].titleLabel.text

    # Typed: select the number, type another, press Enter.
    view.unit_spin.lineEdit().selectAll()
    qtbot.keyClicks(view.unit_spin.lineEdit(), "5")
    qtbot.keyClick(view.unit_spin.lineEdit(), Qt.Key_Return)
    np.testing.assert_allclose(view.curves["c_intervened"].getData()[1], hit.layers[1][0].c[:, 5])
    assert "unit 5" in view.plots["a"].titleLabel.text


# --- timeline ---------------------------------------------------------------------------------

def highlighted_span(image, y, colour: QColor):
    xs = [x for x in range(image.width()) if close(image.pixelColor(x, y), colour.getRgb()[:3], 3)]
    return (min(xs), max(xs)) if xs else None


def test_timeline_click_selects_the_cell_under_the_pointer(qtbot):
    s = state_with(make_model(), length=30)
    timeline = show(qtbot, Timeline(s), 500, 60)
    highlight = timeline.palette().highlight().color()
    y = 10
    # Where cells are, read from the painting: the highlighted cell at steps 0 and 1.
    s.set_step(0)
    first = highlighted_span(timeline.grab().toImage(), y, highlight)
    s.set_step(1)
    second = highlighted_span(timeline.grab().toImage(), y, highlight)
    assert first and second
    pitch = second[0] - first[0]
    assert pitch > 0
    for k, fraction in ((6, 0.5), (3, 0.1), (9, 0.85)):
        x = int(first[0] + (k + fraction) * pitch)
        qtbot.mouseClick(timeline, Qt.LeftButton, pos=QPoint(x, y))
        assert s.t == k, (k, fraction, s.t)
        span = highlighted_span(timeline.grab().toImage(), y, highlight)
        assert span[0] <= x <= span[1] + 2


# --- inspector --------------------------------------------------------------------------------

def plain(rich: str) -> str:
    doc = QTextDocument()
    doc.setHtml(rich)
    return doc.toPlainText()


def test_inspector_shows_equations_as_rich_text(qtbot):
    s = state_with(make_model(peephole=True), length=8)
    inspector = show(qtbot, Inspector(s), 380, 600)
    s.set_node("forget")
    assert inspector.equation.textFormat() == Qt.RichText
    assert "Γ<sub>f</sub>" in inspector.title.text()
    eq = inspector.equation.text()
    assert "W<sub>f</sub>" in eq and "b<sub>f</sub>" in eq and "p<sub>f</sub>" in eq
    assert "c<sup>⟨t−1⟩</sup>" in eq
    # What is read on screen has no literal underscores.
    assert "_" not in plain(eq) and "_" not in plain(inspector.title.text())
    assert plain(eq).startswith("Γf = σ(Wf·[a⟨t−1⟩, x⟨t⟩] + pf⊙c⟨t−1⟩ + bf)")
    s.set_node("y_hat")
    assert "W<sub>y</sub>" in inspector.equation.text()
    # ŷ's rows are tokens, not units.
    assert inspector.model.headerData(0, Qt.Horizontal) == "token"
    s.set_node("c")
    assert inspector.model.headerData(0, Qt.Horizontal) == "unit"


def test_inspector_survives_a_shorter_trace_while_beyond_its_end(qtbot):
    model = make_model()
    s = state_with(model, length=20)
    inspector = show(qtbot, Inspector(s), 380, 600)
    s.set_node("update")
    s.set_step(17)
    clicked = []

    def click_a_node(event):
        # A node clicked in the moment the new trace is shown: the state has
        # already moved the step inside it.
        clicked.append(s.t)
        s.set_node("forget" if s.node != "forget" else "candidate")

    s.events.trace.connect(click_a_node)
    ids = np.arange(5) % len(model.vocab)
    short = run(model, ids)
    s.set_inputs(ids)
    s.set_trace(short, build_overview(short))
    assert clicked == [4]                        # never a step beyond the new trace's end
    assert s.t == 4
    assert "step t = 4" in inspector.summary.text()
    assert inspector.model.rowCount() == model.layers[0].hidden_size
    expected = short.layers[0][0].step(4)[s.node]
    shown = [float(inspector.model.data(inspector.model.index(r, 1))) for r in range(inspector.model.rowCount())]
    np.testing.assert_allclose(shown, expected, atol=5e-4)
    # ŷ too, which reads the head's output at the step.
    s.events.trace.disconnect(click_a_node)
    s.set_step(4)
    s.set_node("y_hat")
    s.set_trace(run(model, ids[:2]), None)
    assert "step t = 1" in inspector.summary.text()


# --- model panel ------------------------------------------------------------------------------

def test_model_card_numbers_read_in_a_narrow_panel(qtbot):
    from lstm_viewer.gui.panels.model_info import ModelInfo

    model = make_model()
    model.card = {"final_train_loss": 0.008114476059563457, "interventions": [], "steps": 3000}
    s = ViewerState()
    info = show(qtbot, ModelInfo(s), 380, 600)
    s.set_model(model, "tiny")
    text = info.text.toPlainText()
    assert "0.008114" in text and "0.0081144760" not in text
    assert "interventions\nnone" in text
    assert "3000" in text
