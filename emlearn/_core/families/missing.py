"""The Gaussian E-step with missing values, written once for every estimator.

For a row whose coordinates ``o`` are observed and ``m`` missing, and a
Gaussian component with mean ``mu``, covariance ``S`` and precision ``P``:

* the marginal density of the observed coordinates is ``N(x_o | mu_o, S_oo)``;
* the missing coordinates have the conditional mean
  ``x_m = mu_m + S_mo inv(S_oo) (x_o - mu_o) = mu_m - inv(P_mm) P_mo (x_o - mu_o)``
  and the conditional covariance ``C = S_mm - S_mo inv(S_oo) S_om = inv(P_mm)``;
* the expected sufficient statistics are those of the completed row, plus
  ``C`` added to the second moments of the missing block.  Without that
  correction the covariance would be biased low.

Each (pattern, component) pair costs one factorization, of the smaller of two
blocks: the precision's missing block ``P_mm`` (size ``s``, the number of
missing values) when ``s <= d - s``, else the covariance's observed block
``S_oo``.  On the missing side the completed row gives the Mahalanobis
distance (``(x_o - mu_o) inv(S_oo) (x_o - mu_o) = (x - mu) P (x - mu)``) and
``det S_oo = det S / det P_mm``.  On the observed side, the conditional
covariances enter the statistics as ``w S - S (sum_p w_p inv(S_oo)) S`` summed
over patterns, one sandwich product per component at the end.

Rows are grouped by missingness pattern, and patterns by the side and size of
their block.  Patterns of different sizes are stacked by padding: a block of
size ``s`` padded to ``S >= s`` gets ``S - s`` extra slots that point to a
dummy coordinate (index ``d``) whose matrix row and column are zero, and
whose diagonal slot is set to one.  The padded matrix is ``[[B, 0], [0, I]]``:
its Cholesky factor, log-determinant and inverse are exactly those of ``B``
with an identity block, and the dummy coordinate of every row stays at zero.
So one batched Cholesky of shape ``(n_components, n_patterns, S, S)`` serves
every pattern of a block, and the per-row work is a handful of batched
products; no Python loop runs over rows or patterns.  Which sizes share a
block is chosen by a small cost model (:func:`_bucket_sizes`): padding costs
flops, every block costs a fixed overhead of numpy calls.

Posterior draws use Matheron's rule: if ``u ~ N(0, S)``, then
``x_m + u_m - E[u_m | u_o]`` is a draw from the conditional distribution, so
drawing needs no factor of ``C`` beyond the conditioning already done.
"""

import functools
from typing import NamedTuple

import numpy as np

from .covariance import LOG_2PI, _not_positive_definite

# Cost model of a block of padded size S, in units of ~17 ns (measured with
# numpy 2.4 / OpenBLAS on the development machine, d = 61): a fixed overhead of
# numpy calls, then per pattern ~S^2 + 60 (at these sizes the batched kernels
# are bound by per-matrix overheads and memory traffic, not by their S^3 flops),
# and per row ~S^2 / 2 for gathering its pattern's arrays.
_BLOCK_OVERHEAD = 9000.0
_PATTERN_OVERHEAD = 60.0
_ROW_COST = 0.5

# Rows per block are capped so that its temporaries stay near 2 MiB each: the
# batched small-matrix kernels slow down ~2x per pattern once they leave cache.
_BLOCK_BUDGET = 1 << 18


