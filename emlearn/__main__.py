"""``python -m emlearn``: the demo, or the ``impute`` / ``cluster`` commands for CSV files."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
