"""T- and X-learner find a planted heterogeneous effect; results repeat under a seed; the Hillstrom check runs."""

from __future__ import annotations

import numpy as np
import pytest

from core.uplift import LEARNERS, make_learner, qini_coefficient, random_baseline, uplift_at_k
from tests.conftest import shared_path


def _planted(n: int, seed: int):
    """The coupon lifts conversion by 25 points only where x0 > 0.5 (a third of users); x1 drives the baseline."""
    rng = np.random.default_rng(seed)
    X = rng.random((n, 4))
    t = rng.integers(0, 2, n)
    tau = np.where(X[:, 0] > 0.5, 0.25, 0.0) * (X[:, 2] > 0.33)
    p = 0.1 + 0.3 * X[:, 1] + tau * t
    y = (rng.random(n) < p).astype(float)
    return X, t, y, tau


@pytest.mark.parametrize("name", list(LEARNERS))
@pytest.mark.parametrize("base", ["hgb", "linear"])
def test_learner_recovers_planted_effect_better_than_random(name, base):
    X, t, y, _ = _planted(6000, seed=1)
    Xte, tte, yte, tau = _planted(4000, seed=2)
    model = make_learner(name, base=base, seed=0).fit(X, t, y)
    s = model.predict(Xte)
    rnd = random_baseline(yte, tte, 0.3, n_draws=30, seed=0)
    assert qini_coefficient(yte, tte, s) > rnd.qini_mean + 4 * rnd.qini_std
    assert uplift_at_k(yte, tte, s, 0.3) > rnd.uplift_at_k_mean + 0.05
    # The predicted uplift separates the responsive users from the others.
    assert s[tau > 0].mean() - s[tau == 0].mean() > 0.1
    mu0, mu1 = model.predict_outcomes(Xte)
    assert np.all((mu0 >= 0) & (mu0 <= 1)) and np.all((mu1 >= 0) & (mu1 <= 1))
    assert np.allclose(mu1, np.clip(mu0 + s, 0.0, 1.0))


@pytest.mark.parametrize("name", list(LEARNERS))
def test_deterministic_under_a_seed(name):
    X, t, y, _ = _planted(3000, seed=5)
    a = make_learner(name, seed=3).fit(X, t, y).predict(X[:200])
    b = make_learner(name, seed=3).fit(X, t, y).predict(X[:200])
    assert np.array_equal(a, b)


def test_learners_reject_bad_input():
    X, t, y, _ = _planted(100, seed=0)
    with pytest.raises(ValueError, match="at least 10 treated"):
        make_learner("t_learner").fit(X, np.zeros(100, dtype=int), y)
    with pytest.raises(ValueError, match="same number of rows"):
        make_learner("x_learner").fit(X[:50], t, y)
    with pytest.raises(ValueError, match="Unknown uplift learner"):
        make_learner("s_learner")


def test_hillstrom_visit_uplift_beats_random():
    """Real randomised e-mail test: both learners rank held-out visit uplift above random targeting."""
    path = shared_path("hillstrom_email", "hillstrom.csv")
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("bench_uplift", Path(__file__).parent.parent / "bench" / "uplift.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    res = bench.run("visit", 0.3, seed=0, base="hgb", path=str(path))
    assert res["n_train"] + res["n_test"] == 42693
    for name, m in res["learners"].items():
        assert m["qini"] > res["random"]["qini"] + 2 * res["random"]["qini_std"], name
        assert m["uplift_at_k"] > res["test_average_effect"], name
