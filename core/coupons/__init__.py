"""Coupon campaigns: definition, per-user features, propensity, uplift-based targeting under a budget."""

from core.coupons.campaign import Budget, CampaignError, CampaignSpec, Coupon, Eligibility

__all__ = ["Budget", "CampaignError", "CampaignSpec", "Coupon", "Eligibility"]
