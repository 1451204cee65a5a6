"""`python -m core stats`: the store's key numbers (counts, funnel, repeat rate, basket size, active model)."""

from __future__ import annotations

import argparse
import math


def _records(df) -> list[dict]:
    """DataFrame rows as JSON-safe dicts (NaN -> null)."""
    return [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in df.to_dict("records")]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")


def main(args: argparse.Namespace) -> int:
    from core.cli.output import emit
    from core.profile import profile_store
    from db.engine import session_scope
    from db.shop_read import store_status

    with session_scope(args.db) as session:
        profile = profile_store(session)
        status = store_status(session)
    versions = status.datasets
    active = status.active_model
    payload = {
        "empty": profile.empty,
        "demo": status.demo,
        **profile.key_numbers(),
        "active_model": active,
        "dataset_versions": _records(versions.astype({"created_at": str})),
        "funnel": _records(profile.funnel) if profile.has_funnel else [],
    }
    if profile.empty:
        human = "The store is empty: run `python -m core demo` or upload data (`python -m core ingest`)."
    else:
        k = profile.key_numbers()
        lines = [
            f"{k['users']} users, {k['items']} items, {k['events']} events ({k['purchases']} purchases by "
            f"{k['buyers']} buyers) from {k['first_event']} to {k['last_event']}",
            f"revenue {k['revenue']:.2f}; repeat-purchase rate {k['repeat_purchase_rate']:.1%}; "
            f"{k.get('mean_items_per_order', 0):.2f} items per order ({k.get('order_definition')})",
            f"{len(versions)} data set version(s); active model: "
            + ("none" if active is None else f"{active['name']} v{active['version']}"),
        ]
        if k.get("flagged_events"):
            lines.append(f"flagged (never counted as purchases): {k['flagged_events']}")
        human = "\n".join(lines)
    emit(payload, args.json, human)
    return 0
