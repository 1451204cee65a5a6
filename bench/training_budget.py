"""Does a training job keep to its budget? Build a demo shop in a fresh store, run one LM job with a wall-time budget
(text-initialised item tokens, so start-up loads the encoder and encodes items) and print where the time went.

Target (issue 17.5): start-up + training + final evaluation <= budget + a few seconds, start-up included.

    .venv/bin/python bench/training_budget.py [--minutes 1] [--users 3000] [--items 1500] [--no-text-init] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--items", type=int, default=1500)
    parser.add_argument("--no-text-init", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RECOLM_ARTIFACTS_DIR"] = str(Path(tmp) / "artifacts")
        os.environ["RECOLM_FIRST_START_LM"] = "0"
        from core.demo import build_demo
        from core.training import launch_training, wait_for
        from core.training.worker import TrainRequest
        from db.engine import session_scope

        url = f"sqlite:///{Path(tmp) / 'recolm.db'}"
        with session_scope(url) as session:
            build_demo(session, n_users=args.users, n_items=args.items, queue_lm=False)
        params = {"max_minutes": args.minutes, "epochs": 10000, "patience": 10000,
                  "text_init": not args.no_text_init}
        job_id = launch_training(url, TrainRequest(model="lm", model_params=params))
        view = wait_for(url, job_id, poll=0.5)
    t = view.metrics.get("timings", {})
    result = {"status": view.status, "budget_s": args.minutes * 60, **{k: t.get(k) for k in (
        "startup_seconds", "train_seconds", "evaluation_seconds", "total_seconds", "validation_pass_seconds")},
        "job_duration_s": view.duration_s, "stopped_for_time": bool(view.metrics.get("stopped_for_time")),
        "ndcg@10": view.metrics.get("ndcg@10"), "activated": (view.metrics.get("activation") or {}).get("activated"),
        "stages": t.get("stages"), "loadavg": [round(x, 2) for x in os.getloadavg()], "error": view.error}
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    return 0 if view.status == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
