"""The desktop app (PySide6 + pyqtgraph). Importing this package imports Qt.

Entry point: :func:`lstm_viewer.gui.launch.launch`. The window is
:class:`~lstm_viewer.gui.main_window.MainWindow`; its views all take the
Qt-free :class:`~lstm_viewer.gui.viewer_state.ViewerState`.
"""
