"""lstm-viewer: watch a trained LSTM think, one token at a time."""

__version__ = "0.1.0"
