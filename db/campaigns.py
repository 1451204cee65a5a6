"""Coupon campaigns and their assignments, and the past randomised campaigns uplift is learned from."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from db.tables import Campaign, CampaignAssignment, Experiment, Exposure, Item, User


def randomised_campaigns(session: Session) -> list[Experiment]:
    """Experiments usable for uplift: exactly two variants, one of them the control. Newest first."""
    rows = session.execute(
        select(Exposure.experiment_id, Exposure.variant).group_by(Exposure.experiment_id, Exposure.variant)
    ).all()
    variants: dict[int, set[str]] = {}
    for exp_id, variant in rows:
        variants.setdefault(int(exp_id), set()).add(str(variant))
    out = []
    for exp in session.scalars(select(Experiment).order_by(Experiment.id.desc())):
        v = variants.get(exp.id, set())
        control = exp.control or "control"
        if len(v) == 2 and control in v:
            out.append(exp)
    return out


def campaign_exposures(session: Session, experiment_id: int) -> pd.DataFrame:
    """One row per exposed store user: user_store_id, user_key, treated (0/1), converted, revenue, exposed_at.

    Exposures are matched to store users by their stored user id, else by external id; unmatched rows are dropped
    (no history to learn from).
    """
    exp = session.get(Experiment, int(experiment_id))
    if exp is None:
        raise KeyError(f"No experiment with id {experiment_id}")
    control = exp.control or "control"
    stmt = (
        select(
            func.coalesce(Exposure.user_id, User.id).label("user_store_id"),
            Exposure.user_key,
            Exposure.variant,
            Exposure.converted,
            Exposure.revenue,
            Exposure.exposed_at,
        )
        .outerjoin(User, User.external_id == Exposure.user_key)
        .where(Exposure.experiment_id == int(experiment_id))
        .order_by(Exposure.id)
    )
    df = pd.read_sql(stmt, session.connection())
    df = df[df["user_store_id"].notna()].reset_index(drop=True)
    df["user_store_id"] = df["user_store_id"].astype("int64")
    df["treated"] = (df["variant"].astype(str) != control).astype("int64")
    df["converted"] = df["converted"].astype("int64")
    df["revenue"] = df["revenue"].fillna(0.0).astype(float)
    df["exposed_at"] = pd.to_datetime(df["exposed_at"])
    return df.drop(columns=["variant"])


def save_campaign(
    session: Session,
    name: str,
    config: dict[str, Any],
    summary: dict[str, Any],
    assignments: pd.DataFrame,
    model_id: int | None = None,
) -> Campaign:
    """Store a campaign and its targeted users. `assignments` columns: user_store_id, rank, coupon, target,
    propensity, uplift, expected_profit, reason."""
    need = ("user_store_id", "rank", "coupon")
    missing = [c for c in need if c not in assignments]
    if missing:
        raise ValueError(f"campaign assignments lack column(s) {missing} (have {list(assignments.columns)})")
    row = Campaign(name=name, config=config, summary=summary, model_id=model_id)
    session.add(row)
    session.flush()

    def opt(col: str, kind=float) -> list:
        if col not in assignments:
            return [None] * len(assignments)
        return [None if pd.isna(v) else kind(v) for v in assignments[col]]

    records = [
        {"campaign_id": row.id, "user_id": int(u), "rank": int(r), "coupon": str(c), "target": t, "propensity": p,
         "uplift": up, "expected_profit": ep, "reason": why}
        for u, r, c, t, p, up, ep, why in zip(
            assignments["user_store_id"], assignments["rank"], assignments["coupon"], opt("target", str),
            opt("propensity"), opt("uplift"), opt("expected_profit"), opt("reason", str),
        )
    ]
    if records:
        session.execute(insert(CampaignAssignment), records)
    return row


def list_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def find_campaign(session: Session, name_or_id: str | int) -> Campaign | None:
    """By id, or the newest campaign with that name."""
    if isinstance(name_or_id, int) or str(name_or_id).isdigit():
        return session.get(Campaign, int(name_or_id))
    return session.scalar(select(Campaign).where(Campaign.name == str(name_or_id)).order_by(Campaign.id.desc()))


def load_assignments(session: Session, campaign_id: int) -> pd.DataFrame:
    """A stored campaign's targeted users in rank order, with their external ids."""
    stmt = (
        select(CampaignAssignment.rank, User.external_id.label("user_id"), CampaignAssignment.coupon,
               CampaignAssignment.target, CampaignAssignment.propensity, CampaignAssignment.uplift,
               CampaignAssignment.expected_profit, CampaignAssignment.reason)
        .join(User, User.id == CampaignAssignment.user_id)
        .where(CampaignAssignment.campaign_id == int(campaign_id))
        .order_by(CampaignAssignment.rank)
    )
    return pd.read_sql(stmt, session.connection())


def campaign_options(session: Session) -> dict[str, list[str]]:
    """What the campaign form can offer: categories, genders, regions and user ids present in the store."""
    def distinct(col) -> list[str]:
        return sorted(str(v) for v in session.scalars(select(col).distinct()) if v is not None and str(v) != "")

    return {
        "categories": distinct(Item.category),
        "genders": distinct(User.gender),
        "regions": distinct(User.region),
    }


def price_range(session: Session) -> tuple[float, float] | None:
    """The shop's lowest and highest positive item price (bounds for coupon amounts), None without prices."""
    lo, hi = session.execute(select(func.min(Item.price), func.max(Item.price)).where(Item.price > 0)).one()
    return None if hi is None else (float(lo), float(hi))


def experiment_label(exp: Experiment) -> str:
    return f"#{exp.id} {exp.name} ({exp.source})"
