"""Compiled step loops of the engine's fast path (numba; the NumPy loop is the fallback).

:func:`fast_steps` does what ``trace._Direction._fast_steps`` does — the
chunk of steps of a direction without peepholes or interventions — in one
compiled call instead of ~10 NumPy calls per step, and fills exactly the same
records: ``rec.rows`` ([Γ_u Γ_f Γ_o c̃ | c | tanh c | a | write] per step)
and ``rec.pre_a`` (W_a·a⟨t−1⟩, unscaled). The NumPy loop stays the reference
and the fallback; ``tests/engine/test_jit.py`` holds them together.
Where W_a outgrows one core's L2 cache but its halves fit two,
:class:`PairSteps` runs the same step on two threads, each with half of the
units (see "Two cores" below). For large H, where OpenBLAS's two-thread
GEMV is as fast, ``trace._Direction`` calls that GEMV and then
:func:`step_cells_canonical` — the rest of the step — once per step;
``trace.choose_loop`` picks among them.

Importing this module imports numba (~0.15 s) but compiles nothing; only
``trace._Direction`` imports it, on the first run, never the import of
:mod:`lstm_viewer.engine`. The kernel is compiled on its first call for each
dtype (~1 s for float32, ~0.7 s more for float64) and cached on disk
(``cache=True``); a later process loads it in ~0.3 s, most of which is
numba setting up its own target.

Numerics
--------
Same precision as the NumPy path, no ``fastmath``: every product and sum is
rounded in the record dtype in the same order as the NumPy loop, except
the order of the terms inside W_a·a⟨t−1⟩ (which is BLAS's business there
too). The sigmoid is ½·tanh(½z) + ½ as there. For float64, tanh is libm's.
For float32 it is :func:`tanh32`, correctly rounded and written out in plain
arithmetic so that LLVM vectorises the loops that call it.
"""

from __future__ import annotations

import math
import platform
import threading

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

__all__ = ["PairSteps", "fast_steps", "pair_steps", "step_cells", "step_cells_canonical",
           "tanh32"]

_X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686", "x86")

# tanh for float32 computed in float64 and rounded once: tanh|x| =
# 1 − 2/(e^{2|x|} + 1), with e^y = 2^k·e^r (k = round(y/ln 2), |r| ≤ ln2/2,
# e^r by its Taylor series to r¹¹/11!, relative error < 1e-13) and 2^k built
# by an integer shift — plain arithmetic LLVM vectorises, where a libm call
# per element cannot be (numba wheels come without Intel's SVML). Rounding a
# float64 value this accurate to float32 gives the correctly rounded result
# except within 1e-13 of a halfway point: on a dense grid of float32
# arguments the error is at most 0.50 ulp (NumPy's SIMD float32 tanh: 1.37
# ulp), so the compiled loop loses no precision; it costs ~1 ns per value.
_INV_LN2 = 1.4426950408889634
_LN2 = 0.6931471805599453
_E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11 = (1.0 / math.factorial(n) for n in range(2, 12))
# tanh(10) = 1 − 4e-9 rounds to 1 in float32: clamping there keeps 2^k small.
_CLAMP = 10.0
# Below this, 1 − 2/(e+1) loses relative accuracy to cancellation while
# x·(1 − x²/3) is exact to float64 rounding (next term 2x⁵/15).
_SMALL = 1e-4


