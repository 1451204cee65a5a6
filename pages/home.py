"""Overview: what RecoLM is, what the store holds, where to go next (and the demo shop on an empty store)."""

from __future__ import annotations

import streamlit as st

from core.demo import EXPECTED_BUILD_SECONDS, load_demo_if_empty
from db.shop_read import event_period, store_status
from pages.common import shop, store_session
from pages.components.language import _, dataframe, date, number
from pages.components.progress import run_with_progress
from pages.components.shop import shop_label

st.title("RecoLM")
st.markdown(
    _("**Personalised recommendations and coupon campaigns from your shop data.**  \n"
    "RecoLM learns what each customer is likely to buy next with a fine-tuned transformer language model, "
    "and targets coupons at the customers they actually move.")
)

current = shop()
with store_session() as session:
    status = store_status(session)
    first, last = event_period(session)

if status.empty and not current.is_demo:
    st.info(_("The shop **{name}** is empty: upload its events, items and customers on the Upload data page.").format(
        name=shop_label(current)))
    st.page_link("pages/data_upload.py", label=_("Upload your data"), icon=":material/upload_file:")
    st.stop()

if status.empty:
    st.info(_("The store is empty. Load the demo shop to explore every page with realistic data, "
            "or upload your own shop's events, items and customers."))
    left, right = st.columns(2)
    if left.button(_("Load the demo shop"), type="primary", key="load_demo"):
        def build() -> None:
            with store_session() as session:
                load_demo_if_empty(session)

        run_with_progress(build, _("Building the demo shop (about {seconds} seconds)…").format(
            seconds=EXPECTED_BUILD_SECONDS), expected_s=EXPECTED_BUILD_SECONDS)
        st.rerun()
    with right:
        st.page_link("pages/data_upload.py", label=_("Upload your data"), icon=":material/upload_file:")
    st.stop()

if current.is_demo and status.demo:
    st.caption(_("You are exploring the **demo shop**: a synthetic store with a year of behaviour and a past "
               "coupon campaign. Upload your own data on the Upload data page whenever you are ready."))

if not current.is_demo:
    period = (_("from {first} to {last}").format(first=date(first), last=date(last)) if first is not None
              else _("no dated events yet"))
    st.caption(_("You are working on the shop **{name}**: {users} customers, {items} items and {events} events, "
                 "{period}. Every page shows this shop's data only; switch shops in the sidebar.").format(
                     name=shop_label(current), users=number(status.counts.users), items=number(status.counts.items),
                     events=number(status.counts.events), period=period))

st.subheader(_("Store status"))
c = status.counts
cols = st.columns(6)
cols[0].metric(_("Customers"), f"{c.users:,}")
cols[1].metric(_("Items"), f"{c.items:,}")
cols[2].metric(_("Events"), f"{c.events:,}")
cols[3].metric(_("Purchases"), f"{c.purchases:,}")
cols[4].metric(_("Models"), f"{c.models:,}")
cols[5].metric(_("A/B tests"), f"{c.experiments:,}")

active = status.active_model
if active is None:
    st.warning(_("No active model yet: train one on the Training & registry page to get recommendations."))
else:
    ndcg = active["metrics"].get("ndcg@10")
    protocol = {"loo": _("leave-one-out"), "temporal": _("temporal")}.get(active["metrics"].get("protocol"), _("offline"))
    score = f" — NDCG@10 {ndcg:.3f} ({protocol})" if ndcg is not None else ""
    st.success(_("Active model: **{name} v{version}** ({kind}){score}").format(name=active['name'], version=active['version'], kind=active['kind'], score=score))

with st.expander(_("Data set versions ({n_datasets})").format(n_datasets=len(status.datasets)), expanded=False):
    dataframe(status.datasets, hide_index=True, width="stretch")

st.subheader(_("Where to go"))
left, right = st.columns(2)
with left:
    st.page_link("pages/data_upload.py", label=_("Upload data"), icon=":material/upload_file:")
    st.caption(_("Your shop's events, items and customers, with a column-mapping step and a validation report."))
    st.page_link("pages/data_profile.py", label=_("Data profile"), icon=":material/bar_chart:")
    st.caption(_("Activity over time, the funnel, best sellers, customers, basket sizes."))
    st.page_link("pages/training.py", label=_("Training & registry"), icon=":material/model_training:")
    st.caption(_("Train the language model and baselines; pick the active model."))
    st.page_link("pages/evaluation.py", label=_("Evaluation"), icon=":material/rule:")
    st.caption(_("Compare models offline: hit rate, NDCG, coverage, cold items."))
with right:
    st.page_link("pages/recommendations.py", label=_("Recommendations"), icon=":material/recommend:")
    st.caption(_("Preview and export top-K recommendations per customer."))
    st.page_link("pages/experiments.py", label=_("A/B tests"), icon=":material/science:")
    st.caption(_("Analyse an experiment: lift, confidence intervals, CUPED, sample-ratio checks."))
    st.page_link("pages/campaigns.py", label=_("Coupons"), icon=":material/sell:")
    st.caption(_("Target a coupon campaign at the customers it moves, within a budget."))
