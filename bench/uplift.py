"""Uplift learners on the real randomised Hillstrom e-mail test: Qini coefficient and uplift@30 % vs random.

python bench/uplift.py [--outcome visit|conversion|spend] [--k 0.3] [--seed 0] [--json]
Fixed seeded 70/30 split stratified by arm; learners fit on 70 %, scored on the held-out 30 %.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from core.uplift import (  # noqa: E402
    LEARNERS,
    average_effect,
    make_learner,
    qini_coefficient,
    random_baseline,
    uplift_at_k,
)
from core.uplift.calibration import calibrate_uplift, cross_fitted_check  # noqa: E402
from core.uplift.hillstrom import OUTCOMES, load_hillstrom  # noqa: E402


def run(outcome: str, k: float, seed: int, base: str, path: str | None) -> dict:
    data = load_hillstrom(path)
    y = data.outcomes[outcome].to_numpy()
    idx_tr, idx_te = train_test_split(np.arange(len(y)), test_size=0.3, random_state=seed, stratify=data.t)
    Xtr, ttr, ytr = data.X[idx_tr], data.t[idx_tr], y[idx_tr]
    Xte, tte, yte = data.X[idx_te], data.t[idx_te], y[idx_te]
    rnd = random_baseline(yte, tte, k, n_draws=100, seed=seed)
    result = {
        "data": "hillstrom (Womens E-Mail vs No E-Mail)",
        "outcome": outcome,
        "k": k,
        "seed": seed,
        "base": base,
        "n_train": len(idx_tr),
        "n_test": len(idx_te),
        "test_average_effect": average_effect(yte, tte),
        "random": {
            "qini": rnd.qini_mean,
            "qini_std": rnd.qini_std,
            "uplift_at_k": rnd.uplift_at_k_mean,
            "uplift_at_k_std": rnd.uplift_at_k_std,
        },
        "learners": {},
    }
    for name in LEARNERS:
        t0 = time.perf_counter()
        model = make_learner(name, base=base, seed=seed).fit(Xtr, ttr, ytr)
        score = model.predict(Xte)
        cal = calibrate_uplift(yte, tte, score, model.predict_outcomes(Xte)[0])
        # the calibration fitted on one half of the test users and judged on the other (1 = its scale holds)
        check = cross_fitted_check(yte, tte, score, model.predict_outcomes(Xte)[0], seed=seed)
        result["learners"][name] = {
            "qini": qini_coefficient(yte, tte, score),
            "uplift_at_k": uplift_at_k(yte, tte, score, k),
            # share of the predicted differences between users that is real on the test users (1 = all)
            "blp_slope": cal.slope,
            "blp_slope_se": cal.slope_se,
            "calibrated_heldout_slope": check.heldout_slope,
            "calibrated_heldout_slope_se": check.heldout_slope_se,
            "fit_seconds": round(time.perf_counter() - t0, 2),
        }
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--outcome", choices=OUTCOMES, default="visit")
    p.add_argument("--k", type=float, default=0.3, help="share targeted for uplift@k (default 0.3)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--base", choices=("hgb", "linear"), default="hgb")
    p.add_argument("--data", default=None, help="path to hillstrom.csv (default ../shared/data/hillstrom_email)")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    res = run(args.outcome, args.k, args.seed, args.base, args.data)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    k = f"{args.k:.0%}"
    print(f"Hillstrom, outcome={res['outcome']}, base={res['base']}, train {res['n_train']} / test {res['n_test']}, "
          f"test average effect {res['test_average_effect']:+.5f}")
    print(f"{'targeting':<12}{'Qini coef':>14}{'uplift@' + k:>16}   BLP slope (share of predicted heterogeneity that is real)")
    r = res["random"]
    print(f"{'random':<12}{r['qini']:>+14.5f}{r['uplift_at_k']:>+16.5f}   (std {r['qini_std']:.5f} / {r['uplift_at_k_std']:.5f})")
    for name, m in res["learners"].items():
        print(f"{name:<12}{m['qini']:>+14.5f}{m['uplift_at_k']:>+16.5f}   {m['blp_slope']:.2f} ± {m['blp_slope_se']:.2f}"
              f"   fit {m['fit_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
