"""Hidden Markov models trained by Baum-Welch (EM): :class:`HMMEM`."""

from typing import NamedTuple

import dataclasses
import functools
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, DensityMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._core import criteria
from ._core import validation as v
from ._core.blocks import (BlockedData, BlockedModel, check_dask_array, is_dask_array,
                           map_sequences, sequence_blocks, set_input_attributes)
from ._core.em import EMRun, fit_restarts, restart_seeds, stream_step
from ._core.estimator import em_constraints, warn_about_run
from ._core.families import DEFAULT_FAMILY, FAMILIES
from ._core.families.base import Statistics, dirichlet_mode, keep_unvisited
from ._core.families.gaussian import has_nan
from ._core.init import kmeans_labels
from ._core.mixture_model import INIT_ROWS
from ._core.threads import single_threaded_blas
from ._hmm import parts as hmm_parts
from ._hmm.filtering import forward_filter
from ._hmm.forward_backward import ForwardBackward
from ._hmm.sequences import make_sequences

CHAIN_PARAMETERS = ("startprob", "transmat")

# The default starting transition matrix stays in a state with this probability:
# a uniform (or any rank-one) matrix is a saddle point that EM never leaves.
STICKY_START = 0.9


class HMMParams(NamedTuple):
    """Parameters of an HMM: the chain's, and the emission family's (a dict)."""

    startprob: np.ndarray
    transmat: np.ndarray
    emission: dict


@dataclasses.dataclass
class HMMStats(Statistics):
    """Additive E-step statistics: expected start and transition counts, emission statistics."""

    start: np.ndarray
    transitions: np.ndarray
    emission: Statistics


class HMMData(NamedTuple):
    """Everything the one-shot E-step needs about the training data, prepared once."""

    emission: object
    forward_backward: ForwardBackward
    # (n_components, n_samples): 0 where a row may be in a state, -inf where its known
    # state rules the state out (semi-supervised fit); None without known states.
    clamp: np.ndarray = None
    # The training rows starting values are computed from (a sample of them when
    # there are many); None: ``emission`` itself (dask samples, streaming batches).
    training: "TrainingRows" = None

    @property
    def total_weight(self):
        return float(self.forward_backward.sequences.n_samples)


class HMMPartedData(NamedTuple):
    """Training data the E-step visits part by part (see :mod:`emlearn._hmm.parts`):
    nothing is prepared for all rows at once."""

    training: "TrainingRows"
    sequences: object
    parts: list

    @property
    def total_weight(self):
        return float(self.sequences.n_samples)

    def stream_rows(self, part):
        """Row indices (a slice when the sequences are contiguous) of a part."""
        return self.sequences.stream_rows(part.start, part.stop)

    def emissions(self, emission_params):
        """The ``emissions`` callable of :mod:`emlearn._hmm.parts` for these parameters."""
        def emissions(part, statistics=True):
            return self.training.log_likelihoods(self.stream_rows(part), emission_params,
                                                 statistics)
        return emissions


class TrainingRows:
    """The validated training array, for what reads rows of it: parts and starting values.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Possibly a (read-only) memmap: only parts of it are ever copied.
    family : emission family (configured)
    n_components : int
    shift : ndarray of shape (n_features,) or None
        The center every part is prepared around (so their statistics add
        without re-centering); None: each preparation takes its own.
    incomplete : bool or None
        Whether every part takes the missing-data form (None: when it has NaN).
    labels : ndarray of int of shape (n_samples,) or None
        Known states (-1: unknown), or None.
    """

    def __init__(self, X, family, n_components, shift=None, incomplete=None, labels=None):
        # float32 only when the E-step runs by parts: rows are converted when read.
        self.X = X
        self.family = family
        self.n_components = n_components
        self.shift = shift
        self.incomplete = incomplete
        self.labels = labels

    @property
    def n_samples(self):
        return self.X.shape[0]

    def rows(self, index):
        """Rows of ``X`` (an index or a slice) in float64: a part-sized copy, or a view."""
        return np.asarray(self.X[index], dtype=np.float64)

    def prepare(self, rows, cache=True):
        """Rows in the family's form, around the common center."""
        return self.family.prepare(rows, n_components=self.n_components, shift=self.shift,
                                   cache=cache, incomplete=self.incomplete)

    def clamp(self, rows):
        """The E-step clamp of the known states of ``rows`` (an index), or None."""
        if self.labels is None:
            return None
        return clamp_of_labels(self.labels[rows], self.n_components)

    def log_likelihoods(self, rows, emission_params, statistics=True):
        """Emission log-likelihoods of ``rows`` (an index) and their statistics.

        Returns ``log_B`` (n_components, n_rows), known states clamped, and
        the evaluator's ``statistics(weights)``; the rows' statistics terms are
        kept for it only with ``statistics``.
        """
        emission = self.prepare(self.rows(rows), cache=statistics)
        evaluator = self.family.evaluator(emission, emission_params)
        log_B = evaluator.log_likelihood()
        clamp = self.clamp(rows)
        if clamp is not None:
            log_B += clamp
        return log_B, evaluator.statistics

    def initial(self, random_state, prepared=None):
        """Emission data and known states to start from: all rows (``prepared`` when
        given), or a uniform sample of ``INIT_ROWS`` rows in their order."""
        if self.n_samples <= INIT_ROWS:
            emission = self.prepare(self.rows(slice(None))) if prepared is None else prepared
            return emission, self.labels
        rows = np.sort(random_state.choice(self.n_samples, size=INIT_ROWS, replace=False))
        labels = None if self.labels is None else self.labels[rows]
        return self.prepare(self.rows(rows), cache=False), labels


