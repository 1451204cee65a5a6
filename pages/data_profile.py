"""Data profile: what the shop's data looks like — activity over time, the funnel, best sellers, customers, baskets."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.profile import DataProfile, profile_store
from db.recommendations import data_version
from pages.common import db_url, store_session
from pages.components.language import _, chart_labels, dataframe, date_ticks, label, tr, translated_values


@st.cache_data(max_entries=8, show_spinner=_("Profiling the store…"))
def _profile(url: str, version: tuple) -> DataProfile:
    """Cached per store (shop) and data version (newest data set and event), so reruns and later visits do not
    re-aggregate every event, and an upload (a new data set) is profiled afresh."""
    with store_session(url) as session:
        return profile_store(session)


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{x:.1%}"


st.title(_("Data profile"))
st.caption(_("What your shop's data looks like: activity over time, the view → cart → purchase funnel, "
           "best sellers, who your customers are and how big their baskets get."))

with store_session() as session:
    version = data_version(session)
profile = _profile(db_url(), version)

if profile.empty:
    st.info(_("No data yet — load the demo shop from the Overview page, or upload your shop's events, items and "
            "customers on the Upload data page."))
    st.stop()

k = profile.key_numbers()
cols = st.columns(4)
cols[0].metric(_("Customers"), f"{k['users']:,}", help=_("profiles in the store, buyers or not"))
cols[1].metric(_("Items"), f"{k['items']:,}")
cols[2].metric(_("Events"), f"{k['events']:,}")
cols[3].metric(_("Purchases"), f"{k['purchases']:,}", help=_("cancellations and negative quantities excluded"))
cols = st.columns(4)
cols[0].metric(_("Buyers"), f"{k['buyers']:,}")
cols[1].metric(_("Revenue"), f"{k['revenue']:,.0f}")
cols[2].metric(_("Repeat-purchase rate"), _pct(profile.repeat_purchase_rate),
               help=_("share of buyers with more than one order"))
cols[3].metric(_("Items per order"), "–" if profile.basket is None else f"{profile.basket.mean_lines:.2f}",
               help=None if profile.basket is None else _("an order = one {order_definition}").format(order_definition=label(profile.basket.order_definition)))
if profile.flagged:
    st.caption(_("Kept for the record but never counted as purchases: {flags}").format(
        flags=", ".join(f"{n:,} {tr(flag.replace('_', ' '))}" for flag, n in profile.flagged.items())))

st.subheader(_("Activity over time"))
if profile.activity.empty:
    st.info(_("No dated events."))
else:
    fig = px.line(translated_values(profile.activity, "action"), x="period", y="events", color="action",
                  labels={"period": label(profile.time_grain),
                          "events": _("events per {time_grain}").format(time_grain=label(profile.time_grain)),
                          "action": label("action")})
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=10, b=10), legend_title_text="")
    date_ticks(fig)
    st.plotly_chart(fig, width="stretch")
    st.caption(_("From {value} to {value2}, counted per {time_grain}.").format(value=k['first_event'][:10], value2=k['last_event'][:10], time_grain=label(profile.time_grain)))

st.subheader(_("Funnel: view → cart → purchase"))
if profile.has_funnel:
    left, right = st.columns([3, 2])
    fig = px.funnel(translated_values(profile.funnel, "stage"), x="events", y="stage", labels=chart_labels("events", "stage"))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10))
    left.plotly_chart(fig, width="stretch")
    with right:
        funnel = profile.funnel
        for row in funnel.iloc[1:].itertuples():
            st.metric(_("{value} per previous step").format(value=label(row.stage)), _pct(row.step_rate),
                      help=_("customers who reached {stage} among those who reached {value}").format(
                          stage=label(row.stage), value=label(funnel['stage'][row.Index - 1])))
        st.metric(_("Viewers who bought"), _pct(funnel["overall_rate"].iloc[-1]),
                  help=_("customers who viewed, carted and bought among customers with a view, over the whole period"))
    if profile.buyers_outside_funnel:
        st.caption(_("{n:,} buyers have purchases without the earlier steps in the data (for example from a "
                     "purchases-only upload); the rates count only customers who went through every step.").format(
                         n=profile.buyers_outside_funnel))
    pct = st.column_config.NumberColumn
    dataframe(
        profile.funnel,
        hide_index=True,
        width="stretch",
        column_order=("stage", "users", "events", "reached", "step_rate", "overall_rate", "event_step_rate"),
        column_config={
            "reached": st.column_config.NumberColumn(_("customers through every step so far")),
            "step_rate": pct(label("step_rate"), format="percent"),
            "overall_rate": pct(label("overall_rate"), format="percent"),
            "event_step_rate": pct(label("event_step_rate"), format="percent"),
        },
    )
else:
    missing = [label(s) for s in profile.missing_stages]
    st.info(_("The data holds no {stages} events (purchases only, as in a transactions export), so there is no "
              "view → cart → purchase funnel and no conversion rate to show.").format(stages=" / ".join(missing))
            if missing else _("No purchases yet, so there is no funnel to show."))

st.subheader(_("Best sellers"))
left, right = st.columns(2)
with left:
    st.markdown(_("**Top items**"))
    dataframe(profile.top_items, hide_index=True, width="stretch",
                 column_order=("title", "purchases", "buyers", "revenue", "category", "item_id"),
                 column_config={"revenue": st.column_config.NumberColumn(format="%.0f")})
with right:
    st.markdown(_("**Categories**"))
    if profile.categories["purchases"].sum() > 0:
        fig = px.bar(profile.categories.head(15), x="purchases", y="category", orientation="h",
                     hover_data=["items", "buyers", "revenue"],
                     labels=chart_labels("purchases", "category", "items", "buyers", "revenue"))
        fig.update_layout(height=380, margin=dict(l=10, r=10, t=10, b=10), yaxis={"categoryorder": "total ascending"})
        st.plotly_chart(fig, width="stretch")
    else:
        st.info(_("No purchases yet."))

st.subheader(_("Customers"))
left, right = st.columns(2)
for col, frame, name, title in (
    (left, profile.regions, "region", _("By region")),
    (right, profile.age_bands, "age_band", _("By age band")),
):
    with col:
        st.markdown(f"**{title}**")
        long = frame.melt(id_vars=name, value_vars=["users", "buyers"], var_name="who", value_name="customers")
        fig = px.bar(translated_values(long, "who", name), x=name, y="customers", color="who", barmode="group",
                     labels=chart_labels(name, "customers", "who"))
        fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), legend_title_text="")
        st.plotly_chart(fig, width="stretch")

st.subheader(_("Basket size"))
if profile.basket is None:
    st.info(_("No purchases yet."))
else:
    b = profile.basket
    cols = st.columns(4)
    cols[0].metric(_("Orders"), f"{b.orders:,}", help=_("an order = one {order_definition}").format(order_definition=label(b.order_definition)))
    cols[1].metric(_("Median items per order"), f"{b.median_lines:g}")
    cols[2].metric(_("Units per order"), f"{b.mean_units:.2f}", help=_("summed quantities"))
    cols[3].metric(_("Order value"), f"{b.mean_value:,.2f}")
    fig = px.bar(b.distribution, x="lines", y="orders", labels=chart_labels("lines", "orders"))
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=10, b=10))
    st.plotly_chart(fig, width="stretch")