# error_model="numpy": a float division by zero gives inf/nan instead of
# raising, which removes the per-element check that stops vectorisation
# (no divisor here is ever zero anyway).
@njit(cache=True, fastmath=False, error_model="numpy")
def tanh32(x):
    """tanh of a float32, correctly rounded, branch-free (vectorisable).

    Parameters
    ----------
    x : float32

    Returns
    -------
    float32
        tanh(x) rounded to float32 (error ≤ 0.5 ulp + 1e-13 relative).
    """
    xd = np.float64(x)
    ax = abs(xd)
    # Selects rather than branches or min/max calls: they lower to blends.
    ax = ax if ax < _CLAMP else _CLAMP
    y = ax + ax
    k = np.floor(y * _INV_LN2 + 0.5)
    r = y - k * _LN2
    p = _E11 * r + _E10
    p = p * r + _E9
    p = p * r + _E8
    p = p * r + _E7
    p = p * r + _E6
    p = p * r + _E5
    p = p * r + _E4
    p = p * r + _E3
    p = p * r + _E2
    p = p * r + 1.0
    p = p * r + 1.0
    e = p * np.float64(np.int64(1) << np.int64(k))
    t = 1.0 - 2.0 / (e + 1.0)
    t = t if xd >= 0.0 else -t
    # Odd in x, so the sign of zero survives (tanh −0 = −0).
    t = xd * (1.0 - xd * xd * (1.0 / 3.0)) if ax < _SMALL else t
    return np.float32(t)


def _tanh(x):
    """tanh in the precision of ``x``; resolved by type inside compiled code."""
    return math.tanh(x)


@overload(_tanh, inline="always")
def _tanh_impl(x):
    # Chosen once per dtype when the kernel is compiled: the vectorisable
    # float32 form, libm's tanh for float64 (speed matters less there).
    if isinstance(x, types.Float) and x.bitwidth == 32:
        return lambda x: tanh32(x)
    return lambda x: math.tanh(x)


@njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def _gemv_rows(W_a_T, a, out, i0, i1, first):
    """out (=, or += when not ``first``) the terms i0..i1-1 of W_a·a.

    A sum of the rows of W_aᵀ scaled by a's elements: the inner loop runs
    along contiguous memory and needs no reassociation to vectorise, so
    fastmath stays off. Four rows per pass over ``out`` quarter its loads
    and stores; the sum is still taken in order of i.
    """
    G = W_a_T.shape[1]
    i = i0
    if first:
        ai = a[i]
        w = W_a_T[i]
        for j in range(G):
            out[j] = ai * w[j]
        i += 1
    while i + 4 <= i1:
        a0, a1, a2, a3 = a[i], a[i + 1], a[i + 2], a[i + 3]
        w0, w1, w2, w3 = W_a_T[i], W_a_T[i + 1], W_a_T[i + 2], W_a_T[i + 3]
        for j in range(G):
            out[j] = (((out[j] + a0 * w0[j]) + a1 * w1[j]) + a2 * w2[j]) + a3 * w3[j]
        i += 4
    while i < i1:
        ai = a[i]
        w = W_a_T[i]
        for j in range(G):
            out[j] += ai * w[j]
        i += 1


@njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def _gemv(W_a_T, a, out):
    """out = W_a·a, all H terms in order (see :func:`_gemv_rows`)."""
    _gemv_rows(W_a_T, a, out, 0, W_a_T.shape[0], True)


@njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def fast_steps(pre_x, bias, W_a_T, pre_a, rows, c0, a0, lo, hi, reverse, half):
    """Compute steps ``lo..hi-1`` of one direction into its records.

    Parameters
    ----------
    pre_x : ndarray (T, 4H)
        W_x·x⟨t⟩ for the whole sequence (stored block order u, f, o, c̃).
    bias : ndarray (4H,)
        Bias in the same block order.
    W_a_T : ndarray (H, 4H), C-contiguous
        W_aᵀ, unscaled: row i holds the weights of a⟨t−1⟩ᵢ for all 4H rows,
        so the product is H contiguous axpy updates (SIMD along 4H).
    pre_a : ndarray (T, 4H)
        Out: W_a·a⟨t−1⟩ at each computed t.
    rows : ndarray (T, 8H)
        Out: [Γ_u Γ_f Γ_o c̃ | c | tanh c | a | write] at each computed t;
        also read for the state before the chunk.
    c0, a0 : ndarray (H,)
        State before the first step of the whole sequence.
    lo, hi : int
        The chunk's positions; computed upward, or downward when ``reverse``.
    reverse : bool
    half : scalar of the record dtype
        0.5, passed in so that no float64 constant widens float32 arithmetic.

    Notes
    -----
    The state before the chunk is ``rows[lo - 1]`` (``rows[hi]`` in reverse)
    when that position exists, else ``c0``/``a0`` — as in the NumPy loop.
    """
    T = rows.shape[0]
    H = c0.shape[0]
    if reverse:
        first, stop, step = hi - 1, lo - 1, -1
    else:
        first, stop, step = lo, hi, 1
    before = first - step
    if 0 <= before < T:
        c_prev = rows[before, 4 * H:5 * H]
        a_prev = rows[before, 6 * H:7 * H]
    else:
        c_prev = c0
        a_prev = a0
    for t in range(first, stop, step):
        za = pre_a[t]
        row = rows[t]
        _gemv(W_a_T, a_prev, za)
        step_cells(za, pre_x[t], bias, row, c_prev, half)
        c_prev = row[4 * H:5 * H]
        a_prev = row[6 * H:7 * H]


@njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def step_cells(za, zx, bias, row, c_prev, half):
    """Everything of one step after W_a·a⟨t−1⟩, written into its record row.

    ``za`` is W_a·a⟨t−1⟩ (unscaled), ``zx`` W_x·x⟨t⟩, ``row`` the step's
    record row [Γ_u Γ_f Γ_o c̃ | c | tanh c | a | write], ``c_prev`` c⟨t−1⟩.
    :func:`fast_steps` calls it after its own GEMV; for large H the NumPy
    side calls it after OpenBLAS's (two-thread) GEMV, one call per step in
    place of ~9 NumPy calls.
    """
    H = c_prev.shape[0]
    G = 4 * H
    # Gates: (W_x·x + b) first, then + W_a·a, as the NumPy loop adds.
    for j in range(3 * H):
        z = za[j] + (zx[j] + bias[j])
        row[j] = half * _tanh(half * z) + half
    for j in range(3 * H, G):
        row[j] = _tanh(za[j] + (zx[j] + bias[j]))
    # Per unit: write, c, tanh c, a in one pass.
    for k in range(H):
        write = row[k] * row[3 * H + k]
        c = row[H + k] * c_prev[k] + write
        tc = _tanh(c)
        row[4 * H + k] = c
        row[5 * H + k] = tc
        row[6 * H + k] = row[2 * H + k] * tc
        row[7 * H + k] = write


@njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def step_cells_canonical(product, za, zx, bias, row, c_prev, half):
    """:func:`step_cells` after a GEMV over W_a in the model's block order.

    ``product`` is W_a·a⟨t−1⟩ in canonical block order (u, f, c̃, o); it is
    copied into ``za`` (the step's ``pre_a`` record) in stored order
    (u, f, o, c̃), then the step proceeds as :func:`step_cells`.
    """
    H = c_prev.shape[0]
    for j in range(2 * H):
        za[j] = product[j]
    for j in range(H):
        za[2 * H + j] = product[3 * H + j]
        za[3 * H + j] = product[2 * H + j]
    step_cells(za, zx, bias, row, c_prev, half)


# --------------------------------------------------------------------------
# Two cores: the units split between two threads, one barrier per step.
# --------------------------------------------------------------------------
#
# At medium H one core's L2 cache cannot hold W_a (H = 256, float32: 1 MiB,
# the whole L2 of a Zen core), so every step streams it from L3; half of it
# fits. PairSteps gives each of two threads half of the units — the 4 gate
# rows of each of its units, i.e. half of W_a, packed contiguously — and
# each thread computes its units' whole step: GEMV, gates, c, a. The only
# thing a step needs from the other thread is its half of a⟨t−1⟩, so the
# threads meet once per step: each publishes "steps done" with a release
# store and waits (acquire load) for the other's count before the next step.
# Every value is computed by the same code as in fast_steps; the one
# difference is the order of the terms of W_a·a⟨t−1⟩: each thread adds its
# own units' terms first (they need no wait, so they cover the wait for the
# other half) — the same rounding, a different order, as BLAS's is.
#
# Waiting spins (a step's imbalance is well under a microsecond), then
# yields the CPU to the scheduler, so a descheduled partner costs a time
# slice at worst, never a core spinning for it.

