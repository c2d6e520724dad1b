"""A graphics item that draws one vector as a strip of coloured cells.

The strip shows a chosen subset of the vector's entries (the "shown units")
as cells coloured through a :mod:`colormaps` table, and summarises the rest
in a hatched summary cell with a caption such as ``+ 52 more, |mean| 0.31``,
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
from PySide6.QtGui import QBrush, QColor, QFont, QPen, QStaticText, QTransform

from .. import colormaps

TITLE_H = 18.0      # title row, scene units
CELLS_H = 18.0      # cell row
CAPTION_H = 15.0    # summary caption row
MARKER_H = 17.0     # clamp badge above the title (always reserved: no geometry change)
HEIGHT = TITLE_H + CELLS_H + CAPTION_H
MAX_CELL_W = 22.0
SEGMENT_GAP = 8.0

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
    """One labelled slice ``start:stop`` of the strip's vector."""

    __slots__ = ("label", "start", "stop", "shown", "rest", "rects", "summary_rect",
                 "caption", "caption_rect", "vrange")

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
        self._rects: list[QRectF] = []
        self._segments = [_Segment("", 0, 0)]
        self._layout_key = None       # what the cell rectangles were computed for
        self._title_font = _font(15, bold=True)
        self._small_font = _font(12)
        self._hover_index = -1
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
        (``"+ 52 more, |mean| 0.31"``), ``"all 0"``, or ``""``."""
        return [seg.caption for seg in self._segments]

    def cell_center(self, index: int) -> QPointF | None:
        """Centre of the cell drawing vector index ``index`` (item coordinates)."""
        hits = np.flatnonzero(self._shown == index)
        return self._rects[hits[0]].center() if hits.size else None

    def set_width(self, width: float) -> None:
        """Change the strip's width (a structure change: cells are laid out again)."""
        self.prepareGeometryChange()
        self._width = float(width)
        self._layout_key = None
        self._relayout()

    def width(self) -> float:
        return self._width

    def cells_rect(self) -> QRectF:
        """The rectangle spanned by all cells and summary cells (item coordinates)."""
        rects = [r for seg in self._segments
                 for r in seg.rects + ([seg.summary_rect] if seg.summary_rect is not None else [])]
        if not rects:
            return QRectF(self._width / 2, TITLE_H, 0.0, CELLS_H)
        return QRectF(rects[0].topLeft(), rects[-1].bottomRight())

    def segment_center_x(self, k: int) -> float:
        """Horizontal centre of segment ``k``'s cells (item coordinates)."""
        seg = self._segments[k]
        rects = seg.rects + ([seg.summary_rect] if seg.summary_rect is not None else [])
        if not rects:
            return self._width / 2
        return (rects[0].left() + rects[-1].right()) / 2

    # ------------------------------------------------------------ internals
    def _relayout(self) -> bool:
        """Cell rectangles for the current shown sets; True if they moved."""
        slots = 0.0
        for seg in self._segments:
            mask = np.ones(seg.stop - seg.start, bool)
            mask[seg.shown - seg.start] = False
            seg.rest = np.flatnonzero(mask) + seg.start
            slots += seg.shown.size + (1.5 if seg.rest.size else 0.0)
        key = (self._width, tuple((s.shown.size, bool(s.rest.size)) for s in self._segments))
        self._shown = (np.concatenate([s.shown for s in self._segments])
                       if self._segments else np.empty(0, np.intp))
        if key == self._layout_key:
            self._recolor()         # same cells, other units: no geometry to redo
            return False
        self._layout_key = key
        gaps = SEGMENT_GAP * (len(self._segments) - 1)
        cell_w = min(MAX_CELL_W, (self._width - gaps) / max(slots, 1.0))
        total = slots * cell_w + gaps
        x = (self._width - total) / 2
        top = TITLE_H
        self._rects = []
        for seg in self._segments:
            seg.rects = []
            for _ in seg.shown:
                seg.rects.append(QRectF(x, top, cell_w, CELLS_H))
                x += cell_w
            if seg.rest.size:
                seg.summary_rect = QRectF(x, top, 1.5 * cell_w, CELLS_H)
                x += 1.5 * cell_w
            else:
                seg.summary_rect = None
            x += SEGMENT_GAP
            self._rects.extend(seg.rects)
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
                seg.caption = f"+ {seg.rest.size} more, |mean| {mean:.2f}"
            elif seg.stop > seg.start and not self._values[seg.start:seg.stop].any():
                seg.caption = "all 0"     # an all-zero strip would look empty, not zero
            else:
                seg.caption = ""
        self.update()

    def boundingRect(self) -> QRectF:
        return QRectF(-2.0, -MARKER_H, self._width + 4.0, HEIGHT + MARKER_H + 2.0)

    def _index_at(self, pos: QPointF) -> int:
        for i, rect in enumerate(self._rects):
            if rect.contains(pos):
                return int(self._shown[i])
        return -1

    def _summary_at(self, pos: QPointF) -> _Segment | None:
        for seg in self._segments:
            if seg.summary_rect is not None and seg.summary_rect.contains(pos):
                return seg
        return None

    def paint(self, p, *args) -> None:
        colors = self._colors
        # Title (and subtitle), centred over the cells.
        p.setPen(colors["fg"])
        title_rect = QRectF(0, 0, self._width, TITLE_H)
        text = self._title + (f"  {self._subtitle}" if self._subtitle else "")
        draw_label(p, title_rect, text, Qt.AlignHCenter | Qt.AlignVCenter, self._title_font)
        # Segment labels sit left of their cells, in the caption row.
        p.setFont(self._small_font)
        p.setPen(Qt.NoPen)
        brushes = self._brushes
        for rect, k in zip(self._rects, self._lut_idx, strict=True):
            p.fillRect(rect, brushes[k])
        outline = QPen(colors["line"], 0)
        p.setBrush(Qt.NoBrush)
        for seg in self._segments:
            if seg.rects:
                p.setPen(outline)
                p.drawRect(QRectF(seg.rects[0].topLeft(), seg.rects[-1].bottomRight()))
            if seg.summary_rect is not None:
                p.setPen(outline)
                p.setBrush(QBrush(colors["muted"], Qt.BDiagPattern))
                p.drawRect(seg.summary_rect)
                p.setBrush(Qt.NoBrush)
            caption = seg.caption
            if seg.label:
                caption = seg.label + ("  " + caption if caption else "")
            if caption:
                left = seg.rects[0].left() if seg.rects else (
                    seg.summary_rect.left() if seg.summary_rect is not None else 0.0)
                right = seg.summary_rect.right() if seg.summary_rect is not None else seg.rects[-1].right()
                p.setPen(colors["muted"])
                p.drawText(QRectF(left - 40, TITLE_H + CELLS_H, right - left + 80, CAPTION_H),
                           Qt.AlignHCenter | Qt.AlignVCenter, caption)
        if self._highlight is not None:
            hits = np.flatnonzero(self._shown == self._highlight)
            if hits.size:
                rect = self._rects[hits[0]].adjusted(-1.0, -1.5, 1.0, 1.5)
                p.setBrush(Qt.NoBrush)
                # A halo in the background colour keeps the outline visible on any cell colour.
                p.setPen(QPen(colors["bg"], 4.5))
                p.drawRect(rect)
                p.setPen(QPen(colors["fg"], 2.2))
                p.drawRect(rect)
        if self._marker:
            self._paint_marker(p)

    def _paint_marker(self, p) -> None:
        cells = [r for seg in self._segments for r in seg.rects + ([seg.summary_rect] if seg.summary_rect else [])]
        if cells:
            box = QRectF(cells[0].topLeft(), cells[-1].bottomRight()).adjusted(-4, -4, 4, 4)
            pen = QPen(MARKER_COLOR, 2.0, Qt.DashLine)
            p.setPen(pen)
            p.setBrush(Qt.NoBrush)
            p.drawRect(box)
        badge_w = 10.0 + 7.0 * len(self._marker)
        badge = QRectF(self._width - badge_w, -MARKER_H + 1, badge_w, MARKER_H - 1)
        p.setPen(Qt.NoPen)
        p.setBrush(MARKER_COLOR)
        p.drawRoundedRect(badge, 4, 4)
        p.setPen(QColor("#000000"))
        draw_label(p, badge, self._marker, Qt.AlignCenter, self._small_font)

    # --------------------------------------------------------------- mouse
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
            tip = f"{self._title}\nunit {index}: {self._values[index]:+.4f}"
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
