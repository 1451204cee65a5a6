"""Small reads the API makes per request: does a customer exist, what coupon do they hold."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from db.tables import Campaign, CampaignAssignment, User


def user_exists(session: Session, external_id: str) -> bool:
    return session.scalar(select(User.id).where(User.external_id == external_id)) is not None


def latest_campaign(session: Session) -> Campaign | None:
    """The campaign the shop runs now: the newest one targeted."""
    return session.scalar(select(Campaign).order_by(Campaign.id.desc()).limit(1))


def user_coupon(session: Session, campaign_id: int, external_id: str) -> dict[str, Any] | None:
    row = session.execute(
        select(CampaignAssignment.rank, CampaignAssignment.coupon, CampaignAssignment.target,
               CampaignAssignment.propensity, CampaignAssignment.uplift, CampaignAssignment.expected_profit,
               CampaignAssignment.reason)
        .join(User, User.id == CampaignAssignment.user_id)
        .where(CampaignAssignment.campaign_id == campaign_id, User.external_id == external_id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return {"rank": row.rank, "coupon": row.coupon, "target": row.target, "propensity": row.propensity,
            "uplift": row.uplift, "expected_profit": row.expected_profit, "reason": row.reason}
