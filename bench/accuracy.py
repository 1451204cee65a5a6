"""Accuracy benchmark: every model under leave-one-out, full-sort ranking, on a public data set.

    .venv/bin/python bench/accuracy.py --dataset beauty [--models popularity itemknn ease lm] [--lm-minutes 20] [--json]
    .venv/bin/python bench/accuracy.py --csv-dir EXPORT/   # events.csv (+ items.csv, users.csv) as a shop uploads them

Prints HR/NDCG at 5/10/20, fit and evaluation wall time per model, (Beauty) the published all-item leave-one-out
anchors beside them, the cold-item slice, and paired differences (the first LM against every other model, overall
and on the slice; `--variants` adds the same fitted LM without its votes / memory). EASE's λ is tuned on validation.
Reads ../shared/data (never copied).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.evaluation.evaluate import BASELINE_KINDS, DEFAULT_GRIDS, ModelSpec, run_evaluation  # noqa: E402
from core.models import model_class  # noqa: E402

# Published full-sort leave-one-out figures on Amazon Beauty (S3-Rec split): HR@10, NDCG@10.
ANCHORS: dict[str, dict[str, tuple[float, float]]] = {
    "beauty": {"SASRec": (0.0605, 0.0318), "S3-Rec": (0.0647, 0.0327), "TIGER": (0.0648, 0.0384)},
}
# Sanity figures measured on this machine with this protocol (far lower = protocol bug).
SANITY: dict[str, dict[str, float]] = {"beauty": {"popularity": 0.006, "itemknn": 0.037, "ease": 0.0445}}
# --dataset -> (loader in core.benchmark_datasets, its arguments, the data set whose split and anchors it shares).
LOADERS: dict[str, tuple[str, dict, str]] = {
    "beauty": ("load_beauty", {}, "beauty"),
    "beauty-attributes": ("load_beauty", {"attributes": True}, "beauty"),  # same users and split, + item text
    "ml-100k": ("load_ml100k", {}, "ml-100k"),
    "online-retail": ("load_online_retail", {}, "online-retail"),
}
# The LM with one of its parts switched off, to measure what each part buys (the default "lm" has them all).
LM_VARIANTS: dict[str, dict] = {
    "lm-notext": {"text_init": False},  # no item text at all: ids only
    "lm-textinit": {"text_add": False, "text_words": False, "id_dropout": 0.0},  # text only seeds the id vectors
    "lm-textadd": {"text_words": False, "id_dropout": 0.0},  # + the projected sentence vector added throughout
    "lm-nowords": {"text_words": False},  # + id dropout, no learned words
    "lm-nodrop": {"id_dropout": 0.0},  # + learned words, no id dropout
    "lm-align": {"text_align": 0.5},
    "lm-nomemory": {"memory": False},  # no purchase memory (kNN-LM)
    "lm-novotes": {"item_votes": False},  # no rare-item votes (co-purchase and text, damped by popularity)
}
CSV_KINDS = ("users", "items", "events")  # the upload's three files, found as KIND*.csv[.gz] in --csv-dir


def csv_dir_files(folder: Path) -> dict[str, Path]:
    """{kind: file} for a shop export folder; events are required, items and users optional."""
    if not folder.is_dir():
        raise ValueError(f"--csv-dir {str(folder)!r} is not a folder")
    found: dict[str, Path] = {}
    for kind in CSV_KINDS:
        matches = sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().startswith(kind)
                         and (p.name.lower().endswith(".csv") or p.name.lower().endswith(".csv.gz")))
        if len(matches) > 1:
            raise ValueError(f"--csv-dir {str(folder)!r}: several {kind} files ({', '.join(p.name for p in matches)})")
        if matches:
            found[kind] = matches[0]
    if "events" not in found:
        raise ValueError(f"--csv-dir {str(folder)!r} has no events*.csv (the behaviour events file)")
    return found


def load_csv_dir(folder: str | Path, db_url: str | None = None):
    """A shop export read exactly as an upload is: the ingest pipeline into a throwaway SQLite store (or `db_url`),
    then `core.interactions.from_store`. A rejected upload raises ValueError with the report's reason."""
    import tempfile

    from core.ingest import Source, Upload, ingest_into_store
    from core.interactions import from_store
    from db.engine import close_store, session_scope

    folder = Path(folder)
    files = csv_dir_files(folder)
    with tempfile.TemporaryDirectory(prefix="recolm-bench-") as tmp:
        url = db_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        report = ingest_into_store(url, [Upload(Source(kind, path)) for kind, path in files.items()])
        if not report.accepted:
            raise ValueError(f"--csv-dir {str(folder)!r}: upload rejected: {report.error}")
        try:
            with session_scope(url) as session:
                data = from_store(session, dataset_id=report.dataset_id)
        finally:
            if db_url is None:
                close_store(url)
    data.name = folder.name or "csv-dir"
    return data


