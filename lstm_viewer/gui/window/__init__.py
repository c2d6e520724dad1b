"""The main window: composition of the canvas, the panels, the menus and playback."""