class HiddenMarkovModel:
    """The EM model of an HMM: a Markov chain + an emission family (pure functions)."""

    def __init__(self, n_components, family, *, startprob_prior=1.0, transmat_prior=1.0,
                 fixed=frozenset(), init_params="kmeans", inits=None):
        self.n_components = n_components
        self.family = family
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.fixed = frozenset(fixed)
        self.init_params = init_params
        self.inits = inits or {}

    # -- initialization --------------------------------------------------------------
    def initialize(self, data, random_state):
        K = self.n_components
        inits = self.inits
        if self.init_params == "random":
            startprob = random_state.dirichlet(np.ones(K))
            transmat = random_state.dirichlet(np.ones(K), size=K)
        else:
            startprob, transmat = np.full(K, 1.0 / K), sticky_transmat(K)
        startprob = inits.get("startprob", startprob)
        transmat = inits.get("transmat", transmat)
        return HMMParams(startprob, transmat, self._initial_emission(data, random_state))

    def _initial_emission(self, data, random_state):
        family = self.family
        given = {name: self.inits[name] for name in family.parameter_names
                 if name in self.inits}
        if len(given) < len(family.parameter_names):
            emission, labels = _initial_rows(data, random_state)
            resp = None
            if family.needs_responsibilities:
                rows = family.complete_rows(emission)
                resp = _responsibilities_of_known_states(labels, self.n_components)
                if resp is None:
                    # (rows filled as they are read, for data grouped part by part)
                    resp = self._initial_responsibilities(np.asarray(rows.X), random_state)
            else:
                resp = np.empty((self.n_components, 0))
            given = {**family.initialize(emission, resp, random_state), **given}
        return family.assemble(given)

    def _initial_responsibilities(self, X, random_state):
        n, K = X.shape[0], self.n_components
        if self.init_params == "random":
            # The first draw is not used; it is kept so that seeded fits give
            # the results they gave before.
            random_state.choice(n, size=K, replace=False)
            centers = X[random_state.choice(n, size=K, replace=False)]
            labels = np.argmin(((X[:, None, :] - centers[None]) ** 2).sum(axis=2), axis=1)
        else:
            labels = kmeans_labels(X, K, random_state)
        resp = np.zeros((K, n))
        resp[labels, np.arange(n)] = 1.0
        return resp

    # -- EM steps ------------------------------------------------------------------
    def e_step(self, data, params):
        if isinstance(data, HMMPartedData):
            return self._e_step_by_parts(data, params)
        fb = data.forward_backward
        with single_threaded_blas():
            evaluator = self.family.evaluator(data.emission, params.emission)
            log_B = evaluator.log_likelihood()
            if data.clamp is not None:
                log_B += data.clamp
            log_likelihood, gamma, xi = fb.posteriors(log_B, params.startprob,
                                                      params.transmat)
            stats = HMMStats(gamma[fb.sequences.first_rows].sum(axis=0), xi,
                             evaluator.statistics(gamma.T))
        return log_likelihood.sum() / fb.sequences.n_samples, stats

    def _e_step_by_parts(self, data, params):
        """The E-step part by part: the same totals, memory bounded by a part."""
        with single_threaded_blas():
            totals = hmm_parts.e_step_by_parts(data.parts, data.emissions(params.emission),
                                               params.startprob, params.transmat)
        stats = HMMStats(totals.start, totals.transitions, totals.emission)
        return totals.log_likelihood / data.sequences.n_samples, stats

    def m_step(self, stats, params):
        startprob, transmat = params.startprob, params.transmat
        if "startprob" not in self.fixed:
            startprob = _mode_keeping_zeros(stats.start, self.startprob_prior, startprob)
        if "transmat" not in self.fixed:
            estimate = _mode_keeping_zeros(stats.transitions, self.transmat_prior, transmat,
                                           axis=1)
            # A state never left (or never visited) keeps its row.
            transmat = keep_unvisited(estimate, transmat, np.isfinite(estimate).all(axis=1))
        emission = self.family.m_step(stats.emission, params.emission, self.fixed)
        return HMMParams(startprob, transmat, emission)


def sticky_transmat(n_components, stay=STICKY_START):
    """A transition matrix staying with probability ``stay``, moving uniformly otherwise."""
    if n_components == 1:
        return np.ones((1, 1))
    move = (1.0 - stay) / (n_components - 1)
    return np.full((n_components, n_components), move) + np.eye(n_components) * (stay - move)


def is_memoryless(transmat):
    """Whether all rows of ``transmat`` are equal (to rounding): the chain carries no
    information, and EM started there hardly moves (a saddle point)."""
    return len(transmat) > 1 and bool(np.ptp(transmat, axis=0).max() < 1e-9)


def known_state_labels(states, n_samples, n_components):
    """``states`` validated as integer labels (-1: unknown), or None when none is known."""
    if states is None:
        return None
    labels = np.asarray(states)
    if labels.shape != (n_samples,):
        raise ValueError(f"states must have shape (n_samples,) = ({n_samples},), got "
                         f"{labels.shape}.")
    if labels.dtype.kind not in "iu" and not (
            labels.dtype.kind == "f" and np.all(labels == np.round(labels))):
        raise ValueError("states must hold integer state indices (-1 for unknown).")
    labels = labels.astype(np.intp)
    if np.any((labels < -1) | (labels >= n_components)):
        raise ValueError(f"states must lie in -1 .. n_components - 1 = {n_components - 1} "
                         "(-1 marks a row whose state is unknown).")
    if not np.any(labels >= 0):
        return None
    return labels


def clamp_of_labels(labels, n_components):
    """(n_components, n_rows): 0 where a row may be in a state, -inf where its known
    state (``labels``, -1: unknown) rules the state out; None when none is known."""
    if labels is None:
        return None
    known = np.flatnonzero(labels >= 0)
    if not known.size:
        return None
    clamp = np.zeros((n_components, len(labels)))
    clamp[:, known] = -np.inf
    clamp[labels[known], known] = 0.0
    return clamp


def _responsibilities_of_known_states(labels, n_components):
    """Starting responsibilities from the known states (one-hot rows, zero rows for the
    unknown) when every state has some rows; None otherwise."""
    if labels is None:
        return None
    known = np.flatnonzero(labels >= 0)
    if np.unique(labels[known]).size < n_components:
        return None
    resp = np.zeros((n_components, len(labels)))
    resp[labels[known], known] = 1.0
    return resp


def _initial_rows(data, random_state):
    """The emission data and known states starting values are computed from."""
    if isinstance(data, HMMPartedData):
        return data.training.initial(random_state)
    if data.training is None:
        return data.emission, None
    return data.training.initial(random_state, prepared=data.emission)


def _e_step_bytes_per_row(family, n_components, n_features, incomplete, known_states):
    """What the one-shot E-step holds per training row (see ``hmm_parts``)."""
    floats = family.row_floats(n_components, n_features, incomplete)
    clamp = 8 * n_components if known_states else 0
    return hmm_parts.e_step_bytes_per_row(n_components, floats, clamp)


def _plan_of(X, family, n_components, sequences, known_states=False):
    """Whether ``X`` has missing entries, and the parts the E-step (or inference) visits:
    None when all rows at once fit ``hmm_parts.PART_BYTES``."""
    incomplete = bool(family.allow_nan and has_nan(X))
    per_row = _e_step_bytes_per_row(family, n_components, X.shape[1], incomplete,
                                    known_states)
    if X.shape[0] * per_row <= hmm_parts.PART_BYTES:
        return incomplete, None
    return incomplete, hmm_parts.plan_parts(sequences.lengths,
                                            hmm_parts.rows_per_part(per_row))


def _map_states(gamma):
    """The most probable state of each row and the sum of the logs of their posteriors."""
    with np.errstate(divide="ignore"):
        return float(np.log(gamma.max(axis=1)).sum()), np.argmax(gamma, axis=1)


class Inference(NamedTuple):
    """Validated rows to infer on: all at once (``log_B``), or part by part (``parted``)."""

    sequences: object
    startprob: np.ndarray
    transmat: np.ndarray
    # (n_components, n_samples) emission log-likelihoods, or None (by parts)
    log_B: np.ndarray = None
    parted: HMMPartedData = None
    emission_params: dict = None

    @property
    def emissions(self):
        return self.parted.emissions(self.emission_params)

    def stream_rows(self, part):
        return self.parted.stream_rows(part)

    def log_likelihoods(self):
        """The log-likelihood of every sequence (forward passes only)."""
        if self.parted is None:
            return ForwardBackward(self.sequences).log_likelihood(self.log_B, self.startprob,
                                                                  self.transmat)
        with single_threaded_blas():
            return hmm_parts.log_likelihood_by_parts(self.parted.parts, self.emissions,
                                                     self.startprob, self.transmat)

    def check_possible(self):
        """Raise the error of impossible sequences (found to exist), naming them all."""
        _check_possible(self.log_likelihoods())


def _prepare_hmm_block(family, shift, n_components, has_nan, block_lengths, block, start,
                       stop):
    """A block of whole sequences, prepared where it lives."""
    emission = family.prepare(np.asarray(block), n_components=n_components, shift=shift,
                              cache=True, incomplete=has_nan)
    return HMMData(emission, ForwardBackward(make_sequences(stop - start,
                                                            lengths=block_lengths[start])))


