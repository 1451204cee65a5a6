"""How long each dashboard page takes until it is interactive, on the demo shop, and how long the long actions take.

Builds the demo shop with `python -m core demo` (RECOLM_FIRST_START_LM=0) in a temporary RECOLM_HOME (or copies the
store built by an earlier run: --store-from DIR), then drives every page of app.py through Streamlit's AppTest in
one process, as one browser session would:

- first visit: the page's first run in this process (its caches are cold);
- rerun: the same session runs it again (a widget click);
- revisit: a new session opens it (caches warm, session state empty).

It also times app.py's first start on an empty store (the dashboard builds the demo shop; app.py states the
expected time, core.demo.EXPECTED_BUILD_SECONDS). A page is interactive when its script run has finished (every widget is on screen). Then the long actions: an
evaluation run (the page's default models, leave-one-out), coupon campaign planning (the page's defaults) and the
batch CSV for every customer. A background action counts twice: until the page is interactive again after the
click (`click_s`), and until its result is there (`done_s`).

Goal (issue 17.4): every page interactive in <= 3 s after the first visit. Printed, met or not.

    .venv/bin/python bench/pages.py [--store-from DIR] [--keep DIR] [--skip-actions] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
APP = ROOT / "app.py"
PAGES = re.findall(r'st\.Page\(\s*"(pages/[\w/]+\.py)"', APP.read_text())
GOAL_S = 3.0
TIMEOUT_S = 900.0


def build_store(home: Path, lm_minutes: float) -> tuple[float, float | None]:
    """`python -m core demo` into `home` (no first-start LM job), then optionally an active LM trained for
    `lm_minutes` (the state after the first start's LM job wins); returns both wall times in seconds."""
    env = {**os.environ, "RECOLM_HOME": str(home), "RECOLM_FIRST_START_LM": "0"}
    for key in ("RECOLM_DATABASE_URL", "RECOLM_ARTIFACTS_DIR"):
        env.pop(key, None)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core", "demo", "--if-empty"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    build_s = time.perf_counter() - t0
    if lm_minutes <= 0:
        return build_s, None
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "core", "train", "--model", "lm", "--max-minutes", str(lm_minutes)],
                   cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return build_s, time.perf_counter() - t0


def _timed(fn) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _check(at, what: str) -> None:
    """A figure only counts for a page that worked: no exception, no error box."""
    if at.exception:
        raise RuntimeError(f"{what} raised: {[e.message for e in at.exception]}")
    if at.error:
        raise RuntimeError(f"{what} shows errors: {[e.value for e in at.error]}")


def _session(page: str):
    """A new browser session on `page` (app.py runs first, as the navigation does), and how long the page took
    (the home page is the default one: app.py's own run)."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.session_state["_demo_checked"] = True  # the store is built; app.py would only check it
    seconds, _ = _timed(at.run)
    _check(at, "app.py")
    if page != "pages/home.py":
        seconds, _ = _timed(lambda: at.switch_page(page).run())
        _check(at, page)
    return at, seconds


def measure_first_start(home: Path) -> float:
    """app.py's first start on an empty store (it builds the demo shop in the dashboard process), in seconds."""
    from streamlit.testing.v1 import AppTest

    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{home / 'recolm.db'}"
    old = {k: os.environ.get(k) for k in ("RECOLM_HOME", "RECOLM_DATABASE_URL")}
    os.environ.update({"RECOLM_HOME": str(home), "RECOLM_DATABASE_URL": url})
    try:
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
        seconds, _ = _timed(at.run)
        _check(at, "first start")
    finally:
        os.environ.update({k: v for k, v in old.items() if v is not None})
        from db.engine import close_store

        close_store(url)
    return seconds


def _active_model(url: str) -> str | None:
    from db.engine import session_scope
    from db.registry import active_model

    with session_scope(url) as s:
        row = active_model(s)
        return None if row is None else f"{row.name} v{row.version} ({row.kind})"


def measure_pages() -> dict[str, dict[str, float]]:
    out = {}
    for page in PAGES:
        at, first = _session(page)
        rerun, _ = _timed(at.run)
        _check(at, page)
        _, revisit = _session(page)
        out[page] = {"first_s": round(first, 2), "rerun_s": round(rerun, 2), "revisit_s": round(revisit, 2)}
        print(f"  {page:28s} first {first:6.2f} s   rerun {rerun:5.2f} s   revisit {revisit:5.2f} s", file=sys.stderr)
    return out


def _action(url: str, page: str, click, job_key: str, shown) -> dict[str, Any]:
    """Click a long action's button on `page`; how long until the page is interactive again, and until `shown`
    (the result is on the page). A page that ran it in the background keeps the job id under `job_key`."""
    from core.training.jobs import wait_for

    at, _ = _session(page)
    t0 = time.perf_counter()
    click(at).click().run()
    click_s = time.perf_counter() - t0
    _check(at, page)
    info: dict[str, Any] = {}
    job = at.session_state[job_key] if job_key in at.session_state else None
    if job is not None:
        job_id = job[-1] if isinstance(job, tuple) else job  # (store URL, job id) or the id
        info["job_status"] = wait_for(url, int(job_id), timeout=TIMEOUT_S, poll=0.5).status
        at.run()
        _check(at, page)
    if not shown(at):
        raise RuntimeError(f"{page}: the action's result is not on the page")
    return {"click_s": round(click_s, 2), "done_s": round(time.perf_counter() - t0, 2), **info}


def measure_actions(url: str) -> dict[str, dict[str, Any]]:
    out = {
        "evaluation": _action(url, "pages/evaluation.py", lambda at: at.button(key="run"), "eval_job",
                              lambda at: any("kind" in df.value.columns for df in at.dataframe)),
        "campaign_planning": _action(url, "pages/campaigns.py",
                                     lambda at: next(b for b in at.button if b.label == "Plan campaign"),
                                     "coupon_job", lambda at: any(m.label == "Targeted" for m in at.metric)),
        "batch_csv": _action(url, "pages/recommendations.py", lambda at: at.button(key="rec_batch_go"),
                             "rec_batch_job", lambda at: any(s.value.startswith("Batch") for s in at.success)),
    }
    for name, row in out.items():
        print(f"  {name:28s} interactive after click {row['click_s']:6.2f} s   result {row['done_s']:6.2f} s",
              file=sys.stderr)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store-from", type=Path, help="copy this RECOLM_HOME (built by --keep) instead of building")
    parser.add_argument("--keep", type=Path, help="build the store here and keep it (for --store-from)")
    parser.add_argument("--lm-minutes", type=float, default=0.0,
                        help="also train an active LM for this many minutes (as after the first start), 0 = EASE")
    parser.add_argument("--skip-actions", action="store_true", help="pages only")
    parser.add_argument("--skip-first-start", action="store_true", help="do not time app.py's first start")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="recolm-bench-pages-"))
    home = tmp / "home"
    try:
        build_s = lm_s = None
        source = args.store_from
        if source is None:
            # Model artifacts are recorded by absolute path: the store is built where it stays (the copy we
            # measure on writes its own new artifacts beside its own file, and reads the built ones from there).
            source = args.keep or tmp / "pristine"
            shutil.rmtree(source, ignore_errors=True)
            print("building the demo shop (python -m core demo)…", file=sys.stderr)
            build_s, lm_s = build_store(source, args.lm_minutes)
            print(f"  built in {build_s:.1f} s" + ("" if lm_s is None else f", LM trained in {lm_s:.1f} s"),
                  file=sys.stderr)
        shutil.copytree(source, home, symlinks=True)
        url = f"sqlite:///{home / 'recolm.db'}"
        os.environ.update({"RECOLM_HOME": str(home), "RECOLM_DATABASE_URL": url, "RECOLM_FIRST_START_LM": "0"})
        os.environ.pop("RECOLM_ARTIFACTS_DIR", None)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_OFFLINE", "1")

        import logging

        logging.getLogger("streamlit").setLevel(logging.ERROR)  # AppTest's bare-mode warnings, once per page
        active = _active_model(url)
        print(f"pages (AppTest, one process), active model {active}:", file=sys.stderr)
        load_before = os.getloadavg()
        first_start = None if args.skip_first_start else measure_first_start(tmp / "first_start")
        if first_start is not None:
            print(f"  app.py first start (builds the demo shop in the dashboard): {first_start:.1f} s", file=sys.stderr)
        pages = measure_pages()
        actions = {} if args.skip_actions else measure_actions(url)
        load_after = os.getloadavg()
    finally:
        from db.engine import close_store

        close_store(f"sqlite:///{home / 'recolm.db'}")
        shutil.rmtree(tmp, ignore_errors=True)

    later = {p: max(r["rerun_s"], r["revisit_s"]) for p, r in pages.items()}
    worst_page = max(later, key=later.get)
    result = {
        "demo_build_s": None if build_s is None else round(build_s, 1),
        "lm_train_s": None if lm_s is None else round(lm_s, 1),
        "app_first_start_s": None if first_start is None else round(first_start, 1),
        "active_model": active,
        "pages": pages,
        "actions": actions,
        "goal": {
            "target_s": GOAL_S,
            "worst_after_first_visit_s": later[worst_page],
            "worst_page": worst_page,
            "over_target": {p: s for p, s in later.items() if s > GOAL_S},
            "met": later[worst_page] <= GOAL_S and all(a["click_s"] <= GOAL_S for a in actions.values()),
        },
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "cpus": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        g = result["goal"]
        if build_s is not None:
            print(f"demo build (python -m core demo): {build_s:.1f} s")
        if first_start is not None:
            print(f"app.py first start on an empty store (builds the demo shop): {first_start:.1f} s")
        print(f"goal: every page interactive in <= {GOAL_S:.0f} s after the first visit (and right after each long "
              f"action's click): {'MET' if g['met'] else 'NOT MET'}; worst {g['worst_after_first_visit_s']:.2f} s "
              f"({g['worst_page']})")
        for page, secs in g["over_target"].items():
            print(f"  over target: {page} {secs:.2f} s")
        for name, row in actions.items():
            if row["click_s"] > GOAL_S:
                print(f"  over target: {name} blocks the page {row['click_s']:.2f} s")
        print(f"load average {result['loadavg_before']} -> {result['loadavg_after']} on {result['cpus']} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
