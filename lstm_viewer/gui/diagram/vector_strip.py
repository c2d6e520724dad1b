"""A graphics item that draws one vector as a strip of coloured cells.

The strip shows a chosen subset of the vector's entries (the "shown units")
as cells coloured through a :mod:`colormaps` table, and summarises the rest
in a hatched summary cell with a caption such as ``+52 more, |mean| 0.31``,
so nothing is ever silently dropped. A vector may be split into labelled
segments (the concatenation [a⟨t−1⟩, x⟨t⟩] has two), each with its own shown
units and its own summary.

The item has a fixed size in scene units, so changing values never changes
geometry: a frame of an animation is ``set_values`` (a copy into a
preallocated buffer and a table lookup) followed by one ``update()``.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen, QStaticText, QTransform

from .. import colormaps

TITLE_H = 22.0      # title row, scene units
CELLS_H = 18.0      # one row of cells
CAPTION_H = 19.0    # summary caption / unit-number row
MARKER_H = 19.0     # clamp badge above the title (always reserved: no geometry change)
HEIGHT = TITLE_H + CELLS_H + CAPTION_H      # a strip with one row of cells
MAX_CELL_W = 22.0
SEGMENT_GAP = 8.0
#: Up to this many cells a strip draws one row; more wrap into a grid.
ONE_ROW_MAX = 40
#: Narrowest cell of a wrapped grid, and the grid's height limit (scene units).
MIN_CELL_W = 5.0
GRID_H_MAX = 4 * CELLS_H
#: More cells than this are painted as one image (fast at H = 1024).
IMAGE_MIN_CELLS = 160
#: Unit numbers are written under the cells when a segment shows at most this many.
NUMBERS_MAX = 32
#: Font sizes (scene px): the canvas keeps the smallest at >= 11 screen px.
TITLE_PX, SMALL_PX = 17.0, 16.0

# Okabe–Ito orange: stands out against both colour maps and both themes.
MARKER_COLOR = QColor("#E69F00")


def theme_colors(dark: bool) -> dict[str, QColor]:
    """Foreground, muted text, outline and background colours of a theme."""
    if dark:
        return dict(fg=QColor("#E8E8E8"), muted=QColor("#A8A8A8"), line=QColor("#9A9A9A"),
                    bg=QColor("#1E1F22"), frame=QColor("#2A2C30"), accent=QColor("#56B4E9"))
    return dict(fg=QColor("#1A1A1A"), muted=QColor("#5A5A5A"), line=QColor("#6E6E6E"),
                bg=QColor("#FFFFFF"), frame=QColor("#F3F5F8"), accent=QColor("#0072B2"))


def _font(px: float, bold: bool = False) -> QFont:
    font = QFont()
    font.setPixelSize(max(1, int(round(px))))
    font.setBold(bold)
    return font


def rich(text: str) -> str:
    """Plain label → Qt rich text: ``Γ_f`` becomes Γ with a subscript f."""
    out = []
    chars = iter(text)
    for ch in chars:
        if ch == "_":
            nxt = next(chars, "")
            out.append(f"<sub>{nxt}</sub>")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch == "&":
            out.append("&amp;")
        elif ch == " ":
            out.append("&nbsp;")
        else:
            out.append(ch)
    return "".join(out)


_STATIC: dict[tuple[str, int, bool], QStaticText] = {}


def draw_label(p, rect: QRectF, text: str, align, font: QFont) -> None:
    """Draw ``text`` (with ``_x`` subscripts) aligned in ``rect``.

    Layouts are cached as ``QStaticText`` per (text, font), so a label is
    laid out once, not every frame.
    """
    key = (text, font.pixelSize(), font.bold())
    static = _STATIC.get(key)
    if static is None:
        static = QStaticText(rich(text))
        static.setTextFormat(Qt.RichText)
        static.prepare(QTransform(), font)
        if len(_STATIC) > 4000:       # labels with values (captions) come and go
            _STATIC.clear()
        _STATIC[key] = static
    size = static.size()
    if align & Qt.AlignHCenter:
        x = rect.center().x() - size.width() / 2
    elif align & Qt.AlignRight:
        x = rect.right() - size.width()
    else:
        x = rect.left()
    if align & Qt.AlignVCenter:
        y = rect.center().y() - size.height() / 2
    elif align & Qt.AlignBottom:
        y = rect.bottom() - size.height()
    else:
        y = rect.top()
    p.setFont(font)
    p.drawStaticText(QPointF(x, y), static)


class _Segment:
    """One labelled slice ``start:stop`` of the strip's vector, drawn as a grid of cells."""

    __slots__ = ("label", "start", "stop", "shown", "rest", "rects", "summary_rect",
                 "caption", "caption_rect", "vrange", "x0", "cols", "rows", "cell_w", "row_h")

    def __init__(self, label: str, start: int, stop: int):
        self.label = label
        self.start, self.stop = start, stop
        self.shown = np.arange(start, stop)
        self.rest = np.empty(0, np.intp)
        self.rects: list[QRectF] = []
        self.summary_rect: QRectF | None = None
        self.caption = ""
        self.caption_rect = QRectF()
        self.vrange: tuple[float, float] | None = None    # None: the strip's range
        self.x0 = 0.0                 # grid origin (left), columns, rows and cell size
        self.cols = self.rows = 0
        self.cell_w = self.row_h = 0.0

    def grid_rect(self) -> QRectF:
        return QRectF(self.x0, TITLE_H, self.cols * self.cell_w, self.rows * self.row_h)


