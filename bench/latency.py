"""Serving latency: per-user preview (top-10 with reasons, re-ranking) and batch top-10 throughput.

    .venv/bin/python bench/latency.py [--dataset beauty|synthetic] [--model popularity ease lm] [--users 300] [--json]

Beauty (../shared/data/amazon_s3rec/Beauty.txt, 12,101 items, 22,363 users) or a synthetic 12k-item catalogue.
Beauty has no item text, so the preview gets random unit text vectors to exercise MMR and "similar to" reasons
as on a real catalogue. Goals: preview p95 <= 50 ms, batch top-10 >= 5,000 users/s. `--model lm` trains the
language model briefly (latency does not depend on its accuracy) or loads a saved one with `--model-dir`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.interactions import InteractionData  # noqa: E402

GOAL_P95_MS = 50.0
GOAL_USERS_PER_S = 5000.0


def synthetic(n_items: int = 12_000, n_users: int = 20_000, seed: int = 0) -> InteractionData:
    """Zipf-popular items in 40 categories, users with 3-30 purchases mostly in 2-3 favourite categories."""
    rng = np.random.default_rng(seed)
    cats = rng.integers(0, 40, n_items)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.8
    by_cat = [np.flatnonzero(cats == c) for c in range(40)]
    seqs = []
    for _ in range(n_users):
        fav = rng.choice(40, 3, replace=False)
        pool = np.concatenate([by_cat[c] for c in fav])
        w = pop[pool] / pop[pool].sum()
        seqs.append(rng.choice(pool, rng.integers(3, 31), p=w).astype(np.int64))
    items = pd.DataFrame({"category": [f"cat{c}" for c in cats], "price": rng.uniform(5, 200, n_items).round(2)})
    return InteractionData(item_keys=np.asarray([f"i{i}" for i in range(n_items)]),
                           user_keys=np.asarray([f"u{u}" for u in range(n_users)]), sequences=seqs,
                           items=items, users=pd.DataFrame(index=range(n_users)), name="synthetic")


def fit_model(kind: str, data: InteractionData, model_dir: str | None, lm_minutes: float):
    from core.models import load_model, make_model

    if model_dir:
        return load_model(model_dir)
    params = {"max_minutes": lm_minutes, "epochs": 1} if kind == "lm" else {}
    return make_model(kind, **params).fit(data)


def measure(kind: str, data: InteractionData, vectors: np.ndarray, n_users: int, model_dir: str | None,
            lm_minutes: float, seed: int = 0) -> dict:
    from core.recommend import PreviewOptions, RecommendationService
    from core.recommend.batch import batch_recommend, top_k_for_users

    t0 = time.perf_counter()
    model = fit_model(kind, data, model_dir, lm_minutes)
    fit_s = time.perf_counter() - t0
    service = RecommendationService(data, model, model_label=kind, vectors=vectors)
    _ = service.reasons, service.segpop  # built once per (data, model) version, like the page's cache
    rng = np.random.default_rng(seed)
    users = rng.choice(np.flatnonzero([len(s) > 0 for s in data.sequences]), n_users, replace=False)
    out = {"model": kind, "fit_s": round(fit_s, 1), "n_items": data.n_items}
    for label, opts in (("preview", PreviewOptions(k=10)),
                        ("preview_mmr", PreviewOptions(k=10, diversity=0.3, exploration=0.2))):
        service.preview(int(users[0]), opts)  # warm-up
        times = []
        for u in users:
            t = time.perf_counter()
            service.preview(int(u), opts)
            times.append(time.perf_counter() - t)
        ms = np.asarray(times) * 1000
        out[f"{label}_p50_ms"] = round(float(np.percentile(ms, 50)), 2)
        out[f"{label}_p95_ms"] = round(float(np.percentile(ms, 95)), 2)
    everyone = np.arange(data.n_users)
    top_k_for_users(service, everyone[:1024], k=10)  # warm-up
    t = time.perf_counter()
    top_k_for_users(service, everyone, k=10)
    out["batch_users_per_s"] = round(data.n_users / (time.perf_counter() - t))
    sample = everyone[:2000]
    t = time.perf_counter()
    batch_recommend(service, sample, k=10, with_reasons=True)
    out["batch_with_reasons_users_per_s"] = round(len(sample) / (time.perf_counter() - t))
    out["meets_p95"] = out["preview_p95_ms"] <= GOAL_P95_MS
    out["meets_throughput"] = out["batch_users_per_s"] >= GOAL_USERS_PER_S
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=["beauty", "synthetic"], default="beauty")
    parser.add_argument("--model", nargs="+", default=["popularity", "ease"], help="model kinds to measure")
    parser.add_argument("--model-dir", default=None, help="measure a saved model instead of fitting (one --model)")
    parser.add_argument("--users", type=int, default=300, help="users sampled for the per-user preview")
    parser.add_argument("--lm-minutes", type=float, default=2.0, help="LM training budget (latency only)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    if args.dataset == "beauty":
        from core.benchmark_datasets import load_beauty, shared_data_dir

        path = shared_data_dir() / "amazon_s3rec" / "Beauty.txt"
        if not path.exists():
            print(f"needs {path} (the shared data sets); try --dataset synthetic", file=sys.stderr)
            return 2
        data = load_beauty(path)
    else:
        data = synthetic()
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(data.n_items, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    rows = []
    for kind in args.model:
        if kind == "lm":
            try:
                import core.models.lm  # noqa: F401
            except ImportError as exc:
                print(f"skipping lm: not importable ({exc})", file=sys.stderr)
                continue
        rows.append(measure(kind, data, vectors, min(args.users, data.n_users), args.model_dir, args.lm_minutes))
    result = {"dataset": data.name, "n_items": data.n_items, "n_users": data.n_users,
              "goals": {"preview_p95_ms": GOAL_P95_MS, "batch_users_per_s": GOAL_USERS_PER_S}, "models": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{data.name}: {data.n_items:,} items, {data.n_users:,} users; goals p95 <= {GOAL_P95_MS:g} ms, "
          f">= {GOAL_USERS_PER_S:,.0f} users/s")
    head = f"{'model':<12}{'fit s':>7}{'p50 ms':>9}{'p95 ms':>9}{'mmr p50':>9}{'mmr p95':>9}{'batch u/s':>11}{'+reasons u/s':>14}"
    print(head)
    for r in rows:
        print(f"{r['model']:<12}{r['fit_s']:>7}{r['preview_p50_ms']:>9}{r['preview_p95_ms']:>9}"
              f"{r['preview_mmr_p50_ms']:>9}{r['preview_mmr_p95_ms']:>9}{r['batch_users_per_s']:>11,}"
              f"{r['batch_with_reasons_users_per_s']:>14,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
