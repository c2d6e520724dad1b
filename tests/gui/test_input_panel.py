"""The input bar used as a user uses it: typing, Return, Load sequence… and File ▸ Load Sequence."""

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from lstm_viewer.engine import CellWeights, Head, Layer, LSTMModel
from lstm_viewer.gui.panels.input_panel import DEBOUNCE_MS, DEMO_LENGTH, InputPanel
from lstm_viewer.gui.viewer_state import ViewerState

from .conftest import make_model


def id_model(tokens=10, n_x=4, hidden=5, seed=3):
    """An embedding of ``tokens`` ids and no vocabulary (as a PyTorch state_dict gives)."""
    rng = np.random.default_rng(seed)
    cell = CellWeights(rng.standard_normal((4 * hidden, n_x)).astype(np.float32),
                       rng.standard_normal((4 * hidden, hidden)).astype(np.float32),
                       rng.standard_normal(4 * hidden).astype(np.float32))
    head = Head(rng.standard_normal((tokens, hidden)).astype(np.float32), np.zeros(tokens, np.float32))
    return LSTMModel([Layer([cell])], embedding=rng.standard_normal((tokens, n_x)).astype(np.float32),
                     head=head, name="ids", source_format="in-memory (test)").validate()


def vector_model(n_x=6, hidden=5, seed=4):
    """Neither embedding nor vocabulary: the input is vectors of n_x."""
    rng = np.random.default_rng(seed)
    cell = CellWeights(rng.standard_normal((4 * hidden, n_x)).astype(np.float32),
                       rng.standard_normal((4 * hidden, hidden)).astype(np.float32),
                       rng.standard_normal(4 * hidden).astype(np.float32))
    return LSTMModel([Layer([cell])], name="vectors", source_format="in-memory (test)").validate()


@pytest.fixture
def panel(qtbot):
    from lstm_viewer.gui.launch import make_app

    make_app()
    state = ViewerState()
    widget = InputPanel(state)
    qtbot.addWidget(widget)
    widget.resize(900, 40)
    widget.show()
    return widget


@pytest.fixture
def choose(monkeypatch):
    """Make the file dialog return ``path`` (what the user would pick); records its filter."""
    asked = []

    def pick(path):
        def dialog(parent, caption, directory, filters):
            asked.append(filters)
            return str(path), filters.split(";;")[0]
        monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(dialog))
        return asked
    return pick


def type_and_return(qtbot, panel, text):
    panel.field.clear()
    qtbot.keyClicks(panel.field, text)
    qtbot.keyClick(panel.field, Qt.Key_Return)


# -- typed token ids -------------------------------------------------------------
def test_id_model_opens_on_typed_ids_with_a_hint(panel):
    panel.state.set_model(id_model(tokens=10))
    assert panel.label.text() == "Token ids 0–9:"
    assert panel.field.isEnabled()
    assert panel.field.placeholderText() == "token ids 0–9, separated by spaces"
    # The opening input is typed-out ids in the field, not vectors labelled as loaded.
    assert panel.field.text().startswith("0 1 2 3")
    np.testing.assert_array_equal(panel.state.inputs, [int(t) for t in panel.field.text().split()])
    assert panel.state.inputs.ndim == 1 and panel.state.inputs.size == DEMO_LENGTH
    assert "file" not in panel.label.text()


def test_typed_ids_run_on_return(panel, qtbot):
    panel.state.set_model(id_model(tokens=10))
    type_and_return(qtbot, panel, "3 7, 4")
    np.testing.assert_array_equal(panel.state.inputs, [3, 7, 4])
    assert panel.state.text == "3 7, 4"
    assert not panel.notice.isVisible() and panel.marked == []


def test_typed_ids_run_after_the_pause(panel, qtbot):
    panel.state.set_model(id_model(tokens=10))
    panel.field.clear()
    qtbot.keyClicks(panel.field, "5 6 8")
    # No Return: the debounce runs it once typing stops.
    qtbot.waitUntil(lambda: panel.state.inputs is not None and panel.state.inputs.tolist() == [5, 6, 8],
                    timeout=2000)


