"""Scale benchmark: a synthetic shop generated on the fly, ingested into PostgreSQL, trained on, scored for everyone.

    .venv/bin/python bench/scale.py [--users 1000000 --items 100000 --events 20000000] [--db URL] [--json]

Stages (each prints its figures; --json prints them all as one object at the end):
  1. ingest    users, items, events through the upload writer (db.shop_write: COPY on PostgreSQL, the events'
               foreign keys and indexes off during the load and rebuilt/validated before the commit: restore_keys_s),
               one transaction: rows/s and this process's peak memory; the database's size afterwards; then the
               same `--compare-rows` events (under db.shop_write's bulk threshold: keys checked per row) written by COPY
               (copy_frame) and by executemany INSERT (rolled back) for comparison.
  2. read      core.interactions.from_store (every purchase sequence): seconds, memory.
  3. train     item-kNN on all purchases (EASE's dense item x item matrix is 100k^2 floats = 40 GB at 100k items, so
               at this size the EASE alternative is the sparse item-kNN: top `--neighbors` per item, ~100k x 100
               floats), and the LM on a sample (`--lm-users` users, vocabulary capped to the `--lm-items` most
               bought items), each with seconds and memory.
  4. batch     top-10 for `--score-users` users with item-kNN: one process vs `--engine ray` (2 workers on this
               machine): users/s (Ray's once-per-run worker start-up and model load reported apart), peak memory
               of driver and workers, speed-up, and whether the top-10 lists are identical.
  5. memory    Ray batch scoring of 10% / 30% / 100% of the users (100k / 300k / 1M at full size) with the rows left
               in the Parquet partitions: the driver's and workers' peak memory stays flat as users grow.

Without --db it starts a throwaway PostgreSQL with scripts/pg_test_cluster.sh (and stops it afterwards).
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.memory import PeakRSS  # noqa: E402

N_CATEGORIES = 50
ACTIONS = np.array(["view", "cart", "purchase"])
ACTION_P = np.array([0.82, 0.10, 0.08])


# ---- the synthetic shop ---------------------------------------------------------------------------------------
def users_frame(n_users: int, lo: int, hi: int, rng: np.random.Generator) -> pd.DataFrame:
    n = hi - lo
    return pd.DataFrame({
        "user_id": np.char.add("U", np.arange(lo, hi).astype(str)),
        "age": rng.integers(18, 75, n),
        "gender": rng.choice(np.array(["f", "m"]), n),
        "region": np.char.add("region-", rng.integers(0, 30, n).astype(str)),
    })


def items_frame(n_items: int, rng: np.random.Generator) -> pd.DataFrame:
    ids = np.arange(n_items)
    return pd.DataFrame({
        "item_id": np.char.add("I", ids.astype(str)),
        "title": np.char.add("Item ", ids.astype(str)),
        "category": np.char.add("category-", (ids % N_CATEGORIES).astype(str)),
        "price": np.round(rng.gamma(2.0, 15.0, n_items), 2),
    })


def events_chunk(n: int, n_users: int, n_items: int, rng: np.random.Generator) -> pd.DataFrame:
    """Skewed activity (a few heavy customers), each customer mostly in a home category, Zipf-ish items."""
    # Heavy users first in rank order, spread over the id range by a multiplicative permutation.
    rank = np.minimum((n_users * rng.random(n) ** 2.5).astype(np.int64), n_users - 1)
    users = (rank * 7_919 + 13) % n_users
    home = users % N_CATEGORIES
    per_cat = n_items // N_CATEGORIES
    in_cat = np.minimum((per_cat * rng.random(n) ** 3).astype(np.int64), per_cat - 1)
    items = np.where(rng.random(n) < 0.7, in_cat * N_CATEGORIES + home,
                     np.minimum((n_items * rng.random(n) ** 4).astype(np.int64), n_items - 1))
    start = np.datetime64("2024-01-01T00:00:00", "s")
    return pd.DataFrame({
        "user_id": np.char.add("U", users.astype(str)),
        "item_id": np.char.add("I", items.astype(str)),
        "action": ACTIONS[rng.choice(3, n, p=ACTION_P)],
        "ts": start + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]"),
    })


# ---- measuring ------------------------------------------------------------------------------------------------
@contextmanager
def postgres(url: str | None):
    """The given URL, or a throwaway cluster from scripts/pg_test_cluster.sh."""
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="recolm-scale-") as tmp:
        state = Path(tmp) / "cluster"
        script = ROOT / "scripts" / "pg_test_cluster.sh"
        proc = subprocess.run([str(script), "start", str(state)], capture_output=True, text=True)
        if proc.returncode:
            raise SystemExit(f"could not start PostgreSQL: {proc.stderr.strip()} (pass --db URL)")
        try:
            yield proc.stdout.strip()
        finally:
            subprocess.run([str(script), "stop", str(state)], capture_output=True)


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---- stages ---------------------------------------------------------------------------------------------------
def ingest(url: str, args) -> dict:
    from sqlalchemy import text

    from db.engine import session_scope
    from db.shop_write import ShopWriter, new_dataset

    rng = np.random.default_rng(args.seed)
    out: dict = {}
    with PeakRSS() as mem:
        t_all = time.perf_counter()
        with session_scope(url) as s:
            ds = new_dataset(s, "users+items+events", "bench/scale.py synthetic shop")
            writer = ShopWriter(s, ds, unknown="drop")
            t0 = time.perf_counter()
            for lo in range(0, args.users, 200_000):
                writer.upsert_users(users_frame(args.users, lo, min(args.users, lo + 200_000), rng))
            out["users_per_s"] = round(args.users / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            writer.upsert_items(items_frame(args.items, rng))
            out["items_per_s"] = round(args.items / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            done = gen_s = 0.0
            purchases = 0
            while done < args.events:
                n = int(min(args.chunk, args.events - done))
                g0 = time.perf_counter()
                chunk = events_chunk(n, args.users, args.items, rng)
                gen_s += time.perf_counter() - g0
                purchases += int((chunk["action"] == "purchase").sum())
                res = writer.add_events(chunk)
                if res.dropped_unknown_user or res.dropped_unknown_item:
                    raise RuntimeError("the generator produced unknown ids")
                done += n
                if done % (5 * args.chunk) == 0:
                    say(f"  ingest: {int(done):,} events, {done / (time.perf_counter() - t0):,.0f} rows/s")
            f0 = time.perf_counter()
            writer.finish()  # foreign keys (and indexes) back on: part of the write time
            out["restore_keys_s"] = round(time.perf_counter() - f0, 1)
            write_s = time.perf_counter() - t0 - gen_s
            ds.rows_read = ds.rows_kept = int(done)
        total_s = time.perf_counter() - t_all  # includes the commit
    with session_scope(url) as s:
        size = s.execute(text("SELECT pg_database_size(current_database())")).scalar() if url.startswith(
            "postgresql") else None
    out.update(events=int(done), purchases=purchases, events_per_s=round(done / write_s),
               generate_s=round(gen_s, 1), total_s=round(total_s, 1), peak_rss_mb=mem.mb,
               db_size_mb=None if size is None else round(size / 2**20))
    return out


def copy_vs_inserts(url: str, args) -> dict:
    """The same events written by COPY and by SQLAlchemy's executemany INSERT, each in a rolled-back transaction."""
    from sqlalchemy import insert

    from db.engine import open_store
    from db.shop_write import ShopWriter, copy_frame, new_dataset
    from db.tables import Event

    rng = np.random.default_rng(args.seed + 1)
    chunk = events_chunk(args.compare_rows, args.users, args.items, rng)
    out = {"rows": args.compare_rows}
    for how in ("insert", "copy"):
        session = open_store(url)()
        try:
            ds = new_dataset(session, "events", "bench compare")
            writer = ShopWriter(session, ds, unknown="drop")
            writer.resolve(chunk["user_id"].unique(), "user")
            writer.resolve(chunk["item_id"].unique(), "item")
            rows = pd.DataFrame({"user_id": chunk["user_id"].map(writer.user_ids).astype("int64"),
                                 "item_id": chunk["item_id"].map(writer.item_ids).astype("int64"),
                                 "action": chunk["action"], "ts": chunk["ts"], "dataset_id": ds.id})
            conn = session.connection()
            t0 = time.perf_counter()
            if how == "copy":
                copy_frame(conn, Event.__table__, rows)
            else:
                conn.execute(insert(Event), rows.astype({"ts": object}).to_dict("records"))
            out[f"{how}_rows_per_s"] = round(len(rows) / (time.perf_counter() - t0))
        finally:
            session.rollback()
            session.close()
    out["copy_speedup"] = round(out["copy_rows_per_s"] / out["insert_rows_per_s"], 2)
    return out


