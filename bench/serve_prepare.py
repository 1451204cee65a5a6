"""Build a throw-away store from Amazon Beauty (12,101 items, 22,363 users) and train a model on it, for
bench/serve.py's speed run "with the LM active on Beauty's 12k items".

    .venv/bin/python bench/serve_prepare.py --out /tmp/beauty-store [--model lm --lm-minutes 3] [--json]

Beauty has no timestamps: each user's purchases are spaced one day apart, ending on 2024-01-01 (order is what the
models read). Items get a title "Beauty item <id>" so lists are readable; there is no other text.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def build_store(url: str) -> dict:
    from core.benchmark_datasets import load_beauty
    from db.engine import session_scope
    from db.shop_write import ShopWriter, new_dataset

    data = load_beauty()
    lengths = np.asarray([len(s) for s in data.sequences])
    users = np.repeat(np.asarray(data.user_keys).astype(str), lengths)
    items = np.asarray(data.item_keys).astype(str)[np.concatenate(data.sequences)]
    pos = np.concatenate([np.arange(n) - n for n in lengths])  # ..., -2, -1 days before the end
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(pos, unit="D")
    t0 = time.perf_counter()
    with session_scope(url) as session:
        ds = new_dataset(session, "events", "Amazon Beauty (S3-Rec split)")
        writer = ShopWriter(session, ds)
        writer.upsert_items(pd.DataFrame({"item_id": np.asarray(data.item_keys).astype(str),
                                          "title": [f"Beauty item {k}" for k in data.item_keys]}))
        result = writer.add_events(pd.DataFrame({"user_id": users, "item_id": items, "action": "purchase",
                                                 "ts": ts}))
    return {"users": int(data.n_users), "items": int(data.n_items), "events": int(result.inserted),
            "write_s": round(time.perf_counter() - t0, 1)}


def train(url: str, model: str, lm_minutes: float) -> dict:
    cmd = [sys.executable, "-m", "core", "train", "--db", url, "--model", model, "--json"]
    if model == "lm":
        cmd += ["--epochs", "1", "--max-minutes", str(lm_minutes), "--refit-epochs", "0"]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"training {model} failed: {out.stderr[-2000:]}")
    payload = json.loads(out.stdout)
    payload["wall_s"] = round(time.perf_counter() - t0, 1)
    return payload


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="folder for the store (recolm.db) and its artifacts")
    parser.add_argument("--model", default="lm", choices=["lm", "ease", "itemknn", "popularity"])
    parser.add_argument("--lm-minutes", type=float, default=3.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{out / 'recolm.db'}"
    import os

    os.environ.setdefault("RECOLM_ARTIFACTS_DIR", str(out / "artifacts"))
    result = {"url": url, "store": build_store(url), "train": train(url, args.model, args.lm_minutes)}
    print(json.dumps(result, indent=2) if args.json else
          f"store {url}: {result['store']}\ntrained {args.model}: model {result['train'].get('model_id')} "
          f"in {result['train']['wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
