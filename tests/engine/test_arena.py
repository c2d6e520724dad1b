"""engine/arena.py: record memory is reused only once no trace refers to it."""

import gc

import numpy as np

from lstm_viewer.engine import CellWeights, Layer, LSTMModel, run
from lstm_viewer.engine.arena import RecordArena, default_arena


def test_block_reused_only_when_dropped():
    arena = RecordArena(min_bytes=1000, keep_bytes=1 << 20)
    a = arena.empty((100, 10), np.float32)
    assert a.shape == (100, 10) and a.dtype == np.float32 and a.flags.c_contiguous
    assert a.ctypes.data % 64 == 0
    a[:] = 1.0
    b = arena.empty((100, 10), np.float32)
    assert not np.shares_memory(a, b)            # a is alive: a new block
    address = a.ctypes.data
    del a
    c = arena.empty((100, 10), np.float32)
    assert c.ctypes.data == address and arena.reused == 1
    # Any view keeps its block: a column of c outlives c.
    view = c[:, 3]
    del c
    d = arena.empty((100, 10), np.float32)
    assert not np.shares_memory(d, view)
    assert arena.free_bytes() == 0


def test_small_arrays_and_budget():
    arena = RecordArena(min_bytes=1000, keep_bytes=10_000)
    small = arena.empty((10,), np.float64)           # under min_bytes: plain
    assert small.base is None
    held = [arena.empty((1000,), np.float32) for _ in range(3)]  # 4 KB each
    assert arena.allocated == 2                       # the third is over budget
    assert held[2].base is None
    del held
    assert arena.free_bytes() > 0
    # A larger request makes room by dropping free blocks, oldest first.
    big = arena.empty((2000,), np.float32)
    assert big.base is not None and arena.free_bytes() == 0
    del big
    arena.release()
    assert arena.free_bytes() == 0 and not arena._blocks


def test_runs_reuse_records_and_traces_stay_intact():
    rng = np.random.default_rng(0)
    H, n_x, T = 64, 8, 2000                     # rows: 4 MiB, pre_x/pre_a: 2 MiB
    cell = CellWeights(rng.uniform(-0.3, 0.3, (4 * H, n_x)),
                       rng.uniform(-0.3, 0.3, (4 * H, H)), rng.uniform(-0.3, 0.3, 4 * H))
    model = LSTMModel([Layer([cell])]).validate()
    x1, x2 = rng.standard_normal((T, n_x)), rng.standard_normal((T, n_x))
    arena = default_arena()
    first = run(model, x1)
    kept = first.layers[0][0].a.copy()
    reused = arena.reused
    second = run(model, x2)                     # first is alive: fresh blocks
    assert arena.reused == reused
    np.testing.assert_array_equal(first.layers[0][0].a, kept)
    del first
    gc.collect()
    third = run(model, x1)                      # takes first's blocks
    assert arena.reused > reused
    np.testing.assert_array_equal(third.layers[0][0].a, kept)
    assert not np.shares_memory(second.layers[0][0].rows, third.layers[0][0].rows)