def load_bench_data(dataset: str, csv_dir: str | Path | None = None):
    """The public data set `dataset` (a LOADERS key), or the shop export in `csv_dir` where one is given."""
    if csv_dir is not None:
        return load_csv_dir(csv_dir)
    import core.benchmark_datasets as pdata

    loader, kwargs, _ = LOADERS[dataset]
    return getattr(pdata, loader)(**kwargs)


def lm_overrides(pairs: list[str]) -> dict[str, object]:
    """`--lm-param n_embd=128 dropout=0.3` -> {"n_embd": 128, "dropout": 0.3} (values read as `core train --param`
    reads them); a name TransformerLM does not take is refused before any training starts."""
    from core.cli.train import parse_param

    names = set(inspect.signature(model_class("lm").__init__).parameters) - {"self"}
    out = dict(parse_param(pair, "--lm-param") for pair in pairs)
    unknown = sorted(set(out) - names)
    if unknown:
        raise ValueError(f"--lm-param {', '.join(unknown)}: not LM settings; known: {', '.join(sorted(names))}")
    return out


def _specs(models: list[str], lm_minutes: float | None, lm_params: dict[str, object] | None = None) -> list[ModelSpec]:
    specs = []
    for label in models:
        kind = "lm" if label.startswith("lm") else label
        params = dict(LM_VARIANTS.get(label, {}))
        if kind == "lm":
            params = {**(lm_params or {}), **params}
            try:
                cls = model_class("lm")
            except (ImportError, AttributeError) as exc:
                print(f"skipping lm: not importable in this build ({exc})", file=sys.stderr)
                continue
            if lm_minutes is not None and "max_minutes" in inspect.signature(cls.__init__).parameters:
                params["max_minutes"] = lm_minutes
        specs.append(ModelSpec(label=label, kind=kind, params=params, grid=DEFAULT_GRIDS.get(kind)))
    return specs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=sorted(LOADERS), default="beauty")
    parser.add_argument("--csv-dir", type=Path, default=None,
                        help="benchmark a shop export instead: a folder with events*.csv (+ items*.csv, users*.csv)")
    parser.add_argument("--models", nargs="+", default=list(BASELINE_KINDS),
                        help=f"model kinds (add 'lm' for the LM; {', '.join(LM_VARIANTS)} switch parts of its text off)")
    parser.add_argument("--lm-minutes", type=float, default=None, help="training budget passed to the LM as max_minutes")
    parser.add_argument("--lm-param", nargs="+", default=[], metavar="NAME=VALUE",
                        help="LM hyper-parameters for every LM variant, e.g. n_embd=128 dropout=0.3")
    parser.add_argument("--protocol", choices=["loo", "temporal", "new-items"], default="loo",
                        help="new-items: a simulated new-item split (10%% of the items never seen in training)")
    parser.add_argument("--train-share", type=float, default=1.0,
                        help="train on this share of the customers only (every test user kept): a sparser shop")
    parser.add_argument("--variants", action="store_true",
                        help="also score each fitted LM with its memory / rare-item votes off (same fit, paired)")
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    try:
        data = load_bench_data(args.dataset, args.csv_dir)
    except ValueError as exc:
        print(f"bench/accuracy.py: error: {exc}", file=sys.stderr)
        return 2
    if args.csv_dir is not None:
        args.dataset = data.name
    load_s = time.perf_counter() - t0

    def log(msg: str) -> None:  # progress goes to stderr so --json output stays parseable
        print(msg, file=sys.stderr)

    log(f"{args.dataset}: {data.n_users} users, {data.n_items} items, "
        f"{sum(len(s) for s in data.sequences)} interactions (loaded in {load_s:.1f}s)")
    try:
        lm_params = lm_overrides(args.lm_param) if args.lm_param else {}
    except ValueError as exc:
        print(f"bench/accuracy.py: error: {exc}", file=sys.stderr)
        return 2
    from core.evaluation.protocols import make_split, thin_training

    try:
        split = thin_training(make_split(data, args.protocol), args.train_share)
    except ValueError as exc:
        print(f"bench/accuracy.py: error: {exc}", file=sys.stderr)
        return 2
    if args.train_share < 1:
        fit = split.test_fit_data()
        log(f"{args.train_share:.0%} of the customers train: {sum(len(s) for s in fit.sequences)} purchases; "
            f"the test items' median training purchases {np.median(fit.purchase_counts()[split.test.targets]):.0f}")
    result = run_evaluation(data, _specs(args.models, args.lm_minutes, lm_params), split=split,
                            progress=log, scoring_variants=args.variants)
    import os

    log(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} after the run")
    same_split = LOADERS[args.dataset][2] if args.dataset in LOADERS else args.dataset
    published = args.protocol == "loo" and args.train_share == 1  # the anchors' protocol, all data
    anchors = ANCHORS.get(same_split, {}) if published else {}
    sanity = SANITY.get(same_split, {}) if published else {}

    if args.json:
        payload = {
            "dataset": args.dataset,
            "protocol": result.protocol,
            "n_users": result.n_users,
            "n_items": result.n_items,
            "n_test_users": result.n_test_users,
            "models": result.to_records(),
            "anchors": {k: {"hr@10": v[0], "ndcg@10": v[1]} for k, v in anchors.items()},
            "sanity_ndcg@10": sanity,
            "load_average": list(os.getloadavg()),
            "paired": [{"a": p.a, "b": p.b, "slice": where, "diff": p.diff, "se": p.se, "n_users": p.n_users}
                       for where, p in _paired(result)],
        }
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0

    print(f"\n{args.dataset} — {result.protocol}, full-sort over all {result.n_items} items, "
          f"{result.n_test_users} test users (no sampled negatives)")
    head = (f"{'model':<26}{'HR@5':>8}{'NDCG@5':>8}{'HR@10':>8}{'NDCG@10':>9}{'± SE':>8}{'HR@20':>8}{'NDCG@20':>9}"
            f"{'cov@10':>8}{'fit s':>8}{'eval s':>8}")
    print(head)
    print("-" * len(head))
    for r in result.results:
        if r.error:
            print(f"{r.label:<26}  failed: {r.error}")
            continue
        m = r.metrics
        tuned = ""
        if r.tuning:
            best = max(r.tuning, key=lambda t: t["ndcg@10"])
            tuned = "  tuned " + ", ".join(f"{k}={v}" for k, v in best["params"].items())
        note = f"  (sanity ≈{sanity[r.kind]:.4f})" if r.kind in sanity else ""
        print(f"{r.label:<26}{m['hr@5']:>8.4f}{m['ndcg@5']:>8.4f}{m['hr@10']:>8.4f}{m['ndcg@10']:>9.4f}{m.get('ndcg10_se', 0.0):>8.4f}"
              f"{m['hr@20']:>8.4f}{m['ndcg@20']:>9.4f}{m['coverage@10']:>8.3f}{r.fit_seconds:>8.1f}"
              f"{r.eval_seconds:>8.1f}{tuned}{note}")
    for name, (hr, ndcg) in anchors.items():
        print(f"{name + ' (published)':<26}{'':>8}{'':>8}{hr:>8.4f}{ndcg:>9.4f}")

    groups = result.breakdown("items")
    if len(groups):
        print("\nNDCG@10 by held-out item (users in group)")
        wide = groups.pivot(index="model", columns="group", values="ndcg@10").reindex([r.label for r in result.results])
        sizes = groups.groupby("group")["n_users"].first()
        wide.columns = [f"{c} ({sizes[c]})" for c in wide.columns]
        print(wide.round(4).to_string())
    _print_cold(result)
    pairs = _paired(result)
    if pairs:
        print(f"\nPaired NDCG@10 differences (± SE over the same users), {pairs[0][1].a} minus each model")
        for where, p in pairs:
            rel = f", {100 * p.diff / p.ndcg_b:+.1f} ± {100 * p.se / p.ndcg_b:.1f} %" if p.ndcg_b > 0 else ""
            print(f"  {where:<8} {p.b:<28} {p.diff:+.4f} ± {p.se:.4f}  ({p.n_users} users{rel})")
    return 0