def read_store(url: str):
    from core.interactions import from_store
    from db.engine import session_scope

    with PeakRSS() as mem:
        t0 = time.perf_counter()
        with session_scope(url) as s:
            data = from_store(s)
        seconds = time.perf_counter() - t0
    return data, {"seconds": round(seconds, 1), "users": data.n_users, "items": data.n_items,
                  "purchases": int(sum(len(q) for q in data.sequences)), "peak_rss_mb": mem.mb}


def lm_sample(data, n_users: int, n_items: int, seed: int):
    """The LM's training sample: random buyers, the vocabulary capped to the most bought items (others dropped)."""
    from core.interactions import InteractionData

    rng = np.random.default_rng(seed)
    buyers = np.flatnonzero([len(q) >= 2 for q in data.sequences])
    pick = np.sort(rng.choice(buyers, size=min(n_users, len(buyers)), replace=False))
    top = np.argsort(-data.purchase_counts(), kind="stable")[:n_items]
    remap = np.full(data.n_items, -1, dtype=np.int64)
    remap[top] = np.arange(len(top))
    seqs = [m[m >= 0] for m in (remap[data.sequences[u]] for u in pick)]
    return InteractionData(item_keys=np.asarray(data.item_keys)[top], user_keys=np.asarray(data.user_keys)[pick],
                           sequences=seqs, items=data.items.iloc[top].reset_index(drop=True), name="lm sample")