class PatternBlock(NamedTuple):
    """Consecutive rows (in pattern order) whose patterns share one factorization shape.

    Attributes
    ----------
    start, stop : int
        The block's rows in the sorted order of :class:`IncompleteData`.
    on_missing : bool
        True if the block factorizes the precision's missing block, False if
        the covariance's observed block.
    index : ndarray of shape (n_patterns, size)
        The coordinates of each pattern's factorized block (missing or
        observed, ascending), padded with the dummy index ``d``.
    padding : ndarray of shape (n_patterns, size)
        1.0 on padded slots (the identity block), 0.0 elsewhere.
    scatter_index : ndarray of shape (n_patterns, size, size)
        Flat indices of each pattern's block in a ``(d + 1, d + 1)`` matrix.
    pattern_of_row : ndarray of shape (n_rows,)
        Each row's pattern, an index into ``index``.
    pattern_starts : ndarray of shape (n_patterns,)
        First row of each pattern (rows of one pattern are contiguous).
    n_observed : ndarray of shape (n_rows,)
        Number of observed coordinates of each row.
    row_index : ndarray of shape (n_rows, size)
        Flat indices of each row's factorized coordinates in the block's
        ``(n_rows, d + 1)`` rows (gathers and scatters without index arrays
        built at every E-step).
    one_row_per_pattern : bool
        Whether every row has its own pattern (then ``pattern_of_row`` is
        ``arange(n_rows)`` and per-pattern arrays need no gathering).
    """

    start: int
    stop: int
    on_missing: bool
    index: np.ndarray
    padding: np.ndarray
    scatter_index: np.ndarray
    pattern_of_row: np.ndarray
    pattern_starts: np.ndarray
    n_observed: np.ndarray
    row_index: np.ndarray
    one_row_per_pattern: bool


# Rows read at a time by every whole-data pass (column means, NaN checks,
# imputation): their temporaries stay small, and a memmap is never copied whole.
# Rows with missing entries are grouped by pattern this many at a time when the
# grouping of all rows is not kept.
PART_ROWS = 1 << 16


def row_parts(n_rows):
    """``(start, stop)`` of consecutive parts of at most ``PART_ROWS`` rows."""
    for start in range(0, n_rows, PART_ROWS):
        yield start, min(start + PART_ROWS, n_rows)


def observed_means(X, sample_weight=None):
    """Column means of the observed (non-NaN) entries, in float64 (0 for a column with none).

    Accumulated part by part (:func:`row_parts`): ``X`` (a memmap, say) is never
    copied whole.
    """
    counts, sums = np.zeros(X.shape[1]), np.zeros(X.shape[1])
    for start, stop in row_parts(X.shape[0]):
        rows = np.asarray(X[start:stop], dtype=np.float64)
        observed = ~np.isnan(rows)
        values = np.where(observed, rows, 0.0)
        if sample_weight is None:
            counts += observed.sum(axis=0)
            sums += values.sum(axis=0)
        else:
            weights = sample_weight[start:stop]
            counts += weights @ observed
            sums += weights @ values
    return np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0)


