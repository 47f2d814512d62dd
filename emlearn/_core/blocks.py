"""EM on a dask array: the E-step maps row blocks to statistics, the M-step reduces them.

A fit never gathers the data to the client.  Each row block is prepared once
where it lives (``family.prepare``) and persisted there; every E-step sends the
parameters (kilobytes) to the blocks and brings back each block's
log-likelihood and additive statistics (kilobytes), which are summed; the
M-step is the in-memory one.  ``dask.compute`` uses the active scheduler: the
threaded one by default, a cluster when a ``distributed.Client`` is active.

dask is optional: this module imports it only when a dask array is passed.
"""

import functools
import warnings
from typing import NamedTuple

import numpy as np

# Rows drawn (uniformly, without replacement, with the restart's random state)
# to compute starting values when the data live in blocks.
INIT_SAMPLE = 20_000


def is_dask_array(X):
    """Whether ``X`` is a dask array (without importing dask)."""
    return type(X).__module__.split(".")[0] == "dask" and hasattr(X, "to_delayed")


class Summary(NamedTuple):
    """What a fit needs to know of a dask array before EM, from one pass over its blocks.

    Attributes
    ----------
    infinite, missing : bool
        Whether an entry is infinite; whether one is NaN.
    top, bottom : float
        Largest and smallest non-NaN entries (NaN when there is none).
    counts : ndarray of shape (n_features,)
        Number of non-NaN entries of each column.
    means, variances : ndarray of shape (n_features,)
        Mean and (biased) variance of each column's non-NaN entries, in
        float64 (NaN for a column without any).
    """

    infinite: bool
    missing: bool
    top: float
    bottom: float
    counts: np.ndarray
    means: np.ndarray
    variances: np.ndarray


# The summary of the array being fitted, by its dask name: the checks and the centering
# of a fit read it, so that they cost one pass together.  Every fit's check computes it
# afresh (the numpy array behind a dask array may have changed since the last fit).
_SUMMARIES = {}


def summary(X):
    """The :class:`Summary` of a dask array (computed once, with the active scheduler)."""
    import dask
    import dask.array as da

    known = _SUMMARIES.get(X.name)
    if known is not None:
        return known
    # Each reduction converts its own blocks (float64 accumulators, no shared float64
    # copy of X that the scheduler would keep while every reduction reads it).
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column or block
        values = dask.compute(da.isinf(X).any(), da.nanmax(X), da.nanmin(X),
                              da.count_nonzero(~da.isnan(X), axis=0),
                              da.nanmean(X, axis=0, dtype=np.float64),
                              da.nanvar(X, axis=0, dtype=np.float64))
    infinite, top, bottom, counts, means, variances = values
    counts = np.asarray(counts)
    known = Summary(bool(infinite), bool(counts.sum() < X.size), float(top), float(bottom),
                    counts, np.asarray(means), np.asarray(variances))
    _SUMMARIES.clear()
    _SUMMARIES[X.name] = known
    return known


def check_dask_array(X, allow_nan):
    """A 2-D float dask array with one chunk across columns, persisted, and whether it has
    NaN; a ValueError otherwise.

    Infinite values (and NaN, unless allowed) are looked for in the one pass of
    :func:`summary`.
    """
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D dask array, got {X.ndim} dimensions.")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must have rows and columns, got shape {X.shape}.")
    if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
        raise ValueError(f"X must be numeric, got dtype {X.dtype}.")
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    X = X.persist()
    _SUMMARIES.clear()
    found = summary(X)
    if found.infinite or (found.missing and not allow_nan):
        raise ValueError("Input X contains infinity or NaN." if found.infinite
                         else "Input X contains NaN.")
    return X, found.missing


class BlockedData:
    """Prepared row blocks of a dask array, persisted where they live.

    Parameters
    ----------
    X : dask.array.Array
        Persisted, one chunk across columns.
    prepare : callable
        ``prepare(block, start, stop) -> data`` for the rows ``start:stop``;
        runs where the block lives.
    row_blocks : list of (int, int), default=None
        Row ranges of the blocks; the array's own chunks when None (the HMM
        passes ranges aligned with sequences).
    """

    def __init__(self, X, prepare, row_blocks=None):
        import dask

        self.X = X
        self.n_samples, self.n_features = X.shape
        if row_blocks is None:
            bounds = np.concatenate([[0], np.cumsum(X.chunks[0])])
            row_blocks = list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))
        self.row_blocks = row_blocks
        pieces = [dask.delayed(prepare)(X[start:stop], start, stop)
                  for start, stop in row_blocks]
        self.blocks = dask.persist(*pieces)

    def sample(self, random_state, size=INIT_SAMPLE):
        """A uniform sample of at most ``size`` rows, in their order, as numpy."""
        if self.n_samples <= size:
            return np.asarray(self.X.compute())
        rows = np.sort(random_state.choice(self.n_samples, size=size, replace=False))
        return np.asarray(self.X[rows].compute())