def _paired(result) -> list[tuple[str, object]]:
    """The first LM (else the first model) against every other model: overall, then on the cold-item slice."""
    from core.evaluation.paired import paired_difference

    ok = [r for r in result.results if not r.error and r.user_ranks]
    if len(ok) < 2:
        return []
    ref = next((r for r in ok if r.kind == "lm"), ok[0])
    cold = np.asarray(result.cold_users, dtype=bool)
    out = []
    for where, mask in (("overall", np.ones(len(ref.user_ranks), dtype=bool)), ("slice", cold)):
        if len(mask) != len(ref.user_ranks) or mask.sum() < 2:
            continue
        for r in ok:
            if r is not ref:
                out.append((where, paired_difference(ref.label, np.asarray(ref.user_ranks)[mask], r.label,
                                                     np.asarray(r.user_ranks)[mask])))
    return out


def _print_cold(result) -> None:
    """The cold-item slice of every model: NDCG@10 ± its standard error over the slice's users."""
    from core.evaluation.evaluate import COLD_SLICE

    rows = [(r.label, r.items[COLD_SLICE]) for r in result.results if not r.error and COLD_SLICE in r.items]
    if not rows:
        return
    print(f"\n{COLD_SLICE}: {rows[0][1]['n_users']} test users")
    for label, m in rows:
        print(f"  {label:<26} HR@10 {m['hr@10']:.4f}  NDCG@10 {m['ndcg@10']:.4f} ± {m['ndcg10_se']:.4f}  "
              f"median rank {m['median_rank']:.0f}")


if __name__ == "__main__":
    sys.exit(main())
