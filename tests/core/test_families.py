"""The family protocol: statistics that add, one rule for empty components, no family names
in the estimators."""

import ast
import inspect
import pathlib

import numpy as np
import pytest

import emlearn
from emlearn import hmm as hmm_module
from emlearn._core.families import FAMILIES, CategoricalFamily, GaussianFamily, PoissonFamily
from emlearn._core.families.gaussian_mixture import GaussianMixtureFamily
from emlearn._core.families.multinomial import MultinomialFamily
from emlearn._core.families.missing import ExpectedMoments
from emlearn._hmm.forward_backward import ForwardBackward
from emlearn._hmm.sequences import make_sequences
from emlearn.hmm import HiddenMarkovModel, HMMData, HMMParams

COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")
K = 3


def gaussian_case(covariance_type, missing):
    family = GaussianFamily(covariance_type, reg_covar=1e-6)
    rng = np.random.RandomState(0)
    X = rng.normal(size=(60, 3)) * [1.0, 2.0, 0.5] + [10.0, -3.0, 1e5]
    if missing:
        X[rng.uniform(size=X.shape) < 0.3] = np.nan
    means = rng.normal(size=(K, 3)) + [10.0, -3.0, 1e5]
    # One component far from the data's center: its statistics are centered on itself.
    means[2] += [0.0, 0.0, 1e9]
    covariances = {"full": np.stack([np.diag([1.0, 4.0, 0.25])] * K),
                   "tied": np.diag([1.0, 4.0, 0.25]),
                   "diag": np.tile([1.0, 4.0, 0.25], (K, 1)),
                   "spherical": np.array([1.0, 2.0, 0.5])}[covariance_type]
    return family, X, family.params(means, covariances)


def gaussian_mixture_case(covariance_type, n_mix=2):
    """Three states of two Gaussians each; one component far from the data's center."""
    family = GaussianMixtureFamily(covariance_type, n_mix, reg_covar=1e-6)
    rng = np.random.RandomState(6)
    X = rng.normal(size=(60, 3)) * [1.0, 2.0, 0.5] + [10.0, -3.0, 1e5]
    means = rng.normal(size=(K, n_mix, 3)) + [10.0, -3.0, 1e5]
    means[2, 1] += [0.0, 0.0, 1e9]
    variances = np.array([1.0, 4.0, 0.25])
    covariances = {"full": np.broadcast_to(np.diag(variances), (K, n_mix, 3, 3)),
                   "tied": np.broadcast_to(np.diag(variances), (K, 3, 3)),
                   "diag": np.broadcast_to(variances, (K, n_mix, 3)),
                   "spherical": np.full((K, n_mix), 1.5)}[covariance_type]
    weights = rng.dirichlet(np.ones(n_mix), size=K)
    return family, X, family.assemble({"weights": weights, "means": means,
                                       "covariances": np.array(covariances)})


def discrete_case(name):
    rng = np.random.RandomState(1)
    if name == "categorical":
        family = CategoricalFamily(5, prior=1.0)
        X = rng.randint(5, size=(60, 1)).astype(float)
        return family, X, {"emissionprob": rng.dirichlet(np.ones(5), size=K)}
    if name == "multinomial":
        X = np.stack([rng.multinomial(6, [0.2, 0.5, 0.3]) for _ in range(60)]).astype(float)
        return (MultinomialFamily(6, prior=1.0),
                X, {"emissionprob": rng.dirichlet(np.ones(3), size=K)})
    X = rng.poisson([1.0, 5.0], size=(60, 2)).astype(float)
    return (PoissonFamily(lambdas_prior=0.5, lambdas_weight=2.0), X,
            {"rates": rng.uniform(0.5, 6.0, size=(K, 2))})


CASES = ([("gaussian", ct, missing) for ct in COVARIANCE_TYPES for missing in (False, True)]
         + [("categorical", None, False), ("poisson", None, False),
            ("multinomial", None, False)]
         + [("gaussian_mixture", ct, False) for ct in COVARIANCE_TYPES])


def make_case(name, covariance_type, missing):
    if name == "gaussian":
        return gaussian_case(covariance_type, missing)
    if name == "gaussian_mixture":
        return gaussian_mixture_case(covariance_type)
    return discrete_case(name)


def statistics_of(family, X, params, weights):
    """Statistics of rows X under ``params`` for weights (K, n), as the E-step forms them."""
    data = family.prepare(X, n_components=K, shift=np.nanmean(X, axis=0)
                          if family.name.startswith("gaussian") else None)
    return family.evaluator(data, params).statistics(weights)


def arrays(stats):
    """The arrays of a statistics value (nested values flattened), for comparisons."""
    if isinstance(stats, ExpectedMoments):
        return [getattr(stats, name) for name in stats._fields]
    out = []
    for name in stats._fields():
        value = getattr(stats, name)
        if isinstance(value, str) or value is None:
            continue
        out.extend(arrays(value) if hasattr(value, "_fields") else [np.asarray(value)])
    return out


def assert_same(a, b, rtol=1e-12):
    for x, y in zip(arrays(a), arrays(b), strict=True):
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol * max(1.0, np.abs(y).max()))


