"""The one-thread BLAS block used around training restores the thread count."""

import numpy as np

from lstm_viewer.training.blas import _openblas, single_thread


def test_single_thread_inside_and_restored_after():
    funcs = _openblas()
    if funcs is None:
        with single_thread():  # another BLAS: a harmless no-op
            assert np.ones((2, 2)) @ np.ones(2) is not None
        return
    setter, getter = funcs
    setter(2)
    with single_thread():
        assert getter() == 1
        x = np.arange(4.0).reshape(2, 2)
        assert (x @ x).tolist() == [[2.0, 3.0], [6.0, 11.0]]
    assert getter() == 2


def test_thread_count_restored_after_an_error():
    funcs = _openblas()
    if funcs is None:
        return
    setter, getter = funcs
    setter(2)
    try:
        with single_thread():
            raise RuntimeError("stop")
    except RuntimeError:
        pass
    assert getter() == 2