def _distinct_patterns(missing):
    """The distinct rows of ``missing`` (n_patterns, d), in lexicographic order, and each
    row's pattern.

    Each row is packed into 64-bit words (big-endian, so that the words sort as
    the rows do) and the words are sorted as integers: 6-8x faster than
    ``np.unique(..., axis=0)`` on the bytes, which sorts rows as opaque records.
    """
    packed = np.packbits(missing, axis=1)
    words = -(-packed.shape[1] // 8)
    padded = np.zeros((len(packed), 8 * words), dtype=np.uint8)
    padded[:, :packed.shape[1]] = packed
    keys = padded.view(">u8").astype(np.uint64)
    # Stable: each pattern's first row in the sorted order is its first row in X.
    order = (np.argsort(keys[:, 0], kind="stable") if words == 1
             else np.lexsort(keys.T[::-1]))
    ordered = keys[order]
    starts = np.ones(len(keys), dtype=bool)
    starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    pattern_of_row = np.empty(len(keys), dtype=np.intp)
    pattern_of_row[order] = np.cumsum(starts) - 1
    return missing[order[starts]], pattern_of_row


def _bucket_sizes(sizes, n_patterns, n_rows):
    """Group the distinct block sizes into blocks padded to their largest size.

    ``sizes`` are sorted distinct sizes of the factorized blocks, with the
    number of patterns and rows of each.  Returns the largest size of each
    group and the modelled cost, chosen by dynamic programming to minimize it
    (padding adds work, every extra block adds a fixed overhead).
    """
    patterns_before = np.concatenate([[0.0], np.cumsum(n_patterns, dtype=np.float64)])
    rows_before = np.concatenate([[0.0], np.cumsum(n_rows, dtype=np.float64)])
    best = np.zeros(len(sizes) + 1)
    first_of_last = np.zeros(len(sizes) + 1, dtype=int)
    for end in range(1, len(sizes) + 1):
        size = float(sizes[end - 1])
        # cost of a last block covering sizes[start:end] padded to ``size``
        costs = (
            best[:end]
            + _BLOCK_OVERHEAD
            + (size**2 + _PATTERN_OVERHEAD) * (patterns_before[end] - patterns_before[:end])
            + _ROW_COST * size**2 * (rows_before[end] - rows_before[:end])
        )
        first_of_last[end] = int(np.argmin(costs))
        best[end] = costs[first_of_last[end]]
    tops = []
    end = len(sizes)
    while end > 0:
        tops.append(int(sizes[end - 1]))
        end = first_of_last[end]
    return tops[::-1], float(best[-1])


def _side_plan(sizes, n_rows, on_observed):
    """``(cost, tops on the missing side, tops on the observed side)`` of an assignment."""
    plan = [0.0]
    for side in (False, True):
        chosen = on_observed == side
        if not chosen.any():
            plan.append([])
            continue
        distinct, where = np.unique(sizes[chosen], return_inverse=True)
        tops, cost = _bucket_sizes(distinct, np.bincount(where),
                                   np.bincount(where, weights=n_rows[chosen]))
        plan[0] += cost
        plan.append(tops)
    return plan


def _choose_sides(n_missing, n_rows, n_features):
    """Which patterns factorize their observed block, and the bucket tops of each side.

    Each pattern's smaller block is cheapest on its own, but two sides cost
    two sets of blocks: on narrow data one side for every pattern can be
    cheaper.  The cheapest of the three assignments under the cost model wins.
    """
    n_observed = n_features - n_missing
    candidates = []
    for on_observed in (n_missing > n_observed, np.zeros_like(n_missing, dtype=bool),
                        np.ones_like(n_missing, dtype=bool)):
        sizes = np.where(on_observed, n_observed, n_missing)
        cost, missing_tops, observed_tops = _side_plan(sizes, n_rows, on_observed)
        candidates.append((cost, len(candidates), on_observed, sizes,
                           missing_tops, observed_tops))
    return min(candidates, key=lambda candidate: candidate[:2])[2:]


def _padded_coordinates(selected, size):
    """Selected coordinates of each pattern (ascending), padded with ``d`` to ``size``."""
    d = selected.shape[1]
    # A stable sort of ~selected lists the selected coordinates first, in order.
    coordinates = np.argsort(~selected, axis=1, kind="stable")[:, :size]
    padded = np.arange(size) >= selected.sum(axis=1)[:, None]
    coordinates[padded] = d
    return coordinates, padded.astype(np.float64)


def _make_block(start, stop, sorted_patterns, patterns, on_missing, size):
    local = sorted_patterns[start:stop]
    new_pattern = np.concatenate([[True], local[1:] != local[:-1]])
    pattern_starts = np.flatnonzero(new_pattern)
    pattern_of_row = np.cumsum(new_pattern) - 1
    block_patterns = patterns[local[pattern_starts]]
    n_features = patterns.shape[1]
    index, padding = _padded_coordinates(
        block_patterns if on_missing else ~block_patterns, size)
    return PatternBlock(
        start=start,
        stop=stop,
        on_missing=on_missing,
        index=index,
        padding=padding,
        scatter_index=index[:, :, None] * (n_features + 1) + index[:, None, :],
        pattern_of_row=pattern_of_row,
        pattern_starts=pattern_starts,
        n_observed=n_features - block_patterns.sum(axis=1)[pattern_of_row],
        row_index=np.arange(stop - start)[:, None] * (n_features + 1) + index[pattern_of_row],
        one_row_per_pattern=len(pattern_starts) == stop - start,
    )


class IncompleteData:
    """Rows of ``X`` with missing entries (NaN), grouped by missingness pattern.

    The counterpart of :class:`~emlearn._core.gaussian.CenteredData` for the
    missing-data E-step.  Rows are stored in float64, centered on ``shift``
    (by default the observed column means), in pattern order (``order[i]`` is
    the original index of sorted row ``i``), with one extra dummy coordinate
    that is always zero.  Missing entries are stored as zeros next to an
    ``observed`` mask.  ``X`` itself is never modified.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Data with NaN for missing entries.
    shift : ndarray of shape (n_features,), default=None
        Centering; the observed column means when None.
    sample_weight : ndarray of shape (n_samples,), default=None
    n_components : int, default=1
        Number of components the blocks are sized for (temporaries grow with
        it).
    """

    def __init__(self, X, shift=None, sample_weight=None, n_components=1):
        X = np.asarray(X)  # a view of rows computed when read (MappedRows) is read once
        missing = np.isnan(X)
        self.X = X
        self.missing = missing
        self.n_samples, self.n_features = X.shape
        d = self.n_features
        self.sample_weight = sample_weight
        self.total_weight = (
            float(self.n_samples) if sample_weight is None else float(sample_weight.sum())
        )
        self.shift = observed_means(X, sample_weight) if shift is None else shift

        patterns, pattern_of_row = _distinct_patterns(missing)
        on_observed, sizes, missing_tops, observed_tops = _choose_sides(
            patterns.sum(axis=1), np.bincount(pattern_of_row).astype(np.float64), d)
        self.order = np.lexsort(
            (pattern_of_row, sizes[pattern_of_row], on_observed[pattern_of_row]))
        sorted_missing = missing[self.order]
        self.values = np.zeros((self.n_samples, d + 1))
        np.subtract(X[self.order], self.shift, out=self.values[:, :d])
        self.values[:, :d][sorted_missing] = 0.0
        self.observed = np.zeros((self.n_samples, d + 1))
        self.observed[:, :d] = ~sorted_missing
        self.sorted_weight = None if sample_weight is None else sample_weight[self.order]

        # Rows are sorted by side, then size, then pattern: each bucket of
        # sizes is a run of rows, cut into blocks of bounded memory.
        sorted_patterns = pattern_of_row[self.order]
        row_sizes = sizes[sorted_patterns]
        row_sides = on_observed[sorted_patterns]
        self.blocks = []
        row = 0
        for on_missing, tops in ((True, missing_tops), (False, observed_tops)):
            for top in tops:
                stop = row + int(np.count_nonzero(
                    (row_sides[row:] != on_missing) & (row_sizes[row:] <= top)))
                per_row = n_components * (top * top + 2 * (d + 1))
                step = max(1, _BLOCK_BUDGET // per_row)
                for start in range(row, stop, step):
                    self.blocks.append(_make_block(start, min(start + step, stop),
                                                   sorted_patterns, patterns, on_missing, top))
                row = stop

    def weights(self, block):
        """Sample weights of a block's rows (None when unweighted)."""
        return None if self.sorted_weight is None else self.sorted_weight[block.start:block.stop]

    def parts(self):
        """``(first row, data)`` of each part the E-step visits: all rows at once."""
        yield 0, self

    def mean_imputed(self):
        """The data with missing entries replaced by ``shift``, as :class:`CenteredData`.

        Starting values for EM come from it, so they never rely on complete
        rows (at 20% missing, wide data sets have none).
        """
        return _mean_imputed(self)


class StreamedIncompleteData:
    """Rows with missing entries, grouped by pattern one part of rows at a time.

    The counterpart of :class:`IncompleteData` for data whose grouped copies
    (about 16 bytes per entry) would not fit comfortably in memory: each E-step
    groups ``PART_ROWS`` rows at a time and lets them go, so memory stays
    bounded by a part, at the price of grouping again at every iteration
    (measured: about as long as the E-step itself).  ``X`` may be a memmap.
    """

    def __init__(self, X, shift=None, sample_weight=None, n_components=1):
        self.X = X
        self.n_samples, self.n_features = X.shape
        self.sample_weight = sample_weight
        self.n_components = n_components
        self.total_weight = (
            float(self.n_samples) if sample_weight is None else float(sample_weight.sum())
        )
        self.shift = observed_means(X, sample_weight) if shift is None else shift

    def parts(self):
        for start, stop in row_parts(self.n_samples):
            weights = None if self.sample_weight is None else self.sample_weight[start:stop]
            yield start, IncompleteData(np.asarray(self.X[start:stop]), self.shift, weights,
                                        self.n_components)

    def mean_imputed(self):
        """The rows with missing entries set to ``shift``, filled as they are read."""
        return _mean_imputed(self)


def _mean_imputed(data):
    """:class:`~.gaussian.CenteredData` of ``data``'s rows, NaN filled with its ``shift``."""
    from .gaussian import CenteredData  # the complete-data counterpart

    return CenteredData(MappedRows(data.X, functools.partial(_fill_nan, fill=data.shift)),
                        data.shift, data.sample_weight)


def _fill_nan(rows, fill):
    return np.where(np.isnan(rows), fill, rows)


class MappedRows:
    """Rows of ``X`` passed through ``function`` (float64 rows in, float64 rows out of
    the same shape) when indexed: a view of transformed data that is never stored.

    ``function`` must be picklable (restarts may run in other processes).
    """

    def __init__(self, X, function, n_columns=None):
        self.X, self.function = X, function
        self.shape = (X.shape[0], X.shape[1] if n_columns is None else n_columns)
        self.dtype = np.dtype(np.float64)
        self.ndim = 2

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, index):
        return self.function(np.array(self.X[index], dtype=np.float64))

    def __array__(self, dtype=None, copy=None):
        rows = self[:]
        return rows if dtype is None else rows.astype(dtype)


def _lower_triangular_inverse(lower):
    """Inverses of stacked lower-triangular matrices, by recursive halving.

    ``inv([[A, 0], [B, D]]) = [[inv(A), 0], [-inv(D) B inv(A), inv(D)]]``: only
    batched matrix products, which numpy runs about 3x faster than one LAPACK
    inverse per matrix on small matrices (measured on 1797 matrices of 25 x 25).
    """
    size = lower.shape[-1]
    if size <= 1:
        return 1.0 / lower
    half = size // 2
    top = _lower_triangular_inverse(lower[..., :half, :half])
    bottom = _lower_triangular_inverse(lower[..., half:, half:])
    inverse = np.zeros_like(lower)
    inverse[..., :half, :half] = top
    inverse[..., half:, half:] = bottom
    inverse[..., half:, :half] = -(bottom @ (lower[..., half:, :half] @ top))
    return inverse


class BlockFactors(NamedTuple):
    """Factorizations of one block's (pattern, component) matrices.

    Attributes
    ----------
    half_log_det : ndarray of shape (n_shared, n_patterns)
        Half the log-determinant of each factorized matrix (``P_mm`` or
        ``S_oo``); ``n_shared`` is 1 for tied covariances, else
        ``n_components``.
    inverse_factors : ndarray of shape (n_shared, n_patterns, size, size)
        ``F = inv(L)`` for the Cholesky factor ``L`` of each matrix, so that
        its inverse is ``F.T @ F``.
    """

    half_log_det: np.ndarray
    inverse_factors: np.ndarray


class BlockConditionals(NamedTuple):
    """Per-component conditional distributions of one block's missing entries.

    Attributes
    ----------
    log_prob : ndarray of shape (n_components, n_rows)
        Marginal log-density of each row's observed coordinates.
    completed : ndarray of shape (n_components, n_rows, n_features)
        Rows minus each component's mean, with missing coordinates replaced by
        their conditional means (residuals: exact however far the component
        sits from the data's center).
    factors : BlockFactors
    """

    log_prob: np.ndarray
    completed: np.ndarray
    factors: BlockFactors


def _padded(matrices, n_features):
    """Stacked (d, d) matrices with a zero row and column for the dummy coordinate."""
    out = np.zeros((matrices.shape[0], n_features + 1, n_features + 1))
    out[:, :n_features, :n_features] = matrices
    return out


class ConditionalGaussians:
    """Gaussian components prepared for conditioning on observed coordinates.

    Parameters
    ----------
    family : CovarianceType
    means : ndarray of shape (n_components, n_features)
        In the centered coordinates of the data.
    covariances, precisions_cholesky : ndarray
        In the family's layout.
    """

    def __init__(self, family, means, covariances, precisions_cholesky):
        n_components, d = means.shape
        self.covariances = family.dense(covariances, d)
        self.padded_covariances = _padded(self.covariances, d)
        precisions = family.dense(family.precisions(precisions_cholesky), d)
        self.padded_precisions = _padded(precisions, d)
        self.whitening = family.dense(precisions_cholesky, d)
        self.log_det = family.log_det_cholesky(precisions_cholesky, n_components, d)
        self.means = means
        self.padded_means = _padded(means[:, None, :], d)[:, 0]

    def factorize(self, block):
        """:class:`BlockFactors` of the block's ``P_mm`` or ``S_oo`` matrices."""
        padded = self.padded_precisions if block.on_missing else self.padded_covariances
        shared, size = padded.shape[0], block.index.shape[1]
        matrices = np.take(padded.reshape(shared, -1), block.scatter_index, axis=1)
        diagonal = matrices.reshape(shared, len(block.index), size * size)
        diagonal[..., :: size + 1] += block.padding
        try:
            cholesky = np.linalg.cholesky(matrices)
        except np.linalg.LinAlgError:
            raise _not_positive_definite(
                "conditional precision" if block.on_missing else "observed covariance"
            ) from None
        half_log_det = np.log(np.diagonal(cholesky, axis1=2, axis2=3)).sum(axis=2)
        return BlockFactors(half_log_det, _lower_triangular_inverse(cholesky))

    def complete(self, residual, observed, block, factors):
        """Conditional means of the missing coordinates of centered rows.

        ``residual`` (n, n_rows, d + 1) holds rows minus a component's mean,
        zero at missing coordinates and in the dummy column (``n`` is
        ``n_components``, or 1 for shared covariances); ``observed``
        (n_rows, d + 1) is 1.0 where a coordinate is observed.  Returns the
        completed residuals (n, n_rows, d), observed coordinates unchanged,
        and the Mahalanobis distances of the observed coordinates.
        """
        n, n_rows, side = residual.shape
        d = side - 1
        flat = residual.reshape(n, n_rows * side)  # a view: scatters write into residual
        inverse_factors = factors.inverse_factors
        if not block.one_row_per_pattern:
            inverse_factors = inverse_factors[:, block.pattern_of_row]
        transposed = np.swapaxes(inverse_factors, 2, 3)
        if block.on_missing:
            # x_m - mu_m = -inv(P_mm) P_mo (x_o - mu_o), and the distance is
            # that of the completed row under the full precision.
            gradient = (residual @ self.padded_precisions).reshape(-1, n_rows * side)
            gradient = gradient[:, block.row_index]
            shift = transposed @ (inverse_factors @ gradient[..., None])
            flat[:, block.row_index] = -shift[..., 0]
            completed = residual[..., :d]
            whitened = completed @ self.whitening
            return completed, np.einsum("knd,knd->kn", whitened, whitened)
        # x_m - mu_m = S_mo inv(S_oo) (x_o - mu_o); inv(S_oo) = F.T F
        whitened = inverse_factors @ flat[:, block.row_index][..., None]
        spread = np.zeros_like(residual)
        spread.reshape(n, n_rows * side)[:, block.row_index] = (transposed @ whitened)[..., 0]
        completed = spread[..., :d] @ self.covariances
        # S_oo inv(S_oo) (x_o - mu_o) reproduces the observed values up to
        # rounding: keep them exact.
        completed = np.where(observed[:, :d] > 0, residual[..., :d], completed)
        return completed, np.einsum("kns,kns->kn", whitened[..., 0], whitened[..., 0])

    def condition(self, data, block, scale=None):
        """:class:`BlockConditionals` of the rows of ``block``.

        With ``scale`` (n_rows,), each row's residuals are divided by it first
        (the completions are linear in them; the distances scale by its square).
        """
        factors = self.factorize(block)
        rows = slice(block.start, block.stop)
        observed = data.observed[rows]
        residual = (data.values[rows] - self.padded_means[:, None, :]) * observed
        if scale is not None:
            residual /= scale[None, :, None]
        completed, mahalanobis = self.complete(residual, observed, block, factors)
        log_prob = -0.5 * mahalanobis + self._log_normalizers(block, factors)
        if block.on_missing:
            # A row with nothing observed has density one (the empty product):
            # exactly, not up to the rounding of two log-determinants.
            log_prob[:, block.n_observed == 0] = 0.0
        return BlockConditionals(log_prob, completed, factors)

    def _log_normalizers(self, block, factors):
        constant = (-(0.5 * LOG_2PI) * block.n_observed
                    - factors.half_log_det[:, block.pattern_of_row])
        if block.on_missing:  # log det S_oo = log det S + log det P_mm
            constant = constant + self.log_det[:, None]
        return constant

    def relative_log_prob(self, data, block, rows):
        """Log-densities of the masked ``rows`` of a block, up to a per-row constant.

        For rows so far out that their densities underflow: residuals are
        scaled by their largest entry, so the distances ``q_k`` stay finite,
        and ``-s^2 (q_k - min q) / 2`` keeps the ordering of the components.
        """
        scale = np.ones(block.stop - block.start)
        values = data.values[block.start:block.stop][rows]
        largest = np.abs(values[None] - self.padded_means[:, None, :]).max(axis=(0, 2))
        scale[rows] = np.where(largest > 0, largest, 1.0)
        conditionals = self.condition(data, block, scale)
        factors = conditionals.factors
        q = -2.0 * (conditionals.log_prob - self._log_normalizers(block, factors))
        q = q[:, rows]
        gap = q - q.min(axis=0)
        with np.errstate(over="ignore", invalid="ignore"):
            quadratic = np.where(gap > 0, -0.5 * gap * scale[rows] ** 2, 0.0)
        return (np.nan_to_num(quadratic, nan=-np.inf)
                + self._log_normalizers(block, factors)[:, rows])

    def draw(self, data, block, conditionals, resp, random_state):
        """One draw per row from the posterior of its missing coordinates.

        A component from the responsibilities ``resp`` (n_components,
        n_rows), then, by Matheron's rule, its conditional mean plus
        ``u - E[u | u_o]`` for ``u ~ N(0, S_k)``.  Observed coordinates are
        returned unchanged.
        """
        n_rows, d = resp.shape[1], data.n_features
        cumulative = np.cumsum(resp, axis=0)
        component = np.minimum((cumulative < random_state.uniform(size=n_rows)).sum(axis=0),
                               resp.shape[0] - 1)
        rows = np.arange(n_rows)
        # S = inv(U U^T) = inv(U)^T inv(U): z inv(U) ~ N(0, S) for z ~ N(0, I).
        inverse_whitening = np.swapaxes(
            _lower_triangular_inverse(np.swapaxes(self.whitening, 1, 2)), 1, 2)
        u = random_state.standard_normal((n_rows, d)) @ inverse_whitening
        observed = data.observed[block.start:block.stop]
        residual = np.zeros((len(u), n_rows, d + 1))
        residual[..., :d] = u
        residual *= observed
        conditioned, _ = self.complete(residual, observed, block, conditionals.factors)
        shared = 0 if len(u) == 1 else component
        return (conditionals.completed[component, rows] + self.means[component]
                + (u - conditioned)[shared, rows])


class ExpectedMoments:
    """Additive expected statistics of incomplete rows, as dense moments.

    ``add`` accumulates, for responsibilities ``resp`` of a block, the
    weights, first moments and second moments of the completed residuals
    (rows minus each component's mean), and the responsibility-weighted
    inverses of the factorized blocks (scattered into place).
    :meth:`statistics` turns the latter into the conditional covariances and
    packs everything as :class:`~.gaussian.GaussianStatistics` centered on the
    component means.  Moments computed under the same parameters add
    (``a + b``) and scale (``c * a``) like any statistics.
    """

    _fields = ("nk", "first", "second", "missing_inverses", "observed_inverses",
               "observed_weight")

    def __init__(self, n_components, n_features):
        self.n_components, self.n_features = n_components, n_features
        self.nk = np.zeros(n_components)
        self.first = np.zeros((n_components, n_features))
        self.second = np.zeros((n_components, n_features, n_features))
        side = (n_features + 1) ** 2
        # sum_p w_p inv(P_mm) (missing side), sum_p w_p inv(S_oo) and sum_p w_p (observed side)
        self.missing_inverses = np.zeros((n_components, side))
        self.observed_inverses = np.zeros((n_components, side))
        self.observed_weight = np.zeros(n_components)

    def _combined(self, values):
        out = ExpectedMoments(self.n_components, self.n_features)
        for name, value in zip(self._fields, values):
            setattr(out, name, value)
        return out

    def __add__(self, other):
        if not isinstance(other, ExpectedMoments):
            return NotImplemented
        return self._combined([getattr(self, name) + getattr(other, name)
                               for name in self._fields])

    def __mul__(self, factor):
        return self._combined([factor * getattr(self, name) for name in self._fields])

    __rmul__ = __mul__

    def add(self, block, conditionals, resp):
        completed = conditionals.completed
        weighted = completed * resp[:, :, None]
        self.nk += resp.sum(axis=1)
        self.first += weighted.sum(axis=1)
        self.second += np.swapaxes(weighted, 1, 2) @ completed
        per_pattern = np.add.reduceat(resp, block.pattern_starts, axis=1)
        if not block.on_missing:
            self.observed_weight += per_pattern.sum(axis=1)
        elif block.index.shape[1] == 0:
            return self  # complete rows
        factors = conditionals.factors.inverse_factors
        inverses = np.swapaxes(factors, 2, 3) @ factors
        target = self.missing_inverses if block.on_missing else self.observed_inverses
        index = block.scatter_index.ravel()
        for k in range(self.n_components):
            contribution = per_pattern[k, :, None, None] * inverses[min(k, len(inverses) - 1)]
            target[k] += np.bincount(index, contribution.ravel(), minlength=target.shape[1])
        return self

    def statistics(self, family, covariances, centers):
        """:class:`~.gaussian.GaussianStatistics` of covariance type ``family``.

        ``covariances`` dense (n_shared, d, d) and ``centers`` (the component
        means the residuals were taken from, in the data's coordinates) are
        those of the parameters the moments were computed with.
        """
        from .gaussian import GaussianStatistics  # the family module imports this one

        d, side = self.n_features, self.n_features + 1
        missing_side = self.missing_inverses.reshape(-1, side, side)[:, :d, :d]
        observed_side = self.observed_inverses.reshape(-1, side, side)[:, :d, :d]
        # sum_p w_p C_p = sum_p w_p inv(P_mm) + sum_p w_p (S - S inv(S_oo) S), embedded
        correction = (
            missing_side
            + self.observed_weight[:, None, None] * covariances
            - covariances @ observed_side @ covariances
        )
        second = self.second + correction
        moments = np.concatenate([family.second_order_from_outer(second), self.first], axis=1)
        return GaussianStatistics(self.nk.copy(), moments, np.array(centers, dtype=np.float64),
                                  family.name)