# Slots of the shared flag array, a cache line (8 int64) apart.
_DONE = (0, 8)
_ABORT = 16
_FLAG_SLOTS = 24
# Pauses before waiting turns into yielding the CPU (~0.1 ms).
_SPINS = 2000


@intrinsic
def _load_acquire(typingctx, array, index):
    """``array[index]`` (int64) read with acquire ordering."""
    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        return builder.load_atomic(ptr, "acquire", 8)
    return types.int64(array, index), codegen


@intrinsic
def _store_release(typingctx, array, index, value):
    """``array[index] = value`` (int64) with release ordering."""
    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]])
        builder.store_atomic(args[2], ptr, "release", 8)
        return context.get_dummy_value()
    return types.void(array, index, value), codegen


@intrinsic
def _spin_pause(typingctx):
    """The CPU's spin-wait hint (x86 ``pause``); nothing on other CPUs."""
    def codegen(context, builder, signature, args):
        if _X86:
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), []), "llvm.x86.sse2.pause")
            builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(), codegen


@intrinsic
def _yield_cpu(typingctx):
    """POSIX ``sched_yield()``: let the scheduler run someone else here."""
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(32), []), "sched_yield")
        builder.call(fn, [])
        return context.get_dummy_value()
    return types.void(), codegen


@njit(cache=True, nogil=True)
def _wait_for(flags, slot, target):
    """Wait until ``flags[slot] >= target``; False when told to abort."""
    spins = 0
    while _load_acquire(flags, slot) < target:
        if _load_acquire(flags, _ABORT) != 0:
            return False
        if spins < _SPINS:
            spins += 1
            _spin_pause()
        else:
            _yield_cpu()
    return True


@njit(cache=True, fastmath=False, error_model="numpy", nogil=True)
def pair_steps(pre_x, bias_p, W_p, pre_a, rows, c0, a0, lo, hi, reverse, half, k0, k1,
               flags, me):
    """One thread's half of :func:`fast_steps`: units ``k0..k1-1``.

    Parameters
    ----------
    pre_x, pre_a, rows, c0, a0, lo, hi, reverse, half
        As in :func:`fast_steps` (the whole records; this thread reads and
        writes only its units' columns, plus all of a⟨t−1⟩).
    bias_p : ndarray (4h,)
        The bias of this thread's units, blocks u, f, o, c̃ (h = k1 − k0).
    W_p : ndarray (H, 4h), C-contiguous
        The columns of W_aᵀ for this thread's units, in the same order.
    k0, k1 : int
        This thread's units.
    flags : ndarray (int64)
        Shared: steps done by thread 0 and 1 (slots ``_DONE``) and an abort
        flag (slot ``_ABORT``), all zero at the start.
    me : {0, 1}
        This thread's number.

    Returns
    -------
    int
        Steps computed: ``hi - lo``, or fewer when aborted.
    """
    T = rows.shape[0]
    H = c0.shape[0]
    h = k1 - k0
    dtype = pre_x.dtype
    other = _DONE[1 - me]
    mine = _DONE[me]
    if reverse:
        first, stop, step = hi - 1, lo - 1, -1
    else:
        first, stop, step = lo, hi, 1
    # Thread-local, contiguous: this thread's units in fast_steps' row
    # layout [Γ_u Γ_f Γ_o c̃ | c | tanh c | a | write], W_a·a⟨t−1⟩ and W_x·x.
    loc = np.empty(8 * h, dtype)
    z = np.empty(4 * h, dtype)
    zx = np.empty(4 * h, dtype)
    c_prev = np.empty(h, dtype)
    a_all = np.empty(H, dtype)
    before = first - step
    if 0 <= before < T:
        a_prev = rows[before, 6 * H:7 * H]
        c_prev[:] = rows[before, 4 * H + k0:4 * H + k1]
    else:
        a_prev = a0
        c_prev[:] = c0[k0:k1]
    # The other thread's units: their a⟨t−1⟩ arrives through the barrier.
    if me == 0:
        o0, o1 = k1, H
    else:
        o0, o1 = 0, k0
    a_all[:] = a_prev
    n = 0
    for t in range(first, stop, step):
        # This thread's own part of W_a·a⟨t−1⟩ first: it needs nothing from
        # the other core, and covers the wait for the other half.
        _gemv_rows(W_p, a_all, z, k0, k1, True)
        if n > 0:
            if not _wait_for(flags, other, n):
                return n
            # One copy (just written by the other core) instead of a
            # cross-core load per multiply.
            a_all[o0:o1] = a_prev[o0:o1]
        _gemv_rows(W_p, a_all, z, o0, o1, False)
        src = pre_x[t]
        for b in range(4):
            for j in range(h):
                zx[b * h + j] = src[b * H + k0 + j]
        step_cells(z, zx, bias_p, loc, c_prev, half)
        za = pre_a[t]
        row = rows[t]
        for b in range(4):
            for j in range(h):
                za[b * H + k0 + j] = z[b * h + j]
        for b in range(8):
            for j in range(h):
                row[b * H + k0 + j] = loc[b * h + j]
        c_prev[:] = loc[4 * h:5 * h]
        n += 1
        _store_release(flags, mine, n)
        a_all[k0:k1] = loc[6 * h:7 * h]
        a_prev = row[6 * H:7 * H]
    return n


