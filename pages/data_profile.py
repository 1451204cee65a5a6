"""Data profile: what the shop's data looks like — activity over time, the funnel, best sellers, customers, baskets."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from core.profile import DataProfile, profile_store
from db.shop_read import store_counts
from pages.common import db_url, store_session


@st.cache_data(ttl=300, show_spinner="Profiling the store…")
def _profile(url: str, signature: tuple) -> DataProfile:
    """Cached per store and per store size, so reruns (widget clicks) do not re-aggregate every event."""
    with store_session() as session:
        return profile_store(session)


def _pct(x: float | None) -> str:
    return "–" if x is None or x != x else f"{x:.1%}"


st.title("Data profile")
st.caption("What your shop's data looks like: activity over time, the view → cart → purchase funnel, "
           "best sellers, who your customers are and how big their baskets get.")

with store_session() as session:
    signature = tuple(store_counts(session).as_dict().items())
profile = _profile(db_url(), signature)

if profile.empty:
    st.info("No data yet — load the demo shop from the Overview page, or upload your shop's events, items and "
            "customers on the Upload data page.")
    st.stop()

k = profile.key_numbers()
cols = st.columns(4)
cols[0].metric("Customers", f"{k['users']:,}", help="profiles in the store, buyers or not")
cols[1].metric("Items", f"{k['items']:,}")
cols[2].metric("Events", f"{k['events']:,}")
cols[3].metric("Purchases", f"{k['purchases']:,}", help="cancellations and negative quantities excluded")
cols = st.columns(4)
cols[0].metric("Buyers", f"{k['buyers']:,}")
cols[1].metric("Revenue", f"{k['revenue']:,.0f}")
cols[2].metric("Repeat-purchase rate", _pct(profile.repeat_purchase_rate),
               help="share of buyers with more than one order")
cols[3].metric("Items per order", "–" if profile.basket is None else f"{profile.basket.mean_lines:.2f}",
               help=None if profile.basket is None else f"an order = one {profile.basket.order_definition}")
if profile.flagged:
    st.caption("Kept for the record but never counted as purchases: "
               + ", ".join(f"{n:,} {flag.replace('_', ' ')}" for flag, n in profile.flagged.items()))

st.subheader("Activity over time")
if profile.activity.empty:
    st.info("No dated events.")
else:
    fig = px.line(profile.activity, x="period", y="events", color="action",
                  labels={"period": profile.time_grain, "events": f"events per {profile.time_grain}"})
    fig.update_layout(height=360, margin=dict(l=10, r=10, t=10, b=10), legend_title_text="")
    st.plotly_chart(fig, width="stretch")
    st.caption(f"From {k['first_event'][:10]} to {k['last_event'][:10]}, counted per {profile.time_grain}.")

st.subheader("Funnel: view → cart → purchase")
if profile.has_funnel:
    left, right = st.columns([3, 2])
    fig = px.funnel(profile.funnel, x="events", y="stage")
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10))
    left.plotly_chart(fig, width="stretch")
    with right:
        funnel = profile.funnel
        for row in funnel.iloc[1:].itertuples():
            st.metric(f"{row.stage.capitalize()} per previous step", _pct(row.event_step_rate),
                      help=f"{row.stage} events divided by {funnel['stage'][row.Index - 1]} events")
        st.metric("Viewers who bought", _pct(funnel["overall_rate"].iloc[-1]),
                  help="customers with a purchase among customers with a view, over the whole period")
    pct = st.column_config.NumberColumn
    st.dataframe(
        profile.funnel,
        hide_index=True,
        width="stretch",
        column_config={
            "step_rate": pct("users vs previous step", format="percent"),
            "overall_rate": pct("users vs first step", format="percent"),
            "event_step_rate": pct("events vs previous step", format="percent"),
        },
    )
else:
    st.info("This data holds purchases only (a transactions export), so there is no view → cart funnel to show.")

st.subheader("Best sellers")
left, right = st.columns(2)
with left:
    st.markdown("**Top items**")
    st.dataframe(profile.top_items, hide_index=True, width="stretch",
                 column_order=("title", "purchases", "buyers", "revenue", "category", "item_id"),
                 column_config={"revenue": st.column_config.NumberColumn(format="%.0f")})
with right:
    st.markdown("**Categories**")
    if profile.categories["purchases"].sum() > 0:
        fig = px.bar(profile.categories.head(15), x="purchases", y="category", orientation="h",
                     hover_data=["items", "buyers", "revenue"])
        fig.update_layout(height=380, margin=dict(l=10, r=10, t=10, b=10), yaxis={"categoryorder": "total ascending"})
        st.plotly_chart(fig, width="stretch")
    else:
        st.info("No purchases yet.")

st.subheader("Customers")
left, right = st.columns(2)
for col, frame, name, title in (
    (left, profile.regions, "region", "By region"),
    (right, profile.age_bands, "age_band", "By age band"),
):
    with col:
        st.markdown(f"**{title}**")
        long = frame.melt(id_vars=name, value_vars=["users", "buyers"], var_name="who", value_name="customers")
        fig = px.bar(long, x=name, y="customers", color="who", barmode="group")
        fig.update_layout(height=320, margin=dict(l=10, r=10, t=10, b=10), legend_title_text="")
        st.plotly_chart(fig, width="stretch")

st.subheader("Basket size")
if profile.basket is None:
    st.info("No purchases yet.")
else:
    b = profile.basket
    cols = st.columns(4)
    cols[0].metric("Orders", f"{b.orders:,}", help=f"an order = one {b.order_definition}")
    cols[1].metric("Median items per order", f"{b.median_lines:g}")
    cols[2].metric("Units per order", f"{b.mean_units:.2f}", help="summed quantities")
    cols[3].metric("Order value", f"{b.mean_value:,.2f}")
    fig = px.bar(b.distribution, x="lines", y="orders", labels={"lines": "items in the order"})
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=10, b=10))
    st.plotly_chart(fig, width="stretch")
