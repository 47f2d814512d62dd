"""The EM driver, with toy models whose behaviour is known exactly."""

import math

import numpy as np
import pytest

from emlearn._core.em import best_run, fit_restarts, restart_seeds, run_em, EMRun


class GeometricModel:
    """Lower bound approaches ``target`` geometrically; params count iterations.

    The seed of each restart decides ``target``, so the best restart is known.
    """

    def initialize(self, data, random_state):
        return {"target": float(random_state.uniform()), "gap": 1.0, "steps": 0}

    def e_step(self, data, params):
        return params["target"] - params["gap"], None

    def m_step(self, stats, params):
        return {**params, "gap": params["gap"] * 0.5, "steps": params["steps"] + 1}


def test_run_em_stops_at_tolerance_with_sklearn_semantics():
    start = {"target": 0.0, "gap": 1.0, "steps": 0}
    run = run_em(GeometricModel(), None, start, tol=0.1, max_iter=100)
    # bounds -1, -0.5, -0.25, -0.125, -0.0625: change 0.0625 < 0.1 at iteration 5
    assert run.n_iter == 5 and run.converged
    np.testing.assert_allclose(run.lower_bounds, [-1, -0.5, -0.25, -0.125, -0.0625])
    assert run.lower_bound == -0.0625
    assert run.params["steps"] == 5


def test_run_em_max_iter_reached_reports_not_converged():
    start = {"target": 0.0, "gap": 1.0, "steps": 0}
    run = run_em(GeometricModel(), None, start, tol=0.0, max_iter=3)
    assert run.n_iter == 3 and not run.converged


def test_max_iter_zero_evaluates_start():
    start = {"target": 2.0, "gap": 1.0, "steps": 0}
    run = run_em(GeometricModel(), None, start, tol=0.1, max_iter=0)
    assert run.params is start and run.lower_bound == 1.0 and run.n_iter == 0
    assert run.lower_bounds == [] and not run.converged


def test_best_run_prefers_highest_bound_then_first():
    runs = [EMRun(i, bound, [], 1, True) for i, bound in enumerate([1.0, 3.0, math.nan, 3.0])]
    assert best_run(runs).params == 1


@pytest.mark.parametrize("n_jobs", [None, 1, 2, -1])
def test_restarts_draw_seeds_first_and_keep_the_best(n_jobs):
    seeds = restart_seeds(7, 5)
    targets = [np.random.RandomState(seed).uniform() for seed in seeds]
    run = fit_restarts(
        GeometricModel(), None, n_init=5, random_state=7, n_jobs=n_jobs, tol=1e-3,
        max_iter=50,
    )
    assert run.params["target"] == max(targets)


def test_non_finite_lower_bound_is_a_clear_error():
    class Broken(GeometricModel):
        def e_step(self, data, params):
            return -math.inf, None

    with pytest.raises(ValueError, match="not finite"):
        run_em(Broken(), None, {"gap": 1.0}, tol=0.1, max_iter=3)


def test_verbose_reports_progress(capsys):
    start = {"target": 0.0, "gap": 1.0, "steps": 0}
    run_em(GeometricModel(), None, start, tol=0.0, max_iter=4, verbose=2, verbose_interval=2)
    out = capsys.readouterr().out
    assert "iteration 2" in out and "iteration 4" in out and "did not converge" in out