def set_input_attributes(estimator, X):
    """What scikit-learn's ``validate_data`` records, for a dask array (no feature names)."""
    if hasattr(estimator, "feature_names_in_"):
        del estimator.feature_names_in_
    estimator.n_features_in_ = X.shape[1]


def prepare_block(family, shift, n_components, incomplete, block, start, stop):
    """A block's data for the E-step, centered like every other block (runs on a worker).

    ``incomplete`` is whether the whole array has missing values: then every
    block takes the missing-data form, so that all blocks' statistics are
    computed (and centered) alike.
    """
    return family.prepare(np.asarray(block), n_components=n_components, shift=shift,
                          incomplete=incomplete)


def prepare_rows(family, shift, rows):
    """Sampled rows (numpy) as the data starting values are computed from."""
    return family.prepare(rows, shift=shift)


def _block_e_step(model, data, params):
    from .threads import single_threaded_blas  # blocks run in parallel: one BLAS thread each

    with single_threaded_blas():
        mean, stats = model.e_step(data, params)
    weight = data.total_weight
    return mean * weight, weight, stats


class BlockedModel:
    """An EM model run block by block: the same parameters, summed statistics.

    ``initial_data(sample)`` turns a numpy sample of rows into the data the
    wrapped model initializes from.
    """

    def __init__(self, model, initial_data):
        self.model = model
        self.initial_data = initial_data

    def initialize(self, data, random_state):
        return self.model.initialize(self.initial_data(data.sample(random_state)), random_state)

    def e_step(self, data, params):
        import dask

        parts = dask.compute(*[dask.delayed(_block_e_step)(self.model, block, params)
                               for block in data.blocks])
        total = sum(part[0] for part in parts)
        weight = sum(part[1] for part in parts)
        stats = parts[0][2]
        for part in parts[1:]:
            stats = stats + part[2]
        return total / weight, stats

    def m_step(self, stats, params):
        return self.model.m_step(stats, params)


def map_rows(X, function, n_columns=None, dtype=np.float64):
    """``function`` applied to each row block of a dask array, lazily.

    ``n_columns`` is the width of the output (None for one value per row).
    """
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    if n_columns is None:
        return X.map_blocks(function, drop_axis=1, dtype=dtype)
    return X.map_blocks(function, chunks=(X.chunks[0], (n_columns,)), dtype=dtype)


def map_sequences(X, lengths, function, n_columns=None, dtype=np.float64):
    """``function(block, lengths=...)`` on blocks of whole sequences of a dask array, lazily.

    The array is re-chunked on sequence boundaries (blocks of about its largest
    chunk, see :func:`sequence_blocks`), so that each block's recursions are
    exact; ``function`` gets the lengths of its block's sequences.
    ``n_columns`` is the width of the output (None for one value per row).
    """
    blocks = sequence_blocks(lengths, max(X.chunks[0]))
    X = X.rechunk({0: tuple(stop - start for start, stop, _, _ in blocks), 1: -1})
    apply = functools.partial(_apply_to_sequences, function=function,
                              lengths=[lengths[first:last] for _, _, first, last in blocks])
    if n_columns is None:
        return X.map_blocks(apply, drop_axis=1, dtype=dtype)
    return X.map_blocks(apply, chunks=(X.chunks[0], (n_columns,)), dtype=dtype)


def _apply_to_sequences(block, block_info=None, *, function, lengths):
    return function(block, lengths=lengths[block_info[0]["chunk-location"][0]])


def sequence_blocks(lengths, target_rows):
    """Row ranges of whole sequences, each about ``target_rows`` long (at least one sequence)."""
    ends = np.cumsum(lengths)
    blocks, start, first = [], 0, 0
    for i, end in enumerate(ends):
        if end - start >= target_rows or i == len(ends) - 1:
            blocks.append((int(start), int(end), first, i + 1))
            start, first = end, i + 1
    return blocks
