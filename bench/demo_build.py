"""How long the first start takes: build the default demo shop into a fresh SQLite store and print the figures.

Target: under 30 s for the default size (3000 users, 1500 items) on a 2-core machine, models included.
Also prints the shop's shape, the baselines' NDCG@10 and the campaign's observed vs true uplift by segment.

    .venv/bin/python bench/demo_build.py [--users N] [--items N] [--seed S] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RECOLM_ARTIFACTS_DIR"] = str(Path(tmp) / "artifacts")
        from core.demo import build_demo, generate_shop
        from db.engine import session_scope

        t0 = time.perf_counter()
        shop = generate_shop(seed=args.seed, n_users=args.users, n_items=args.items)
        generate_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        with session_scope(f"sqlite:///{Path(tmp) / 'recolm.db'}") as session:
            summary = build_demo(session, seed=args.seed, n_users=args.users, n_items=args.items)
        total_s = time.perf_counter() - t0
        db_mb = (Path(tmp) / "recolm.db").stat().st_size / 2**20

    exp = shop.exposures
    lift = exp.groupby(["segment", "variant"])["converted"].mean().unstack()
    observed = (lift["coupon"] - lift["control"]).round(3).to_dict()
    result = {
        "users": summary.users,
        "items": summary.items,
        "events": summary.events,
        "purchases": summary.purchases,
        "exposures": summary.exposures,
        "generate_seconds": round(generate_s, 2),
        "build_seconds_total": round(total_s, 2),  # generate + write + campaign + fit/evaluate/register models
        "events_per_second": round(summary.events / total_s),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "store_mb": round(db_mb, 1),
        "models": summary.models,
        "active_model": summary.active_model,
        "campaign_conversion_lift_observed": observed,
        "campaign_conversion_lift_true": shop.campaign["true_conversion_uplift"],
        "target_seconds": 30,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"demo shop {result['users']} users x {result['items']} items: {result['events']:,} events "
              f"({result['purchases']:,} purchases), {result['exposures']} campaign exposures")
        print(f"generate {generate_s:.1f}s; full build (write + campaign + models) {total_s:.1f}s "
              f"(target < 30s); peak RSS {result['peak_rss_mb']} MB; store {result['store_mb']} MB")
        for m in summary.models:
            print(f"  model {m['name']:<12} NDCG@10 {m['ndcg@10']:.4f}  HR@10 {m['hr@10']:.4f}")
        print(f"  active: {summary.active_model}")
        print("  coupon conversion lift by segment (observed / true):")
        for seg, true in result["campaign_conversion_lift_true"].items():
            print(f"    {seg:<20} {observed.get(seg, float('nan')):+.3f} / {true:+.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