class VectorStrip(pg.GraphicsObject):
    """One vector drawn as a titled strip of coloured cells.

    Parameters
    ----------
    name : str
        Identifier sent with the signals (the diagram's node name).
    title : str
        Text above the cells, e.g. ``"Γ_u⟨t⟩ update gate"``.
    cmap : {"diverging", "sequential"}
    width : float
        Width of the strip in scene units; cells shrink to fit.
    vrange : (float, float), optional
        Value range mapped onto the colour map (default: the map's own).

    Signals
    -------
    clicked(str, int)
        Node name and the vector index under the pointer (−1 off the cells).
    hovered(str, int)
        Same while hovering; the name is ``""`` when the pointer leaves.
    """

    clicked = Signal(str, int)
    hovered = Signal(str, int)

    def __init__(self, name: str, title: str, cmap: str, width: float,
                 vrange: tuple[float, float] | None = None, parent=None):
        super().__init__(parent)
        self.name = name
        self._title = title
        self._subtitle = ""
        self._cmap = cmap
        self._width = float(width)
        self._vrange = vrange or colormaps.default_range(cmap)
        self._dark = False
        self._colors = theme_colors(False)
        self._brushes = colormaps.brushes(cmap, False)
        self._marker: str | None = None
        self._highlight: int | None = None
        self._values = np.zeros(0)
        self._shown = np.empty(0, np.intp)
        self._lut_idx = np.empty(0, np.intp)
        self._segments = [_Segment("", 0, 0)]
        self._layout_key = None       # what the cell rectangles were computed for
        self._cells_h = CELLS_H
        self._numbers = False         # write unit numbers under the cells
        self._font_scale = 1.0
        self._title_font = _font(TITLE_PX, bold=True)
        self._small_font = _font(SMALL_PX)
        self._hover_index = -1
        #: Optional ``f(name, index) -> str`` adding lines to a cell's tooltip.
        self.describe = None
        self.setAcceptHoverEvents(True)

    # ----------------------------------------------------------- structure
    def set_length(self, n: int, segments: list[tuple[str, int]] | None = None) -> None:
        """Set the vector length and its segments ``[(label, length), ...]``.

        Every unit is shown until :meth:`set_shown` says otherwise.
        """
        segments = segments or [("", n)]
        if sum(length for _, length in segments) != n:
            raise ValueError("segment lengths must add up to the vector length")
        self._values = np.zeros(n)
        self._segments = []
        start = 0
        for label, length in segments:
            self._segments.append(_Segment(label, start, start + length))
            start += length
        self._layout_key = None
        self._relayout()

    def set_shown(self, shown_per_segment: list[np.ndarray]) -> bool:
        """Choose the shown indices (vector indices, one array per segment).

        Returns True when the cells moved (their number changed), False when
        only which units they show changed.
        """
        for seg, shown in zip(self._segments, shown_per_segment, strict=True):
            shown = np.unique(np.asarray(shown, np.intp))
            if shown.size and (shown[0] < seg.start or shown[-1] >= seg.stop):
                raise ValueError(f"shown index outside segment {seg.start}..{seg.stop - 1}")
            seg.shown = shown
        return self._relayout()

    def set_title(self, title: str, subtitle: str = "") -> None:
        """Change the title and an optional subtitle drawn after it."""
        self._title, self._subtitle = title, subtitle
        self.update()

    def set_range(self, vmin: float, vmax: float, segment: int | None = None) -> None:
        """The value range mapped onto the colour map (of one segment, or of all)."""
        if segment is None:
            self._vrange = (float(vmin), float(vmax))
        else:
            self._segments[segment].vrange = (float(vmin), float(vmax))
        self._recolor()

    def set_dark(self, dark: bool) -> None:
        self._dark = bool(dark)
        self._colors = theme_colors(self._dark)
        self._brushes = colormaps.brushes(self._cmap, self._dark)
        self.update()

    def set_marker(self, text: str | None) -> None:
        """Show a clamp marker (badge + dashed outline); ``None`` removes it."""
        self._marker = text or None
        self.update()

    def marker(self) -> str | None:
        return self._marker

    def set_highlight(self, index: int | None) -> None:
        """Outline the cell of vector index ``index`` (if it is shown)."""
        self._highlight = None if index is None else int(index)
        self.update()

    # -------------------------------------------------------------- values
    def set_values(self, values: np.ndarray) -> None:
        """Copy ``values`` into the strip and repaint (no reallocation)."""
        values = np.asarray(values)
        if values.shape != self._values.shape:
            raise ValueError(f"{self.name}: expected {self._values.shape[0]} values, got {values.shape}")
        np.copyto(self._values, values)
        self._recolor()

    def values(self) -> np.ndarray:
        """A copy of the whole vector as currently drawn."""
        return self._values.copy()

    def shown(self) -> np.ndarray:
        """The vector indices drawn as cells, in drawing order."""
        return self._shown.copy()

    def summary(self) -> list[str]:
        """The captions under the segments: the summary of the units not shown
        (``"+52 more, |mean| 0.31"``), ``"all 0"``, or ``""``."""
        return [seg.caption for seg in self._segments]

    def cell_center(self, index: int) -> QPointF | None:
        """Centre of the cell drawing vector index ``index`` (item coordinates)."""
        for seg in self._segments:
            hits = np.flatnonzero(seg.shown == index)
            if hits.size:
                return self._cell_rect(seg, int(hits[0])).center()
        return None

    def set_width(self, width: float) -> None:
        """Change the strip's width (a structure change: cells are laid out again)."""
        self.prepareGeometryChange()
        self._width = float(width)
        self._layout_key = None
        self._relayout()

    def width(self) -> float:
        return self._width

    def height(self) -> float:
        """Title, cells (one row, or a wrapped grid) and caption, in scene units."""
        return TITLE_H + self._cells_h + CAPTION_H

    def cells_height(self) -> float:
        return self._cells_h

    def set_unit_numbers(self, on: bool) -> None:
        """Write the unit numbers under the cells (when a segment shows at most 32)."""
        self._numbers = bool(on)
        self.update()

    def set_font_scale(self, scale: float) -> None:
        """Scale the title and caption fonts (presentation mode)."""
        self._font_scale = float(scale)
        self._title_font = _font(TITLE_PX * scale, bold=True)
        self._small_font = _font(SMALL_PX * scale)
        self.update()

    def cells_rect(self) -> QRectF:
        """The rectangle spanned by all cells and summary cells (item coordinates)."""
        rects = [r for seg in self._segments
                 for r in ([seg.grid_rect()] if seg.shown.size else [])
                 + ([seg.summary_rect] if seg.summary_rect is not None else [])]
        if not rects:
            return QRectF(self._width / 2, TITLE_H, 0.0, CELLS_H)
        out = QRectF(rects[0])
        for r in rects[1:]:
            out = out.united(r)
        return out

    def segment_center_x(self, k: int) -> float:
        """Horizontal centre of segment ``k``'s cells (item coordinates)."""
        seg = self._segments[k]
        rects = ([seg.grid_rect()] if seg.shown.size else []) + (
            [seg.summary_rect] if seg.summary_rect is not None else [])
        if not rects:
            return self._width / 2
        return (rects[0].left() + rects[-1].right()) / 2

    # ------------------------------------------------------------ internals
    @staticmethod
    def _cell_rect(seg: _Segment, i: int) -> QRectF:
        row, col = divmod(i, max(seg.cols, 1))
        return QRectF(seg.x0 + col * seg.cell_w, TITLE_H + row * seg.row_h, seg.cell_w, seg.row_h)

    def _relayout(self) -> bool:
        """Cell grids for the current shown sets; True if they moved."""
        slots = []
        for seg in self._segments:
            mask = np.ones(seg.stop - seg.start, bool)
            mask[seg.shown - seg.start] = False
            seg.rest = np.flatnonzero(mask) + seg.start
            slots.append(seg.shown.size + (1.5 if seg.rest.size else 0.0))
        key = (self._width, tuple((s.shown.size, bool(s.rest.size)) for s in self._segments))
        self._shown = (np.concatenate([s.shown for s in self._segments])
                       if self._segments else np.empty(0, np.intp))
        if key == self._layout_key:
            self._recolor()         # same cells, other units: no geometry to redo
            return False
        self._layout_key = key
        gaps = SEGMENT_GAP * (len(self._segments) - 1)
        total_slots = max(sum(slots), 1.0)
        usable = self._width - gaps
        if total_slots <= ONE_ROW_MAX:
            # One row, cells as wide as the strip allows (at most MAX_CELL_W).
            cell_w = min(MAX_CELL_W, usable / total_slots)
            widths = [n * cell_w for n in slots]
            per_row = [max(1, seg.shown.size) for seg in self._segments]
        else:
            # Wrap: each segment gets width in proportion to its cells, as a grid.
            widths = [usable * n / total_slots for n in slots]
            per_row = []
            for seg, w in zip(self._segments, widths, strict=True):
                room = w - (1.5 * MIN_CELL_W if seg.rest.size else 0.0)
                per_row.append(max(1, min(seg.shown.size, int(room // MIN_CELL_W))))
        x = (self._width - sum(widths) - gaps) / 2
        cells_h = 0.0
        for seg, w, cols in zip(self._segments, widths, per_row, strict=True):
            n = seg.shown.size
            seg.cols = cols if n else 0
            seg.rows = -(-n // cols) if n else 0
            summary_w = 0.0
            if total_slots <= ONE_ROW_MAX:
                seg.cell_w = min(MAX_CELL_W, usable / total_slots)
                summary_w = 1.5 * seg.cell_w if seg.rest.size else 0.0
            else:
                summary_w = 1.5 * MIN_CELL_W if seg.rest.size else 0.0
                seg.cell_w = (w - summary_w) / max(cols, 1)
            seg.row_h = CELLS_H if seg.rows <= 1 else max(2.0, min(CELLS_H, GRID_H_MAX / seg.rows))
            seg.x0 = x
            grid_h = max(seg.rows * seg.row_h, CELLS_H)
            cells_h = max(cells_h, grid_h)
            if seg.rest.size:
                seg.summary_rect = QRectF(x + seg.cols * seg.cell_w, TITLE_H, summary_w, grid_h)
            else:
                seg.summary_rect = None
            seg.rects = ([self._cell_rect(seg, i) for i in range(n)] if n <= IMAGE_MIN_CELLS else [])
            x += w + SEGMENT_GAP
        if cells_h != self._cells_h:
            self.prepareGeometryChange()
            self._cells_h = cells_h
        self._lut_idx = np.empty(self._shown.size, np.intp)
        self._recolor()
        return True

    def _recolor(self) -> None:
        start = 0
        for seg in self._segments:
            stop = start + seg.shown.size
            if stop > start:
                colormaps.lut_indices(self._values[seg.shown], self._cmap,
                                      *(seg.vrange or self._vrange), out=self._lut_idx[start:stop])
            start = stop
        for seg in self._segments:
            if seg.rest.size:
                mean = float(np.abs(self._values[seg.rest]).mean())
                seg.caption = f"+{seg.rest.size} more, |mean| {mean:.2f}"
            elif seg.stop > seg.start and not self._values[seg.start:seg.stop].any():
                seg.caption = "all 0"     # an all-zero strip would look empty, not zero
            else:
                seg.caption = ""
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(-2.0, -MARKER_H, self._width + 4.0, self.height() + MARKER_H + 2.0)

    def _index_at(self, pos: QPointF) -> int:
        for seg in self._segments:
            if not seg.shown.size:
                continue
            grid = seg.grid_rect()
            if not grid.contains(pos):
                continue
            col = int((pos.x() - seg.x0) // seg.cell_w)
            row = int((pos.y() - TITLE_H) // seg.row_h)
            i = row * seg.cols + min(col, seg.cols - 1)
            if 0 <= i < seg.shown.size:
                return int(seg.shown[i])
        return -1

    def _summary_at(self, pos: QPointF) -> _Segment | None:
        for seg in self._segments:
            if seg.summary_rect is not None and seg.summary_rect.contains(pos):
                return seg
        return None

    def _paint_cells(self, p, seg: _Segment, idx: np.ndarray) -> None:
        """Fill a segment's cells: one rectangle each, or one image for big grids."""
        if seg.rects:
            brushes = self._brushes
            for rect, k in zip(seg.rects, idx, strict=True):
                p.fillRect(rect, brushes[k])
            return
        # Thousands of cells: one pixel per cell, scaled up without smoothing.
        argb = colormaps.argb(self._cmap, self._dark)
        pixels = np.zeros(seg.rows * seg.cols, np.uint32)
        pixels[:idx.size] = argb[idx]
        grid = pixels.reshape(seg.rows, seg.cols)
        image = QImage(grid.data, seg.cols, seg.rows, 4 * seg.cols, QImage.Format_ARGB32)
        p.save()
        p.setRenderHint(QPainter.SmoothPixmapTransform, False)
        p.drawImage(seg.grid_rect(), image)
        p.restore()

    def paint(self, p, *args) -> None:
        colors = self._colors
        # Title (and subtitle), centred over the cells.
        p.setPen(colors["fg"])
        title_rect = QRectF(-30, 0, self._width + 60, TITLE_H)
        text = self._title + (f"  {self._subtitle}" if self._subtitle else "")
        draw_label(p, title_rect, text, Qt.AlignHCenter | Qt.AlignVCenter, self._title_font)
        p.setFont(self._small_font)
        p.setPen(Qt.NoPen)
        start = 0
        for seg in self._segments:
            stop = start + seg.shown.size
            if stop > start:
                self._paint_cells(p, seg, self._lut_idx[start:stop])
            start = stop
        outline = QPen(colors["line"], 0)
        p.setBrush(Qt.NoBrush)
        caption_top = TITLE_H + self._cells_h
        for seg in self._segments:
            if seg.shown.size:
                p.setPen(outline)
                grid = seg.grid_rect()
                last_row = seg.shown.size - (seg.rows - 1) * seg.cols
                if seg.rows > 1 and last_row < seg.cols:
                    # A ragged last row: outline the full rows and the partial one.
                    full = QRectF(grid.left(), grid.top(), grid.width(), grid.height() - seg.row_h)
                    p.drawRect(full)
                    p.drawRect(QRectF(grid.left(), full.bottom(), last_row * seg.cell_w, seg.row_h))
                else:
                    p.drawRect(grid)
            if seg.summary_rect is not None:
                p.setPen(outline)
                p.setBrush(QBrush(colors["muted"], Qt.BDiagPattern))
                p.drawRect(seg.summary_rect)
                p.setBrush(Qt.NoBrush)
            caption = seg.caption
            if seg.label:
                caption = seg.label + ("  " + caption if caption else "")
            cells = seg.grid_rect() if seg.shown.size else (seg.summary_rect or QRectF())
            if seg.summary_rect is not None:
                cells = cells.united(seg.summary_rect)
            if caption:
                p.setPen(colors["muted"])
                p.drawText(QRectF(cells.left() - 50, caption_top, cells.width() + 100, CAPTION_H),
                           Qt.AlignHCenter | Qt.AlignVCenter, caption)
            elif self._numbers and 0 < seg.shown.size <= NUMBERS_MAX and seg.rows == 1:
                self._paint_numbers(p, seg, caption_top)
        if self._highlight is not None:
            for seg in self._segments:
                hits = np.flatnonzero(seg.shown == self._highlight)
                if hits.size:
                    rect = self._cell_rect(seg, int(hits[0])).adjusted(-1.0, -1.5, 1.0, 1.5)
                    p.setBrush(Qt.NoBrush)
                    # A halo in the background colour keeps the outline visible on any cell colour.
                    p.setPen(QPen(colors["bg"], 4.5))
                    p.drawRect(rect)
                    p.setPen(QPen(colors["fg"], 2.2))
                    p.drawRect(rect)
        if self._marker:
            self._paint_marker(p)

    def _paint_numbers(self, p, seg: _Segment, top: float) -> None:
        """Unit numbers under the cells: every k-th so that they do not collide,
        and always the highlighted unit."""
        digits = len(str(int(seg.shown[-1])))
        label_w = (0.62 * digits + 0.5) * self._small_font.pixelSize()
        step = 1
        for k in (1, 2, 4, 5, 8, 10, 16):
            step = k
            if k * seg.cell_w >= label_w:
                break
        p.setPen(self._colors["muted"])
        for i, unit in enumerate(seg.shown):
            if i % step and unit != self._highlight:
                continue
            rect = self._cell_rect(seg, i)
            p.drawText(QRectF(rect.center().x() - label_w / 2, top, label_w, CAPTION_H),
                       Qt.AlignHCenter | Qt.AlignTop, str(int(unit)))

    def _paint_marker(self, p) -> None:
        box = self.cells_rect().adjusted(-4, -4, 4, 4)
        pen = QPen(MARKER_COLOR, 2.0, Qt.DashLine)
        p.setPen(pen)
        p.setBrush(Qt.NoBrush)
        p.drawRect(box)
        badge_w = 12.0 + 0.6 * self._small_font.pixelSize() * len(self._marker)
        badge = QRectF(self._width - badge_w, -MARKER_H + 1, badge_w, MARKER_H - 1)
        p.setPen(Qt.NoPen)
        p.setBrush(MARKER_COLOR)
        p.drawRoundedRect(badge, 4, 4)
        p.setPen(QColor("#000000"))
        draw_label(p, badge, self._marker, Qt.AlignCenter, self._small_font)

    # --------------------------------------------------------------- mouse
    def tooltip_text(self, index: int) -> str:
        """What hovering the cell of vector index ``index`` shows."""
        title = self._title.replace("_", "")
        lines = [f"{title} — unit {index}: {self._values[index]:+.4f}"]
        if self.describe is not None:
            extra = self.describe(self.name, index)
            if extra:
                lines.append(extra)
        return "\n".join(lines)

    def hoverEvent(self, ev) -> None:
        """pyqtgraph hover: claim left clicks, tooltip the unit under the pointer."""
        if ev.isExit():
            self._hover_index = -1
            self.setToolTip("")
            self.hovered.emit("", -1)
            return
        ev.acceptClicks(Qt.LeftButton)
        pos = ev.pos()
        index = self._index_at(pos)
        if index >= 0:
            tip = self.tooltip_text(index)
        else:
            seg = self._summary_at(pos)
            tip = f"{self._title}\n{seg.caption}" if seg is not None else self._title
        self.setToolTip(tip)
        if index != self._hover_index or ev.isEnter():
            self._hover_index = index
            self.hovered.emit(self.name, index)

    def mouseClickEvent(self, ev) -> None:
        if ev.button() != Qt.LeftButton:
            ev.ignore()
            return
        ev.accept()
        self.clicked.emit(self.name, self._index_at(ev.pos()))
