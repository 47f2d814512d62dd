"""partial_fit: stepwise EM over a stream of chunks, one pass, bounded state."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from emlearn import HMMEM, GaussianMixtureEM


@pytest.fixture(scope="module")
def stream():
    X, _ = make_blobs(n_samples=220_000, n_features=8, centers=5,
                      cluster_std=[1.0, 1.5, 0.7, 2.0, 1.2], random_state=3)
    X = X[np.random.RandomState(0).permutation(len(X))]
    return X[:200_000], X[200_000:]


def test_mixture_stream_reaches_the_batch_fit(stream):
    train, test = stream
    batch = GaussianMixtureEM(5, random_state=0).fit(train)
    online = GaussianMixtureEM(5, random_state=0)
    for chunk in np.split(train, 200):  # 200 chunks of 1,000 rows, seen once
        online.partial_fit(chunk)
    assert online.n_iter_ == 200
    assert abs(batch.score(test) - online.score(test)) < 0.02
    # The state kept between calls does not grow with the stream.
    assert pickle.dumps(online._stream).__len__() < 50_000


def sticky_sequences(rng, n_sequences, length):
    K = 3
    transmat = np.array([[0.95, 0.03, 0.02], [0.04, 0.92, 0.04], [0.02, 0.03, 0.95]])
    means = np.array([[0.0, 0.0], [2.5, 1.0], [-1.0, 3.0]])
    cumulative = np.cumsum(transmat, axis=1)
    states = np.empty((n_sequences, length), dtype=int)
    states[:, 0] = rng.randint(K, size=n_sequences)
    for t in range(1, length):
        u = rng.uniform(size=n_sequences)
        states[:, t] = (u[:, None] > cumulative[states[:, t - 1]]).sum(axis=1)
    X = means[states.ravel()] + rng.normal(size=(n_sequences * length, 2))
    return X


def test_hmm_stream_reaches_the_batch_fit():
    rng = np.random.RandomState(0)
    train, test = sticky_sequences(rng, 400, 200), sticky_sequences(rng, 50, 200)
    batch = HMMEM(3, random_state=0).fit(train, lengths=[200] * 400)
    online = HMMEM(3, random_state=0)
    for batch_rows in np.split(train, 40):  # 10 sequences at a time
        online.partial_fit(batch_rows, lengths=[200] * 10)
    per_row = len(test)
    gap = (batch.score(test, lengths=[200] * 50) - online.score(test, lengths=[200] * 50))
    assert abs(gap) / per_row < 0.02
    assert online.n_iter_ == 40


def test_first_call_initializes_and_fit_starts_a_new_stream(stream):
    train, _ = stream
    model = GaussianMixtureEM(3, random_state=0).partial_fit(train[:500])
    assert model.n_iter_ == 1 and model.means_.shape == (3, 8)
    model.partial_fit(train[500:1000])
    assert model.n_iter_ == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(train[:2000])
    model.partial_fit(train[2000:2500])
    assert model.n_iter_ == 1  # a new stream
    with pytest.raises(ValueError, match="n_samples >= n_components"):
        GaussianMixtureEM(5).partial_fit(train[:3])
    with pytest.raises(ValueError, match="features"):
        model.partial_fit(train[:100, :4])


def test_stream_with_missing_values_and_weights(stream):
    train, test = stream
    rng = np.random.RandomState(1)
    holes = train[:50_000].copy()
    holes[rng.uniform(size=holes.shape) < 0.2] = np.nan
    model = GaussianMixtureEM(5, random_state=0)
    for chunk in np.split(holes, 50):
        model.partial_fit(chunk, sample_weight=np.full(len(chunk), 2.0))
    batch = GaussianMixtureEM(5, random_state=0).fit(holes)
    assert abs(batch.score(test) - model.score(test)) < 0.05
    assert np.all(np.isfinite(model.covariances_))


def test_partial_fit_behind_fitted_transformers(stream):
    # As with scikit-learn's incremental estimators: the transformers are fitted
    # once (here on a first chunk), then each chunk is transformed and fed on.
    train, test = stream
    pipeline = make_pipeline(StandardScaler(), GaussianMixtureEM(5, random_state=0))
    pipeline[:-1].fit(train[:5000])
    for chunk in np.split(train[:50_000], 50):
        pipeline[-1].partial_fit(pipeline[:-1].transform(chunk))
    assert pipeline.predict(test).shape == (len(test),)
    assert np.isfinite(pipeline.score(test))


def test_stream_of_categorical_sequences():
    rng = np.random.RandomState(2)
    symbols = rng.randint(4, size=(3000, 1))
    model = HMMEM(2, emission="categorical", n_symbols=4, random_state=0)
    for batch_rows in np.split(symbols, 10):
        model.partial_fit(batch_rows, lengths=[100] * 3)
    np.testing.assert_allclose(model.emissionprob_.sum(axis=1), 1.0)
    np.testing.assert_allclose(model.transmat_.sum(axis=1), 1.0)
