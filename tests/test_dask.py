"""Fits on dask arrays, on a real LocalCluster (worker processes) and the threaded scheduler."""

import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs

from emlearn import HMMEM, EMImputer, GaussianMixtureEM

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own start-up chatter
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0")
        client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(params=["cluster", "threads"])
def scheduler(request):
    """The active dask scheduler: a distributed Client, or dask's default threads."""
    if request.param == "cluster":
        client = request.getfixturevalue("client")
        with client.as_current():
            yield request.param
    else:
        import dask

        with dask.config.set(scheduler="threads"):
            yield request.param


def blobs_with_holes(missing):
    X, _ = make_blobs(n_samples=6000, n_features=3, centers=3, random_state=1)
    X = X * [1.0, 10.0, 0.1] + [0.0, 100.0, -5.0]
    if missing:
        X[np.random.RandomState(0).uniform(size=X.shape) < 0.2] = np.nan
    return X


def same_start(X, k=3):
    start = GaussianMixtureEM(k, max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start.fit(np.nan_to_num(X, nan=np.nanmean(X)))
    return dict(weights_init=start.weights_, means_init=start.means_,
                precisions_init=start.precisions_)


def assert_same_model(ours, reference, names):
    for name in names:
        np.testing.assert_allclose(getattr(ours, name), getattr(reference, name), rtol=1e-10,
                                   atol=1e-12)
    assert ours.lower_bound_ == pytest.approx(reference.lower_bound_, rel=1e-10)
    assert ours.n_iter_ == reference.n_iter_


@pytest.mark.parametrize("missing", [False, True])
def test_mixture_on_a_dask_array_is_the_in_memory_fit(scheduler, missing):
    X = blobs_with_holes(missing)
    options = dict(tol=1e-9, max_iter=40, **same_start(X))
    reference = GaussianMixtureEM(3, **options).fit(X)
    blocks = da.from_array(X, chunks=(1100, 3))
    model = GaussianMixtureEM(3, **options).fit(blocks)
    assert_same_model(model, reference, ["weights_", "means_", "covariances_"])
    # Predictions are lazy, computed block by block.
    proba = model.predict_proba(blocks)
    assert isinstance(proba, da.Array)
    np.testing.assert_allclose(proba.compute(), reference.predict_proba(X), atol=1e-10)
    np.testing.assert_array_equal(model.predict(blocks).compute(), reference.predict(X))
    np.testing.assert_allclose(model.score_samples(blocks).compute(),
                               reference.score_samples(X), rtol=1e-10, atol=1e-12)
    assert model.score(blocks) == pytest.approx(reference.score(X), rel=1e-10)


def test_imputer_on_a_dask_array_is_the_in_memory_fit(scheduler):
    X = blobs_with_holes(missing=True)
    options = dict(n_components=2, tol=1e-9, random_state=0)
    reference = EMImputer(**options).fit(X)
    blocks = da.from_array(X, chunks=(1100, 3))
    model = EMImputer(**options).fit(blocks)
    assert model.n_iter_ == reference.n_iter_
    np.testing.assert_allclose(model.means_, reference.means_, rtol=1e-10)
    np.testing.assert_allclose(model.covariances_, reference.covariances_, rtol=1e-9)
    assert model.lower_bound_ == pytest.approx(reference.lower_bound_, rel=1e-10)
    completed = model.transform(blocks)
    assert isinstance(completed, da.Array)
    np.testing.assert_allclose(completed.compute(), reference.transform(X), rtol=1e-9)


def test_hmm_on_a_dask_array_is_the_in_memory_fit(scheduler):
    rng = np.random.RandomState(2)
    states = np.repeat(rng.randint(2, size=80), 25)
    X = rng.normal(size=(2000, 2)) + 3.0 * states[:, None]
    lengths = [300, 450, 150, 600, 500]  # the second crosses the chunk boundary at 400
    start = dict(startprob_init=[0.5, 0.5], transmat_init=[[0.8, 0.2], [0.2, 0.8]],
                 means_init=[[0.0, 0.0], [3.0, 3.0]], covariances_init=[[1.0, 1.0]] * 2)
    options = dict(tol=1e-10, max_iter=30, **start)
    reference = HMMEM(2, **options).fit(X, lengths=lengths)
    blocks = da.from_array(X, chunks=(400, 2))
    model = HMMEM(2, **options).fit(blocks, lengths=lengths)
    assert_same_model(model, reference, ["startprob_", "transmat_", "means_", "covariances_"])
    # Inference is lazy, block by block of whole sequences (re-blocked on their bounds).
    for method, options in (("predict", {}), ("predict_proba", {}),
                            ("predict_proba", {"filtered": True}), ("score_samples", {})):
        lazy = getattr(model, method)(blocks, lengths=lengths, **options)
        assert isinstance(lazy, da.Array)
        np.testing.assert_allclose(lazy.compute(),
                                   getattr(reference, method)(X, lengths=lengths, **options),
                                   rtol=1e-9, atol=1e-12)
    weights = np.repeat([1.0, 2.0, 0.5, 1.0, 3.0], lengths)
    assert model.score(blocks, lengths=lengths, sample_weight=weights) == pytest.approx(
        reference.score(X, lengths=lengths, sample_weight=weights), rel=1e-10)
    with pytest.raises(ValueError, match="contiguous"):
        model.predict(blocks, sequence_ids=np.arange(2000) % 3)
    with pytest.raises(ValueError, match="features"):
        model.predict(da.from_array(X[:, :1], chunks=(400, 1)))


def test_restarts_run_on_the_cluster_with_the_same_result(client):
    import joblib

    X = blobs_with_holes(missing=False)
    reference = GaussianMixtureEM(3, n_init=4, random_state=0, n_jobs=1).fit(X)
    with client.as_current(), joblib.parallel_config(backend="dask"):
        on_cluster = GaussianMixtureEM(3, n_init=4, random_state=0).fit(X)
    np.testing.assert_array_equal(on_cluster.means_, reference.means_)
    assert on_cluster.lower_bound_ == reference.lower_bound_


def test_default_start_on_a_dask_array_finds_the_clusters():
    X = blobs_with_holes(missing=False)
    model = GaussianMixtureEM(3, random_state=0).fit(da.from_array(X, chunks=(1000, 3)))
    reference = GaussianMixtureEM(3, random_state=0).fit(X)
    assert model.score(X) == pytest.approx(reference.score(X), abs=1e-3)


def test_bad_dask_input_is_a_clear_error():
    X = blobs_with_holes(missing=False)
    X[5, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixtureEM(2).fit(da.from_array(X, chunks=(1000, 3)))
    with pytest.raises(ValueError, match="contiguous"):
        HMMEM(2).fit(da.from_array(np.zeros((10, 2)), chunks=5),
                     sequence_ids=[0, 1] * 5)


def test_importing_emlearn_does_not_import_dask():
    code = "import sys, emlearn; assert 'dask' not in sys.modules, 'dask imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_one_pass_summary_belongs_to_its_array():
    """The checks of a fit read a one-pass summary of the array, kept by the array's dask
    name: another array of the same shape (the caller's array changed) is checked anew."""
    X = blobs_with_holes(missing=False)
    GaussianMixtureEM(3, max_iter=2, random_state=0).fit(da.from_array(X, chunks=(1000, 3)))
    X[10, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        GaussianMixtureEM(3, max_iter=2, random_state=0).fit(da.from_array(X, chunks=(1000, 3)))