def train(data, args) -> tuple[object, dict]:
    from core.models import make_model

    out = {}
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        knn = make_model("itemknn", neighbors=args.neighbors).fit(data)
        out["itemknn"] = {"seconds": round(time.perf_counter() - t0, 1), "neighbors": args.neighbors,
                          "sim_nnz": int(len(knn.sim_data_)), "peak_rss_mb": mem.mb}
    if args.lm_users > 0:
        sample = lm_sample(data, args.lm_users, args.lm_items, args.seed)
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            lm = make_model("lm", n_layer=1, n_embd=32, n_head=2, epochs=args.lm_epochs, text_init=False,
                            max_minutes=args.lm_minutes, valid_users=min(1000, sample.n_users // 10),
                            refit_epochs=0).fit(sample)
            out["lm"] = {"seconds": round(time.perf_counter() - t0, 1), "users": sample.n_users,
                         "vocabulary": sample.n_items, "peak_rss_mb": mem.mb}
        del lm
    return knn, out


def batch(data, model, args) -> dict:
    from core.distributed import ScorerPool, ray_session
    from core.recommend.batch import batch_recommend
    from core.recommend.service import RecommendationService

    service = RecommendationService(data, model, model_label="itemknn")
    users = np.arange(min(args.score_users, data.n_users))
    out: dict = {"users": len(users)}
    with PeakRSS() as mem:
        t0 = time.perf_counter()
        local = batch_recommend(service, users, k=10, with_reasons=False)
        s_local = time.perf_counter() - t0
    out["one_process"] = {"seconds": round(s_local, 1), "users_per_s": round(len(users) / s_local),
                          "peak_rss_mb": mem.mb}
    with tempfile.TemporaryDirectory(prefix="recolm-parts-") as tmp, ray_session(num_cpus=args.workers):
        with PeakRSS() as mem, ScorerPool(service, args.workers) as pool:
            dist, shards = pool.run(tmp, users, k=10, with_reasons=False, users_per_shard=args.shard_users)
            s_ray = dist.seconds
            same = bool(np.array_equal(dist.frame["item_id"].to_numpy(), local.frame["item_id"].to_numpy()))
            out["ray"] = {"seconds": round(s_ray, 1), "users_per_s": round(len(users) / s_ray),
                          "workers": args.workers, "startup_s": round(pool.startup_seconds, 1),
                          "partitions": len(shards), "driver_peak_rss_mb": mem.mb,
                          "worker_peak_rss_mb": round(max(r.worker_peak_rss_mb for r in shards), 1),
                          "same_top10_as_one_process": same}
            out["speedup"] = round(s_local / s_ray, 2)
            say(f"  one process {out['one_process']}; ray {out['ray']}; speed-up {out['speedup']}")
            del local, dist
            out["memory"] = memory_rows(pool, data.n_users, args, tmp)
    return out


def memory_rows(pool, n_users: int, args, tmp: str) -> list[dict]:
    rows = []
    for frac in (0.1, 0.3, 1.0):
        n = max(1, int(n_users * frac))
        if n > args.memory_max_users:
            rows.append({"users": n, "skipped": f"over --memory-max-users {args.memory_max_users}"})
            continue
        with PeakRSS() as mem:
            t0 = time.perf_counter()
            _, shards = pool.run(tmp, np.arange(n), k=10, with_reasons=False, users_per_shard=args.shard_users,
                                 collect=False)
            seconds = time.perf_counter() - t0
        rows.append({"users": n, "seconds": round(seconds, 1), "users_per_s": round(n / seconds),
                     "driver_peak_rss_mb": mem.mb,
                     "worker_peak_rss_mb": round(max(r.worker_peak_rss_mb for r in shards), 1),
                     "partitions": len(shards)})
        say(f"  memory: {rows[-1]}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: start a throwaway cluster)")
    parser.add_argument("--chunk", type=int, default=1_000_000, help="events generated and written per step")
    parser.add_argument("--compare-rows", type=int, default=100_000,
                        help="events written both ways (COPY vs executemany INSERT) for comparison; 0 = skip")
    parser.add_argument("--neighbors", type=int, default=100)
    parser.add_argument("--lm-users", type=int, default=20_000, help="LM training sample (0 = skip the LM)")
    parser.add_argument("--lm-items", type=int, default=20_000, help="LM vocabulary cap (most bought items)")
    parser.add_argument("--lm-epochs", type=int, default=1)
    parser.add_argument("--lm-minutes", type=float, default=2.0)
    parser.add_argument("--score-users", type=int, default=200_000, help="users scored one-process vs Ray")
    parser.add_argument("--shard-users", type=int, default=25_000, help="users per Ray shard / partition")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-max-users", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.items < N_CATEGORIES:
        parser.error(f"--items must be at least {N_CATEGORIES}")
    if "RECOLM_ARTIFACTS_DIR" not in os.environ:  # nothing is registered, but keep any artifact out of var/
        art = tempfile.mkdtemp(prefix="recolm-scale-art-")
        atexit.register(shutil.rmtree, art, True)
        os.environ["RECOLM_ARTIFACTS_DIR"] = art
    result: dict = {"args": {k: v for k, v in vars(args).items() if k not in ("db", "json")},
                    "machine": {"cpus": os.cpu_count(), "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
                                "mem_gb": round(psutil.virtual_memory().total / 2**30, 1)}}
    t_start = time.perf_counter()
    with postgres(args.db) as url:
        say(f"1/5 ingest {args.users:,} users, {args.items:,} items, {args.events:,} events into PostgreSQL")
        result["ingest"] = ingest(url, args)
        say(f"  {result['ingest']}")
        if args.compare_rows:
            say(f"1b  COPY vs INSERT on {args.compare_rows:,} events (rolled back)")
            result["copy_vs_insert"] = copy_vs_inserts(url, args)
            say(f"  {result['copy_vs_insert']}")
        say("2/5 read the purchase sequences back (core.interactions.from_store)")
        data, result["read"] = read_store(url)
        say(f"  {result['read']}")
    say("3/5 train item-kNN on all purchases, the LM on a sample")
    model, result["train"] = train(data, args)
    say(f"  {result['train']}")
    say(f"4/5 batch top-10: one process vs Ray ({args.workers} workers); 5/5 memory as users grow")
    result["batch"] = batch(data, model, args)
    result["total_s"] = round(time.perf_counter() - t_start, 1)
    result["machine"]["load_avg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["peak_rss_mb_process"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_table(result)
    return 0


def print_table(r: dict) -> None:
    i, rd, t, b = r["ingest"], r["read"], r["train"], r["batch"]
    print(f"synthetic shop: {r['args']['users']:,} users, {r['args']['items']:,} items, {i['events']:,} events "
          f"({i['purchases']:,} purchases); {r['machine']['cpus']} CPUs, load {r['machine']['load_avg_at_start']}")
    print(f"ingest (PostgreSQL, COPY): events {i['events_per_s']:,} rows/s, users {i['users_per_s']:,}/s, items "
          f"{i['items_per_s']:,}/s; {i['total_s']} s in all; peak {i['peak_rss_mb']} MB; database {i['db_size_mb']} MB")
    if "copy_vs_insert" in r:
        c = r["copy_vs_insert"]
        print(f"same {c['rows']:,} events: COPY {c['copy_rows_per_s']:,} rows/s vs INSERT (executemany) "
              f"{c['insert_rows_per_s']:,} rows/s: x{c['copy_speedup']}")
    print(f"read purchases: {rd['seconds']} s, peak {rd['peak_rss_mb']} MB")
    print(f"train item-kNN ({t['itemknn']['neighbors']} neighbours, all purchases): {t['itemknn']['seconds']} s, "
          f"peak {t['itemknn']['peak_rss_mb']} MB")
    if "lm" in t:
        print(f"train LM on {t['lm']['users']:,} users x {t['lm']['vocabulary']:,}-item vocabulary: "
              f"{t['lm']['seconds']} s, peak {t['lm']['peak_rss_mb']} MB")
    o, ray = b["one_process"], b["ray"]
    print(f"batch top-10, {b['users']:,} users: one process {o['users_per_s']:,} users/s (peak {o['peak_rss_mb']} MB);"
          f" Ray x{ray['workers']} {ray['users_per_s']:,} users/s after {ray['startup_s']} s start-up (driver {ray['driver_peak_rss_mb']} MB, worker "
          f"{ray['worker_peak_rss_mb']} MB); speed-up {b['speedup']}; same top-10: {ray['same_top10_as_one_process']}")
    print(f"{'users':>10}{'seconds':>10}{'users/s':>10}{'driver MB':>12}{'worker MB':>12}{'partitions':>12}")
    for row in b["memory"]:
        if "skipped" in row:
            print(f"{row['users']:>10,}  skipped: {row['skipped']}")
        else:
            print(f"{row['users']:>10,}{row['seconds']:>10}{row['users_per_s']:>10,}{row['driver_peak_rss_mb']:>12}"
                  f"{row['worker_peak_rss_mb']:>12}{row['partitions']:>12}")
    print(f"total {r['total_s']} s; load at end {r['machine']['load_avg_at_end']}")


if __name__ == "__main__":
    sys.exit(main())
