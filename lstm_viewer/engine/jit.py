"""Compiled step loop of the engine's fast path (numba), optional.

:func:`fast_steps` does what ``trace._Direction._fast_steps`` does — the
chunk of steps of a direction without peepholes or interventions — in one
compiled call instead of ~10 NumPy calls per step, and fills exactly the same
records: ``rec.rows`` ([Γ_u Γ_f Γ_o c̃ | c | tanh c | a | write] per step)
and ``rec.pre_a`` (W_a·a⟨t−1⟩, unscaled). The NumPy loop stays the reference
and the fallback; ``tests/engine/test_jit.py`` holds the two together.
For large H, where OpenBLAS's two-thread GEMV beats :func:`fast_steps`'s
one-core one, ``trace._Direction`` calls that GEMV and then
:func:`step_cells_canonical` — the rest of the step — once per step.

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

import numpy as np
from numba import njit, types
from numba.extending import overload

__all__ = ["fast_steps", "step_cells", "step_cells_canonical", "tanh32"]

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
def _gemv(W_a_T, a, out):
    """out = W_a·a as a sum of the rows of W_aᵀ scaled by a's elements.

    The inner loop runs along contiguous memory and needs no reassociation
    to vectorise, so fastmath stays off. Four rows per pass over ``out``
    quarter its loads and stores; the sum is still taken in order of i.
    """
    H = W_a_T.shape[0]
    G = W_a_T.shape[1]
    ai = a[0]
    w = W_a_T[0]
    for j in range(G):
        out[j] = ai * w[j]
    i = 1
    while i + 4 <= H:
        a0, a1, a2, a3 = a[i], a[i + 1], a[i + 2], a[i + 3]
        w0, w1, w2, w3 = W_a_T[i], W_a_T[i + 1], W_a_T[i + 2], W_a_T[i + 3]
        for j in range(G):
            out[j] = (((out[j] + a0 * w0[j]) + a1 * w1[j]) + a2 * w2[j]) + a3 * w3[j]
        i += 4
    while i < H:
        ai = a[i]
        w = W_a_T[i]
        for j in range(G):
            out[j] += ai * w[j]
        i += 1


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