def _hmm_sample(family, shift, n_components, rows):
    """Sampled rows for starting values (one sequence: only emissions use them)."""
    return HMMData(family.prepare(rows, n_components=n_components, shift=shift),
                   ForwardBackward(make_sequences(len(rows))))


def _sequences_in_runs(n_samples, lengths, sequence_ids):
    """The sequences of a dask array, whose blocks need each sequence's rows contiguous."""
    sequences = make_sequences(n_samples, lengths, sequence_ids)
    if not sequences.contiguous:
        raise ValueError("With a dask array X, each sequence's rows must be contiguous "
                         "(pass lengths, or sequence_ids in runs).")
    return sequences


def _sequence_weights(sample_weight, sequences):
    """``(per sequence, per row)`` weights of ``sample_weight`` (constant in each sequence)."""
    weights = v.check_sample_weight(sample_weight, sequences.n_samples)
    first = weights[sequences.first_rows]
    if not np.allclose(weights, first[sequences.sequence_of_row]):
        raise ValueError("sample_weight must be constant within each sequence.")
    return first, weights


def _refuse_saddle(run, start, fixed_params):
    """A run from a memoryless chain is never converged (and says why).

    Such a start is (nearly) a saddle point: EM leaves it, if at all, by steps
    small enough to pass any tolerance test.
    """
    if (run.converged and start is not None and "transmat" not in fixed_params
            and is_memoryless(start)):
        warnings.warn(
            "transmat_init has identical rows (e.g. uniform): a saddle point of the "
            "likelihood that Baum-Welch leaves very slowly if at all, so its small "
            "changes do not mean convergence; converged_ is False. Leave transmat_init "
            "unset (the default start is sticky) or use init_params='random'.",
            ConvergenceWarning, stacklevel=3)
        return dataclasses.replace(run, converged=False)
    return run


def _mode_keeping_zeros(counts, prior, current, axis=-1):
    """The Dirichlet posterior mode, with the zeros of ``current`` kept exactly zero.

    A zero starting probability is a structural zero (a left-right model, a
    state that cannot start): EM never makes it positive, and neither does the
    prior (hmmlearn's rule).
    """
    zero = current == 0
    if not zero.any():
        return dirichlet_mode(counts, prior, axis=axis)
    return dirichlet_mode(np.where(zero, 0.0, counts), np.where(zero, 1.0, prior), axis=axis)


def _check_possible(log_probability):
    impossible = ~np.isfinite(log_probability)
    if impossible.any():
        raise ValueError(
            f"Sequence(s) {np.flatnonzero(impossible).tolist()} have zero probability under "
            "the fitted model (no state sequence can emit them)."
        )


def _reject_positional_lengths(y, X):
    """``fit(X, lengths)`` (hmmlearn's call) would pass ``lengths`` as ``y``.

    ``y`` is ignored, as scikit-learn requires, but a ``y`` whose length is not
    the number of rows of (validated) ``X`` cannot be a target: it is almost
    surely ``lengths``.
    """
    if y is None:
        return
    y = np.asarray(y)
    if y.ndim == 1 and y.shape[0] != X.shape[0]:
        raise TypeError(
            "HMMEM takes sequence lengths as a keyword argument: use fit(X, lengths=...) "
            "(the second positional argument is y, which is ignored)."
        )


