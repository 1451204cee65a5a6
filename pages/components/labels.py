"""Words the pages show that are not sentences in the code: table column ids, action names, time grains, chart
series. English msgids (N_), translated at display by `label()`; one list, so each id reads the same on every page."""

from __future__ import annotations

from core.i18n import N_

LABELS: dict[str, str] = {
    # actions, funnel stages, time grains, order definitions
    "view": N_("view"), "favorite": N_("favourite"), "cart": N_("cart"), "purchase": N_("purchase"),
    "other": N_("other"), "click": N_("click"), "day": N_("day"), "week": N_("week"), "month": N_("month"), "session": N_("session"),
    "customer-day": N_("customer-day"), "users": N_("users"), "buyers": N_("buyers"), "who": N_("who"),
    "customers": N_("customers"), "action": N_("action"), "events": N_("events"), "period": N_("period"),
    "stage": N_("stage"), "random": N_("random"), "unknown": N_("unknown"), "converted": N_("conversion"),
    "random ±2 sd": N_("random ±2 sd"),
    # table columns
    "rank": N_("rank"), "item_id": N_("item id"), "user_id": N_("customer id"), "title": N_("title"),
    "category": N_("category"), "price": N_("price"), "score": N_("score"), "reason": N_("reason"),
    "is_new": N_("new"), "explore": N_("explore"), "similarity": N_("similarity"), "purchases": N_("purchases"),
    "revenue": N_("revenue"), "items": N_("items"), "region": N_("region"), "age_band": N_("age band"),
    "step_rate": N_("users vs previous step"), "overall_rate": N_("users vs first step"),
    "event_step_rate": N_("events vs previous step"), "lines": N_("items in the order"), "orders": N_("orders"),
    "status": N_("status"), "coupon": N_("coupon"), "target": N_("applies to"), "propensity": N_("propensity"),
    "uplift": N_("uplift"), "expected_cost": N_("expected cost"), "expected_profit": N_("expected profit"),
    "incr_revenue": N_("incremental revenue"), "n_purchases": N_("purchases"), "days_since_last": N_("days since last"),
    "activity": N_("activity"), "version": N_("version"), "created": N_("created"), "kind": N_("kind"),
    "files": N_("files"), "rows read": N_("rows read"), "rows kept": N_("rows kept"), "name": N_("name"),
    "id": N_("id"), "targeted": N_("targeted"), "model": N_("model"), "data set": N_("data set"),
    "train time (s)": N_("train time (s)"), "params": N_("parameters"), "active": N_("active"),
    "model id": N_("model id"), "job": N_("job"), "started": N_("started"), "finished": N_("finished"),
    "error": N_("error"), "epoch": N_("epoch"), "loss": N_("loss"), "val_ndcg10": N_("validation NDCG@10"),
    "users per arm": N_("users per arm"), "users in total": N_("users in total"), "days": N_("days"),
    "baseline": N_("baseline"), "target rate": N_("target rate"), "variant": N_("arm"), "arm": N_("arm"),
    "conversions": N_("conversions"), "conversion": N_("conversion"), "rate": N_("rate"), "lift": N_("lift"),
    "relative_lift": N_("relative lift"), "ci_low": N_("95% CI low"), "ci_high": N_("95% CI high"),
    "p_value": N_("p-value"), "metric": N_("metric"), "value": N_("value"), "count": N_("count"),
    "share": N_("share"), "rows": N_("rows"), "column": N_("column"), "row": N_("row"), "file": N_("file"),
    "dropped": N_("dropped"), "flagged": N_("flagged"), "problem": N_("problem"), "example": N_("example"),
    "purchases before": N_("purchases before"), "held-out item": N_("held-out item"), "run": N_("run"),
    "protocol": N_("protocol"), "segment": N_("segment"), "level": N_("level"), "p0": N_("p(buy) without coupon"),
    "p1": N_("p(buy) with coupon"), "gender": N_("gender"), "age": N_("age"), "signup_date": N_("sign-up date"),
    "ts": N_("time"), "quantity": N_("quantity"), "brand": N_("brand"), "description": N_("description"),
    "listed_at": N_("listed"), "buyers_share": N_("buyers share"),
    # A/B and evaluation tables
    "CUPED difference": N_("CUPED difference"), "chance to beat control": N_("chance to beat control"),
    "conversion rate": N_("conversion rate"), "created_at": N_("created"), "diff": N_("difference"),
    "expected users": N_("expected users"), "expected_loss": N_("expected loss"), "flag": N_("flag"),
    "high": N_("high"), "low": N_("low"), "lift (points)": N_("lift (points)"), "lift high": N_("lift high"),
    "lift low": N_("lift low"), "mean": N_("mean"), "method": N_("method"), "p-value": N_("p-value"),
    "p-value (Welch)": N_("p-value (Welch)"), "p-value (z-test)": N_("p-value (z-test)"),
    "p_adjusted": N_("p (corrected)"), "p_best": N_("P(best)"), "planned share": N_("planned share"),
    "raw difference": N_("raw difference"), "rel_diff": N_("relative difference"), "relative high": N_("relative high"),
    "relative lift": N_("relative lift"), "relative low": N_("relative low"),
    "revenue diff high": N_("revenue diff high"), "revenue diff low": N_("revenue diff low"),
    "revenue per user": N_("revenue per user"), "revenue/user diff": N_("revenue/user diff"),
    "rows_kept": N_("rows kept"), "rows_read": N_("rows read"), "sequential p-value": N_("sequential p-value"),
    "significant": N_("significant"), "size (MB)": N_("size (MB)"), "used for the decision": N_("used for the decision"),
    "value_control": N_("control"), "value_variant": N_("arm value"), "variance removed": N_("variance removed"),
}


def label(key: object, gettext) -> object:
    """The word for a column id / data word in `gettext`'s language; anything unknown as it is."""
    if isinstance(key, str) and key in LABELS:
        return gettext(LABELS[key])
    return key