def test_emptying_the_field_to_retype_is_not_an_error(panel, qtbot):
    panel.state.set_model(id_model(tokens=10))
    type_and_return(qtbot, panel, "1 2")
    with qtbot.assertNotEmitted(panel.problem, wait=2 * DEBOUNCE_MS + 100):
        qtbot.keyClicks(panel.field, "\b\b\b")
    assert panel.field.text() == ""
    np.testing.assert_array_equal(panel.state.inputs, [1, 2])


def test_out_of_range_and_non_integer_ids_are_skipped_and_marked(panel, qtbot):
    panel.state.set_model(id_model(tokens=10))
    type_and_return(qtbot, panel, "3 12 x 4 -1")
    np.testing.assert_array_equal(panel.state.inputs, [3, 4])
    assert panel.notice.isVisible()
    assert panel.notice.text() == "⚠ 3 skipped: 12, x, -1"
    assert "outside 0–9" in panel.notice.toolTip() and "not an integer" in panel.notice.toolTip()
    assert panel.marked == [(2, 2), (5, 1), (9, 2)]  # "12", "x", "-1" in the field
    assert panel.field.text() == "3 12 x 4 -1"  # nothing the user typed is removed
    type_and_return(qtbot, panel, "3 4")
    assert not panel.notice.isVisible() and panel.marked == []


def test_narrow_bar_gives_the_count_and_the_tooltip_lists(panel, qtbot):
    panel.state.set_model(id_model(tokens=10))
    panel.resize(430, 40)
    type_and_return(qtbot, panel, "3 12 x 4 -1")
    assert panel.notice.text() == "⚠ 3 skipped"
    assert "'12' at 2 (outside 0–9)" in panel.notice.toolTip()
    panel.resize(1200, 40)
    qtbot.waitUntil(lambda: panel.notice.text() == "⚠ 3 skipped: 12, x, -1", timeout=2000)


def test_no_valid_id_keeps_the_input_and_says_why(panel, qtbot):
    panel.state.set_model(id_model(tokens=10))
    type_and_return(qtbot, panel, "1 2")
    panel.field.clear()
    qtbot.keyClicks(panel.field, "42")
    with qtbot.waitSignal(panel.problem, timeout=2000) as blocker:
        qtbot.keyClick(panel.field, Qt.Key_Return)
    assert blocker.args == ["the input holds no token id in 0–9"]
    np.testing.assert_array_equal(panel.state.inputs, [1, 2])


def test_text_model_still_takes_text(panel, qtbot):
    panel.state.set_model(make_model(vocab="abc."))
    assert panel.label.text() == "Input:"
    type_and_return(qtbot, panel, "ab#c")
    np.testing.assert_array_equal(panel.state.inputs, [0, 1, 2])
    assert panel.notice.text() == "⚠ 1 skipped: '#'" and panel.marked == [(2, 1)]


# -- vector models ---------------------------------------------------------------
def test_vector_model_field_is_disabled_with_a_hint_and_demo_labelled(panel):
    panel.state.set_model(vector_model(n_x=6))
    assert panel.label.text() == "Vectors:"
    assert not panel.field.isEnabled() and panel.field.text() == ""
    shown = panel.field.placeholderText()
    assert shown.startswith(f"{DEMO_LENGTH} random demo vectors, not from a file")
    assert "load yours (T × 6, .npy or .csv)" in shown
    assert "from a .npy (T × 6)" in panel.field.toolTip()
    assert panel.state.inputs.shape == (DEMO_LENGTH, 6)


def test_vector_file_is_labelled_with_its_name_and_shape(panel, qtbot, tmp_path, choose):
    panel.state.set_model(vector_model(n_x=6))
    walk = tmp_path / "walk.npy"
    vectors = np.cumsum(np.ones((40, 6)), axis=0)
    np.save(walk, vectors)
    asked = choose(walk)
    qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    assert asked[0].startswith("Vectors (*.npy *.csv)")
    np.testing.assert_array_equal(panel.state.inputs, vectors)
    assert panel.field.placeholderText() == "walk.npy: 40 × 6 vectors"
    assert not panel.field.isEnabled()
    rows = tmp_path / "rows.csv"
    rows.write_text("1,2,3,4,5,6\n6,5,4,3,2,1\n")
    choose(rows)
    qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    assert panel.state.inputs.shape == (2, 6)
    assert panel.field.placeholderText() == "rows.csv: 2 × 6 vectors"


