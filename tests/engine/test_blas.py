"""The one-thread BLAS block used around training restores the thread count."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from lstm_viewer.engine.blas import blas_threads, single_thread


@pytest.fixture
def two_threads():
    if blas_threads() is None:
        pytest.skip("NumPy uses no BLAS that threadpoolctl knows")
    with threadpool_limits(limits=2, user_api="blas"):
        yield


def test_single_thread_inside_and_restored_after(two_threads):
    before = blas_threads()
    with single_thread():
        assert blas_threads() == 1
        x = np.arange(4.0).reshape(2, 2)
        assert (x @ x).tolist() == [[2.0, 3.0], [6.0, 11.0]]
    assert blas_threads() == before


def test_thread_count_restored_after_an_error(two_threads):
    before = blas_threads()
    with pytest.raises(RuntimeError):
        with single_thread():
            raise RuntimeError("stop")
    assert blas_threads() == before
