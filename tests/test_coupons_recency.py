"""Recency in a shop whose data ends in 2011 is counted back from the shop's own last event, not from today:
"last bought 5659 days ago" was today's date against a 2011 shop (issue 17). The uploaded shop has no campaign
of its own, so targeting is by propensity: no uplift borrowed from another shop's campaign."""

from __future__ import annotations

import pandas as pd
import pytest

from core.coupons import Budget, CampaignSpec
from core.coupons.plan import plan_campaign
from core.ingest import Source, Upload, ingest_into_store
from core.interactions import from_store
from db.engine import session_scope
from tests.conftest import shared_path


def _retail_shop(store_url: str, tmp_path, customers: int) -> None:
    """A store holding `customers` random customers' purchases from UCI Online Retail (Dec 2010 - Dec 2011)."""
    path = shared_path("uci_online_retail", "onlineretail.csv.gz")
    if not path.exists():
        pytest.skip(f"UCI Online Retail not found at {path} (../shared/data/uci_online_retail)")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    raw = raw[raw["CustomerID"].notna() & ~raw["InvoiceNo"].str.startswith("C")]
    sample = raw[raw["CustomerID"].isin(raw["CustomerID"].drop_duplicates().sample(customers, random_state=0))]
    sample.to_csv(tmp_path / "retail.csv", index=False)
    report = ingest_into_store(store_url, [Upload(Source("transactions", tmp_path / "retail.csv"))])
    assert report.accepted, report.error


@pytest.mark.slow
def test_recency_counts_from_the_shops_last_day(store_url, tmp_path):
    _retail_shop(store_url, tmp_path, 300)

    with session_scope(store_url) as s:
        data = from_store(s)
        plan = plan_campaign(s, CampaignSpec(name="retail", budget=Budget("count", 50)))
    last = pd.Timestamp(data.as_of(), unit="s")
    assert last.year == 2011  # the shop's "today"
    assert data.as_of() == max(float(t.max()) for t in data.times if len(t))
    days = plan.scored.set_index("user_id")["days_since_last"]
    span = (last - pd.Timestamp(min(float(t.min()) for t in data.times if len(t)), unit="s")).days
    assert days.min() < 1 and days.max() <= span + 1 < 400  # never thousands of days against the wall clock
    # Each customer's recency is the shop's last day minus their own last purchase, and their reason says so.
    user = plan.targets["user_id"].iloc[0]
    mine = data.times[list(data.user_keys).index(user)].max()
    assert days[user] == pytest.approx((data.as_of() + 1 - mine) / 86400, abs=1e-6)
    assert f"last {days[user]:.0f} days ago" in plan.user_view(user)["reason"]
    assert plan.mode == "propensity" and "P(buy) in the coupon window" in plan.user_view(user)["reason"]
    # An uploaded shop has no past campaign of its own: nothing is borrowed from the demo or bundled data.
    assert plan.evaluation is None and plan.experiment_id is None
    assert plan.decision.reason.startswith("No past randomised campaign in this shop")


@pytest.mark.slow
def test_a_shop_with_too_few_buyers_and_no_campaign_is_refused(store_url, tmp_path):
    """15 customers: no propensity model can be fitted and there is no campaign, so every score would be the
    base rate and any list arbitrary: nobody is targeted, and the reason says so."""
    _retail_shop(store_url, tmp_path, 15)
    with session_scope(store_url) as s:
        plan = plan_campaign(s, CampaignSpec(name="tiny", budget=Budget("count", 5)))
    assert not plan.propensity["calibrated"] and plan.mode == "refused" and not plan.causal
    assert plan.targets.empty and plan.totals["n_targeted"] == 0
    assert "too few buyers" in plan.decision.reason and plan.to_dict()["targeting"]["mode"] == "refused"