class HMMEM(DensityMixin, TransformerMixin, BaseEstimator):
    """Hidden Markov model trained by Baum-Welch (EM), with parallel restarts.

    One estimator for Gaussian, categorical and Poisson emissions (the family is
    a hyperparameter, so model selection can search it).  Sequences are given
    by ``lengths`` (hmmlearn's convention) or by ``sequence_ids``, one label per
    row -- which scikit-learn's cross-validation splits together with ``X``, so
    sequences can be cross-validated (see Notes).

    Parameters
    ----------
    n_components : int, default=1
        Number of hidden states.
    emission : {"gaussian", "categorical", "poisson", "multinomial", \
            "gaussian_mixture"}, default="gaussian"
        ``gaussian``: real-valued rows; ``categorical``: one column of integer
        symbols ``0 .. n_symbols - 1``; ``poisson``: non-negative integer counts;
        ``multinomial``: each row counts the outcomes of ``n_trials`` draws
        over ``n_features`` symbols (hmmlearn's ``MultinomialHMM``);
        ``gaussian_mixture``: each state emits from its own mixture of
        ``n_mix`` Gaussians (hmmlearn's ``GMMHMM``).
    covariance_type : {"full", "tied", "diag", "spherical"}, default="diag"
        Covariance structure of Gaussian emissions (as in GaussianMixtureEM).
        With ``gaussian_mixture`` emissions it applies to every mixture
        component, except ``tied``: one covariance per state, shared by that
        state's mixture components (hmmlearn's meaning).
    n_mix : int, default=1
        Gaussians per state (``gaussian_mixture`` emissions).
    n_symbols : int, default=None
        Number of symbols of categorical emissions; None infers ``max + 1`` from
        the training data.
    n_trials : int, default=None
        Draws per row of multinomial emissions (every row must sum to it);
        None accepts any totals (sampling then needs the rows' common total).
    startprob_init, transmat_init : array-like, default=None
        Starting initial-state distribution (n_components,) and transition
        matrix (n_components, n_components) whose rows sum to 1.  None: with
        ``init_params="kmeans"``, a uniform ``startprob`` and a *sticky*
        transition matrix (0.9 on the diagonal, the rest spread evenly), with
        ``"random"``, random ones.  A zero stays exactly zero during fitting
        (structural zeros of left-right models), whatever the priors.  A
        transition matrix whose rows are all equal (e.g. uniform) is a saddle
        point EM hardly leaves: a fit started there warns and reports
        ``converged_=False``.
    means_init : array-like of shape (n_components, n_features), default=None
        Starting means (Gaussian; Gaussian mixture: (n_components, n_mix,
        n_features)).  None: from ``init_params``.
    covariances_init : array-like, default=None
        Starting covariances (Gaussian, Gaussian mixture), shaped as ``covariances_``.
    weights_init : array-like of shape (n_components, n_mix), default=None
        Starting mixture weights (Gaussian mixture), rows summing to 1.  None:
        uniform.
    emissionprob_init : array-like of shape (n_components, n_symbols), default=None
        Starting symbol probabilities (categorical; multinomial: shape
        (n_components, n_features)).  None: random.
    rates_init : array-like of shape (n_components, n_features), default=None
        Starting rates (Poisson).
    startprob_prior, transmat_prior : float or array-like, default=1.0
        Dirichlet concentrations of the priors; 1.0 means no prior.  Values
        above 1 keep probabilities away from zero.
    emissionprob_prior : float or array-like, default=1.0
        Dirichlet concentration for categorical and multinomial emissions; a value above 1
        keeps symbols unseen in training from getting probability zero.
    weights_prior : float or array-like of shape (n_components, n_mix), default=1.0
        Gaussian mixture emissions: Dirichlet concentration of each state's
        mixture weights; 1.0 means no prior.
    means_prior, means_weight : float or array-like, default=0.0
        Gaussian emissions: mean (n_components, n_features) and weight
        (n_components,) of a normal prior on each state's mean (hmmlearn's
        parametrization): the mean is ``(means_weight * means_prior + sum of
        rows) / (means_weight + state weight)``.  ``means_weight=0`` is no prior.
        Gaussian mixture emissions: the same per mixture component, shapes
        (n_components, n_mix, n_features) and (n_components, n_mix).
    covars_prior, covars_weight : float or array-like, float, default=0.0
        Gaussian emissions: scale (shaped as ``covariances_``; a number ``c``
        is ``c * I`` for ``full`` and ``tied``) and degrees of freedom of an
        inverse-Wishart (``full``, ``tied``) or inverse-gamma (``diag``,
        ``spherical``) prior on the covariances, as hmmlearn's ``GaussianHMM``:
        covariances are ``(covars_prior + scatter) / (max(covars_weight - p, 0)
        + state weight)`` with ``p = n_features`` (full, tied) or 1 (diag,
        spherical).  Zero is no prior.  Gaussian mixture emissions: the same
        per mixture component (per state for ``tied``), ``covars_prior``
        shaped as their ``covariances_``; hmmlearn's ``GMMHMM`` parametrizes
        these priors differently (:class:`emlearn.compat.hmmlearn.GMMHMM`
        takes its arguments).
    lambdas_prior, lambdas_weight : float or array-like, default=0.0
        Poisson emissions: shape and rate of a gamma prior on each rate (scalar,
        (n_components,) or (n_components, n_features)); rates are ``(
        lambdas_prior + sum of counts) / (lambdas_weight + state weight)``.
    reg_covar : float, default=1e-6
        Added to the diagonal of Gaussian covariances.
    fixed_params : iterable of str, default=()
        Parameters kept at their starting values: any of ``"startprob"``,
        ``"transmat"`` and the emission's ``"means"``, ``"covariances"``,
        ``"weights"``, ``"emissionprob"``, ``"rates"``.
    algorithm : {"viterbi", "map"}, default="viterbi"
        How :meth:`predict` and :meth:`decode` choose states: the most likely
        path (Viterbi) or the most likely state of each row (posterior mode).
    init_params : {"kmeans", "random"}, default="kmeans"
        Starting emission parameters not given: from a k-means partition (means
        per cluster, pooled within-cluster covariance) or from random rows.
    max_iter : int, default=100
        EM iterations per initialization; 0 evaluates the starting values.
    tol : float, default=1e-5
        EM stops when the mean log-likelihood per row changes by less than
        ``tol`` (per row, so it means the same for one long sequence and for
        many short ones).  Baum-Welch often creeps: 1e-3 stopped on hmmlearn's
        dishonest-casino example before the states had separated (see the
        user guide).
    n_init : int, default=1
        Initializations; the best by log-likelihood is kept.
    n_jobs : int, default=None
        Initializations run in parallel (joblib); results do not depend on it.
    random_state : int, RandomState instance or None, default=None
        Seeds the initializations.
    verbose : int, default=0
        Progress reports (1) with timings (2).
    verbose_interval : int, default=10
        Iterations between reports.
    learning_decay : float in (0.5, 1], default=0.6
        :meth:`partial_fit` only: batch ``t`` enters the running statistics
        with weight ``(learning_offset + t) ** -learning_decay``.
    learning_offset : float, default=1.0
        :meth:`partial_fit` only: larger values slow the first updates down.

    Attributes
    ----------
    startprob_ : ndarray of shape (n_components,)
        Probability of each state at the first row of a sequence.
    transmat_ : ndarray of shape (n_components, n_components)
        ``transmat_[i, j]`` is the probability of moving from state i to j.
    means_ : ndarray of shape (n_components, n_features)
        Gaussian emissions only; (n_components, n_mix, n_features) for
        Gaussian mixture emissions.
    covariances_ : ndarray
        Gaussian emissions only; (n_components, n_features, n_features) for
        ``full``, (n_features, n_features) for ``tied``, (n_components,
        n_features) for ``diag`` and (n_components,) for ``spherical``.
        Gaussian mixture emissions: (n_components, n_mix, n_features,
        n_features), (n_components, n_features, n_features), (n_components,
        n_mix, n_features) and (n_components, n_mix).
    weights_ : ndarray of shape (n_components, n_mix)
        Gaussian mixture emissions only: each state's mixture weights.
    emissionprob_ : ndarray of shape (n_components, n_symbols)
        Categorical emissions only.
    n_symbols_ : int
        Categorical emissions only.
    n_trials_ : int or None
        Multinomial emissions only: draws per row (None: rows differ).
    rates_ : ndarray of shape (n_components, n_features)
        Poisson emissions only.
    converged_ : bool
        Whether the best run converged (its lower bound changed by less than
        ``tol``).
    n_iter_ : int
        EM iterations of the best run.
    lower_bound_ : float
        Mean log-likelihood per row of the best run (at its last E-step).
    lower_bounds_ : list of float
        ``lower_bound_`` after every iteration of the best run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    emlearn.GaussianMixtureEM : The same Gaussian emissions without the chain.

    Notes
    -----
    **Cross-validating sequences.**  Enable metadata routing and pass the
    sequence labels both as ``groups`` (so that the splitter keeps sequences
    whole) and as ``sequence_ids`` (requested by default by :meth:`fit` and
    :meth:`score`)::

        import sklearn
        sklearn.set_config(enable_metadata_routing=True)
        search = GridSearchCV(HMMEM(), {"n_components": [2, 3, 4]}, cv=GroupKFold(3))
        search.fit(X, groups=ids, sequence_ids=ids)

    Each fold's score is then the total log-likelihood of its sequences.

    With priors other than 1 the M-step maximizes the posterior, so the
    log-likelihood may (slightly) decrease between iterations.

    **Memory.**  When the E-step of all rows at once would need more than
    64 MiB, :meth:`fit` runs it part by part: short sequences grouped whole,
    a long sequence cut into pieces whose forward-backward is exact across
    the cuts (two passes over its pieces).  Memory beyond ``X`` then stays
    bounded by a part, even for one very long sequence in an ``np.memmap``
    (float64 or float32: parts are converted as they are read), and the fit
    is the same to rounding.  Inference beyond the same budget runs by parts
    too (:meth:`score`, :meth:`score_samples` and filtering by a forward
    pass over pieces, smoothing as the fit's E-step, Viterbi checkpointed at
    the cuts), so it adds to its output only about a part, with the same
    results.  Starting values not given come from at most 200,000 rows drawn
    uniformly.

    Examples
    --------
    >>> import numpy as np
    >>> from emlearn import HMMEM
    >>> rng = np.random.RandomState(0)
    >>> states = np.repeat([0, 1, 0, 1], 50)
    >>> X = rng.normal(loc=4.0 * states[:, None], size=(200, 1))
    >>> hmm = HMMEM(n_components=2, random_state=0).fit(X)
    >>> path = hmm.predict(X)
    >>> bool(np.all(path == states) or np.all(path == 1 - states))
    True
    >>> np.round(np.sort(hmm.means_.ravel()), 1)
    array([0.2, 3.9])
    """

    __metadata_request__fit = {"sequence_ids": True, "states": True}
    __metadata_request__score = {"sequence_ids": True}
    __metadata_request__predict = {"sequence_ids": True}
    __metadata_request__predict_proba = {"sequence_ids": True}
    __metadata_request__transform = {"sequence_ids": True}

    def __init__(
        self,
        n_components=1,
        *,
        emission=DEFAULT_FAMILY,
        covariance_type="diag",
        n_mix=1,
        n_symbols=None,
        n_trials=None,
        startprob_init=None,
        transmat_init=None,
        means_init=None,
        covariances_init=None,
        weights_init=None,
        emissionprob_init=None,
        rates_init=None,
        startprob_prior=1.0,
        transmat_prior=1.0,
        emissionprob_prior=1.0,
        weights_prior=1.0,
        means_prior=0.0,
        means_weight=0.0,
        covars_prior=0.0,
        covars_weight=0.0,
        lambdas_prior=0.0,
        lambdas_weight=0.0,
        reg_covar=1e-6,
        fixed_params=(),
        algorithm="viterbi",
        init_params="kmeans",
        max_iter=100,
        tol=1e-5,
        n_init=1,
        n_jobs=None,
        random_state=None,
        verbose=0,
        verbose_interval=10,
        learning_decay=0.6,
        learning_offset=1.0,
    ):
        self.n_components = n_components
        self.emission = emission
        self.covariance_type = covariance_type
        self.n_mix = n_mix
        self.n_symbols = n_symbols
        self.n_trials = n_trials
        self.startprob_init = startprob_init
        self.transmat_init = transmat_init
        self.means_init = means_init
        self.covariances_init = covariances_init
        self.weights_init = weights_init
        self.emissionprob_init = emissionprob_init
        self.rates_init = rates_init
        self.startprob_prior = startprob_prior
        self.transmat_prior = transmat_prior
        self.emissionprob_prior = emissionprob_prior
        self.weights_prior = weights_prior
        self.means_prior = means_prior
        self.means_weight = means_weight
        self.covars_prior = covars_prior
        self.covars_weight = covars_weight
        self.lambdas_prior = lambdas_prior
        self.lambdas_weight = lambdas_weight
        self.reg_covar = reg_covar
        self.fixed_params = fixed_params
        self.algorithm = algorithm
        self.init_params = init_params
        self.max_iter = max_iter
        self.tol = tol
        self.n_init = n_init
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.verbose_interval = verbose_interval
        self.learning_decay = learning_decay
        self.learning_offset = learning_offset

    _parameter_constraints = em_constraints(
        emission=[StrOptions(set(FAMILIES))],
        n_mix=[Interval(Integral, 1, None, closed="left")],
        n_symbols=[Interval(Integral, 1, None, closed="left"), None],
        n_trials=[Interval(Integral, 1, None, closed="left"), None],
        startprob_init=["array-like", None],
        transmat_init=["array-like", None],
        means_init=["array-like", None],
        covariances_init=["array-like", None],
        weights_init=["array-like", None],
        emissionprob_init=["array-like", None],
        rates_init=["array-like", None],
        startprob_prior=[Interval(Real, 0, None, closed="neither"), "array-like"],
        transmat_prior=[Interval(Real, 0, None, closed="neither"), "array-like"],
        emissionprob_prior=[Interval(Real, 0, None, closed="neither"), "array-like"],
        weights_prior=[Interval(Real, 0, None, closed="neither"), "array-like"],
        means_prior=[Real, "array-like"],
        means_weight=[Interval(Real, 0, None, closed="left"), "array-like"],
        covars_prior=[Real, "array-like"],
        covars_weight=[Real],
        lambdas_prior=[Interval(Real, 0, None, closed="left"), "array-like"],
        lambdas_weight=[Interval(Real, 0, None, closed="left"), "array-like"],
        fixed_params=["array-like", set, frozenset, tuple, list],
        algorithm=[StrOptions({"viterbi", "map"})],
        init_params=[StrOptions({"kmeans", "random"})],
        learning_decay=[Interval(Real, 0.5, 1.0, closed="right")],
        learning_offset=[Interval(Real, 0, None, closed="left")],
    )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        family = FAMILIES.get(self.emission)
        tags.input_tags.allow_nan = bool(family is not None and family.allow_nan)
        return tags

    # -- validation ------------------------------------------------------------------
    def _check_hyperparameters(self):
        self._validate_params()
        allowed = set(CHAIN_PARAMETERS) | set(FAMILIES[self.emission].parameter_names)
        if isinstance(self.fixed_params, str):
            raise TypeError("fixed_params must be a collection of names, e.g. ('startprob',).")
        unknown = set(self.fixed_params) - allowed
        if unknown:
            raise ValueError(
                f"fixed_params for emission={self.emission!r} may contain "
                f"{sorted(allowed)}; got unknown {sorted(unknown)}."
            )

    def _family(self):
        """The emission family, built from this estimator's parameters."""
        return FAMILIES[self.emission].from_options(self.get_params(deep=False),
                                                    pooled_start=True)

    def _fitted_family(self):
        return self._family().fitted(self)

    def _check_X(self, X, reset, family, keep_float32=False):
        """Validated ``X`` in float64; float32 kept as it is with ``keep_float32`` (the
        E-step by parts converts a part at a time: a large array is not copied)."""
        dtype = (np.float64, np.float32) if keep_float32 else np.float64
        X = validate_data(self, X, reset=reset, dtype=dtype, ensure_min_samples=1,
                          ensure_all_finite="allow-nan" if family.allow_nan else True)
        return family.check_X(X)

    def _surely_by_parts(self, X, family):
        """Whether the E-step of training data ``X`` (not validated yet) will run by parts,
        whatever its missing values and known states (which only add to its memory)."""
        shape = getattr(X, "shape", None)
        if shape is None or len(shape) != 2:
            return False
        per_row = _e_step_bytes_per_row(family, self.n_components, shape[1], False, False)
        return shape[0] * per_row > hmm_parts.PART_BYTES

    def _starting_values(self, family, n_features):
        """User-given starting values, validated, as copies."""
        K = self.n_components
        inits = {}
        if self.startprob_init is not None:
            inits["startprob"] = v.check_probabilities("startprob_init", self.startprob_init,
                                                       (K,))
        if self.transmat_init is not None:
            inits["transmat"] = v.check_probabilities("transmat_init", self.transmat_init,
                                                      (K, K))
        for name, argument in family.init_arguments.items():
            value = getattr(self, argument)
            if value is not None:
                inits[name] = family.check_init(name, value, K, n_features)
        return inits

    def _chain_priors(self):
        """Dirichlet concentrations of the chain as float arrays (scalars broadcast)."""
        K = self.n_components
        return {name: v.check_concentration(name, getattr(self, name), shape)
                for name, shape in (("startprob_prior", (K,)), ("transmat_prior", (K, K)))}

    # -- fitting ---------------------------------------------------------------------
    def fit(self, X, y=None, *, lengths=None, sequence_ids=None, states=None):
        """Estimate the parameters by Baum-Welch (``n_init`` runs, best kept).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows of all sequences.  With Gaussian emissions, NaN marks missing
            entries: they are integrated out of the emission densities (a row
            with nothing observed carries no evidence).
        y : Ignored
            Not used, present for API consistency.
        lengths : array-like of int, default=None
            Lengths of consecutive sequences (summing to n_samples).
        sequence_ids : array-like of shape (n_samples,), default=None
            Sequence label of each row; rows with the same label form one
            sequence in their order of appearance.  With neither argument, X is
            one sequence.
        states : array-like of int of shape (n_samples,), default=None
            Semi-supervised fit: the known state of some rows, -1 for the
            others (scikit-learn's mark for unlabeled).  Known rows are clamped
            to their state in every E-step, so EM maximizes the joint
            likelihood of the rows and the known states; when every state has
            known rows, the starting emission parameters are estimated from
            them.  A keyword, not ``y``: scikit-learn's estimator checks call
            ``fit(X, y)`` with arbitrary targets, which an unsupervised
            estimator must ignore.  Requested by default for metadata routing,
            so cross-validation splits it with ``X``.

        Returns
        -------
        self : HMMEM

        Examples
        --------
        >>> import numpy as np
        >>> from emlearn import HMMEM
        >>> rng = np.random.RandomState(0)
        >>> truth = np.repeat([0, 1, 0, 1], 50)
        >>> X = rng.normal(loc=3.0 * truth[:, None], size=(200, 1))
        >>> known = np.full(200, -1)
        >>> known[:5], known[50:55] = 0, 1          # a few labelled rows per state
        >>> hmm = HMMEM(n_components=2, random_state=0).fit(X, states=known)
        >>> float(np.mean(hmm.predict(X) == truth))  # states keep the labels' meaning
        0.995
        """
        self._check_hyperparameters()
        family = self._family()
        if is_dask_array(X):
            return self._fit_blocks(X, y, lengths, sequence_ids, states, family)
        X = self._check_X(X, reset=True, family=family,
                          keep_float32=self._surely_by_parts(X, family))
        _reject_positional_lengths(y, X)
        random_state = v.check_random_state("random_state", self.random_state)
        sequences = make_sequences(X.shape[0], lengths, sequence_ids)
        family = family.configure(X)
        if X.shape[0] < self.n_components and family.needs_responsibilities:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = "
                f"{self.n_components}, n_samples = {X.shape[0]}"
            )
        model = self._hidden_markov_model(family, X)
        data = self._training_data(X, family, sequences, states)
        run = fit_restarts(
            model, data, n_init=self.n_init, random_state=random_state,
            n_jobs=self.n_jobs, tol=self.tol, max_iter=self.max_iter, verbose=self.verbose,
            verbose_interval=self.verbose_interval,
        )
        warn_about_run(run, self.max_iter, what="Baum-Welch")
        run = _refuse_saddle(run, model.inits.get("transmat"), self.fixed_params)
        self._set_fitted(run, family)
        self._stream = None  # a later partial_fit starts a new stream
        return self

    def _training_data(self, X, family, sequences, states):
        """The E-step's data: prepared once for all rows when that fits
        ``hmm_parts.PART_BYTES``, else read part by part at every E-step."""
        K = self.n_components
        labels = known_state_labels(states, X.shape[0], K)
        incomplete, parts = _plan_of(X, family, K, sequences, labels is not None)
        if parts is None:
            X = X.astype(np.float64, copy=False)  # (float32 is kept for parts only)
            emission = family.prepare(X, n_components=K, cache=True)
            # A sample of rows for starting values is taken as the parts path takes it.
            training = TrainingRows(X, family, K, getattr(emission, "shift", None),
                                    incomplete, labels)
            return HMMData(emission, ForwardBackward(sequences), clamp_of_labels(labels, K),
                           training)
        # One center for every part, so that their statistics add as they are.
        shift = family.shift_of(X, incomplete)
        return HMMPartedData(TrainingRows(X, family, K, shift, incomplete, labels), sequences,
                             parts)

    def _fit_blocks(self, X, y, lengths, sequence_ids, states, family):
        """Fit on a dask array, re-blocked on sequence boundaries (see ``_core/blocks.py``).

        Each new block holds whole sequences (about as many rows as the
        array's first chunk), so the recursions never cross blocks; the
        re-blocking moves rows once per fit.  Starting values not given come
        from a uniform sample of at most 20,000 rows (taken as one sequence).
        """
        if states is not None:
            raise ValueError("states (known states) are not supported with a dask array X.")
        X, has_nan = check_dask_array(X, allow_nan=family.allow_nan)
        _reject_positional_lengths(y, X)
        set_input_attributes(self, X)
        sequences = _sequences_in_runs(X.shape[0], lengths, sequence_ids)
        random_state = v.check_random_state("random_state", self.random_state)
        family = family.configure(family.check_X(X))
        shift = family.shift_of(X, has_nan)
        blocks = sequence_blocks(sequences.lengths, max(X.chunks[0]))
        block_lengths = {start: sequences.lengths[first:last]
                         for start, _, first, last in blocks}
        data = BlockedData(X, functools.partial(_prepare_hmm_block, family, shift,
                                                self.n_components, has_nan, block_lengths),
                           row_blocks=[(start, stop) for start, stop, _, _ in blocks])
        model = self._hidden_markov_model(family, X)
        run = fit_restarts(
            BlockedModel(model, functools.partial(_hmm_sample, family, shift,
                                                  self.n_components)),
            data, n_init=self.n_init, random_state=random_state, n_jobs=1, tol=self.tol,
            max_iter=self.max_iter, verbose=self.verbose,
            verbose_interval=self.verbose_interval)
        warn_about_run(run, self.max_iter, what="Baum-Welch")
        run = _refuse_saddle(run, model.inits.get("transmat"), self.fixed_params)
        self._set_fitted(run, family)
        self._stream = None
        return self

    def _hidden_markov_model(self, family, X):
        priors = self._chain_priors()
        return HiddenMarkovModel(
            self.n_components, family, startprob_prior=priors["startprob_prior"],
            transmat_prior=priors["transmat_prior"], fixed=self.fixed_params,
            init_params=self.init_params,
            inits=self._starting_values(family, X.shape[1]),
        )

    def _set_fitted(self, run, family):
        params = run.params
        self.startprob_ = params.startprob
        self.transmat_ = params.transmat
        for name, value in family.attributes(params.emission).items():
            setattr(self, name, value)
        self.converged_ = run.converged
        self.n_iter_ = run.n_iter
        self.lower_bound_ = run.lower_bound
        self.lower_bounds_ = list(run.lower_bounds)

    def partial_fit(self, X, y=None, *, lengths=None, sequence_ids=None):
        """Update the model with a batch of whole sequences (stepwise EM, one pass).

        The first call (or the first after :meth:`fit`) initializes from its
        batch.  Each call runs forward-backward on its sequences with the
        current parameters, mixes their expected counts and emission
        statistics into running ones with weight ``(learning_offset + t) **
        -learning_decay`` (``t`` batches seen), and re-estimates the
        parameters: memory does not grow with the stream.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The rows of the batch's sequences.
        y : Ignored
        lengths, sequence_ids : see :meth:`fit` (sequences of this batch).

        Returns
        -------
        self : HMMEM
            ``lower_bound_`` is the batch's mean log-likelihood per row before
            the update and ``n_iter_`` the number of batches seen.
        """
        state = getattr(self, "_stream", None)
        first = state is None
        if first:
            self._check_hyperparameters()
            family = self._family()
        else:
            family = self._fitted_family()
        X = self._check_X(X, reset=first, family=family)
        _reject_positional_lengths(y, X)
        sequences = make_sequences(X.shape[0], lengths, sequence_ids)
        if first:
            family = family.configure(X)
            model, random_state = self._hidden_markov_model(family, X), np.random.RandomState(
                restart_seeds(v.check_random_state("random_state", self.random_state), 1)[0])
            shift = None
        else:
            model, random_state = self._hidden_markov_model(family, X), None
            shift = family.center(state.params.emission)
        data = HMMData(family.prepare(X, n_components=self.n_components, shift=shift,
                                      cache=True), ForwardBackward(sequences))
        state, lower_bound = stream_step(model, data, state, decay=self.learning_decay,
                                         offset=self.learning_offset, random_state=random_state)
        self._set_fitted(EMRun(state.params, lower_bound, [lower_bound], state.n_chunks, False),
                         family)
        self._stream = state
        return self

    def fit_transform(self, X, y=None, *, lengths=None, sequence_ids=None):
        """Fit, then return the posterior state probabilities of the same sequences.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        lengths, sequence_ids : see :meth:`fit`.

        Returns
        -------
        posteriors : ndarray of shape (n_samples, n_components)
        """
        sequences = {"lengths": lengths, "sequence_ids": sequence_ids}
        return self.fit(X, **sequences).transform(X, **sequences)

    # -- inference ---------------------------------------------------------------------
    def _inference(self, X, lengths, sequence_ids, y=None):
        """Validated ``X`` to infer on: its emission log-likelihoods at once when that
        fits ``hmm_parts.PART_BYTES`` (as the fit's E-step), else its parts."""
        check_is_fitted(self)
        family = self._fitted_family()
        X = self._check_X(X, reset=False, family=family)
        _reject_positional_lengths(y, X)
        sequences = make_sequences(X.shape[0], lengths, sequence_ids)
        params = family.params_from(self)
        K, center = self.n_components, family.center(params)
        chain = (sequences, self.startprob_, self.transmat_)
        incomplete, parts = _plan_of(X, family, K, sequences)
        if parts is not None:
            rows = TrainingRows(X, family, K, center, incomplete)
            return Inference(*chain, parted=HMMPartedData(rows, sequences, parts),
                             emission_params=params)
        data = family.prepare(X, n_components=K, shift=center, incomplete=incomplete)
        with single_threaded_blas():
            log_B = family.evaluator(data, params).log_likelihood()
        return Inference(*chain, log_B=log_B)

    def _lazy(self, method, X, lengths, sequence_ids, n_columns=None, dtype=np.float64):
        """``method`` (lengths as a keyword) on a dask array, lazily, block by block of
        whole sequences."""
        check_is_fitted(self)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has shape {X.shape}, but HMMEM is expecting "
                             f"{self.n_features_in_} features as input.")
        sequences = _sequences_in_runs(X.shape[0], lengths, sequence_ids)
        return map_sequences(X, sequences.lengths, method, n_columns, dtype)

    def _posteriors(self, inference):
        """Smoothed posteriors of all rows at once (n_samples, n_components)."""
        fb = ForwardBackward(inference.sequences)
        with single_threaded_blas():
            log_likelihood, gamma, _ = fb.posteriors(inference.log_B, self.startprob_,
                                                     self.transmat_, want_xi=False)
        _check_possible(log_likelihood)
        return gamma

    @staticmethod
    def _each_part_posteriors(inference, visit):
        """``visit(rows, gamma)`` for the posteriors of each part (as the fit's E-step
        computes them), or the error of the impossible sequences."""
        with single_threaded_blas():
            for posterior in hmm_parts.posteriors_by_parts(
                    inference.parted.parts, inference.emissions, inference.startprob,
                    inference.transmat, counts=False):
                if not np.isfinite(posterior.log_likelihood):
                    inference.check_possible()
                visit(inference.stream_rows(posterior.part), posterior.gamma)

    def score_sequences(self, X, *, lengths=None, sequence_ids=None):
        """Log-likelihood of each sequence.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths, sequence_ids : see :meth:`fit`.

        Returns
        -------
        log_likelihood : ndarray of shape (n_sequences,)
            In the order of ``lengths``, or of first appearance of each id.
        """
        return self._inference(X, lengths, sequence_ids).log_likelihoods()

    def score(self, X, y=None, *, lengths=None, sequence_ids=None, sample_weight=None):
        """Total log-likelihood of all sequences (hmmlearn's convention).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : Ignored
        lengths, sequence_ids : see :meth:`fit`.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights constant within each sequence: each sequence's
            log-likelihood is counted with its weight.

        Returns
        -------
        log_likelihood : float
        """
        if is_dask_array(X):  # the rows' one-step log-densities sum to the total
            _reject_positional_lengths(y, X)
            log_density = self.score_samples(X, lengths=lengths, sequence_ids=sequence_ids)
            if sample_weight is not None:
                sequences = _sequences_in_runs(X.shape[0], lengths, sequence_ids)
                log_density = log_density * _sequence_weights(sample_weight, sequences)[1]
            return float(log_density.sum().compute())
        inference = self._inference(X, lengths, sequence_ids, y=y)
        per_sequence = inference.log_likelihoods()
        if sample_weight is None:
            return float(per_sequence.sum())
        return float(per_sequence @ _sequence_weights(sample_weight, inference.sequences)[0])

    def predict_proba(self, X, *, lengths=None, sequence_ids=None, filtered=False):
        """Posterior probability of each state for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths, sequence_ids : see :meth:`fit`.
        filtered : bool, default=False
            False: smoothing, ``P(state_t | whole sequence)``.  True:
            filtering, ``P(state_t | rows up to t)`` -- what is known at time
            ``t`` when the rows arrive one by one (online regime detection);
            a row's filtered probabilities never depend on later rows.

        Returns
        -------
        posteriors : ndarray of shape (n_samples, n_components)
            Lazy for a dask array ``X`` (each sequence's rows contiguous):
            computed block by block of whole sequences.

        Examples
        --------
        >>> import numpy as np
        >>> from emlearn import HMMEM
        >>> hmm = HMMEM(2, means_init=[[0.0], [3.0]], covariances_init=[[1.0], [1.0]],
        ...             startprob_init=[0.5, 0.5], transmat_init=[[0.9, 0.1], [0.1, 0.9]],
        ...             max_iter=0).fit([[0.0], [3.0]])
        >>> X = np.array([[0.1], [1.9], [3.2]])
        >>> np.round(hmm.predict_proba(X, filtered=True)[1], 3)  # row 3 not seen yet
        array([0.705, 0.295])
        >>> np.round(hmm.predict_proba(X)[1], 3)  # row 3 makes state 1 likelier
        array([0.219, 0.781])
        """
        if is_dask_array(X):
            return self._lazy(functools.partial(self.predict_proba, filtered=filtered), X,
                              lengths, sequence_ids, self.n_components)
        inference = self._inference(X, lengths, sequence_ids)
        if filtered:
            return self._filter(inference, probabilities=True)[0]
        if inference.parted is None:
            return self._posteriors(inference)
        gamma = np.empty((inference.sequences.n_samples, self.n_components))

        def store(rows, part_gamma):
            gamma[rows] = part_gamma

        self._each_part_posteriors(inference, store)
        return gamma

    def _filter(self, inference, probabilities):
        """Filtered state probabilities (with ``probabilities``, after checking that every
        sequence is possible; else None) and one-step log-densities of every row."""
        if inference.parted is None:
            sequences = inference.sequences
            filtered, log_predictive = forward_filter(inference.log_B, self.startprob_,
                                                      self.transmat_, sequences)
            if probabilities:
                _check_possible(sequences.sum_per_sequence(log_predictive))
            return filtered, log_predictive
        n = inference.sequences.n_samples
        log_predictive = np.empty(n)
        filtered = np.empty((n, self.n_components)) if probabilities else None
        impossible = []

        def store(part, part_filtered, part_log_predictive):
            rows = inference.stream_rows(part)
            log_predictive[rows] = part_log_predictive
            if probabilities:
                filtered[rows] = part_filtered
                # A row of log-density -inf: its sequence has zero probability.
                impossible.append(np.isneginf(part_log_predictive).any())

        with single_threaded_blas():
            hmm_parts.filter_by_parts(inference.parted.parts, inference.emissions,
                                      self.startprob_, self.transmat_, store)
        if any(impossible):
            inference.check_possible()
        return filtered, log_predictive

    def score_samples(self, X, *, lengths=None, sequence_ids=None):
        """One-step-ahead log-density of each row: ``log p(x_t | rows before t)``.

        The rows' contributions to the log-likelihood: they sum over a
        sequence to its :meth:`score_sequences` value (and over all rows to
        :meth:`score`), and each depends only on its sequence's rows up to it
        (prediction errors for monitoring, in the spirit of scikit-learn's
        ``score_samples``; hmmlearn's ``score_samples`` -- log-likelihood and
        posteriors -- is ``score`` and :meth:`predict_proba`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths, sequence_ids : see :meth:`fit`.

        Returns
        -------
        log_density : ndarray of shape (n_samples,)
            Lazy for a dask array ``X`` (each sequence's rows contiguous):
            computed block by block of whole sequences.
        """
        if is_dask_array(X):
            return self._lazy(self.score_samples, X, lengths, sequence_ids)
        inference = self._inference(X, lengths, sequence_ids)
        return self._filter(inference, probabilities=False)[1]

    def transform(self, X, *, lengths=None, sequence_ids=None):
        """Posterior state probabilities (as :meth:`predict_proba`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths, sequence_ids : see :meth:`fit`.

        Returns
        -------
        posteriors : ndarray of shape (n_samples, n_components)
        """
        return self.predict_proba(X, lengths=lengths, sequence_ids=sequence_ids)

    def decode(self, X, *, lengths=None, sequence_ids=None, algorithm=None):
        """Most likely states and their log-probability.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths, sequence_ids : see :meth:`fit`.
        algorithm : {"viterbi", "map"}, default=None
            Overrides the estimator's ``algorithm``.

        Returns
        -------
        log_prob : float
            ``viterbi``: total log-probability of the best paths (joint with
            the data); ``map``: sum over rows of the log of the largest
            posterior state probability.
        states : ndarray of shape (n_samples,)
        """
        algorithm = self.algorithm if algorithm is None else algorithm
        v.check_option("algorithm", algorithm, ("viterbi", "map"))
        inference = self._inference(X, lengths, sequence_ids)
        if algorithm == "map":
            return self._map_decode(inference)
        with np.errstate(divide="ignore"):
            log_start, log_A = np.log(self.startprob_), np.log(self.transmat_)
        if inference.parted is None:
            log_prob, states = ForwardBackward(inference.sequences).viterbi(
                inference.log_B, log_start, log_A)
        else:
            states = np.empty(inference.sequences.n_samples, dtype=np.intp)

            def store(part, path):
                states[inference.stream_rows(part)] = path

            with single_threaded_blas():
                log_prob = hmm_parts.viterbi_by_parts(inference.parted.parts,
                                                      inference.emissions, log_start, log_A,
                                                      store)
        _check_possible(log_prob)
        return float(log_prob.sum()), states

    def _map_decode(self, inference):
        """The most probable state of each row by its smoothed posteriors (part by part
        beyond the budget: no posteriors of all rows at once)."""
        if inference.parted is None:
            return _map_states(self._posteriors(inference))
        states = np.empty(inference.sequences.n_samples, dtype=np.intp)
        log_prob = []

        def store(rows, gamma):
            part_log_prob, states[rows] = _map_states(gamma)
            log_prob.append(part_log_prob)

        self._each_part_posteriors(inference, store)
        return float(np.sum(log_prob)), states

    def predict(self, X, *, lengths=None, sequence_ids=None):
        """Most likely state of each row (per ``algorithm``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths, sequence_ids : see :meth:`fit`.

        Returns
        -------
        states : ndarray of shape (n_samples,)
            Lazy for a dask array ``X`` (each sequence's rows contiguous):
            computed block by block of whole sequences.
        """
        if is_dask_array(X):
            return self._lazy(self.predict, X, lengths, sequence_ids, dtype=np.intp)
        return self.decode(X, lengths=lengths, sequence_ids=sequence_ids)[1]

    def sample(self, n_samples=1, random_state=None, currstate=None):
        """Generate one sequence from the fitted model.

        Parameters
        ----------
        n_samples : int, default=1
            Length of the sequence.
        random_state : int, RandomState instance or None, default=None
        currstate : int, default=None
            State of the first row (hmmlearn's argument: continue a sequence
            from a known state); None draws it from ``startprob_``.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
        states : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        v.check_integer("n_samples", n_samples, minimum=1)
        rng = v.check_random_state("random_state", random_state)
        K = self.n_components
        if currstate is not None:
            v.check_integer("currstate", currstate, minimum=0)
            if currstate >= K:
                raise ValueError(f"currstate must be < n_components = {K}, got {currstate}.")
        states = np.empty(n_samples, dtype=np.intp)
        cumulative_start = np.cumsum(self.startprob_)
        cumulative = np.cumsum(self.transmat_, axis=1)
        uniforms = rng.uniform(size=n_samples)
        states[0] = min(np.searchsorted(cumulative_start, uniforms[0], side="right"), K - 1)
        if currstate is not None:
            states[0] = currstate
        for t in range(1, n_samples):
            states[t] = min(np.searchsorted(cumulative[states[t - 1]], uniforms[t],
                                            side="right"), K - 1)
        family = self._fitted_family()
        return family.sample(rng, family.params_from(self), states), states

    def get_stationary_distribution(self):
        """The stationary distribution of the chain: ``pi @ transmat_ == pi``.

        hmmlearn's name.  For a chain with several closed classes it is not
        unique; this is one of them (a least-squares solution).

        Returns
        -------
        pi : ndarray of shape (n_components,)

        Examples
        --------
        >>> import numpy as np
        >>> from emlearn import HMMEM
        >>> hmm = HMMEM(2, transmat_init=[[0.9, 0.1], [0.2, 0.8]], max_iter=0).fit([[0.0], [1.0]])
        >>> np.round(hmm.get_stationary_distribution(), 6)
        array([0.666667, 0.333333])
        """
        check_is_fitted(self)
        K = self.n_components
        system = np.vstack([self.transmat_.T - np.eye(K), np.ones((1, K))])
        target = np.zeros(K + 1)
        target[-1] = 1.0
        pi = np.maximum(np.linalg.lstsq(system, target, rcond=None)[0], 0.0)
        return pi / pi.sum()

    # -- model selection ---------------------------------------------------------------
    def _n_parameters(self):
        K = self.n_components
        fixed = set(self.fixed_params)
        count = 0 if "startprob" in fixed else K - 1
        count += 0 if "transmat" in fixed else K * (K - 1)
        return count + self._fitted_family().n_parameters(K, self.n_features_in_, fixed)

    def bic(self, X, *, lengths=None, sequence_ids=None):
        """Bayesian information criterion (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths, sequence_ids : see :meth:`fit`.

        Returns
        -------
        bic : float
        """
        log_likelihood = self.score(X, lengths=lengths, sequence_ids=sequence_ids)
        return criteria.bic(log_likelihood, self._n_parameters(), len(X))

    def aic(self, X, *, lengths=None, sequence_ids=None):
        """Akaike information criterion (lower is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        lengths, sequence_ids : see :meth:`fit`.

        Returns
        -------
        aic : float
        """
        log_likelihood = self.score(X, lengths=lengths, sequence_ids=sequence_ids)
        return criteria.aic(log_likelihood, self._n_parameters())

    def get_feature_names_out(self, input_features=None):
        """Names of the posterior columns: ``state0 .. state{K-1}``.

        Parameters
        ----------
        input_features : Ignored

        Returns
        -------
        names : ndarray of str objects
        """
        check_is_fitted(self)
        return np.asarray([f"state{k}" for k in range(self.n_components)], dtype=object)
