"""Ingestion throughput: generate a 1,000,000-row events CSV, upload it into a temp store, print rows/s and peak memory.

    .venv/bin/python bench/ingest.py [--rows 1000000] [--chunk-rows 100000] [--postgres | --db URL] [--json]

Goal on the 2-core dev machine: <= 30 s and <= 2 GB peak resident memory for 1M rows (SQLite).
`--postgres` uploads into a throwaway PostgreSQL (scripts/pg_test_cluster.sh, stopped afterwards), `--db` into a
store you name (an empty one: the figures include creating it); the default is a temp SQLite file.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import numpy as np
import pandas as pd
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.memory import PeakRSS  # noqa: E402
from bench.scale import postgres  # noqa: E402
from core.ingest import IngestOptions, Source, Upload, ingest_into_store  # noqa: E402

ACTIONS = np.array(["view", "view", "view", "click", "add_to_cart", "favorite", "purchase"])


def make_events_csv(path: Path, rows: int, seed: int = 0) -> None:
    """A shop-like export: Zipf-ish item popularity, 1/20 as many users as rows, a year of timestamps."""
    rng = np.random.default_rng(seed)
    n_users, n_items = max(rows // 20, 1), max(rows // 50, 1)
    start = np.datetime64("2024-01-01T00:00:00")
    done = 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("customer_id,product_id,event_type,event_time,qty,unit_price,session_id\n")
        while done < rows:
            n = min(200_000, rows - done)
            items = np.minimum(rng.zipf(1.3, n), n_items) - 1
            frame = pd.DataFrame({
                "customer_id": np.char.add("C", rng.integers(0, n_users, n).astype(str)),
                "product_id": np.char.add("SKU-", items.astype(str)),
                "event_type": rng.choice(ACTIONS, n),
                "event_time": (start + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")).astype(str),
                "qty": rng.integers(1, 4, n),
                "unit_price": np.round(rng.gamma(2.0, 10.0, n), 2),
                "session_id": np.char.add("s", rng.integers(0, rows // 5 + 1, n).astype(str)),
            })
            frame["event_time"] = frame["event_time"].str.replace("T", " ")
            frame.to_csv(fh, header=False, index=False)
            done += n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--db", default=None, help="store URL (default: a temp SQLite file)")
    parser.add_argument("--postgres", action="store_true", help="upload into a throwaway PostgreSQL")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.postgres and args.db:
        parser.error("--postgres and --db exclude each other")
    with tempfile.TemporaryDirectory(prefix="recolm-bench-") as tmp, \
            (postgres(None) if args.postgres else nullcontext(args.db)) as db_url:
        csv_path = Path(tmp) / "events.csv"
        t0 = time.perf_counter()
        make_events_csv(csv_path, args.rows)
        gen_s = time.perf_counter() - t0
        url = db_url or f"sqlite:///{tmp}/bench.db"
        with PeakRSS() as mem:
            rss_before = psutil.Process().memory_info().rss
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            report = ingest_into_store(url, [Upload(Source("events", csv_path))],
                                       IngestOptions(chunk_rows=args.chunk_rows))
            seconds = time.perf_counter() - t0
            cpu = time.process_time() - cpu0
        result = {
            "store": url.split(":", 1)[0],
            "load_avg": [round(x, 2) for x in os.getloadavg()],
            "rows": args.rows,
            "file_mb": round(csv_path.stat().st_size / 2**20, 1),
            "accepted": report.accepted,
            "error": report.error,
            "rows_kept": report.rows_kept,
            "rows_dropped": report.rows_dropped,
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
            "rows_per_s": round(args.rows / seconds),
            "peak_rss_mb": round(mem.peak / 2**20),
            "rss_before_mb": round(rss_before / 2**20),
            "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "generate_seconds": round(gen_s, 2),
            "chunk_rows": args.chunk_rows,
            "goal": "<= 30 s and <= 2048 MB for 1,000,000 rows",
            "goal_met": bool(report.accepted and seconds <= 30 and mem.peak <= 2 * 2**30),
        }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['store']}: {result['rows']:,} rows ({result['file_mb']} MB CSV) in {result['seconds']} s "
              f"({result['rows_per_s']:,} rows/s, {result['cpu_seconds']} s CPU); peak memory "
              f"{result['peak_rss_mb']} MB; kept {result['rows_kept']:,}; goal met: {result['goal_met']}; "
              f"load {result['load_avg']}")
    return 0 if report.accepted else 1


if __name__ == "__main__":
    sys.exit(main())
