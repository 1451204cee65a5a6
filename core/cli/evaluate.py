"""`python -m core evaluate`: offline evaluation of models on the store's purchases, stored as an evaluation run.

  python -m core evaluate --model ease --model popularity --protocol loo --k 10 --json

--model takes a registered model (id or name; it is refitted on the protocol's training part with its stored
settings, so held-out purchases never leak) or a baseline kind fitted on the fly (`baseline:ease` forces the kind
when a registered model has the same name). Ranking is full-sort over all
items; no sampled negatives.
"""

from __future__ import annotations

import argparse
import contextlib
import sys

from core.cli.output import emit


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", action="append", default=[], metavar="NAME_OR_ID|KIND",
                        help="registered model id/name or a baseline kind (repeatable; default: all baselines)")
    parser.add_argument("--protocol", choices=["loo", "temporal"], default="loo",
                        help="loo: last purchase per user; temporal: first purchase after a global cutoff")
    parser.add_argument("--k", type=int, default=10, help="K shown in the table (5, 10 and 20 are always computed)")
    parser.add_argument("--diversity", choices=["auto", "text", "category", "none"], default="auto",
                        help="intra-list diversity on item text embeddings, categories, or skip (auto: text if any)")
    parser.add_argument("--no-store", action="store_true", help="do not record the run in the store")
    parser.add_argument("--engine", choices=["local", "ray"], default="local",
                        help="local: one process (default); ray: the models in parallel on Ray "
                             "(local mode, or the cluster at RECOLM_RAY_ADDRESS)")
    parser.add_argument("--workers", type=int, default=2, help="--engine ray in local mode: CPUs to use")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def main(args: argparse.Namespace) -> int:
    from core.evaluation.evaluate import BASELINE_KINDS
    from core.evaluation.store_runs import evaluate_store
    from db.engine import session_scope

    if args.k < 1:
        print(f"evaluate: --k must be at least 1, got {args.k}", file=sys.stderr)
        return 2
    try:
        with contextlib.ExitStack() as stack:
            runner = None
            if args.engine == "ray":
                from core.distributed import ray_run_evaluation, ray_session

                stack.enter_context(ray_session(num_cpus=args.workers))
                runner = ray_run_evaluation
            session = stack.enter_context(session_scope(args.db))
            result, run = evaluate_store(
                session, args.model or list(BASELINE_KINDS), protocol=args.protocol,
                ks=tuple(sorted({5, 10, 20, args.k})), store=not args.no_store, diversity=args.diversity,
                progress=None if args.json else (lambda m: print(m, file=sys.stderr)), runner=runner,
            )
            run_id = None if run is None else run.id
    except (ValueError, KeyError) as exc:
        print(f"evaluate: {exc.args[0] if exc.args else exc}", file=sys.stderr)
        return 2
    k = args.k
    from core.evaluation.paired import run_verdict

    records = result.to_records()
    verdict = run_verdict(records)
    payload = {
        "run_id": run_id,
        "protocol": result.protocol,
        "dataset_id": result.dataset_id,
        "n_test_users": result.n_test_users,
        "n_items": result.n_items,
        "ranking": "full sort over all items (no sampled negatives)",
        # Per-user ranks stay in the stored run (they feed the verdict), not in the printout.
        "models": [{key: v for key, v in r.items() if key != "user_ranks"} for r in records],
        "verdict": None if verdict is None else str(verdict[0]),
    }
    lines = [f"{result.protocol}: {result.n_test_users} test users ranked against all {result.n_items} items"
             f"{'' if run_id is None else f' (run {run_id})'}",
             f"{'model':<24}{f'HR@{k}':>9}{f'NDCG@{k}':>9}{f'MRR@{k}':>9}{f'cov@{k}':>9}{'fit s':>8}{'eval s':>8}"]
    for r in result.results:
        if r.error:
            lines.append(f"{r.label:<24}  failed: {r.error}")
            continue
        m = r.metrics
        lines.append(f"{r.label:<24}{m[f'hr@{k}']:>9.4f}{m[f'ndcg@{k}']:>9.4f}{m[f'mrr@{k}']:>9.4f}"
                     f"{m[f'coverage@{k}']:>9.3f}{r.fit_seconds:>8.2f}{r.eval_seconds:>8.2f}")
    if verdict is not None:
        lines.append(str(verdict[0]))
    emit(payload, args.json, "\n".join(lines))
    return 0 if all(r.error is None for r in result.results) else 1