@pytest.mark.parametrize("name, covariance_type, missing", CASES)
def test_statistics_of_rows_a_then_b_are_the_sum(name, covariance_type, missing):
    family, X, params = make_case(name, covariance_type, missing)
    weights = np.random.RandomState(2).dirichlet(np.ones(K), size=len(X)).T
    shift = np.nanmean(X, axis=0) if name.startswith("gaussian") else None

    def stats(rows):
        data = family.prepare(X[rows], n_components=K, shift=shift)
        return family.evaluator(data, params).statistics(np.ascontiguousarray(weights[:, rows]))

    whole, first, second = stats(slice(None)), stats(slice(0, 25)), stats(slice(25, None))
    assert_same(first + second, whole)
    doubled_weights = 2.0 * weights
    data = family.prepare(X, n_components=K, shift=shift)
    assert_same(2 * whole, family.evaluator(data, params).statistics(doubled_weights))
    assert_same(whole * 2.0, 2 * whole)


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_expected_moments_add_and_scale(covariance_type):
    family, X, params = gaussian_case(covariance_type, missing=True)
    weights = np.random.RandomState(3).dirichlet(np.ones(K), size=len(X)).T

    def moments(rows):
        data = family.prepare(X[rows], n_components=K, shift=np.nanmean(X, axis=0))
        evaluator = family.evaluator(data, params)
        out = evaluator.new_statistics()
        for chunk in evaluator.chunks():
            evaluator.accumulate(out, chunk, np.ascontiguousarray(
                weights[:, rows][:, evaluator.rows(chunk)]))
        return out

    whole = moments(slice(None))
    assert_same(moments(slice(0, 30)) + moments(slice(30, None)), whole)
    assert_same(0.5 * (whole + whole), whole)


def test_statistics_around_different_centers_add_exactly():
    # Statistics under two parameter values (different centers) are re-centered.
    family, X, params = gaussian_case("full", missing=False)
    # Components near their data (a center far from a component's own rows
    # cannot keep its second moments: EM's components sit near theirs).
    params = family.params(params["means"][[0, 1, 0]], params["covariances"])
    moved = dict(params, means=params["means"] + 0.5)
    moved = family.params(moved["means"], moved["covariances"])
    weights = np.random.RandomState(4).dirichlet(np.ones(K), size=len(X)).T
    a = statistics_of(family, X[:30], params, weights[:, :30])
    b = statistics_of(family, X[30:], moved, weights[:, 30:])
    total = a + b
    estimate = family.m_step(total)
    nk = weights.sum(axis=1)
    expected_means = weights @ X / nk[:, None]
    np.testing.assert_allclose(estimate["means"], expected_means, rtol=1e-9)
    for k in range(K):
        centered = X - expected_means[k]
        expected = (weights[k, :, None] * centered).T @ centered / nk[k] + 1e-6 * np.eye(3)
        np.testing.assert_allclose(estimate["covariances"][k], expected, rtol=1e-9)


def test_hmm_statistics_add():
    family, X, params = gaussian_case("diag", missing=True)
    model = HiddenMarkovModel(K, family)
    hmm_params = HMMParams(np.full(K, 1 / K), np.full((K, K), 1 / K) * 0.5 + np.eye(K) * 0.5,
                           params)

    def stats(rows, lengths):
        data = HMMData(family.prepare(X[rows], n_components=K, shift=np.nanmean(X, axis=0)),
                       ForwardBackward(make_sequences(len(X[rows]), lengths=lengths)))
        return model.e_step(data, hmm_params)[1]

    whole = stats(slice(None), [20, 20, 20])
    assert_same(stats(slice(0, 40), [20, 20]) + stats(slice(40, None), [20]), whole)
    assert_same(2 * whole, whole + whole)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_a_component_without_weight_keeps_its_parameters(name):
    family, X, params = make_case(name, "full", False)
    if name == "gaussian":  # every component near the rows it weighs, as in EM
        params = family.params(params["means"][[0, 1, 0]], params["covariances"])
    weights = np.random.RandomState(5).dirichlet(np.ones(K), size=len(X)).T
    weights[1] = 0.0
    stats = statistics_of(family, X, params, weights)
    new = family.m_step(stats, params)
    for key, value in params.items():
        if isinstance(value, dict):  # derived parameters (a mixture's flattened Gaussians)
            continue
        np.testing.assert_array_equal(new[key][1], value[1])
        assert np.all(np.isfinite(new[key]))


@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_a_mixture_component_without_weight_keeps_its_parameters(covariance_type):
    """Within a visited state, a mixture component that explains no row keeps its mean and
    covariance (and gets weight zero); the state's other component is re-estimated."""
    family, X, params = gaussian_mixture_case(covariance_type)
    weights = np.random.RandomState(7).dirichlet(np.ones(K), size=len(X)).T
    params = family.assemble({"weights": np.array([[0.5, 0.5], [1.0, 0.0], [0.5, 0.5]]),
                              "means": params["means"], "covariances": params["covariances"]})
    new = family.m_step(statistics_of(family, X, params, weights), params)
    assert new["weights"][1, 1] == 0.0
    np.testing.assert_array_equal(new["means"][1, 1], params["means"][1, 1])
    assert not np.allclose(new["means"][1, 0], params["means"][1, 0])
    if covariance_type != "tied":
        np.testing.assert_array_equal(new["covariances"][1, 1], params["covariances"][1, 1])
    assert all(np.all(np.isfinite(value)) for value in new.values()
               if not isinstance(value, dict))


def test_hmmem_names_no_family():
    """Adding a family to HMMEM is a module and a registry entry: hmm.py never branches on one."""
    source = pathlib.Path(inspect.getfile(hmm_module)).read_text()
    tree = ast.parse(source)
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    names = [family for family in FAMILIES] + ["Gaussian", "Categorical", "Poisson", "Multinomial"]
    for node in ast.walk(tree):
        text = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = None if id(node) in docstrings else node.value
        elif isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.alias):
            text = node.name
        if text is not None:
            assert not any(name.lower() in text.lower() for name in names), (node.lineno, text)
    # ... and every registered family is usable by name.
    for name in FAMILIES:
        assert name in emlearn.HMMEM._parameter_constraints["emission"][0].options
