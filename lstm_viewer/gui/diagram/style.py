"""Sizes and small text helpers shared by the cell diagram and its graphics items.

Fonts, theme colours and cached label drawing live in :mod:`.vector_strip`
(every strip uses them too); this module holds only what the diagram's own
items (:class:`~.op_node.OpNode`, :class:`~.diagram_edges.DiagramEdges`,
:class:`~.top_k.TopKBars`) share with :class:`~.cell_diagram.CellDiagram`.
Scene units; y points down.
"""

from __future__ import annotations

SCENE_W = 910.0         # width of the diagram's scene
OP_R = 15.0             # radius of an operator node
TOPK_W = 340.0          # width of the ŷ top-k box (and of the ŷ strip's column)
TOPK = 5                # tokens listed in the ŷ top-k box


#: Smallest font in the diagram (scene px). The canvas shows the whole cell at a
#: scale that keeps this at >= 11 screen px in a 1024x768 window with one panel open.
MIN_FONT_PX = 16.0
#: Presentation mode: fonts and strokes scaled by these factors.
PRESENT_FONT, PRESENT_STROKE = 1.06, 1.8


def visible_token(text: str) -> str:
    """Whitespace made visible, so a space or newline token can be seen."""
    return text.replace(" ", "␣").replace("\n", "⏎").replace("\t", "⇥")
