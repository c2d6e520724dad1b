"""Light and dark themes: the Fusion style, a palette, and a small style sheet.

The style sheets live in ``resources/styles/{light,dark}.qss``; the palette
does most of the work so native dialogs follow the theme too.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from ..paths import resource_path

_DARK = {
    QPalette.Window: "#26282b", QPalette.WindowText: "#e4e4e4", QPalette.Base: "#1e1f22",
    QPalette.AlternateBase: "#2a2c30", QPalette.Text: "#e4e4e4", QPalette.Button: "#303236",
    QPalette.ButtonText: "#e4e4e4", QPalette.Highlight: "#3d7bd9", QPalette.HighlightedText: "#ffffff",
    QPalette.ToolTipBase: "#303236", QPalette.ToolTipText: "#e4e4e4", QPalette.PlaceholderText: "#9a9ca0",
    QPalette.Link: "#7fb0ff", QPalette.Mid: "#45484d", QPalette.Dark: "#18191b", QPalette.Light: "#4a4d52",
}
_LIGHT = {
    QPalette.Window: "#f3f3f3", QPalette.WindowText: "#1d1d1f", QPalette.Base: "#ffffff",
    QPalette.AlternateBase: "#f4f6f9", QPalette.Text: "#1d1d1f", QPalette.Button: "#ececec",
    QPalette.ButtonText: "#1d1d1f", QPalette.Highlight: "#2f6fd0", QPalette.HighlightedText: "#ffffff",
    QPalette.ToolTipBase: "#ffffdc", QPalette.ToolTipText: "#1d1d1f", QPalette.PlaceholderText: "#7a7a7a",
    QPalette.Link: "#1a5fb4", QPalette.Mid: "#c8c8c8", QPalette.Dark: "#a0a0a0", QPalette.Light: "#ffffff",
}


def palette(dark: bool) -> QPalette:
    """The application palette of the light or dark theme."""
    pal = QPalette()
    for role, colour in (_DARK if dark else _LIGHT).items():
        pal.setColor(role, QColor(colour))
    disabled = QColor("#6d6f73" if dark else "#a0a0a0")
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        pal.setColor(QPalette.Disabled, role, disabled)
    return pal


def style_sheet(dark: bool) -> str:
    """The theme's style sheet, or an empty one when the file is missing."""
    try:
        return resource_path("styles", "dark.qss" if dark else "light.qss").read_text(encoding="utf-8")
    except OSError:
        return ""


def apply(app: QApplication | None, dark: bool) -> None:
    """Apply the theme to the whole application."""
    if app is None:
        return
    fusion = QStyleFactory.create("Fusion")
    if fusion is not None and app.style().objectName().lower() != "fusion":
        app.setStyle(fusion)
    app.setPalette(palette(dark))
    app.setStyleSheet(style_sheet(dark))


#: The current-step cursor in every plot over time.
CURSOR_COLOUR = "#ff9f1c"

#: Plot colours per theme (keyed by ``dark``): background, foreground (axes,
#: ticks, titles), muted text, and the line cycle: blue, red, green, purple,
#: brightened for the dark background. Orange is left out of the cycle
#: because it is the cursor's colour; the second line is also dashed where
#: blue and red must be told apart (intact and intervened runs).
PLOT_COLOURS = {
    False: dict(bg="#ffffff", fg="#333333", muted="#6a6a6a",
                lines=("#0072B2", "#C62828", "#009E73", "#8E44AD")),
    True: dict(bg="#1e1f22", fg="#d0d0d0", muted="#9a9ca0",
               lines=("#56B4E9", "#FF5C64", "#3DD6A3", "#C39BD3")),
}


def plot_colours(dark: bool) -> dict:
    """The :data:`PLOT_COLOURS` entry of the light or dark theme."""
    return PLOT_COLOURS[bool(dark)]


def style_plots(view, plots, dark: bool) -> None:
    """Background, axis and title colours of ``plots`` for the light or dark theme.

    Parameters
    ----------
    view : pyqtgraph.GraphicsLayoutWidget or None
        Its background is set (None: leave the background alone).
    plots : iterable of pyqtgraph.PlotItem
        Every axis that is shown, the title and the legend follow the theme.
    dark : bool
    """
    colours = plot_colours(dark)
    if view is not None:
        view.setBackground(colours["bg"])
    fg = colours["fg"]
    for plot in plots:
        for axis in ("left", "bottom", "right", "top"):
            if axis not in plot.axes:
                continue
            ax = plot.getAxis(axis)
            ax.setPen(fg)
            ax.setTextPen(fg)
        plot.titleLabel.setAttr("color", fg)
        if plot.titleLabel.text:  # setTitle("") would add an empty title row
            plot.setTitle(plot.titleLabel.text)
        if plot.legend is not None:
            plot.legend.setLabelTextColor(fg)
            plot.legend.setBrush(QColor(30, 31, 34, 210) if dark else QColor(255, 255, 255, 210))
