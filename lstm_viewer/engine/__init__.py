"""The NumPy LSTM engine: model description, equations, traces, interventions.

Imports NumPy only — never Qt — so it runs in a notebook, the CLI and tests.
Large records reuse the memory of traces already dropped (up to 256 MiB is
kept for that); :func:`release_memory` gives it back.
"""

from .arena import release_memory
from .cell import lstm_step, sigmoid, softmax
from .interventions import Intervention, InterventionError
from .interventions import parse as parse_intervention
from .model import GATES, CellWeights, Head, Layer, LSTMModel, ModelError
from .trace import DirectionTrace, InputError, Trace, TraceRun, prepare_inputs, run

__all__ = [
    "GATES", "CellWeights", "DirectionTrace", "Head", "InputError", "Intervention",
    "InterventionError", "LSTMModel", "Layer", "ModelError", "Trace", "TraceRun",
    "lstm_step", "parse_intervention", "prepare_inputs", "release_memory", "run", "sigmoid",
    "softmax",
]
