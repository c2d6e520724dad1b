"""Run lstm-viewer from a source checkout: ``python main.py [PATH | COMMAND ...]``."""

import sys

from lstm_viewer.app import main

if __name__ == "__main__":
    sys.exit(main())
