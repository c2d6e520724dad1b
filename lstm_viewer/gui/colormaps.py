"""Colour maps for the cell diagram's vectors.

Two maps, both safe for the common forms of colour blindness:

* ``"diverging"`` for signed values (c̃, c, a, x ...) in −1…1: Paul Tol's
  BuRd scheme, blue for negative, red for positive. The light theme puts a
  near-white at zero; the dark theme a dark grey, so a zero cell reads as
  "nothing" against either background.
* ``"sequential"`` for gates in 0…1: viridis, whose lightness rises
  monotonically, so a gate's openness reads even in grey scale.

Colours are looked up in a 256-entry table built once per (map, theme); the
painting code indexes prebuilt ``QBrush`` objects instead of creating
colours every frame.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from PySide6.QtGui import QBrush, QColor

LUT_SIZE = 256

# Paul Tol, "BuRd" (https://personal.sron.nl/~pault/): colour-blind safe.
_BURD_NEG = ("#2166AC", "#4393C3", "#92C5DE", "#D1E5F0")
_BURD_POS = ("#FDDBC7", "#F4A582", "#D6604D", "#B2182B")
# Viridis (van der Walt & Smith), sampled at nine points.
_VIRIDIS = ("#440154", "#472D7B", "#3B528B", "#2C728E", "#21918C",
            "#28AE80", "#5EC962", "#ADDC30", "#FDE725")

_ANCHORS = {
    ("diverging", False): _BURD_NEG + ("#F7F7F7",) + _BURD_POS,
    # Dark theme: the same hues brightened at the ends, a dark zero.
    ("diverging", True): ("#6BAED6", "#4A8BBE", "#2F5F8A", "#243447", "#2A2A2A",
                          "#4A2A26", "#8C3B2E", "#D6604D", "#F4A582"),
    ("sequential", False): _VIRIDIS,
    ("sequential", True): _VIRIDIS,
}

MAP_NAMES = ("diverging", "sequential")


def _hex_to_rgb(code: str) -> tuple[int, int, int]:
    code = code.lstrip("#")
    return int(code[0:2], 16), int(code[2:4], 16), int(code[4:6], 16)


@cache
def lut(name: str, dark: bool = False) -> np.ndarray:
    """The (256, 4) uint8 RGBA table of map ``name`` for a theme.

    Parameters
    ----------
    name : {"diverging", "sequential"}
    dark : bool
        Dark-theme variant.

    Returns
    -------
    ndarray of uint8, shape (256, 4)
        Read-only; entry 0 is the low end of the range, 255 the high end.
    """
    if name not in MAP_NAMES:
        raise ValueError(f"unknown colour map {name!r}; expected one of {MAP_NAMES}")
    anchors = np.array([_hex_to_rgb(c) for c in _ANCHORS[(name, bool(dark))]], float)
    at = np.linspace(0.0, 1.0, len(anchors))
    pos = np.linspace(0.0, 1.0, LUT_SIZE)
    table = np.empty((LUT_SIZE, 4), np.uint8)
    for ch in range(3):
        table[:, ch] = np.round(np.interp(pos, at, anchors[:, ch]))
    table[:, 3] = 255
    table.flags.writeable = False
    return table


@cache
def argb(name: str, dark: bool = False) -> np.ndarray:
    """The map's table as 256 packed ``0xAARRGGBB`` values (for ``QImage.Format_ARGB32``)."""
    table = lut(name, dark).astype(np.uint32)
    packed = (table[:, 3] << 24) | (table[:, 0] << 16) | (table[:, 1] << 8) | table[:, 2]
    packed.flags.writeable = False
    return packed


@cache
def brushes(name: str, dark: bool = False) -> tuple[QBrush, ...]:
    """The map's table as 256 prebuilt brushes (for painting without allocation)."""
    return tuple(QBrush(QColor(int(r), int(g), int(b), int(a))) for r, g, b, a in lut(name, dark))


def default_range(name: str) -> tuple[float, float]:
    """The natural value range of a map: (−1, 1) diverging, (0, 1) sequential."""
    return (-1.0, 1.0) if name == "diverging" else (0.0, 1.0)


def lut_indices(values, name: str, vmin: float | None = None, vmax: float | None = None,
                out: np.ndarray | None = None) -> np.ndarray:
    """Table indices 0…255 of ``values``, clipped to ``[vmin, vmax]``.

    Parameters
    ----------
    values : array_like
    name : {"diverging", "sequential"}
    vmin, vmax : float, optional
        The range mapped onto the table; defaults to :func:`default_range`.
    out : ndarray of intp, optional
        Preallocated result of the same shape (avoids an allocation per frame).

    Returns
    -------
    ndarray of intp
        NaN maps to the middle of the table.
    """
    lo, hi = default_range(name)
    lo = lo if vmin is None else float(vmin)
    hi = hi if vmax is None else float(vmax)
    span = hi - lo if hi > lo else 1.0
    scaled = (np.asarray(values, float) - lo) * ((LUT_SIZE - 1) / span)
    nan = np.isnan(scaled)
    if nan.any():
        scaled[nan] = (LUT_SIZE - 1) / 2
    np.clip(scaled, 0, LUT_SIZE - 1, out=scaled)
    if out is None:
        return np.rint(scaled).astype(np.intp)
    np.rint(scaled, out=scaled)
    out[...] = scaled
    return out


def to_rgba(values, name: str, vmin: float | None = None, vmax: float | None = None,
            dark: bool = False) -> np.ndarray:
    """Map an array to RGBA colours.

    Returns
    -------
    ndarray of uint8, shape ``values.shape + (4,)``
    """
    return lut(name, dark)[lut_indices(values, name, vmin, vmax)]


def to_qcolors(values, name: str, vmin: float | None = None, vmax: float | None = None,
               dark: bool = False) -> list[QColor]:
    """Map a 1-D array to a list of ``QColor``."""
    return [QColor(int(r), int(g), int(b), int(a))
            for r, g, b, a in to_rgba(np.ravel(values), name, vmin, vmax, dark)]


def text_color_on(rgba) -> QColor:
    """Black or white, whichever reads better on a cell of colour ``rgba``."""
    r, g, b = (float(v) for v in rgba[:3])
    # Relative luminance (sRGB approximated by a 2.2 gamma).
    lum = 0.2126 * (r / 255) ** 2.2 + 0.7152 * (g / 255) ** 2.2 + 0.0722 * (b / 255) ** 2.2
    return QColor(0, 0, 0) if lum > 0.18 else QColor(255, 255, 255)
