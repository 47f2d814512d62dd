"""BLAS threading for loops of small matrix products, safe under concurrency."""

import contextlib
import threading

# threadpoolctl is a dependency of scikit-learn (>= 3.1 with scikit-learn 1.6).
from threadpoolctl import ThreadpoolController

_lock = threading.Lock()
_state = {"controller": None, "depth": 0, "limiter": None}


@contextlib.contextmanager
def single_threaded_blas():
    """Run the enclosed matrix products on one BLAS thread.

    Sequence recursions multiply (n_chains, K) blocks by K x K matrices
    thousands of times, and tall-skinny products follow them.  A threaded BLAS
    spends more time waking (or waiting for) its threads than computing:
    measured on two cores, ``(200000 x 6) @ (6 x 6)`` took 4 ms on one thread
    and 80 ms on two while the other core was busy.  The same holds for the
    mixture E-step's chunk-sized products: ``(10 x 3449) @ (3449 x 152)`` took
    0.8 ms on one thread and 48-140 ms on two with the other core loaded, so
    estimators run their E-steps on one thread and get parallelism from
    restarts (``n_jobs``) instead.

    The BLAS thread count is process-wide, so concurrent callers share one
    limit: the first to enter sets it, the last to leave restores the value
    found by the first (a counter under a lock).  Overlapping limits each
    restoring what the other set would otherwise leave the whole process on one
    thread.
    """
    with _lock:
        if _state["controller"] is None:
            _state["controller"] = ThreadpoolController()
        if _state["depth"] == 0:
            _state["limiter"] = _state["controller"].limit(limits=1, user_api="blas")
        _state["depth"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["depth"] -= 1
            if _state["depth"] == 0:
                _state["limiter"].restore_original_limits()
                _state["limiter"] = None
