"""Uplift modelling: who does a coupon change? Meta-learners and the Qini / uplift@k evaluation."""

from core.uplift.calibration import UpliftCalibration, calibrate_uplift
from core.uplift.learners import BASES, LEARNERS, TLearner, XLearner, make_learner
from core.uplift.metrics import (
    QiniCurve,
    RandomBaseline,
    average_effect,
    qini_coefficient,
    qini_curve,
    random_baseline,
    uplift_at_k,
)

__all__ = [
    "BASES",
    "LEARNERS",
    "QiniCurve",
    "RandomBaseline",
    "TLearner",
    "UpliftCalibration",
    "XLearner",
    "average_effect",
    "calibrate_uplift",
    "make_learner",
    "qini_coefficient",
    "qini_curve",
    "random_baseline",
    "uplift_at_k",
]
