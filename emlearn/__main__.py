"""``python -m emlearn``: a short demo of the estimators on scikit-learn's bundled data."""

import sys

from ._demo import main

if __name__ == "__main__":
    sys.exit(main())