# -- Load sequence… ----------------------------------------------------------------
def test_text_file_final_newline_is_not_skipped(panel, qtbot, tmp_path, choose):
    panel.state.set_model(make_model(vocab="abc."))
    path = tmp_path / "input.txt"
    path.write_text("abca.\n")
    choose(path)
    qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    assert panel.field.text() == "abca."
    assert not panel.notice.isVisible()
    np.testing.assert_array_equal(panel.state.inputs, [0, 1, 2, 0, 3])


def test_text_file_newline_kept_when_the_vocabulary_has_it(panel, qtbot, tmp_path, choose):
    panel.state.set_model(make_model(vocab="ab\n"))
    path = tmp_path / "lines.txt"
    path.write_bytes(b"ab\r\nba\r\n")
    choose(path)
    qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    np.testing.assert_array_equal(panel.state.inputs, [0, 1, 2, 1, 0, 2])
    assert not panel.notice.isVisible()


def test_text_file_too_long_for_the_field_is_run_and_labelled(panel, qtbot, tmp_path, choose, monkeypatch):
    from lstm_viewer.gui.panels import input_panel

    panel.state.set_model(make_model(vocab="abc."))
    monkeypatch.setattr(input_panel, "MAX_FIELD_CHARS", 10)
    path = tmp_path / "long.txt"
    path.write_text("abc.abc.abc#abc\n")
    choose(path)
    qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    assert panel.state.inputs.size == 14
    assert panel.field.text() == ""
    assert panel.field.placeholderText() == "long.txt: 15 characters, 1 skipped (not in the vocabulary)"


def test_ids_from_text_file(panel, qtbot, tmp_path, choose):
    panel.state.set_model(id_model(tokens=10))
    path = tmp_path / "ids.txt"
    path.write_text("3, 1, 4\n1 5\n9\n")
    asked = choose(path)
    qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    assert "Token ids as text (*.txt)" in asked[0]
    np.testing.assert_array_equal(panel.state.inputs, [3, 1, 4, 1, 5, 9])
    assert not panel.notice.isVisible()
    assert panel.field.text().split() == ["3,", "1,", "4", "1", "5", "9"]


def test_ids_from_npy(panel, qtbot, tmp_path, choose):
    panel.state.set_model(id_model(tokens=10))
    path = tmp_path / "ids.npy"
    np.save(path, np.array([2, 7, 1, 8], dtype=np.int32))
    choose(path)
    qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    assert panel.field.text() == "2 7 1 8"  # editable, like typed ids
    np.testing.assert_array_equal(panel.state.inputs, [2, 7, 1, 8])
    assert panel.state.inputs.dtype == np.int64


def test_vectors_from_npy_for_an_id_model(panel, qtbot, tmp_path, choose):
    panel.state.set_model(id_model(tokens=10, n_x=4))
    path = tmp_path / "embedded.npy"
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.save(path, vectors)
    choose(path)
    qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    np.testing.assert_array_equal(panel.state.inputs, vectors)
    assert panel.field.text() == ""
    assert panel.field.placeholderText() == "embedded.npy: 3 × 4 vectors"
    # Typing ids replaces them, and the hint comes back.
    type_and_return(qtbot, panel, "1 2")
    np.testing.assert_array_equal(panel.state.inputs, [1, 2])
    panel.field.clear()
    assert panel.field.placeholderText() == "token ids 0–9, separated by spaces"


