"""The source-code features the character model's units are compared with."""

import numpy as np

from lstm_viewer.training.interpret import _corr, text_features


def test_features_of_a_small_python_snippet():
    text = "x = \"a(b\" + f('''q\nr''')  # it's (\n    y[1]\n"
    f = text_features(text)
    inside = "".join(str(int(v)) for v in f["inside a string literal"])
    # The literal is open after its opening quote and closed by its last one.
    assert inside[text.index('"'):text.index('"') + 5] == "11110"
    start = text.index("'''")
    assert inside[start:start + 9] == "111111110"
    # Quotes and brackets in a comment count for nothing.
    assert f["inside a string literal"][text.index("it's") + 3:].sum() == 0
    assert f["bracket depth"][text.index("# it")] == 0
    assert f["bracket depth"][text.index("[")] == 1
    assert f["indentation of the line"][text.index("y")] == 4
    assert f["position in the line"][text.index("\n")] == 0


def test_correlation_is_pearson():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    assert abs(_corr(a, 2 * a + 1) - 1.0) < 1e-12
    assert _corr(a, np.ones(4)) == 0.0
