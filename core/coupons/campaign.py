"""A coupon campaign definition: goal, coupon, scope, budget, eligibility. Plain data, validated on load.

The same JSON shape is what the page builds, the CLI reads (`--campaign FILE`) and the store keeps in
`campaigns.config`, so a stored campaign can be re-run exactly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.i18n import Message
from core.schema import ACTIVITY_BUCKETS, AGE_BANDS

GOALS: tuple[str, ...] = ("conversion", "revenue")
COUPON_KINDS: tuple[str, ...] = ("fixed", "percent", "free_shipping")
SCOPES: tuple[str, ...] = ("shop", "category", "top_item")
BUDGET_KINDS: tuple[str, ...] = ("count", "money")
ACTIVITY_NAMES: tuple[str, ...] = ("0",) + tuple(b[0] for b in ACTIVITY_BUCKETS)
AGE_BAND_NAMES: tuple[str, ...] = tuple(b[0] for b in AGE_BANDS)


class CampaignError(ValueError):
    """A campaign definition is invalid; the message names the field."""


@dataclass
class Coupon:
    """What the user gets. fixed: `value` off; percent: `value` % off (capped by `cap` if set);
    free_shipping: the shop pays `value` (its shipping cost) per redeemed order."""

    kind: str = "percent"
    value: float = 10.0
    cap: float | None = None

    def label(self) -> str:
        if self.kind == "fixed":
            return Message("{value} off", value=f"{self.value:g}")
        if self.kind == "percent":
            if self.cap:
                return Message("{value}% off (max {cap})", value=f"{self.value:g}", cap=f"{self.cap:g}")
            return Message("{value}% off", value=f"{self.value:g}")
        return Message("free shipping")

    def face_value(self, price: float) -> float:
        """What the shop pays when the coupon is redeemed on an order worth `price`."""
        if self.kind == "fixed":
            return float(min(self.value, price)) if price > 0 else float(self.value)
        if self.kind == "percent":
            v = price * self.value / 100.0
            return float(min(v, self.cap) if self.cap else v)
        return float(self.value)


@dataclass
class Budget:
    """`count`: at most `amount` coupons. `money`: the coupons' full face value, as if every one were redeemed,
    stays within `amount` — the worst case, so the spend can never overrun."""

    kind: str = "count"
    amount: float = 100.0


@dataclass
class Eligibility:
    """Who may receive the coupon. Empty lists mean "no restriction"."""

    age_bands: list[str] = field(default_factory=list)
    genders: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)
    activity: list[str] = field(default_factory=list)  # activity buckets (core.schema), "0" = never bought
    min_days_since_purchase: float | None = None
    max_days_since_purchase: float | None = None
    exclude_users: list[str] = field(default_factory=list)  # external user ids


@dataclass
class CampaignSpec:
    """A whole campaign. `margin`: gross margin share of an order's value; `window_days`: how long the coupon
    runs (the horizon purchase propensity is predicted for)."""

    name: str = "campaign"
    goal: str = "conversion"
    coupon: Coupon = field(default_factory=Coupon)
    scope: str = "shop"
    category: str | None = None
    budget: Budget = field(default_factory=Budget)
    eligibility: Eligibility = field(default_factory=Eligibility)
    margin: float = 0.3
    window_days: int = 30
    learner: str = "x_learner"
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CampaignSpec:
        if not isinstance(raw, dict):
            raise CampaignError(f"a campaign must be a JSON object, got {type(raw).__name__}")
        known = set(cls.__dataclass_fields__)
        unknown = set(raw) - known
        if unknown:
            raise CampaignError(f"unknown campaign field(s) {sorted(unknown)}; known: {sorted(known)}")
        data = dict(raw)
        try:
            coupon = Coupon(**(data.pop("coupon", None) or {}))
            budget = Budget(**(data.pop("budget", None) or {}))
            elig = Eligibility(**(data.pop("eligibility", None) or {}))
        except TypeError as exc:
            raise CampaignError(f"campaign: {exc}") from exc
        spec = cls(coupon=coupon, budget=budget, eligibility=elig, **data)
        spec.validate()
        return spec

    @classmethod
    def from_json(cls, text: str, source: str = "campaign JSON") -> CampaignSpec:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CampaignError(f"{source}: not valid JSON ({exc})") from exc
        return cls.from_dict(raw)

    @classmethod
    def from_file(cls, path: str | Path) -> CampaignSpec:
        path = Path(path)
        return cls.from_json(path.read_text(encoding="utf-8"), source=str(path))

    def validate(self) -> CampaignSpec:
        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise CampaignError(f"campaign {self.name!r}: {msg}")

        need(isinstance(self.name, str) and self.name.strip() != "", "name must be a non-empty text")
        need(self.goal in GOALS, f"goal must be one of {GOALS}, got {self.goal!r}")
        need(self.coupon.kind in COUPON_KINDS, f"coupon.kind must be one of {COUPON_KINDS}, got {self.coupon.kind!r}")
        need(_num(self.coupon.value) and self.coupon.value > 0, f"coupon.value must be > 0, got {self.coupon.value!r}")
        if self.coupon.kind == "percent":
            need(self.coupon.value <= 100, f"coupon.value is a percentage and must be <= 100, got {self.coupon.value}")
        need(self.coupon.cap is None or (_num(self.coupon.cap) and self.coupon.cap > 0), "coupon.cap must be > 0")
        need(self.scope in SCOPES, f"scope must be one of {SCOPES}, got {self.scope!r}")
        if self.scope == "category":
            need(bool(self.category), "scope 'category' needs a category")
        need(self.budget.kind in BUDGET_KINDS, f"budget.kind must be one of {BUDGET_KINDS}, got {self.budget.kind!r}")
        need(_num(self.budget.amount) and self.budget.amount >= 0, f"budget.amount must be >= 0, got {self.budget.amount!r}")
        need(_num(self.margin) and 0 < self.margin <= 1, f"margin is a share of the order value in (0, 1], got {self.margin!r}")
        need(isinstance(self.window_days, int) and self.window_days > 0, f"window_days must be a positive whole number, got {self.window_days!r}")
        from core.uplift import LEARNERS

        need(self.learner in LEARNERS, f"learner must be one of {tuple(LEARNERS)}, got {self.learner!r}")
        e = self.eligibility
        bad = [a for a in e.activity if a not in ACTIVITY_NAMES]
        need(not bad, f"eligibility.activity has unknown bucket(s) {bad}; known: {ACTIVITY_NAMES}")
        bad = [a for a in e.age_bands if a not in AGE_BAND_NAMES]
        need(not bad, f"eligibility.age_bands has unknown band(s) {bad}; known: {AGE_BAND_NAMES}")
        for name in ("min_days_since_purchase", "max_days_since_purchase"):
            v = getattr(e, name)
            need(v is None or (_num(v) and v >= 0), f"eligibility.{name} must be >= 0, got {v!r}")
        if e.min_days_since_purchase is not None and e.max_days_since_purchase is not None:
            need(e.min_days_since_purchase <= e.max_days_since_purchase,
                 "eligibility.min_days_since_purchase is larger than max_days_since_purchase")
        return self


def _num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v