BAD_FILES = {
    "garbage.npy": (b"not a numpy file", "garbage.npy: cannot be read"),
    "high.npy": (None, "high.npy: token id 10 at position 1 is outside 0–9"),
    "wide.npy": (None, "wide.npy: vectors have width 3 but the model takes 4"),
    "cube.npy": (None, "cube.npy: expected 1-D token ids or 2-D (T, n_x) vectors"),
    "words.txt": (b"one two\n", "words.txt: holds no token id in 0–9"),
    "empty.csv": (b"", "empty.csv: the sequence is empty"),
    "nan.csv": (b"1,2,3,nan\n", "nan.csv: vectors must be finite numbers"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_keeps_the_previous_input(panel, qtbot, tmp_path, choose, name):
    panel.state.set_model(id_model(tokens=10, n_x=4))
    type_and_return(qtbot, panel, "4 5 6")
    content, message = BAD_FILES[name]
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    else:
        np.save(path, {"high.npy": np.array([1, 10, 2]), "wide.npy": np.zeros((5, 3)),
                       "cube.npy": np.zeros((2, 2, 4))}[name])
    choose(path)
    with qtbot.waitSignal(panel.problem, timeout=2000) as blocker:
        qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    assert blocker.args[0].startswith(message)
    assert "\n" not in blocker.args[0]
    np.testing.assert_array_equal(panel.state.inputs, [4, 5, 6])
    assert panel.field.text() == "4 5 6"


def test_text_file_with_no_known_character_keeps_the_input(panel, qtbot, tmp_path, choose):
    panel.state.set_model(make_model(vocab="abc."))
    type_and_return(qtbot, panel, "cab")
    path = tmp_path / "other.txt"
    path.write_text("XYZ\n")
    choose(path)
    with qtbot.waitSignal(panel.problem, timeout=2000) as blocker:
        qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    assert blocker.args == ["other.txt: holds no character of the model's vocabulary"]
    assert panel.field.text() == "cab"
    np.testing.assert_array_equal(panel.state.inputs, [2, 0, 1])


def test_cancelled_dialog_changes_nothing(panel, qtbot, choose):
    panel.state.set_model(id_model(tokens=10))
    type_and_return(qtbot, panel, "1 2 3")
    choose("")
    qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    np.testing.assert_array_equal(panel.state.inputs, [1, 2, 3])


# -- in the window -----------------------------------------------------------------
def test_menu_load_sequence_in_the_window(window, qtbot, tmp_path, choose):
    path = tmp_path / "recall.txt"
    vocab = [t for t in window.state.model.vocab if len(t) == 1 and t.isprintable() and t != "\n"]
    text = "".join(vocab[:3]) * 2
    path.write_text(text + "\n")
    choose(path)
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.act_sequence.trigger()
    assert window.input_panel.field.text() == text
    assert window.state.length == len(text)
    assert not window.input_panel.notice.isVisible()
    assert "skipped" not in window.banner.text


def test_typed_ids_reach_the_timeline(window, qtbot):
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        window.set_model(id_model(tokens=10), "ids")
    panel = window.input_panel
    panel.field.clear()
    qtbot.keyClicks(panel.field, "7 3 99 2")
    with qtbot.waitSignal(window.traceReady, timeout=5000):
        qtbot.keyClick(panel.field, Qt.Key_Return)
    assert window.state.length == 3
    assert [window.state.token_label(t) for t in range(3)] == ["7", "3", "2"]
    assert panel.notice.isVisible() and panel.notice.text() == "⚠ 1 skipped: 99"


def test_bad_sequence_file_message_in_the_window(window, qtbot, tmp_path, choose):
    before = window.state.inputs.copy()
    path = tmp_path / "bad.npy"
    path.write_bytes(b"garbage")
    choose(path)
    with qtbot.waitSignal(window.errorShown, timeout=5000):
        qtbot.mouseClick(window.input_panel.open_button, Qt.LeftButton)
    assert window.banner.text.startswith("bad.npy: cannot be read")
    np.testing.assert_array_equal(window.state.inputs, before)


def test_vector_label_is_legible_in_both_themes(panel, qtbot):
    from PySide6.QtGui import QPalette

    def placeholder():
        return panel.field.palette().color(QPalette.Disabled, QPalette.PlaceholderText).name()

    panel.state.set_model(vector_model())
    assert placeholder() == "#303030"  # text colour, not the faint hint grey
    panel.state.set_dark(True)
    qtbot.waitUntil(lambda: placeholder() == "#e0e0e0", timeout=2000)
    panel.state.set_model(id_model())
    assert placeholder() not in ("#303030", "#e0e0e0")  # an id model's placeholder is a hint


def test_loaded_vectors_label_then_typing_brings_the_hint_back(panel, qtbot, tmp_path, choose):
    from PySide6.QtGui import QPalette

    def placeholder():
        return panel.field.palette().color(QPalette.Active, QPalette.PlaceholderText).name()

    panel.state.set_model(id_model(tokens=10, n_x=4))
    hint = placeholder()
    path = tmp_path / "embedded.npy"
    np.save(path, np.zeros((3, 4)))
    choose(path)
    qtbot.mouseClick(panel.open_button, Qt.LeftButton)
    assert placeholder() == "#303030" != hint
    type_and_return(qtbot, panel, "1")
    assert placeholder() == hint
