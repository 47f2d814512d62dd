"""BLAS threading for loops of small matrix products."""

import contextlib

# threadpoolctl is a dependency of scikit-learn (>= 3.1 with scikit-learn 1.6).
from threadpoolctl import ThreadpoolController

_controller = None


@contextlib.contextmanager
def single_threaded_blas():
    """Run the enclosed matrix products on one BLAS thread.

    Sequence recursions multiply (n_chains, K) blocks by K x K matrices
    thousands of times, and tall-skinny products follow them.  A threaded BLAS
    spends more time waking (or waiting for) its threads than computing:
    measured on two cores, ``(200000 x 6) @ (6 x 6)`` took 4 ms on one thread
    and 80 ms on two while the other core was busy.
    """
    global _controller
    if _controller is None:
        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield
