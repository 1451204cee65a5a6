"""The demo shop: a realistic, seeded synthetic store so the dashboard is never blank on first start.

`build_demo` writes the generated users, items and events (through db.shop_write.ShopWriter), the past
randomised coupon campaign (an Experiment with its Exposures), and fits and registers the baseline
models, activating the best one, all inside the caller's transaction. Once that transaction commits, a
short LM training job is queued on the demo shop in the background (the first start; `RECOLM_FIRST_START_LM=0`
or `queue_lm=False` switches it off): it becomes the active model only if it beats EASE on its held-out split.
`write_demo_csvs` exports the same shop as three CSVs in a shop's own column names, to exercise the upload path.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from core.demo import vocab_zh
from core.demo.simulate import DemoShop, generate_shop

DEMO_EXPERIMENT_NAME = "Demo: spring coupon campaign"
DEMO_EXPERIMENT_NAMES = {"en": DEMO_EXPERIMENT_NAME, "zh": vocab_zh.EXPERIMENT_NAME}
DEFAULT_SEED = 7
DEFAULT_USERS = 3000
DEFAULT_ITEMS = 1500
# How long building the default demo shop takes, as the first start tells the user: `python -m core demo` took
# 14-17 s on an idle 2-core machine and 30 s with cold disk caches; app.py's first start 20 s (bench/pages.py).
EXPECTED_BUILD_SECONDS = 20
FIRST_LM_NICE = 10  # the background first-start training yields the CPU to the dashboard
log = logging.getLogger(__name__)
# The shop's own words for actions in the exported CSV (the upload maps them back).
EXPORT_ACTION_WORDS = {"view": "view", "favorite": "add_to_wishlist", "cart": "add_to_cart", "purchase": "purchase"}


@dataclass
class DemoSummary:
    """What build_demo wrote; printed by `python -m core demo --json`."""

    dataset_id: int
    seed: int
    users: int
    items: int
    events: int
    purchases: int
    cold_users: int  # profiles without any behaviour
    new_items: int  # listed in the last 21 days
    experiment_id: int
    exposures: int
    models: list[dict[str, Any]] = field(default_factory=list)  # name, id, ndcg@10
    active_model: str | None = None
    seconds: float = 0.0
    lm_job_id: int | None = None  # the first-start LM training job, set once the demo is committed


    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def build_demo(
    session: Session,
    seed: int = DEFAULT_SEED,
    n_users: int = DEFAULT_USERS,
    n_items: int = DEFAULT_ITEMS,
    fit_models: bool = True,
    queue_lm: bool | None = None,
    lang: str = "en",
) -> DemoSummary:
    """Generate the demo shop into the store (the caller's transaction commits it); `lang="zh"`: in Chinese.

    `queue_lm` (default: core.config.first_start_lm()) also queues the first-start LM job once that commit is done
    (the worker reads the committed shop); its id lands in the summary's `lm_job_id`.
    """
    from db.engine import get_meta, set_meta
    from db.experiments import save_experiment
    from db.shop_write import ShopWriter, new_dataset

    if get_meta(session, "demo") == "1":
        raise ValueError("this store already holds the demo shop; use a new store (--db) to build another one")
    t0 = time.perf_counter()
    shop = generate_shop(seed=seed, n_users=n_users, n_items=n_items, lang=lang)
    ds = new_dataset(session, "demo", "demo shop",
                     mapping={"seed": seed, "n_users": n_users, "n_items": n_items, "lang": lang})
    writer = ShopWriter(session, ds, unknown="drop")
    writer.upsert_users(shop.users[["user_id", "age", "gender", "region", "signup_date", "attributes"]])
    items = shop.items[["item_id", "title", "description", "category", "price", "brand", "listed_at"]].copy()
    items["attributes"] = [{"product_type": n} for n in shop.items["_noun_label"]]
    writer.upsert_items(items)
    events = shop.events.assign(raw_action=shop.events["action"])
    result = writer.add_events(events)
    if result.dropped_unknown_user or result.dropped_unknown_item:
        raise RuntimeError("demo generator produced events for unknown users/items (a bug in core.demo)")
    purchases = int((shop.events["action"] == "purchase").sum())
    cutoff = pd.Timestamp(shop.items["listed_at"].max()) - pd.Timedelta(days=21)
    new_items = int((shop.items["listed_at"] > cutoff).sum())
    ds.rows_read = ds.rows_kept = len(shop.events)
    ds.report = {
        "source": "demo generator",
        "seed": seed,
        "lang": lang,
        "users": len(shop.users),
        "items": len(shop.items),
        "events": len(shop.events),
        "purchases": purchases,
        "dropped": {},
    }

    log = shop.exposures.rename(columns={"exposed_at": "timestamp"}).drop(columns=["segment"])
    log["user_store_id"] = log["user_id"].map(writer.user_ids)
    exp = save_experiment(session, DEMO_EXPERIMENT_NAMES[lang], log, source="demo", control="control",
                          config=shop.campaign)
    set_meta(session, "demo", "1")
    session.flush()

    summary = DemoSummary(
        dataset_id=ds.id,
        seed=seed,
        users=len(shop.users),
        items=len(shop.items),
        events=len(shop.events),
        purchases=purchases,
        cold_users=int(shop.users["_cold"].sum()),
        new_items=new_items,
        experiment_id=exp.id,
        exposures=len(log),
    )
    if fit_models:
        from core.demo.baselines import fit_and_register

        summary.models, summary.active_model = fit_and_register(session, ds.id)
        # Encode the catalogue text now (disk-cached), so the first recommendation preview opens at once.
        from core.interactions import from_store
        from core.text_encoder import encode_cached

        encode_cached(from_store(session).item_texts())
    summary.seconds = round(time.perf_counter() - t0, 2)
    if queue_lm is None:
        from core.config import first_start_lm

        queue_lm = first_start_lm()
    if queue_lm and fit_models:
        from sqlalchemy import event

        url = session.get_bind().url.render_as_string(hide_password=False)

        def _after_commit(_session: Session) -> None:
            summary.lm_job_id = queue_first_start_lm(url)

        event.listen(session, "after_commit", _after_commit, once=True)
    return summary


def first_start_lm_request():
    """The first-start LM job: a few minutes' budget, activated only if it beats the active EASE."""
    from core.config import first_start_lm_minutes
    from core.training.worker import TrainRequest

    return TrainRequest(model="lm", name="lm", activate="if-better", nice=FIRST_LM_NICE,
                        model_params={"max_minutes": first_start_lm_minutes()})


def queue_first_start_lm(url: str) -> int | None:
    """Start the first-start LM job's worker process (the dashboard does not wait for it); None if it cannot."""
    from core.training.jobs import launch_training

    try:
        return launch_training(url, first_start_lm_request())
    except Exception:  # noqa: BLE001 - the demo is built; a job that cannot start must not break the first page
        log.exception("could not queue the first-start LM training job")
        return None


def load_demo_if_empty(session: Session, lang: str = "en") -> bool:
    """First start: build the default demo shop (in `lang`) when the store holds no shop data. True when it did."""
    from db.shop_read import is_empty

    if not is_empty(session):
        return False
    build_demo(session, lang=lang)
    return True


def write_demo_csvs(
    folder: str | Path, seed: int = DEFAULT_SEED, n_users: int = DEFAULT_USERS, n_items: int = DEFAULT_ITEMS,
    lang: str = "en",
) -> dict[str, Path]:
    """The demo shop as a shop would export it: events.csv, items.csv, users.csv in the shop's own column names."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    shop: DemoShop = generate_shop(seed=seed, n_users=n_users, n_items=n_items, lang=lang)
    ev = shop.events
    events = pd.DataFrame(
        {
            "customer_id": ev["user_id"],
            "product_id": ev["item_id"],
            "event_type": ev["action"].map(EXPORT_ACTION_WORDS),
            "event_time": ev["ts"].dt.strftime("%Y-%m-%d %H:%M:%S"),
            "qty": ev["quantity"],
            "unit_price": ev["price"],
            "session_id": ev["session"],
        }
    )
    it = shop.items
    items = pd.DataFrame(
        {
            "product_id": it["item_id"],
            "product_name": it["title"],
            "description": it["description"],
            "category": it["category"],
            "unit_price": it["price"],
            "brand": it["brand"],
            "listed_date": it["listed_at"].dt.strftime("%Y-%m-%d"),
        }
    )
    us = shop.users
    users = pd.DataFrame(
        {
            "customer_id": us["user_id"],
            "age": us["age"],
            "gender": us["gender"],
            "city": us["region"],
            "signup_date": us["signup_date"].dt.strftime("%Y-%m-%d"),
            "member_tier": [a["member_tier"] for a in us["attributes"]],
        }
    )
    paths = {"events": folder / "events.csv", "items": folder / "items.csv", "users": folder / "users.csv"}
    events.to_csv(paths["events"], index=False)
    items.to_csv(paths["items"], index=False)
    users.to_csv(paths["users"], index=False)
    return paths


__all__ = ["DEMO_EXPERIMENT_NAME", "DEMO_EXPERIMENT_NAMES", "DemoShop", "DemoSummary", "build_demo",
           "first_start_lm_request", "generate_shop", "load_demo_if_empty", "queue_first_start_lm", "write_demo_csvs"]
