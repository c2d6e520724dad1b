"""The compiled step loops (engine/jit.py) against the NumPy loop they replace.

Every record the fast path fills — gates, c, tanh c, a, write (``rows``)
and W_a·a⟨t−1⟩ (``pre_a``) — must match the NumPy loop over random models,
both directions, several layers, chunk boundaries and initial states, in
float32 and float64 — on one core, on two (jit.PairSteps) and hybrid with
BLAS. Skipped when numba is not installed. Every comparison also checks
which loop ran: the trace records its loop's name, and a spy on the compiled
entry points counts their calls, so a silent fall-back to the NumPy loop
cannot pass as a match.
"""

import collections
import subprocess
import sys

import numpy as np
import pytest

from lstm_viewer.engine import (
    CellWeights,
    Head,
    Layer,
    LSTMModel,
    TraceRun,
    lstm_step,
    run,
    trace,
)
from lstm_viewer.engine.interventions import LayerInterventions

numba = pytest.importorskip("numba")
jit = pytest.importorskip("lstm_viewer.engine.jit")


@pytest.fixture(autouse=True)
def _compiled_loops_for_short_runs(monkeypatch):
    """These tests run short sequences through the compiled loops on purpose."""
    monkeypatch.setattr(trace, "_JIT_MIN_STEPS", 0)

# float32: ≤ 1e-6 absolute, relative 1e-6 for c, which is not bounded by 1
# and so carries absolute rounding errors of its own size · 2⁻²⁴ in either loop.
TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}


def _model(rng, n_x, sizes, bidirectional, head=None, scale=None):
    """Random model; weights uniform ±scale (default 1/√H, PyTorch's init)."""
    layers, n_in = [], n_x
    for H in sizes:
        k = 1 / np.sqrt(H) if scale is None else scale
        cells = [CellWeights(rng.uniform(-k, k, (4 * H, n_in)), rng.uniform(-k, k, (4 * H, H)),
                             rng.uniform(-k, k, 4 * H), None, reverse)
                 for reverse in ([False, True] if bidirectional else [False])]
        layers.append(Layer(cells))
        n_in = H * len(cells)
    h = None if head is None else Head(rng.standard_normal((head, n_in)), rng.standard_normal(head))
    return LSTMModel(layers, head=h).validate()


#: The compiled loops (see trace.choose_loop) and the jit function each one calls.
COMPILED = {"numba": "fast_steps", "hybrid": "step_cells_canonical", "pair": "pair_steps"}


def _spy(monkeypatch) -> collections.Counter:
    """Count the calls of the compiled entry points the step loops use."""
    calls = collections.Counter()
    for name in COMPILED.values():
        real = getattr(jit, name)
        if getattr(real, "_spied", False):
            return real._calls
        def spy(*args, _real=real, _name=name):
            calls[_name] += 1
            return _real(*args)
        spy._spied, spy._calls = True, calls
        monkeypatch.setattr(jit, name, spy)
    return calls


def _loops(tr) -> set[str]:
    return {d.loop for directions in tr.layers for d in directions}


def _assert_compiled_ran(tr, calls, before: collections.Counter) -> None:
    """Every direction of ``tr`` ran a compiled loop, and its jit function was called."""
    loops = _loops(tr)
    assert loops and loops <= set(COMPILED), loops
    for loop in loops:
        assert calls[COMPILED[loop]] > before[COMPILED[loop]], (loop, dict(calls))


def _records(tr):
    out = {}
    for k, directions in enumerate(tr.layers):
        for d in directions:
            name = f"layer{k}{'r' if d.reverse else ''}"
            out[name + ".rows"] = d.rows
            out[name + ".pre_a"] = d.pre_a
            out[name + ".pre_x"] = d.pre_x
    if tr.y_hat is not None:
        out["y_hat"] = tr.y_hat
    return out


def _both(monkeypatch, make_run):
    """Records of the same run through the compiled loop and the NumPy loop.

    Checks that the first run really went through the compiled loops and the
    second through the NumPy loop alone.
    """
    calls = _spy(monkeypatch)
    monkeypatch.delenv("LSTM_VIEWER_NO_JIT", raising=False)
    before = calls.copy()
    compiled = make_run()
    _assert_compiled_ran(compiled, calls, before)
    monkeypatch.setenv("LSTM_VIEWER_NO_JIT", "1")
    before = calls.copy()
    reference = make_run()
    assert _loops(reference) == {"numpy"}
    assert calls == before, "the NumPy reference called a compiled loop"
    return _records(compiled), _records(reference)


def _assert_same(compiled, reference, dtype):
    assert compiled.keys() == reference.keys()
    for name in reference:
        assert compiled[name].dtype == reference[name].dtype == dtype, name
        assert np.all(np.isfinite(compiled[name])), name
        np.testing.assert_allclose(compiled[name], reference[name], err_msg=name, **TOL[dtype])


def test_switch_and_selection(monkeypatch, rng):
    model = _model(rng, 3, (5,), False)
    cell = model.layers[0].cells[0]
    monkeypatch.delenv("LSTM_VIEWER_NO_JIT", raising=False)
    calls = _spy(monkeypatch)
    x = rng.standard_normal((20, 3))
    assert trace.jit_available()
    assert trace._Direction(cell, np.float32, LayerInterventions([], 5, 0)).jit is not None
    assert run(model, x).layers[0][0].loop == "numba" and calls["fast_steps"] == 1
    monkeypatch.setenv("LSTM_VIEWER_NO_JIT", "1")
    assert not trace.jit_available()
    assert trace._Direction(cell, np.float32, LayerInterventions([], 5, 0)).jit is None
    assert run(model, x).layers[0][0].loop == "numpy" and calls["fast_steps"] == 1
    monkeypatch.setenv("LSTM_VIEWER_NO_JIT", "0")
    assert trace.jit_available()
    assert run(model, x).layers[0][0].loop == "numba" and calls["fast_steps"] == 2
    # Peepholes take the general loop whatever the switch says.
    peep = CellWeights(cell.W_x, cell.W_a, cell.b, rng.standard_normal((3, 5)))
    assert trace._Direction(peep, np.float32, LayerInterventions([], 5, 0)).jit is None
    peep_model = LSTMModel([Layer([peep])]).validate()
    assert run(peep_model, x).layers[0][0].loop == "general"
    assert sum(calls.values()) == 2


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("seed", range(4))
def test_random_models_match_numpy_loop(monkeypatch, dtype, seed):
    rng = np.random.default_rng(seed)
    # Odd sizes exercise the GEMV's remainder rows and the vector loops' tails.
    sizes = [(1,), (7, 16), (33,), (64, 5)][seed]
    model = _model(rng, 6, sizes, bidirectional=seed % 2 == 0, head=4)
    x = rng.standard_normal((57, 6))
    _assert_same(*_both(monkeypatch, lambda: run(model, x, dtype=dtype)), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk", [1, 2, 7, 50, 64])
def test_chunk_boundaries_and_initial_state(monkeypatch, rng, dtype, chunk):
    model = _model(rng, 4, (12, 9), bidirectional=True)
    x = rng.standard_normal((50, 4))
    state = [[(rng.standard_normal(12), rng.standard_normal(12)) for _ in range(2)],
             [(rng.standard_normal(9), rng.standard_normal(9)) for _ in range(2)]]

    def make_run():
        return TraceRun(model, x, dtype=dtype, initial_state=state, chunk=chunk).finish()

    compiled, reference = _both(monkeypatch, make_run)
    _assert_same(compiled, reference, dtype)
    # And chunking changes nothing in the compiled loop itself (bit for bit).
    monkeypatch.delenv("LSTM_VIEWER_NO_JIT")
    calls = _spy(monkeypatch)
    before = calls.copy()
    whole_trace = TraceRun(model, x, dtype=dtype, initial_state=state, chunk=1000).finish()
    _assert_compiled_ran(whole_trace, calls, before)
    whole = _records(whole_trace)
    for name in whole:
        np.testing.assert_array_equal(compiled[name], whole[name], err_msg=name)


def test_large_weights_each_step_exact(monkeypatch, rng):
    # Weights ±2: gates saturate, pre-activations reach ±20 and the dynamics
    # are chaotic, so a last-bit difference in the GEMV's summation order
    # grows over the sequence in either loop. What must hold is each step:
    # from the state it recorded, every record of step t is the exact step
    # (float64 reference) to float32 rounding — no worse than the NumPy loop.
    model = _model(rng, 8, (40,), bidirectional=True, scale=2.0)
    x = rng.standard_normal((120, 8))
    x32 = x.astype(np.float32)
    calls = _spy(monkeypatch)
    for env in (None, "1"):
        if env is None:
            monkeypatch.delenv("LSTM_VIEWER_NO_JIT", raising=False)
        else:
            monkeypatch.setenv("LSTM_VIEWER_NO_JIT", env)
        before = calls.copy()
        tr = run(model, x, dtype=np.float32)
        if env is None:
            _assert_compiled_ran(tr, calls, before)
        else:
            assert _loops(tr) == {"numpy"} and calls == before
        for cell, d in zip(model.layers[0].cells, tr.layers[0], strict=True):
            worst = 0.0
            for t in range(120):
                ref = lstm_step(cell, x32[t].astype(np.float64), d.a_prev(t).astype(np.float64),
                                d.c_prev(t).astype(np.float64))
                got = d.step(t)
                for name in ("update", "forget", "candidate", "output", "c", "a"):
                    err = np.abs(got[name] - ref[name]) / np.maximum(1.0, np.abs(ref[name]))
                    worst = max(worst, float(err.max()))
            # Pre-activations of ±20 in float32 carry ~1e-6 of rounding.
            assert worst < 2e-6, (env, cell.reverse, worst)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_hybrid_loop_matches_numpy_loop(monkeypatch, rng, dtype, chunk):
    # Above _JIT_MAX the steps are hybrid (OpenBLAS GEMV + jit.step_cells_canonical);
    # a lowered threshold sends these small layers there.
    monkeypatch.setattr(trace, "_JIT_MAX", 0)
    model = _model(rng, 4, (12, 9), bidirectional=True, head=3)
    x = rng.standard_normal((50, 4))
    state = [[(rng.standard_normal(12), rng.standard_normal(12)) for _ in range(2)],
             [(rng.standard_normal(9), rng.standard_normal(9)) for _ in range(2)]]
    cell = model.layers[0].cells[0]
    monkeypatch.delenv("LSTM_VIEWER_NO_JIT", raising=False)
    runner = trace._Direction(cell, dtype, LayerInterventions([], 12, 0))
    assert runner.jit is None and runner.cells is jit.step_cells_canonical
    calls = _spy(monkeypatch)

    def make_run():
        tr = TraceRun(model, x, dtype=dtype, initial_state=state, chunk=chunk).finish()
        if "LSTM_VIEWER_NO_JIT" not in __import__("os").environ:
            assert _loops(tr) == {"hybrid"}
        return tr

    _assert_same(*_both(monkeypatch, make_run), dtype)
    # One compiled call per step of each of the four directions.
    assert calls["step_cells_canonical"] == 4 * 50 and calls["fast_steps"] == 0


def test_bench_sizes_match(monkeypatch):
    # The benchmark's own sizes (numba loop at 64 and 256, hybrid at 1024),
    # a sequence of 300 steps.
    rng = np.random.default_rng(7)
    seen = {}
    for H in (64, 256, 1024):
        model = _model(rng, 64, (H,), bidirectional=False)
        x = rng.standard_normal((300, 64)).astype(np.float32)

        def make_run(m=model, x=x, H=H):
            tr = run(m, x, dtype=np.float32)
            seen.setdefault(H, tr.layers[0][0].loop)
            return tr

        _assert_same(*_both(monkeypatch, make_run), np.float32)
    # 64: one core; 256: one core or two (by cache size and idle cores); 1024: BLAS + compiled.
    assert seen[64] == "numba" and seen[256] in ("numba", "pair") and seen[1024] == "hybrid"


def test_tanh32_correctly_rounded():
    @numba.njit(error_model="numpy")
    def apply(x, out):
        for i in range(x.shape[0]):
            out[i] = jit.tanh32(x[i])

    tiny = np.geomspace(1e-38, 1.0, 50_001)
    x = np.concatenate([np.linspace(-12, 12, 1_000_001), tiny, -tiny,
                        [0.0, 9.0, 9.01, 10.0, 80.0, -80.0, 1e30]]).astype(np.float32)
    got = np.empty_like(x)
    apply(x, got)
    exact = np.tanh(x.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    assert np.max(np.abs(got - exact) / ulp) <= 0.5 + 1e-6
    np.testing.assert_array_equal(got, exact.astype(np.float32))
    assert np.signbit(jit.tanh32(np.float32(-0.0)))


def test_engine_import_does_not_import_numba():
    code = ("import sys, lstm_viewer.engine; "
            "assert 'numba' not in sys.modules and 'llvmlite' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------
# The two-thread loop (jit.PairSteps)
# --------------------------------------------------------------------------

def _force_pair(monkeypatch):
    """Send every fast direction to the two-thread loop, whatever its size."""
    real = trace.choose_loop

    def pair_where_fast(H, itemsize, fast, jit_ok, threads=None, steps=None):
        loop = real(H, itemsize, fast, jit_ok, threads, steps)
        return "pair" if loop in ("numba", "hybrid") and threads != 1 and H >= 2 else loop

    monkeypatch.setattr(trace, "choose_loop", pair_where_fast)


def test_choose_loop_by_cache_size(monkeypatch):
    monkeypatch.setattr(trace, "l2_cache_bytes", lambda: 1 << 20)
    monkeypatch.setattr(trace, "usable_cores", lambda: 2)
    monkeypatch.setattr(trace, "busy_cores", lambda: 0)
    # float32: W_a is 16·H² bytes; two threads between 0.75 and 2 L2 caches.
    assert trace.choose_loop(64, 4, True, True) == "numba"
    assert trace.choose_loop(200, 4, True, True) == "numba"
    assert trace.choose_loop(256, 4, True, True) == "pair"
    assert trace.choose_loop(362, 4, True, True) == "pair"
    assert trace.choose_loop(363, 4, True, True) == "hybrid"
    assert trace.choose_loop(1024, 4, True, True) == "hybrid"
    # float64 doubles the bytes: pairs from H = 157 (> 0.75 MiB) to 256 (2 MiB).
    assert trace.choose_loop(156, 8, True, True) == "numba"
    assert trace.choose_loop(157, 8, True, True) == "pair"
    assert trace.choose_loop(256, 8, True, True) == "pair"
    assert trace.choose_loop(300, 8, True, True) == "hybrid"
    # One core asked for, one core available, cache unknown: never two threads.
    assert trace.choose_loop(256, 4, True, True, threads=1) == "numba"
    assert trace.choose_loop(256, 4, True, True, threads=2) == "pair"
    monkeypatch.setattr(trace, "usable_cores", lambda: 1)
    assert trace.choose_loop(256, 4, True, True) == "numba"
    monkeypatch.setattr(trace, "usable_cores", lambda: 2)
    # Another task busy on a 2-core machine, or a short sequence: one thread.
    monkeypatch.setattr(trace, "busy_cores", lambda: 1)
    assert trace.choose_loop(256, 4, True, True) == "numba"
    monkeypatch.setattr(trace, "busy_cores", lambda: 0)
    assert trace.choose_loop(256, 4, True, True, steps=100) == "numba"
    assert trace.choose_loop(256, 4, True, True, steps=3000) == "pair"
    monkeypatch.setattr(trace, "l2_cache_bytes", lambda: None)
    assert trace.choose_loop(256, 4, True, True) == "numba"
    # No numba, peepholes or interventions: the NumPy loops.
    assert trace.choose_loop(256, 4, True, False) == "numpy"
    assert trace.choose_loop(256, 4, False, True) == "general"


def test_busy_cores_reads_a_count():
    n = trace.busy_cores()
    assert isinstance(n, int) and n >= 0


def test_threads_argument_checked(rng):
    model = _model(rng, 3, (5,), False)
    for bad in (0, -1, 1.5, "2"):
        with pytest.raises(trace.ModelError, match="threads"):
            run(model, rng.standard_normal((4, 3)), threads=bad)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_pair_loop_matches_numpy_loop(monkeypatch, rng, dtype, chunk):
    _force_pair(monkeypatch)
    # Sizes around the split (2 units: one each; 17, 40: uneven halves).
    model = _model(rng, 4, (2, 17, 40), bidirectional=True, head=3)
    x = rng.standard_normal((50, 4))
    state = [[(rng.standard_normal(H), rng.standard_normal(H)) for _ in range(2)]
             for H in (2, 17, 40)]
    monkeypatch.delenv("LSTM_VIEWER_NO_JIT", raising=False)
    runner = trace._Direction(model.layers[1].cells[0], dtype, LayerInterventions([], 17, 1))
    assert runner.loop == "pair" and runner.pair is not None

    def make_run():
        return TraceRun(model, x, dtype=dtype, initial_state=state, chunk=chunk).finish()

    _assert_same(*_both(monkeypatch, make_run), dtype)


def test_pair_loop_one_thread_run_and_threads_argument(monkeypatch, rng):
    # threads=1 takes the one-core loop; the two agree to rounding, and the
    # two-thread run leaves no thread behind.
    _force_pair(monkeypatch)
    monkeypatch.delenv("LSTM_VIEWER_NO_JIT", raising=False)
    import threading

    model = _model(rng, 5, (33,), bidirectional=False)
    x = rng.standard_normal((80, 5))
    calls = _spy(monkeypatch)
    before = set(threading.enumerate())
    two = run(model, x, threads=None)
    assert set(threading.enumerate()) <= before
    assert _loops(two) == {"pair"} and calls["pair_steps"] == 2     # one call per thread
    one = run(model, x, threads=1)
    assert _loops(one) == {"numba"} and calls["fast_steps"] == 1 and calls["pair_steps"] == 2
    _assert_same(_records(two), _records(one), np.float32)


def test_pair_partner_failure_raises_and_stops(monkeypatch, rng):
    # If the second thread fails, the first must stop waiting for it and
    # the failure must reach the caller — not a hang, not a silent result.
    import threading

    _force_pair(monkeypatch)
    monkeypatch.delenv("LSTM_VIEWER_NO_JIT", raising=False)
    real = jit.pair_steps

    def failing(*args):
        if args[-1] == 1:
            raise RuntimeError("partner failed")
        return real(*args)

    monkeypatch.setattr(jit, "pair_steps", failing)
    model = _model(rng, 5, (33,), bidirectional=False)
    with pytest.raises(RuntimeError, match="partner failed"):
        run(model, rng.standard_normal((500, 5)))
    assert not [t for t in threading.enumerate() if t.name == "lstm-viewer-pair"]


def test_pair_loop_without_a_thread_falls_back_to_one(monkeypatch, rng):
    import threading

    _force_pair(monkeypatch)
    monkeypatch.delenv("LSTM_VIEWER_NO_JIT", raising=False)
    model = _model(rng, 5, (33,), bidirectional=False)
    x = rng.standard_normal((60, 5))
    expected = _records(run(model, x, threads=1))

    def refuse(self):
        raise RuntimeError("can't start new thread")

    calls = _spy(monkeypatch)
    monkeypatch.setattr(threading.Thread, "start", refuse)
    got_trace = run(model, x)
    # The two-thread loop was chosen, could not start its partner, and ran the
    # one-core compiled loop instead (never the NumPy loop).
    assert _loops(got_trace) == {"pair"}
    assert calls["fast_steps"] >= 1 and calls["pair_steps"] == 0
    got = _records(got_trace)
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)


def test_short_runs_do_not_load_numba_long_ones_do():
    code = """
import sys
import numpy as np
from lstm_viewer.engine import CellWeights, Layer, LSTMModel, run
rng = np.random.default_rng(0)
cell = CellWeights(rng.standard_normal((64, 5)), rng.standard_normal((64, 16)), rng.standard_normal(64))
model = LSTMModel([Layer([cell])]).validate()
short = run(model, rng.standard_normal((48, 5)))
assert 'numba' not in sys.modules and short.layers[0][0].loop == 'numpy'
long = run(model, rng.standard_normal((300, 5)))
assert 'numba' in sys.modules and long.layers[0][0].loop == 'numba'
again = run(model, rng.standard_normal((48, 5)))   # numba loaded: short runs use it too
assert again.layers[0][0].loop == 'numba'
"""
    env = {k: v for k, v in __import__("os").environ.items() if k != "LSTM_VIEWER_NO_JIT"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
