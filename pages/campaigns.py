"""Coupons: define a campaign, see who is targeted and why, what it costs and earns, the Qini curve; export, store."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from core.coupons import Budget, CampaignError, CampaignSpec, Coupon, Eligibility
from core.coupons.campaign import ACTIVITY_NAMES, AGE_BAND_NAMES, COUPON_KINDS, GOALS, SCOPES
from core.coupons.plan import CampaignPlan, plan_campaign, save_plan
from core.uplift import LEARNERS
from db.campaigns import campaign_options, experiment_label, list_campaigns, price_range, randomised_campaigns
from pages.common import store_session
from pages.components.charts import show
from pages.components.csv_download import csv_download
from pages.components.language import N_, _, dataframe, glossary_help, label, tr, translated_cells
from pages.components.progress import run_with_progress
from pages.components.uplift_report import render_uplift_evaluation

NO_EXPERIMENT = N_("none — rank by propensity (not causal)")
PLAN_KEY = "coupon_plan"

st.title(_("Coupons"))
st.caption(_("Send coupons to the customers they change: ranked by expected incremental profit = uplift × margin − "
           "expected coupon cost, never beyond the budget."))

with store_session() as session:
    options = campaign_options(session)
    prices = price_range(session)
    experiments = {experiment_label(e): e.id for e in randomised_campaigns(session)}
    stored = [(c.id, c.name, c.created_at, (c.summary or {}).get("totals", {}).get("n_targeted")) for c in list_campaigns(session)]

# ---- controls ------------------------------------------------------------------------------------------------
c1, c2, c3 = st.columns(3)
name = c1.text_input(_("Campaign name"), value="spring coupons")
goal = c1.selectbox(_("Goal"), GOALS, help=_("conversion: more buyers; revenue: more money from them"))
kind = c2.selectbox(_("Coupon"), COUPON_KINDS, index=COUPON_KINDS.index("percent"), format_func=lambda k: {"fixed": _("fixed amount off"), "percent": _("percent off"),
                                                                   "free_shipping": _("free shipping")}[k])
# Money amounts are bounded by the shop's own prices: no coupon worth more than its dearest item.
top_price = prices[1] if prices else None
value_max = 100.0 if kind == "percent" else top_price
value_default = 10.0 if kind != "free_shipping" else 8.0
value = c2.number_input({"fixed": _("Amount off"), "percent": _("Percent off"), "free_shipping": _("Shipping cost to the shop")}[kind],
                        min_value=0.01, max_value=value_max,
                        value=min(value_default, value_max) if value_max else value_default, step=1.0,
                        help=None if not prices or kind == "percent" else _("The shop's prices run from {low} to {high}.").format(
                            low=f"{prices[0]:,.2f}", high=f"{prices[1]:,.2f}"))
cap = c2.number_input(_("Cap per coupon (0 = none)"), min_value=0.0, max_value=top_price, value=0.0,
                      step=5.0) if kind == "percent" else 0.0
scope = c3.selectbox(_("Applies to"), SCOPES, format_func=lambda s: {"shop": _("whole shop"), "category": _("a category"),
                                                                  "top_item": _("the user's top recommended item")}[s])
category = c3.selectbox(_("Category"), options["categories"]) if scope == "category" else None
budget_kind = c3.selectbox(_("Budget in"), ("count", "money"), format_func=lambda b: {"count": _("number of coupons"),
                                                                                    "money": _("money (face value)")}[b])
budget_amount = c3.number_input(_("Budget"), min_value=0.0, value=100.0 if budget_kind == "count" else 2000.0, step=10.0)

with st.expander(_("Eligibility and assumptions")):
    e1, e2, e3 = st.columns(3)
    activity = e1.multiselect(_("Activity buckets (purchases)"), ACTIVITY_NAMES, placeholder=_("Choose options"))
    age_bands = e1.multiselect(_("Age bands"), AGE_BAND_NAMES, placeholder=_("Choose options"))
    genders = e2.multiselect(_("Genders"), options["genders"], placeholder=_("Choose options"))
    regions = e2.multiselect(_("Regions"), options["regions"], placeholder=_("Choose options"))
    min_days = e3.number_input(_("Bought at least … days ago (0 = any)"), min_value=0, value=0)
    max_days = e3.number_input(_("Bought within the last … days (0 = any)"), min_value=0, value=0)
    exclude = st.text_input(_("Exclude user ids (comma separated)"), value="")
    a1, a2, a3 = st.columns(3)
    margin = a1.slider(_("Gross margin"), 0.05, 1.0, 0.3, 0.05)
    window = a2.number_input(_("Coupon valid (days)"), min_value=1, value=30)
    learner = a3.selectbox(_("Uplift learner"), list(LEARNERS), index=list(LEARNERS).index("x_learner"),
                           help="  \n".join(glossary_help(n) for n in LEARNERS))
past = st.selectbox(_("Learn uplift from the past randomised campaign"), [*experiments, NO_EXPERIMENT],
                    format_func=lambda e: _(e) if e == NO_EXPERIMENT else e)

wanted = st.query_params.get("user") or st.session_state.get("coupon_user")
clicked = st.button(_("Plan campaign"), type="primary")
# Arriving from the recommendation preview for one customer: plan the campaign as set up, to show their coupon.
if clicked or (wanted and st.session_state.get(PLAN_KEY) is None):
    try:
        spec = CampaignSpec(
            name=name, goal=goal, coupon=Coupon(kind=kind, value=float(value), cap=float(cap) or None), scope=scope,
            category=category, budget=Budget(kind=budget_kind, amount=float(budget_amount)),
            eligibility=Eligibility(age_bands=age_bands, genders=genders, regions=regions, activity=activity,
                                    min_days_since_purchase=float(min_days) or None,
                                    max_days_since_purchase=float(max_days) or None,
                                    exclude_users=[u.strip() for u in exclude.split(",") if u.strip()]),
            margin=float(margin), window_days=int(window), learner=learner,
        ).validate()
        exp_id = experiments.get(past)  # none in the shop: the plan says the shop ran no campaign

        def plan() -> CampaignPlan:
            with store_session() as session:
                return plan_campaign(session, spec, experiment_id=exp_id, use_uplift=exp_id is not None or not experiments)

        st.session_state[PLAN_KEY] = run_with_progress(plan, _("Scoring every customer…"), key="coupon_plan")
    except (CampaignError, ValueError, KeyError) as exc:
        st.error(str(exc))

plan: CampaignPlan | None = st.session_state.get(PLAN_KEY)
if plan is None:
    st.info(_("Set the campaign up and press **Plan campaign**."))
    st.stop()

# ---- results -------------------------------------------------------------------------------------------------
t = plan.totals
# The banner follows core.coupons.decision: causal only when the learner beat random on held-out customers.
if plan.causal:
    st.success(_("Causal targeting: uplift learned from past campaign #{experiment_id} ({learner}).").format(experiment_id=plan.experiment_id, learner=plan.spec.learner))
    st.caption(tr(plan.decision.reason))
elif plan.mode == "refused":
    st.warning(tr(plan.decision.reason))
else:
    st.warning(_("**Propensity targeting (not causal).** {reason}").format(reason=tr(plan.decision.reason)))
for note in plan.notes:
    st.caption(tr(note))
m = st.columns(5)
m[0].metric(_("Targeted"), f"{t['n_targeted']:,}", help=_("of {n_eligible:,} eligible, {n_users:,} users").format(n_eligible=t['n_eligible'], n_users=t['n_users']))
m[1].metric(_("Expected conversions"), f"{t['expected_conversions']:.1f}")
m[2].metric(_("Expected coupon cost"), f"{t['expected_cost']:,.2f}", help=_("at most {max_cost:,.2f} if all redeemed").format(max_cost=t['max_cost']))
m[3].metric(_("Incremental revenue"), _("n/a") if t["incremental_revenue"] is None else f"{t['incremental_revenue']:,.2f}",
            help=glossary_help("incremental revenue"))
m[4].metric(_("Incremental profit"), _("n/a") if t["expected_incremental_profit"] is None
            else f"{t['expected_incremental_profit']:,.2f}", help=glossary_help("expected profit"))
st.caption(_("Budget used: {budget_used:,.2f} of {budget_amount:,.2f} ({value}); recommender: {model_name}.").format(budget_used=t['budget_used'], budget_amount=t['budget_amount'], value=_('coupons') if t['budget_kind'] == 'count' else _('face value'), model_name=plan.model_name))

st.subheader(_("Targeted customers"))
if t["n_targeted"] == 0:
    cal = plan.calibration.get("converted") or {}
    if cal:
        st.info(_("Nobody is targeted: no eligible customer has a positive expected incremental profit. The past "
                  "campaign's average effect was {ate:+.1%} (± {margin:.1%}). A cheaper coupon, a higher margin or a "
                  "wider eligibility may change that.").format(ate=cal["ate"], margin=1.96 * cal["ate_se"]))
    else:
        st.info(_("Nobody is targeted: no eligible customer has a positive expected incremental profit. A cheaper "
                  "coupon, a higher margin or a wider eligibility may change that."))
shown = plan.targets.drop(columns=["user_store_id"], errors="ignore")
# One quantity per mode: P(buy) without/with the coupon when targeting by uplift, propensity otherwise (the
# uplift columns are empty then), so the table never shows two different "chances to buy" side by side.
hidden = ["propensity"] if plan.causal else ["p0", "p1", "uplift", "incr_revenue", "expected_profit"]
view_table = shown.drop(columns=hidden, errors="ignore")
money_cols = ("incr_revenue", "expected_cost", "expected_profit")
dataframe(translated_cells(view_table), hide_index=True, key="targets",
          column_config={**{c: st.column_config.NumberColumn(c, format="percent")
                            for c in ("propensity", "p0", "p1", "uplift")},
                         **{c: st.column_config.NumberColumn(c, format="%.2f") for c in money_cols},
                         "reason": st.column_config.TextColumn(width="large", help=_("Hover a cell to read the whole reason."))})
d1, d2 = st.columns(2)
csv_download(shown, _("Download CSV"), f"{plan.spec.name}.csv", "targets_csv", container=d1)
if d2.button(_("Store campaign")):
    with store_session() as session:
        row = save_plan(session, plan)
        st.success(_("Stored as campaign #{id} with {n_targeted} assignments.").format(id=row.id, n_targeted=t['n_targeted']))

if plan.evaluation is not None:
    ev = plan.evaluation
    st.subheader(_("Does the uplift model find the right people?"))
    st.caption(_("Held-out {n_test} users of past campaign #{experiment_id} (outcome: {outcome}); the models were fitted on the other {n_train}.").format(n_test=ev.n_test, experiment_id=ev.experiment_id, outcome=label(ev.outcome), n_train=ev.n_train))
    fig = go.Figure()
    for curve, (x, y) in ev.qini_curves().items():
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=label(curve), line={"dash": "dot"} if curve == "random" else None))
    fig.update_layout(title=_("Qini curve"), xaxis_title=_("customers targeted (%)"),
                      yaxis_title=_("incremental {outcome} (held-out users)").format(outcome=label(ev.outcome)))
    show(fig, "qini", height=380)
    st.caption(glossary_help("qini"))
    render_uplift_evaluation(ev, "qini")
    cal = plan.calibration.get("converted")
    if cal:
        st.caption(
            _("Average effect of the coupon on buying: {ate:+.1%} (± {value:.1%}). Of the differences between customers the {learner} predicts, {value2:.0%} held up on cross-fitted data (± {value3:.0%}); per-customer uplift and the money figures above are scaled accordingly.").format(ate=cal['ate'], value=1.96 * cal['ate_se'], learner=plan.spec.learner, value2=max(0.0, min(1.0, cal['slope'])), value3=1.96 * cal['slope_se'])
        )

st.subheader(_("One customer's coupon"))
targeted_first = plan.customers_targeted_first()
index = targeted_first.index(str(wanted)) if wanted is not None and str(wanted) in targeted_first else 0
user = st.selectbox(_("Customer"), targeted_first, index=index)
view = plan.user_view(user)
v1, v2, v3 = st.columns(3)
v1.metric(_("Status"), tr(view["status"]).split("：")[0].split(":")[0])
v2.metric(_("Coupon"), tr(view["coupon"]) if view["status"] == "targeted" else _("none"))
if plan.causal:  # the same quantity the reason quotes: P(buy) without → with the coupon
    v3.metric(_("P(buy) without → with coupon"), f"{view['p0']:.0%} → {view['p1']:.0%}",
              help=glossary_help("uplift"))
else:
    v3.metric(_("P(buy) in the coupon window"), f"{view['propensity']:.1%}", help=glossary_help("propensity"))
st.write(_("**Applies to:** {target}  \n**Why:** {reason}").format(target=tr(view['target']), reason=tr(view['reason'])))
if view["status"] != "targeted":
    st.caption(_("Not targeted: {status}.").format(status=tr(view['status'])))

if stored:
    with st.expander(_("Stored campaigns ({n_stored})").format(n_stored=len(stored))):
        dataframe([{"id": i, "name": n, "created": c, "targeted": k} for i, n, c, k in stored], hide_index=True)
