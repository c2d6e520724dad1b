"""Test helpers: read what the window draws as a user sees it; make engine jobs slow.

The tests look at the items in the diagram's scene (found through the Qt
object tree, not private attributes), so they keep working while the
diagram's internals change: a strip is any :class:`VectorStrip` in the scene
of the diagram's ``QGraphicsView``, known by its node name.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QGraphicsView

from lstm_viewer.gui.diagram.vector_strip import VectorStrip

#: The hidden-size nodes: each draws the same hidden units.
HIDDEN_NODES = ("forget", "update", "candidate", "output", "write", "keep",
                "c_prev", "c", "tanh_c", "a_prev", "a")


def graphics_view(diagram) -> QGraphicsView:
    """The view the diagram is drawn in (the diagram widget itself, or its child)."""
    if isinstance(diagram, QGraphicsView):
        return diagram
    view = diagram.findChild(QGraphicsView)
    assert view is not None, "the diagram shows no QGraphicsView"
    return view


def strips(diagram) -> dict[str, VectorStrip]:
    """Every vector strip in the diagram's scene, by node name."""
    scene = graphics_view(diagram).scene()
    return {item.name: item for item in scene.items() if isinstance(item, VectorStrip)}


def shown(diagram, name: str) -> list[int]:
    """The units strip ``name`` draws as cells."""
    return [int(u) for u in strips(diagram)[name].shown()]


def hidden_units_shown(diagram) -> list[int]:
    """The hidden units drawn, checked to be the same in every hidden-size strip."""
    found = {name: shown(diagram, name) for name in HIDDEN_NODES}
    first = found["a"]
    for name, units in found.items():
        assert units == first, f"strip {name} shows {units}, strip a shows {first}"
    return first


def pixel_rect(diagram, item) -> QRect:
    """Where ``item`` is painted, in the diagram widget's pixels."""
    view = graphics_view(diagram)
    scene_rect = item.mapRectToScene(item.boundingRect())
    rect = view.mapFromScene(scene_rect).boundingRect()
    offset = view.viewport().mapTo(diagram, QPoint(0, 0))
    return rect.translated(offset)


def image_array(image: QImage) -> np.ndarray:
    """An (h, w, 3) uint8 RGB array of ``image``."""
    image = image.convertToFormat(QImage.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), np.uint8, count=stride * h).reshape(h, stride)
    return raw[:, :3 * w].reshape(h, w, 3).copy()


def count_colour(pixels: np.ndarray, colour: QColor, tolerance: int = 12) -> int:
    """How many pixels are within ``tolerance`` (per channel) of ``colour``."""
    target = np.array([colour.red(), colour.green(), colour.blue()], int)
    return int(np.all(np.abs(pixels.astype(int) - target) <= tolerance, axis=-1).sum())


def dominant_colour(pixels: np.ndarray) -> tuple[int, int, int]:
    """The most frequent colour of an image array (the background)."""
    flat = pixels.reshape(-1, 3)
    values, counts = np.unique(flat, axis=0, return_counts=True)
    return tuple(int(v) for v in values[np.argmax(counts)])


def lightness(rgb) -> float:
    """Relative luminance 0…255 (Rec. 709 weights)."""
    r, g, b = rgb
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def slow_engine(monkeypatch, seconds_per_chunk: float = 0.002) -> None:
    """Make every worker job compute one step per chunk and pause after each.

    A job then stays busy long enough for a user to see the progress bar and
    press Cancel, without loading the shared cores: the pause is in the
    worker thread, between chunks, where a cancel is noticed.
    """
    from lstm_viewer.engine import TraceRun
    from lstm_viewer.gui import worker

    class SlowRun(TraceRun):
        def __iter__(self):
            for fraction in super().__iter__():
                time.sleep(seconds_per_chunk)
                yield fraction

    monkeypatch.setattr(worker, "TraceRun", SlowRun)
    monkeypatch.setattr(worker, "chunk_for", lambda model: 1)
