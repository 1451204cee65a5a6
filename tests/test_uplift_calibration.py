"""The best-linear-predictor calibration recovers the true scale of predicted uplift."""

from __future__ import annotations

import numpy as np
import pytest

from core.uplift.calibration import calibrate_uplift


def _data(n: int, seed: int):
    rng = np.random.default_rng(seed)
    tau = rng.choice([0.0, 0.2], n)  # true effect per user
    t = rng.integers(0, 2, n)
    y = (rng.random(n) < 0.2 + tau * t).astype(float)
    return tau, t, y, rng


def test_exact_predictions_get_slope_one_and_the_true_average():
    tau, t, y, _ = _data(40_000, 0)
    cal = calibrate_uplift(y, t, tau)
    assert cal.slope == pytest.approx(1.0, abs=3 * cal.slope_se)
    assert cal.ate == pytest.approx(0.1, abs=3 * cal.ate_se)


def test_overconfident_predictions_are_shrunk_to_the_true_scale():
    tau, t, y, rng = _data(40_000, 1)
    wild = 0.1 + 5 * (tau - 0.1) + rng.normal(0, 0.05, len(tau))  # right order, five times too spread out
    cal = calibrate_uplift(y, t, wild)
    assert cal.slope == pytest.approx(0.2, abs=0.05)
    fixed = cal.apply(wild)
    assert fixed[tau > 0].mean() == pytest.approx(0.2, abs=0.03)
    assert fixed[tau == 0].mean() == pytest.approx(0.0, abs=0.03)


def test_noise_predictions_collapse_to_the_average_effect():
    tau, t, y, rng = _data(40_000, 2)
    cal = calibrate_uplift(y, t, rng.normal(0, 0.3, len(tau)))
    assert abs(cal.slope) < 3 * cal.slope_se
    raw = rng.normal(0, 0.3, 100)
    assert np.ptp(cal.apply(raw)) < 0.1 * np.ptp(raw)  # the spread the model invented is mostly removed
    constant = calibrate_uplift(y, t, np.full(len(t), 0.5))
    assert constant.slope == 0.0 and np.allclose(constant.apply(np.zeros(3)), constant.ate)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="same length"):
        calibrate_uplift([1, 0], [1, 0, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="both 0"):
        calibrate_uplift([1, 0], [1, 1], [0.1, 0.2])


def test_calibration_is_judged_on_users_it_was_not_fitted_on():
    from core.uplift.calibration import cross_fitted_check

    tau, t, y, rng = _data(40_000, 3)
    wild = 0.1 + 5 * (tau - 0.1) + rng.normal(0, 0.05, len(tau))
    check = cross_fitted_check(y, t, wild, seed=0)
    assert check.fit_slope == pytest.approx(0.2, abs=0.05)
    # On the other half the calibrated predictions have the right scale: slope 1 within its error.
    assert check.heldout_slope == pytest.approx(1.0, abs=3 * check.heldout_slope_se)
    assert check.heldout_ate == pytest.approx(0.1, abs=0.02)
    # Judged on its own fitting data the calibrated slope is 1 by construction (an identity, not a check);
    # the held-out figure is a real estimate with its own error.
    own = calibrate_uplift(y, t, wild)
    assert calibrate_uplift(y, t, own.apply(wild)).slope == pytest.approx(1.0, abs=1e-9)
    assert abs(check.heldout_slope - 1.0) > 1e-6 and check.heldout_slope_se > 0
    # Predictions that are pure noise: the fitted slope is ~0, so nothing is promised on the other half.
    noise = cross_fitted_check(y, t, rng.normal(0, 0.3, len(tau)), seed=1)
    assert abs(noise.fit_slope) < 0.05
