"""Rubin's rules for multiple imputation: :func:`pool_rubin`."""

import dataclasses
import numbers

import numpy as np
from scipy import stats


@dataclasses.dataclass(frozen=True)
class RubinPooled:
    """Estimates pooled over ``m`` imputations by Rubin's rules.

    Returned by :func:`pool_rubin`.  Every field is a float for scalar
    estimates, else an array of the estimates' shape.

    Attributes
    ----------
    estimate : float or ndarray
        Pooled estimate: the mean of the ``m`` estimates.
    within : float or ndarray
        Within-imputation variance: the mean of the ``m`` variances.
    between : float or ndarray
        Between-imputation variance: the sample variance of the estimates.
    total : float or ndarray
        Total variance, ``within + (1 + 1/m) * between``.
    df : float or ndarray
        Barnard-Rubin degrees of freedom of the t reference distribution.
    riv : float or ndarray
        Relative increase in variance due to the missing values,
        ``(1 + 1/m) * between / within``.
    fmi : float or ndarray
        Fraction of missing information, ``(riv + 2 / (df + 3)) / (riv + 1)``.
    m : int
        Number of imputations.
    """

    estimate: object
    within: object
    between: object
    total: object
    df: object
    riv: object
    fmi: object
    m: int

    @property
    def std_error(self):
        """Square root of the total variance."""
        return np.sqrt(self.total)

    def confint(self, alpha=0.05):
        """Confidence interval ``estimate -/+ t(df, 1 - alpha/2) * std_error``.

        Parameters
        ----------
        alpha : float, default=0.05
            One minus the confidence level (0.05 for a 95% interval).

        Returns
        -------
        low, high : float or ndarray
            The bounds, of the shape of ``estimate``.
        """
        if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 < alpha < 1:
            raise ValueError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}.")
        half = stats.t.ppf(1 - alpha / 2, self.df) * self.std_error
        return _unwrap(self.estimate - half), _unwrap(self.estimate + half)


def pool_rubin(estimates, variances, *, df_complete=np.inf):
    """Combine the results of ``m`` imputed data sets by Rubin's rules.

    Fit the same model to each of the ``m`` completed data sets (for example
    from :meth:`EMImputer.multiple_impute`), keep each estimate and its
    squared standard error, and pool them: the pooled estimate is their mean,
    and its variance adds the spread between imputations to the mean variance
    within them (Rubin, 1987).  Intervals use a t distribution with the
    degrees of freedom of Barnard and Rubin (1999), which stay below the
    complete-data degrees of freedom in small samples.

    Parameters
    ----------
    estimates : array-like of shape (m,) or (m, ...)
        One estimate per imputation: scalars, or arrays of any shape
        (e.g. the coefficients of a regression), pooled element-wise.
    variances : array-like of the shape of ``estimates``
        The squared standard error of each estimate, on its own completed
        data set (the diagonal of the covariance matrix for vectors).
    df_complete : float, default=np.inf
        Degrees of freedom the analysis would have without missing values
        (``n - p`` for a regression with ``p`` coefficients on ``n`` rows).
        The default, infinity, gives Rubin's (1987) large-sample degrees of
        freedom.

    Returns
    -------
    pooled : RubinPooled
        A frozen dataclass with fields ``estimate``, ``within``, ``between``,
        ``total``, ``df``, ``riv`` (relative increase in variance), ``fmi``
        (fraction of missing information) and ``m``, the property
        ``std_error`` and the method ``confint(alpha=0.05)``.

    Notes
    -----
    With :math:`\\bar Q` the mean of the estimates, :math:`\\bar U` the mean of
    the variances and :math:`B` the sample variance of the estimates
    (``ddof=1``):

    .. math::

        T = \\bar U + (1 + 1/m) B, \\quad
        \\lambda = (1 + 1/m) B / T, \\quad
        \\nu_{old} = (m - 1) / \\lambda^2, \\\\
        \\nu_{obs} = \\frac{\\nu_{com} + 1}{\\nu_{com} + 3}\\,
        \\nu_{com} (1 - \\lambda), \\quad
        \\nu = \\frac{\\nu_{old}\\, \\nu_{obs}}{\\nu_{old} + \\nu_{obs}}.

    ``riv`` is :math:`(1 + 1/m) B / \\bar U` and ``fmi`` is
    :math:`(r + 2 / (\\nu + 3)) / (r + 1)`, as in R's mice.  When the
    estimates agree exactly (:math:`B = 0`), :math:`\\nu = \\nu_{obs}`.

    References
    ----------
    Rubin, D. B. (1987). Multiple Imputation for Nonresponse in Surveys. Wiley.

    Barnard, J. and Rubin, D. B. (1999). Small-sample degrees of freedom with
    multiple imputation. Biometrika, 86(4), 948-955.

    Examples
    --------
    >>> from emlearn import pool_rubin
    >>> pooled = pool_rubin([1.0, 2.0, 3.0, 4.0], [0.5, 0.5, 1.0, 1.0], df_complete=20)
    >>> float(pooled.estimate), float(pooled.within), round(float(pooled.between), 4)
    (2.5, 0.75, 1.6667)
    >>> round(float(pooled.total), 4), round(float(pooled.df), 3)
    (2.8333, 2.583)
    >>> [round(float(bound), 2) for bound in pooled.confint(0.05)]
    [-3.38, 8.38]
    """
    Q = _as_stack("estimates", estimates)
    U = _as_stack("variances", variances)
    if Q.shape != U.shape:
        raise ValueError(f"estimates and variances must have the same shape, got {Q.shape} "
                         f"and {U.shape}.")
    if np.any(U < 0):
        raise ValueError("variances must be >= 0.")
    if isinstance(df_complete, bool) or not isinstance(df_complete, numbers.Real) or not (
            df_complete > 0):
        raise ValueError(f"df_complete must be a positive number or np.inf, got {df_complete!r}.")
    m = Q.shape[0]
    estimate = Q.mean(axis=0)
    within = U.mean(axis=0)
    between = Q.var(axis=0, ddof=1)
    inflated = (1 + 1 / m) * between
    total = within + inflated
    with np.errstate(divide="ignore", invalid="ignore"):
        riv = np.where(inflated > 0, inflated / within, 0.0)
        lam = np.where(inflated > 0, inflated / total, 0.0)
        df_old = np.where(lam > 0, (m - 1) / lam**2, np.inf)
        if np.isinf(df_complete):
            df = df_old
        else:
            df_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
            df = np.where(np.isinf(df_old), df_obs, df_old * df_obs / (df_old + df_obs))
        fmi = (riv + 2 / (df + 3)) / (riv + 1)
    return RubinPooled(*(_unwrap(value) for value in (estimate, within, between, total, df,
                                                      riv, fmi)), m=m)


def _as_stack(name, values):
    """``values`` as a float array of shape (m, ...) with m >= 2, finite."""
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be numbers or arrays of numbers of one shape.") from None
    if array.ndim == 0 or array.shape[0] < 2:
        raise ValueError(f"{name} must hold one value per imputation, at least 2 of them; "
                         f"got shape {array.shape}.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite.")
    return array


def _unwrap(value):
    """A 0-d array as a Python float; arrays unchanged."""
    return float(value) if np.ndim(value) == 0 else value
