"""Play/pause, stepping and speed: a timer that advances ``state.t``."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from ..viewer_state import ViewerState

#: Longest animation of one step (ms); faster playback shortens it.
ANIMATION_MS = 300


class Playback(QObject):
    """Advances the state's step on a timer while playing.

    Parameters
    ----------
    state : ViewerState
        Reads ``speed``/``length``; writes ``t`` and ``playing``.

    Signals
    -------
    ticked(int)
        After each automatic step, with the new t.
    """

    ticked = Signal(int)
    playingChanged = Signal(bool)

    def __init__(self, state: ViewerState, parent=None):
        super().__init__(parent)
        self.state = state
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        state.events.speed.connect(self._on_speed)
        state.events.playing.connect(self._on_playing)
        state.events.trace.connect(self._on_trace)
        self._on_speed(None)

    @property
    def interval_ms(self) -> int:
        return max(1, int(round(1000.0 / self.state.speed)))

    @property
    def animation_ms(self) -> int:
        """Step animation length: 300 ms, or less so it ends before the next step."""
        return int(min(ANIMATION_MS, 0.75 * self.interval_ms))

    # -- commands (the window's actions call these) ------------------------
    def toggle(self) -> None:
        self.state.set_playing(not self.state.playing)

    def play(self) -> None:
        if self.state.length and self.state.t >= self.state.length - 1:
            self.state.set_step(0)  # play from the start when parked at the end
        self.state.set_playing(True)

    def pause(self) -> None:
        self.state.set_playing(False)

    def step(self, delta: int) -> None:
        self.state.set_playing(False)
        self.state.set_step(self.state.t + delta)

    def first(self) -> None:
        self.state.set_playing(False)
        self.state.set_step(0)

    def last(self) -> None:
        self.state.set_playing(False)
        self.state.set_step(self.state.length - 1)

    # -- state events --------------------------------------------------------
    def _on_speed(self, event) -> None:
        self.timer.setInterval(self.interval_ms)

    def _on_playing(self, event) -> None:
        if self.state.playing:
            if self.state.t >= self.state.length - 1:
                self.state.set_step(0)
            self.timer.start()
        else:
            self.timer.stop()
        self.playingChanged.emit(self.state.playing)

    def _on_trace(self, event) -> None:
        if self.state.length == 0:
            self.state.set_playing(False)

    def _tick(self) -> None:
        state = self.state
        if state.t >= state.length - 1:
            state.set_playing(False)
            return
        state.set_step(state.t + 1)
        self.ticked.emit(state.t)
        if state.t >= state.length - 1:
            state.set_playing(False)
