"""Colour ranges of the diagram, chosen from a whole trace (Qt-free).

A node's colours must mean the same at every step of a trace: the range is
fixed from the trace itself, symmetric for signed values and robust to a few
outliers (a high percentile of |value|, rounded up to a readable number).
Gates, c̃, tanh c, a and the write are bounded (0…1 or −1…1) and keep their
natural ranges; only the cell state c (with keep and c⟨t−1⟩) and the input x
need fitting.
"""

from __future__ import annotations

import numpy as np

#: Percentile of |value| the range covers: a few outliers saturate instead of
#: washing out every other cell.
PERCENTILE = 99.5


def nice_ceiling(value: float) -> float:
    """Smallest of 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 15 … not below ``value`` (at least 1)."""
    value = max(1.0, float(value))
    scale = 10.0 ** np.floor(np.log10(value))
    for step in (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if step * scale >= value - 1e-9:
            return step * scale
    return 10.0 * scale


def robust_half_width(values: np.ndarray) -> float:
    """The nice half-width of a symmetric range covering ``PERCENTILE`` % of |values|."""
    values = np.asarray(values)
    if values.size == 0:
        return 1.0
    finite = np.abs(values[np.isfinite(values)])
    if finite.size == 0:
        return 1.0
    return nice_ceiling(float(np.percentile(finite, PERCENTILE)))


def trace_ranges(direction_trace) -> tuple[float, float]:
    """Half-widths (c, x) for one layer and direction of a trace.

    Parameters
    ----------
    direction_trace : DirectionTrace
        Has ``c`` (T, H) and ``x`` (T, n_x) records.

    Returns
    -------
    (float, float)
        Symmetric half-widths of the cell-state and the input colour ranges.
    """
    c = np.asarray(direction_trace.c)
    x = np.asarray(direction_trace.x)
    return robust_half_width(c), robust_half_width(x)
