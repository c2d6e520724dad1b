"""Panels: each a view of the ViewerState, docked in the window's tabbed areas."""
