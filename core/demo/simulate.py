"""The demo shop's customers and their behaviour over one year, plus a past randomised coupon campaign.

Everything is drawn from one seeded generator, so a seed always yields the same shop. Users belong to
latent segments (age, gender, category tastes, price sensitivity, activity); sessions follow a weekly
rhythm and shopping festivals (618, Singles' Day, Double 12, Chinese New Year); a session walks the
view → cart → purchase funnel; consumables are bought again, and some purchases pull a follow-up (after a
camera, a lens). The coupon campaign's true effect differs by segment and is recorded with it.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from core.demo import vocab_zh
from core.demo.catalog import CATEGORIES, make_catalog

END = datetime(2026, 6, 1)
START = END - timedelta(days=365)
CAMPAIGN_AT = END - timedelta(days=28)  # coupon sent
CAMPAIGN_WINDOW_DAYS = 14
PRE_PERIOD_DAYS = 30
COUPON = {"kind": "percent_off", "value": 15, "valid_days": CAMPAIGN_WINDOW_DAYS, "uses": 1}

REGIONS = ("Shanghai", "Beijing", "Shenzhen", "Guangzhou", "Hangzhou", "Chengdu", "Wuhan", "Nanjing", "Hong Kong",
           "Singapore")
REGION_WEIGHTS = np.array([0.2, 0.17, 0.13, 0.11, 0.1, 0.09, 0.07, 0.06, 0.04, 0.03])


@dataclass(frozen=True)
class Segment:
    name: str
    share: float
    age: tuple[int, int]
    female: float
    price_sensitivity: tuple[float, float]  # mean, sd
    activity: float  # relative number of shopping sessions
    tastes: tuple[float, ...]  # prior weight per category (order of CATEGORIES)
    coupon_uplift: float  # true absolute lift in 14-day conversion from the coupon
    description: str


SEGMENTS: tuple[Segment, ...] = (
    Segment("young_value", 0.24, (18, 29), 0.62, (1.3, 0.25), 1.0,
            (1, 2, 5, 6, 1, 0.3, 0.3, 3, 5, 0.2, 1, 5), 0.35,
            "under 30, price-sensitive: beauty, phone accessories, snacks"),
    Segment("young_professional", 0.18, (24, 36), 0.5, (0.8, 0.2), 1.1,
            (3, 2, 2, 1, 6, 1, 1, 5, 3, 0.3, 1, 2), 0.10,
            "24-36, coffee, audio, running"),
    Segment("parents", 0.18, (28, 44), 0.6, (0.9, 0.2), 1.2,
            (0.5, 1, 3, 1, 3, 0.3, 0.3, 1, 1, 8, 3, 4), 0.08,
            "28-44, baby care, snacks, pets"),
    Segment("outdoor_creators", 0.14, (22, 45), 0.35, (0.6, 0.2), 0.9,
            (7, 5, 1, 0.3, 2, 5, 5, 2, 1, 0.2, 1, 1), 0.04,
            "running and cameras"),
    Segment("loyal_premium", 0.10, (32, 60), 0.5, (0.25, 0.1), 3.5,
            (2, 1, 5, 2, 5, 3, 3, 3, 1, 1, 3, 2), 0.0,
            "heavy loyal buyers, price-insensitive: the coupon only discounts what they buy anyway"),
    Segment("casual", 0.16, (18, 65), 0.5, (0.9, 0.3), 0.45,
            tuple([1.0] * 12), 0.06,
            "occasional shoppers of everything"),
)


@dataclass
class DemoShop:
    """A generated shop in canonical columns (core.schema names), ready for ShopWriter or CSV export."""

    users: pd.DataFrame  # user_id, age, gender, region, signup_date, attributes
    items: pd.DataFrame  # item_id, title, description, category, price, brand, listed_at
    events: pd.DataFrame  # user_id, item_id, action, ts, quantity, price, session
    exposures: pd.DataFrame  # user_id, variant, exposed_at, converted, revenue, pre_metric, segment
    campaign: dict = field(default_factory=dict)  # the Experiment config (split, coupon, true effects)


def _daily_intensity(n_days: int) -> np.ndarray:
    """Relative shopping intensity per day of the simulated year: weekends, festivals, slow growth."""
    days = [START + timedelta(days=d) for d in range(n_days)]
    weekday = np.array([0.9, 0.9, 0.95, 1.0, 1.1, 1.3, 1.25])
    out = np.array([weekday[d.weekday()] for d in days]) * np.linspace(0.85, 1.15, n_days)
    peaks = {  # date: (multiplier on the day, days of build-up before it)
        datetime(2025, 6, 18): (2.5, 7),  # 618 festival
        datetime(2025, 11, 11): (4.0, 10),  # Singles' Day
        datetime(2025, 12, 12): (2.0, 4),  # Double 12
        datetime(2026, 2, 3): (1.6, 14),  # pre-Chinese-New-Year shopping
    }
    for when, (mult, ramp) in peaks.items():
        d = (when - START).days
        for k in range(ramp + 1):
            if 0 <= d - k < n_days:
                out[d - k] *= 1 + (mult - 1) * (1 - k / (ramp + 1)) ** 2
    cny = (datetime(2026, 2, 17) - START).days
    out[cny : cny + 7] *= 0.6  # the holiday week itself is quiet
    return out


def _make_users(rng: np.random.Generator, n_users: int) -> pd.DataFrame:
    shares = np.array([s.share for s in SEGMENTS])
    seg = rng.choice(len(SEGMENTS), size=n_users, p=shares / shares.sum())
    ages = np.empty(n_users, dtype=np.int64)
    genders = np.empty(n_users, dtype=object)
    ps = np.empty(n_users)
    activity = np.empty(n_users)
    tastes = np.empty((n_users, len(CATEGORIES)))
    for k, s in enumerate(SEGMENTS):
        m = seg == k
        n = int(m.sum())
        ages[m] = rng.integers(s.age[0], s.age[1] + 1, n)
        genders[m] = np.where(rng.random(n) < s.female, "F", "M")
        ps[m] = np.clip(rng.normal(s.price_sensitivity[0], s.price_sensitivity[1], n), 0.05, 2.0)
        activity[m] = s.activity * rng.lognormal(0.0, 0.6, n)
        tastes[m] = rng.dirichlet(np.array(s.tastes) * 2.0, n)
    genders[rng.random(n_users) < 0.03] = None
    regions = rng.choice(len(REGIONS), size=n_users, p=REGION_WEIGHTS / REGION_WEIGHTS.sum())
    region = np.array(REGIONS, dtype=object)[regions]
    region[rng.random(n_users) < 0.02] = None
    # ~4% brand-new sign-ups in the last ten days: a profile, no behaviour yet (cold-start users).
    cold = rng.random(n_users) < 0.04
    signup_days = np.where(cold, 365 - rng.uniform(0.2, 10, n_users), rng.uniform(-400, 330, n_users))
    tier = np.where(seg == [s.name for s in SEGMENTS].index("loyal_premium"), "gold",
                    np.where(activity > 1.5, "silver", "bronze"))
    users = pd.DataFrame(
        {
            "user_id": [f"U{100001 + i}" for i in range(n_users)],
            "age": ages,
            "gender": genders,
            "region": region,
            "signup_date": pd.to_datetime([START + timedelta(days=float(d)) for d in signup_days]).floor("s"),
            "attributes": [{"member_tier": str(t), "demo_segment": SEGMENTS[k].name} for t, k in zip(tier, seg)],
        }
    )
    users["_seg"] = seg
    users["_ps"] = ps
    users["_activity"] = activity
    users["_cold"] = cold
    users["_signup_day"] = signup_days
    users["_tastes"] = list(tastes)
    return users


class _Catalog:
    """Per-category lookup tables for fast item choice at a point in time."""

    def __init__(self, items: pd.DataFrame):
        self.listed = ((items["listed_at"] - pd.Timestamp(START)).dt.total_seconds() / 86400.0).to_numpy()
        self.price = items["price"].to_numpy(dtype=float)
        self.appeal = items["_appeal"].to_numpy(dtype=float)
        cat = items["_cat"].to_numpy()
        self.cat = cat
        self.noun = items["_noun"].to_numpy()
        self.brand = items["brand"].to_numpy()
        self.consumable = items["_consumable"].to_numpy(dtype=bool)
        self.repeat_days = items["_repeat_days"].to_numpy(dtype=float)
        self.log_rel_price = np.zeros(len(items))
        self.by_cat: list[np.ndarray] = []
        for c in range(len(CATEGORIES)):
            idx = np.flatnonzero(cat == c)
            idx = idx[np.argsort(self.listed[idx], kind="stable")]
            self.by_cat.append(idx)
            self.log_rel_price[idx] = np.log(self.price[idx] / np.median(self.price[idx]))
        self.by_noun: dict[str, np.ndarray] = {}
        for noun in np.unique(self.noun):
            idx = np.flatnonzero(self.noun == noun)
            self.by_noun[str(noun)] = idx[np.argsort(self.listed[idx], kind="stable")]
        self.follow_ups = {n.name: n.follow_ups for c in CATEGORIES for n in c.nouns}

    def available(self, idx: np.ndarray, t: float) -> np.ndarray:
        return idx[: int(np.searchsorted(self.listed[idx], t, side="right"))]

    def weights(self, idx: np.ndarray, ps: float, t: float) -> np.ndarray:
        fresh = (t - self.listed[idx]) < 30
        return np.exp(self.appeal[idx] - ps * self.log_rel_price[idx] + 0.5 * fresh)


def _weighted_sample(rng: np.random.Generator, pool: np.ndarray, w: np.ndarray, n: int) -> np.ndarray:
    """n distinct items, drawn with probability proportional to w, in draw order (exponential-race trick)."""
    keys = rng.exponential(1.0, len(pool)) / w
    n = min(n, len(pool))
    first = np.argpartition(keys, n - 1)[:n] if n < len(pool) else np.arange(len(pool))
    return pool[first[np.argsort(keys[first])]]


class _Uniforms:
    """Pre-drawn U(0,1) numbers handed out one at a time: scalar Generator calls dominate otherwise."""

    def __init__(self, rng: np.random.Generator, block: int = 1 << 16):
        self.rng, self.block = rng, block
        self.buf: list[float] = []
        self.pos = 0

    def __call__(self) -> float:
        if self.pos >= len(self.buf):
            self.buf = self.rng.random(self.block).tolist()
            self.pos = 0
        self.pos += 1
        return self.buf[self.pos - 1]


def generate_shop(seed: int = 7, n_users: int = 3000, n_items: int = 1500, lang: str = "en") -> DemoShop:
    """The whole synthetic shop for `seed` (deterministic). `lang="zh"`: the same shop in Chinese words."""
    if n_users < 50:
        raise ValueError(f"the demo shop needs at least 50 users, got n_users={n_users}")
    rng = np.random.default_rng(seed)
    items = make_catalog(rng, n_items, START, END, lang=lang)
    users = _make_users(rng, n_users)
    if lang == "zh":
        users["region"] = users["region"].map(vocab_zh.REGIONS)
    cat = _Catalog(items)
    n_days = (END - START).days
    intensity = _daily_intensity(n_days)
    cdf = np.concatenate([[0.0], np.cumsum(intensity)])
    t_c = (CAMPAIGN_AT - START).days + 10 / 24  # 10:00 on the campaign day
    t_w = t_c + CAMPAIGN_WINDOW_DAYS
    hours = np.array([0.3, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.7, 0.9, 1, 1, 1.1, 1.3, 1.1, 1, 1, 1, 1.1, 1.3, 1.6, 2, 2.2,
                      1.8, 0.9])
    hours = hours / hours.sum()

    rows: list[tuple[int, int, str, float, float, float, int]] = []
    add = lambda *row: rows.append(row)  # noqa: E731
    nan = float("nan")
    exposures: list[dict] = []
    session_no = 0

    taste_cdf = np.cumsum(np.stack(users["_tastes"].to_list()), axis=1)
    u_ps = users["_ps"].to_numpy(dtype=float).tolist()
    u_seg = users["_seg"].to_numpy().tolist()
    u_start = np.maximum(0.0, users["_signup_day"].to_numpy(dtype=float)).tolist()
    u_cold = users["_cold"].to_numpy(dtype=bool).tolist()
    u_act = users["_activity"].to_numpy(dtype=float).tolist()
    u_key = users["user_id"].to_list()
    price_l = cat.price.tolist()
    appeal_l = cat.appeal.tolist()
    lrp_l = cat.log_rel_price.tolist()
    consumable_l = cat.consumable.tolist()
    repeat_l = cat.repeat_days.tolist()
    noun_l = cat.noun.tolist()
    unif = _Uniforms(rng)
    for u in range(n_users):
        ps = u_ps[u]
        seg = u_seg[u]
        start_day = u_start[u]
        if u_cold[u] or start_day >= n_days - 1:
            continue
        n_sessions = rng.poisson(8.0 * u_act[u] * (n_days - start_day) / n_days)
        lo = np.interp(start_day, np.arange(n_days + 1), cdf)
        days = np.interp(rng.uniform(lo, cdf[-1], n_sessions), cdf, np.arange(n_days + 1))
        times = np.floor(days) + (rng.choice(24, size=n_sessions, p=hours) + rng.random(n_sessions)) / 24
        heap: list[tuple[float, int, str, int]] = [(float(t), k, "browse", -1) for k, t in enumerate(times)]
        if start_day < t_c:
            heap.append((t_c, -1, "campaign", -1))
        heapq.heapify(heap)
        tie = n_sessions
        purchases: list[tuple[float, float]] = []  # (time, revenue)
        variant = None
        coupon_unused = False
        while heap:
            t, _, kind, ref = heapq.heappop(heap)
            if t >= n_days:
                continue
            if kind == "campaign":
                if purchases:  # eligible: bought before the campaign
                    variant = "coupon" if rng.random() < 0.5 else "control"
                    if variant == "coupon":
                        coupon_unused = True
                        s = SEGMENTS[seg]
                        lift = s.coupon_uplift * (1.0 + 0.8 * (ps - s.price_sensitivity[0])) if s.coupon_uplift else 0
                        if rng.random() < max(0.0, lift):
                            tie += 1
                            when = t + min(rng.exponential(3.0), CAMPAIGN_WINDOW_DAYS - 0.1)
                            heapq.heappush(heap, (when, tie, "coupon", -1))
                continue
            session_no += 1
            # Pick what the session looks at.
            if kind == "repeat":
                viewed = np.array([ref])
            elif kind == "follow":
                # A small catalogue may not carry every follow-up noun: only offer the ones it has.
                pools = [cat.available(cat.by_noun[n], t) for n in cat.follow_ups[cat.noun[ref]] if n in cat.by_noun]
                pool = np.concatenate(pools) if pools else np.zeros(0, dtype=np.int64)
                if len(pool) == 0:
                    continue
                w = cat.weights(pool, ps, t) * np.where(cat.brand[pool] == cat.brand[ref], 3.0, 1.0)
                viewed = _weighted_sample(rng, pool, w, 1 + rng.poisson(1.5))
            else:
                c = min(int(np.searchsorted(taste_cdf[u], unif() * taste_cdf[u, -1])), len(CATEGORIES) - 1)
                pool = cat.available(cat.by_cat[c], t)
                if len(pool) == 0:
                    continue
                w = cat.weights(pool, ps, t)
                viewed = _weighted_sample(rng, pool, w, 1 + rng.poisson(2.5))
            clock = t
            bought_any = False
            for pos, i in enumerate(viewed.tolist()):
                clock += (20 + 160 * unif()) / 86400
                add(u, i, "view", clock, nan, price_l[i], session_no)
                if unif() < 0.04:
                    clock += (5 + 25 * unif()) / 86400
                    add(u, i, "favorite", clock, nan, price_l[i], session_no)
                if kind == "repeat":
                    p_cart, p_buy = 0.85, 0.9
                elif kind == "coupon" and pos == 0:
                    p_cart, p_buy = 1.0, 1.0
                else:
                    attract = math.exp(0.4 * appeal_l[i] - 0.6 * ps * lrp_l[i])
                    p_cart = min(0.9, (0.6 if kind == "follow" else 0.16) * attract)
                    p_buy = 0.8 if kind == "follow" else 0.6
                if unif() >= p_cart:
                    continue
                clock += (10 + 110 * unif()) / 86400
                add(u, i, "cart", clock, 1.0, price_l[i], session_no)
                if unif() >= p_buy:
                    continue
                clock += (30 + 270 * unif()) / 86400
                qty = float(1 + rng.poisson(0.6)) if consumable_l[i] else 1.0
                price = price_l[i]
                if coupon_unused and t_c <= clock < t_w:
                    price = round(price * (1 - COUPON["value"] / 100), 2)
                add(u, i, "purchase", clock, qty, price, session_no)
                purchases.append((clock, qty * price))
                bought_any = True
                # What this purchase pulls next: the consumable again, a follow-up item.
                if consumable_l[i] and unif() < 0.6:
                    tie += 1
                    heapq.heappush(heap, (clock + repeat_l[i] * rng.lognormal(0, 0.25), tie, "repeat", i))
                if cat.follow_ups[noun_l[i]] and unif() < 0.7:
                    tie += 1
                    heapq.heappush(heap, (clock + 0.3 + rng.exponential(6.0), tie, "follow", i))
            if bought_any and coupon_unused and t_c <= clock < t_w:
                coupon_unused = False  # one use
        if variant is not None:
            pt = np.array([p[0] for p in purchases])
            rev = np.array([p[1] for p in purchases])
            in_window = (pt >= t_c) & (pt < t_w)
            pre = (pt >= t_c - PRE_PERIOD_DAYS) & (pt < t_c)
            exposures.append(
                {
                    "user_id": u_key[u],
                    "variant": variant,
                    "exposed_at": t_c,
                    "converted": int(in_window.any()),
                    "revenue": round(float(rev[in_window].sum()), 2),
                    "pre_metric": round(float(rev[pre].sum()), 2),
                    "segment": SEGMENTS[seg].name,
                }
            )

    base = pd.Timestamp(START)
    to_ts = lambda d: (base + pd.to_timedelta(np.asarray(d, dtype=float), unit="D")).floor("s")  # noqa: E731
    ev_user, ev_item, ev_action, ev_t, ev_qty, ev_price, ev_session = zip(*rows) if rows else ([],) * 7
    events = pd.DataFrame(
        {
            "user_id": users["user_id"].to_numpy()[np.asarray(ev_user, dtype=np.int64)],
            "item_id": items["item_id"].to_numpy()[np.asarray(ev_item, dtype=np.int64)],
            "action": np.asarray(ev_action, dtype=object),
            "ts": to_ts(ev_t),
            "quantity": np.asarray(ev_qty, dtype=float),
            "price": np.asarray(ev_price, dtype=float),
            "session": [f"S{s:07d}" for s in ev_session],
        }
    )
    events = events.sort_values(["ts", "session"], kind="stable").reset_index(drop=True)
    exp = pd.DataFrame(exposures, columns=["user_id", "variant", "exposed_at", "converted", "revenue", "pre_metric",
                                           "segment"])
    exp["exposed_at"] = to_ts(exp["exposed_at"].to_numpy(dtype=float))
    campaign = {
        "planned_split": {"control": 0.5, "coupon": 0.5},
        "coupon": dict(COUPON),
        "sent_at": str(CAMPAIGN_AT.date()),
        "window_days": CAMPAIGN_WINDOW_DAYS,
        "pre_period_days": PRE_PERIOD_DAYS,
        "eligibility": "users with at least one purchase before the campaign",
        "outcome": "converted = any purchase within the window; revenue = what they paid (coupon discount applied)",
        "true_conversion_uplift": {s.name: s.coupon_uplift for s in SEGMENTS},
        "segments": {s.name: s.description for s in SEGMENTS},
        "segment_attribute": "users.attributes['demo_segment'] (ground truth, for checking uplift models)",
    }
    return DemoShop(users=users, items=items, events=events, exposures=exp, campaign=campaign)
