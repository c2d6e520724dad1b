"""``python -m lstm_viewer.training [all | latch | counting | peephole | charlm | corpus]``."""

import sys

from .bundled import main

sys.exit(main())
