"""What every component family shares: additive statistics and the empty-component rule.

A *family* is everything that depends on what a component (a mixture
component, an HMM state) emits, and nothing else.  Estimators hold one and
never ask which it is.  The protocol, implemented by :mod:`.gaussian`,
:mod:`.categorical` and :mod:`.poisson`:

``name``, ``parameter_names``
    The registry key, and the learnable parameters (the vocabulary of
    ``fixed_params``).
``init_arguments``
    Which estimator argument holds the starting value of each parameter
    (``{"means": "means_init", ...}``).
``allow_nan``, ``check_X(X)``, ``configure(X, options)``
    Input checks beyond scikit-learn's, and a copy of the family completed
    from the training data (e.g. the number of symbols).
``check_init(name, value, n_components, n_features)``
    A validated copy of a user-supplied starting array.
``prepare(X, sample_weight=None, n_components=1, reference=None)``
    The data in the form the family computes on, prepared once per fit.
``shift_of(X, has_nan)``, ``row_floats(n_components, n_features, incomplete)``
    The center parts of a large ``X`` are prepared around (None: not
    centered), and the float64 values prepared data hold per row (the HMM
    sizes its parts with it).
``evaluator(data, params)``
    Per-row, per-component log-likelihoods and statistics for fixed
    parameters (:class:`Evaluator`).
``statistics(data, resp)``, ``m_step(stats, previous, fixed)``
    Sufficient statistics for given responsibilities, and the parameters that
    maximize them.  ``previous`` may be None (initialization).
``initialize(data, resp, random_state)``
    Starting parameters from starting responsibilities.
``n_parameters(n_components, n_features, fixed)``, ``attributes(params)``,
``params_from(attributes)``, ``sample(rng, params, labels)``
    Model selection, the fitted attributes the estimator exposes (and back),
    and sampling.

Statistics are values that add: ``stats(A) + stats(B) == stats(A then B)``
and ``c * stats(A)`` is the statistics of A with every weight multiplied by
``c``.  Chunked E-steps, sequences, streaming and distributed fits rest on it.
"""

import dataclasses
import numbers

import numpy as np

# A component needs at least this much posterior weight to be re-estimated.
MIN_WEIGHT = 1e-10


class Statistics:
    """Base of additive sufficient statistics (subclasses are dataclasses).

    Every field is an array (or a nested :class:`Statistics`) that adds
    elementwise and scales by a number.
    """

    def _fields(self):
        return [field.name for field in dataclasses.fields(self)]

    def __add__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return type(self)(**{name: getattr(self, name) + getattr(other, name)
                             for name in self._fields()})

    def __mul__(self, factor):
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real):
            return NotImplemented
        return type(self)(**{name: factor * getattr(self, name) for name in self._fields()})

    __rmul__ = __mul__


def keep_unvisited(new, old, visited):
    """The one rule for a component with no weight: it keeps its previous parameters.

    The data say nothing about such a component and any value would maximize
    the likelihood, so keeping ``old`` is the stable choice (and never NaN).
    ``new`` where ``visited``, ``old`` elsewhere; ``new`` when there is no
    ``old`` (initialization).
    """
    if old is None or np.all(visited):
        return new
    mask = np.reshape(visited, (-1,) + (1,) * (np.ndim(new) - 1))
    return np.where(mask, new, old)


def dirichlet_mode(counts, prior, axis=-1):
    """Mode of the Dirichlet posterior: ``max(prior - 1 + counts, 0)`` normalized.

    Slices with nothing to normalize come back as NaN; the caller keeps the
    previous values there (:func:`keep_unvisited`).
    """
    mode = np.maximum(prior - 1.0 + counts, 0.0)
    total = mode.sum(axis=axis, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return mode / total


class Evaluator:
    """Log-likelihoods and statistics of one family's components for fixed parameters.

    Data are visited in chunks (cache-sized row blocks, missingness patterns,
    or all rows at once).  A chunk is whatever :meth:`chunks` yields; the
    evaluator answers, for a chunk, the original indices of its rows
    (:meth:`rows`), its ``(n_components, n_rows)`` log-likelihoods
    (:meth:`log_prob`) and, for weights of the same shape, adds its statistics
    to an accumulator (:meth:`accumulate`).
    """

    def __init__(self, data, n_components):
        self.data = data
        self.n_components = n_components

    def chunks(self):
        raise NotImplementedError

    def rows(self, chunk):
        raise NotImplementedError

    def log_prob(self, chunk):
        raise NotImplementedError

    def relative_log_prob(self, chunk, rows):
        """Log-likelihoods of ``rows`` of ``chunk`` up to a per-row constant.

        For rows whose log-likelihood under every component is ``-inf`` in
        floating point (so far out that it underflows): the posterior is still
        defined, as the limit.  Families that cannot tell return None.
        """
        return None

    def new_statistics(self):
        raise NotImplementedError

    def accumulate(self, stats, chunk, weights):
        raise NotImplementedError

    def finish(self, stats):
        """The accumulated statistics as the family's :class:`Statistics`."""
        return stats

    def chunk_weights(self, chunk):
        """Sample weights of the chunk's rows, or None."""
        weights = getattr(self.data, "sample_weight", None)
        return None if weights is None else weights[self.rows(chunk)]

    # -- whole-data forms (the HMM's E-step) ---------------------------------------------
    def log_likelihood(self):
        """``(n_components, n_samples)`` log-likelihoods, rows in input order."""
        out = np.empty((self.n_components, self.data.n_samples))
        for chunk in self.chunks():
            out[:, self.rows(chunk)] = self.log_prob(chunk)
        return out

    def statistics(self, weights):
        """Statistics for ``weights`` of shape (n_components, n_samples), input order."""
        stats = self.new_statistics()
        for chunk in self.chunks():
            # A view where the rows are a slice (the HMM's gamma.T is read in place).
            self.accumulate(stats, chunk, weights[:, self.rows(chunk)])
        return self.finish(stats)