def _pack_units(matrix: np.ndarray, H: int, k0: int, k1: int) -> np.ndarray:
    """Columns of units k0..k1-1 in each of the 4 blocks of ``matrix`` (.., 4H)."""
    return np.ascontiguousarray(
        np.concatenate([matrix[..., b * H + k0:b * H + k1] for b in range(4)], axis=-1))


def pair_split(H: int) -> int:
    """Where thread 0's units end: about H/2, on a 64-byte boundary of float32."""
    m = (H // 2 + 8) // 16 * 16
    return min(max(m, 1), H - 1)


class PairSteps:
    """:func:`fast_steps` for one direction on two threads (see above).

    Parameters
    ----------
    W_a_T : ndarray (H, 4H)
        W_aᵀ in stored block order, as :func:`fast_steps` takes it.
    """

    def __init__(self, W_a_T: np.ndarray):
        H = W_a_T.shape[0]
        if H < 2:
            raise ValueError("two threads need at least two units")
        self.H = H
        m = pair_split(H)
        self.units = ((0, m), (m, H))
        self.W = [_pack_units(W_a_T, H, k0, k1) for k0, k1 in self.units]
        # For the one-thread fallback when no thread can be started.
        self.W_a_T = W_a_T

    def steps(self, pre_x, bias, pre_a, rows, c0, a0, lo, hi, reverse, half) -> None:
        """Compute steps ``lo..hi-1`` into the records, as :func:`fast_steps`."""
        flags = np.zeros(_FLAG_SLOTS, np.int64)
        bias_p = [_pack_units(bias, self.H, k0, k1) for k0, k1 in self.units]

        def args(p):
            k0, k1 = self.units[p]
            return (pre_x, bias_p[p], self.W[p], pre_a, rows, c0, a0, lo, hi, reverse, half,
                    k0, k1, flags, p)

        done, failed = [0], []

        def partner():
            try:
                done[0] = pair_steps(*args(1))
            except BaseException as exc:  # re-raised in the calling thread
                failed.append(exc)
                # Thread 0 must not wait for steps that will never come.
                flags[_ABORT] = 1

        helper = threading.Thread(target=partner, name="lstm-viewer-pair", daemon=True)
        try:
            helper.start()
        except RuntimeError:
            # The process is out of threads: the same step on this one.
            fast_steps(pre_x, bias, self.W_a_T, pre_a, rows, c0, a0, lo, hi, reverse, half)
            return
        try:
            mine = pair_steps(*args(0))
        except BaseException:
            flags[_ABORT] = 1
            raise
        finally:
            helper.join()
        if failed:
            raise failed[0]
        if mine != hi - lo or done[0] != hi - lo:
            raise RuntimeError(f"two-thread step loop stopped after {min(mine, done[0])} "
                               f"of {hi - lo} steps")
