"""The cell diagram: a scene of graphics items that needs no window, and the canvas that shows it."""
