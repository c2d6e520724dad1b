"""engine/pages.py: populating record pages changes nothing in them."""

import sys

import numpy as np
import pytest

from lstm_viewer.engine.pages import populate


def test_populate_keeps_contents():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3000, 517)).astype(np.float32)
    before = a.copy()
    done = populate(a)
    if sys.platform.startswith("linux"):
        # MADV_POPULATE_WRITE exists from Linux 5.14; older kernels refuse it.
        assert isinstance(done, bool)
    else:
        assert done is False
    np.testing.assert_array_equal(a, before)
    # Slices (the halves the engine populates) and empty arrays are fine too.
    populate(a[1000:2000])
    np.testing.assert_array_equal(a, before)
    assert populate(np.empty((0, 4), np.float32)) is False


def test_populate_skips_non_contiguous():
    a = np.zeros((100, 100))
    assert populate(a[:, ::2]) is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux madvise")
def test_populate_faults_pages_in():
    import resource

    a = np.empty(64 << 18, np.float32)   # 64 MiB, fresh pages
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    if not populate(a):
        pytest.skip("kernel without MADV_POPULATE_WRITE")
    populated = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    a[:] = 1.0                           # writing now takes (almost) no faults
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before - populated
    assert populated > 0 and after < populated / 10
