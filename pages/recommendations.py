"""Recommendations: what would we show this customer, and why? Pick a customer, see the history, the top-K with a
reason per item, and how diversity / freshness / exploration change the list; serve a customer without purchases;
answer a shopper's question; export a batch."""

from __future__ import annotations

from urllib.parse import urlencode

import numpy as np
import pandas as pd
import plotly.express as px
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from core.recommend import ItemFilter, PreviewOptions, RecommendationService
from core.recommend.batch import batch_recommend, store_batch
from db.recommendations import data_version, list_batches
from db.registry import active_model, list_models
from db.user_history import user_history, user_profile
from pages.common import db_url, store_session
from pages.components.charts import show
from pages.components.csv_download import csv_download
from pages.components.language import (
    N_,
    _,
    chart_labels,
    dataframe,
    date_ticks,
    glossary_help,
    label,
    ngettext,
    tr,
    translated_values,
)
from pages.components.models import registered_model_picker
from pages.components.progress import run_with_progress
from pages.components.segments import ANY, segment_picker

ANONYMOUS = N_("(anonymous visitor)")


@st.cache_resource(show_spinner=_("Loading the shop data, the model and the item text vectors…"), max_entries=4)
def load_service(url: str, version: tuple, model_id: int) -> RecommendationService:
    """Built once per (store, data version, model version); item text vectors are computed here, not per rerun."""
    with store_session() as session:
        service = RecommendationService.from_store(session, model_id)
    _unused = service.vectors, service.reasons, service.segpop  # warm the expensive parts once
    return service


def _fmt_quality(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _with_reasons(result) -> pd.DataFrame:
    """The result's table with each reason in the session's language (reasons are core Messages)."""
    frame = result.frame()
    if len(frame):
        frame["reason"] = [tr(r.reason) for r in result.items]
    return frame


def _show_list(result, key: str) -> None:
    dataframe(
        _with_reasons(result), hide_index=True, key=key,
        column_order=("rank", "title", "reason", "category", "price", "score", "is_new", "explore", "item_id"),
        column_config={
            "rank": st.column_config.NumberColumn(_("rank"), width="small"),
            "score": st.column_config.NumberColumn(_("score"), format="%.4g"),
            "price": st.column_config.NumberColumn(_("price"), format="%.2f"),
            "reason": st.column_config.TextColumn(_("reason"), width="large"),
            "is_new": st.column_config.CheckboxColumn(_("new")),
            "explore": st.column_config.CheckboxColumn(_("explore")),
        },
    )


def _link(page: str, label: str, icon: str, **query: str) -> None:
    """st.page_link, or a plain URL when the page runs outside st.navigation (AppTest of this page alone)."""
    try:
        st.page_link(page, label=label, icon=icon, query_params=query or None)
    except StreamlitPageNotFoundError:
        target = page.removeprefix("pages/").removesuffix(".py")
        st.markdown(f"{icon} [{label}]({target}{'?' + urlencode(query) if query else ''})")


st.title(_("Recommendations"))
st.caption(_("What would we show this customer, and why? Every reason cites this customer's own purchases, "
           "their segment's best sellers, or a new arrival."))

with store_session() as session:
    models = list_models(session)
    active = active_model(session)
    version = data_version(session)
if not models:
    st.info(_("No trained model yet. Train one (a baseline takes seconds) and activate it, then come back."))
    _link("pages/training.py", _("Go to Training & registry"), ":material/model_training:")
    st.stop()

model_id = registered_model_picker(models, active, key="rec_model",
                                   help="The active model is what campaigns use; pick another to compare.")
try:
    service = load_service(db_url(), version, model_id)
except (LookupError, ValueError, FileNotFoundError) as exc:
    st.error(_("This model cannot be used for previews: {exc}").format(exc=exc))
    st.stop()
users = service.users_frame

# ---- find a customer ----------------------------------------------------------------------------------------
st.header(_("1 · Find a customer"))
how = st.radio(_("Find by"), [N_("Customer id"), N_("Segment / activity")], horizontal=True, key="rec_find",
               format_func=_)
if how == "Customer id":
    query = st.text_input(_("Customer id (or part of it)"), key="rec_user_query")
    matches = service.select_users(id_contains=query) if query.strip() else service.select_users()
else:
    segment = segment_picker(users, "rec_", (N_("Region"), N_("Age band"), N_("Purchases (activity bucket)")),
                             activity_help=_("0 = customers with no purchases yet (served by cold start)."))
    matches = service.select_users(**segment.as_kwargs())
if len(matches) == 0:
    st.warning(_("No customer matches; loosen the search."))
    st.stop()
# Customers with purchases first: the interesting previews; cold customers have their own section below.
matches = matches[np.argsort(users["purchases"].to_numpy()[matches] == 0, kind="stable")]
shown = users.iloc[matches[:500]]
options = shown["user_id"].tolist()
if len(matches) > 500:
    picker_label = _("Customer ({n:,} matches, first 500 listed)").format(n=len(matches))
else:
    picker_label = ngettext("Customer ({n:,} match)", "Customer ({n:,} matches)", len(matches)).format(n=len(matches))
user_id = st.selectbox(picker_label, options, key="rec_user")
u = service.find_user(user_id)
row = users.iloc[u]

with store_session() as session:
    store_id = int(service.data.users["store_id"].iloc[u])
    profile = user_profile(session, store_id)
    history = user_history(session, store_id)

m = st.columns(5)
m[0].metric(_("Customer"), user_id)
m[1].metric(_("Region"), row["region"] or "—")
m[2].metric(_("Age band"), row["age_band"] or "—")
m[3].metric(_("Purchases"), int(row["purchases"]))
m[4].metric(_("Activity bucket"), row["activity"])
if history.empty:
    st.info(_("No behaviour recorded for this customer yet: recommendations come from the profile (cold start)."))
else:
    with st.expander(_("History: {n_history} events (newest first)").format(n_history=len(history)), expanded=True):
        order = [label(a) for a in ("view", "click", "favorite", "cart", "purchase", "other")]
        fig = px.scatter(translated_values(history, "action"), x="ts", y="action", color="category", hover_name="title",
                         hover_data={"price": True, "ts": True, "action": False},
                         category_orders={"action": order}, labels=chart_labels("ts", "action", "category", "price"))
        date_ticks(fig)
        show(fig, "rec_timeline", height=260, compact=True)
        dataframe(history[["ts", "action", "title", "category", "price", "flag"]], hide_index=True, height=220)
_link("pages/campaigns.py", _("Coupons for this customer"), ":material/sell:", user=user_id)

# ---- controls -----------------------------------------------------------------------------------------------
st.header(_("2 · Top-K and why"))
c1, c2, c3 = st.columns(3)
k = c1.number_input("K", 1, 50, 10, key="rec_k")
c1.caption(_("How many items the customer would see."))
exclude_seen = c1.checkbox(_("Exclude already bought"), value=True, key="rec_exclude")
c1.caption(_("Hide items this customer has bought before (untick for consumables)."))
categories = sorted(c for c in set(service.categories) if c)
chosen_cats = c2.multiselect(_("Categories"), categories, key="rec_cats", placeholder=_("Choose options"))
c2.caption(_("Only show these categories (empty = all). Excluded items can never slip back in."))
prices = service.prices[pd.notna(service.prices)]
price_hi = float(max(prices.max(), 1.0)) if len(prices) else 1.0
price_range = c2.slider(_("Price range"), 0.0, price_hi, (0.0, price_hi), key="rec_price")
c2.caption(_("Items priced outside the range (or with no price, once narrowed) are not shown."))
diversity = c3.slider(_("Diversity λ"), 0.0, 1.0, 0.0, 0.05, key="rec_diversity")
c3.caption(_("0 = pure relevance; higher swaps near-duplicates for different items (MMR on item text vectors)."))
freshness = c3.slider(_("Freshness boost"), 0.0, 2.0, 0.0, 0.1, key="rec_fresh")
c3.caption(_("Lift items listed in the last 30 days; 1 = worth as much as the best match."))
exploration = c3.slider(_("Exploration share"), 0.0, 0.5, 0.0, 0.1, key="rec_explore")
c3.caption(_("Share of slots kept for categories this customer has never bought."))

narrowed = price_range != (0.0, price_hi)
flt = ItemFilter(categories=tuple(chosen_cats), min_price=price_range[0] if narrowed else None,
                 max_price=price_range[1] if narrowed else None)
opts = PreviewOptions(k=int(k), exclude_seen=exclude_seen, filter=flt, diversity=diversity, freshness=freshness,
                      exploration=exploration)
preview = service.preview(u, opts)
st.markdown(_("**Based on:** {based_on}").format(based_on=tr(preview.based_on)))
for note in preview.notes:
    st.warning(tr(note))
q = st.columns(4)
q[0].metric(_("Diversity before"), _fmt_quality(preview.before.diversity), help=glossary_help("diversity"))
q[1].metric(_("Diversity after"), _fmt_quality(preview.after.diversity),
            delta=None if preview.after.diversity is None or preview.before.diversity is None
            else round(preview.after.diversity - preview.before.diversity, 3))
q[2].metric(_("Novelty before (bits)"), f"{preview.before.novelty:.2f}", help=glossary_help("novelty"))
q[3].metric(_("Novelty after (bits)"), f"{preview.after.novelty:.2f}",
            delta=round(preview.after.novelty - preview.before.novelty, 2))
st.caption(_("Diversity: 1 − mean cosine similarity of the items' text (higher = more varied). Novelty: mean "
           "self-information of the items (higher = less mainstream)."))
_show_list(preview, "rec_list")

# ---- cold start -------------------------------------------------------------------------------------------
st.header(_("3 · A customer without purchases"))
cold_ids = users.loc[users["purchases"] == 0, "user_id"].tolist()
st.caption(_("Served from the profile (best sellers of their age band and region) and, if typed, their interests "
           "matched on item text, so new items nobody has bought yet can be recommended too."))
cold_choice = st.selectbox(_("Customer with no purchases"), [ANONYMOUS, *cold_ids[:500]], key="rec_cold_user",
                           format_func=lambda v: _(v) if v == ANONYMOUS else v,
                           index=1 if cold_ids else 0)
interests = st.text_input(_("Interests in their own words (optional)"), key="rec_interests",
                          placeholder=_("e.g. trail running and good coffee"))
cold_u = None if cold_choice == ANONYMOUS else service.find_user(cold_choice)
if interests.strip() and service.vectors is None:
    st.warning(_("This catalogue has no item text, so typed interests cannot be matched."))
    interests = ""
cold = service.preview(cold_u, PreviewOptions(k=int(k), filter=flt, freshness=freshness), interests=interests or None)
st.markdown(_("**Based on:** {based_on}").format(based_on=tr(cold.based_on)))
_show_list(cold, "rec_cold_list")

# ---- semantic search --------------------------------------------------------------------------------------
st.header(_("4 · Answer a shopper's question"))
st.caption(_("Matches the question on item text ({encoder}), keeps price limits like “under 50”, then re-orders the best matches by {user_id}'s own model score.").format(encoder=service.text_encoder, user_id=user_id))
question = st.text_input(_("Shopper's question"), key="rec_search", placeholder=_("a gift for a runner under 50"))
if question.strip():
    if service.vectors is None:
        st.warning(_("This catalogue has no item text: semantic search is not available."))
    else:
        found = service.search(question, u, k=int(k), flt=flt)
        understood = [_("looking for “{text}”").format(text=found.parsed.text)]
        if found.parsed.min_price is not None:
            understood.append(_("price ≥ {price}").format(price=f"{found.parsed.min_price:g}"))
        if found.parsed.max_price is not None:
            understood.append(_("price ≤ {price}").format(price=f"{found.parsed.max_price:g}"))
        st.info(_("Understood: {what}").format(what=", ".join(understood)))
        for note in found.parsed.notes:
            st.warning(_("Not understood: {note}").format(note=tr(note)))
        if found.items:
            dataframe(_with_reasons(found), hide_index=True, key="rec_search_list",
                         column_order=("rank", "title", "reason", "category", "price", "similarity", "item_id"),
                         column_config={"similarity": st.column_config.NumberColumn(format="%.2f"),
                                        "reason": st.column_config.TextColumn(width="large")})
        else:
            st.warning(_("No item matches within these limits."))

# ---- batch export -----------------------------------------------------------------------------------------
st.header(_("5 · Batch and export"))
st.caption(_("Top-K for everyone or a segment with the current K, 'exclude bought' and filters; stored as a batch "
           "and downloadable as CSV (cells that a spreadsheet would run as formulas are escaped)."))
b_segment = segment_picker(users, "rec_b_")
if st.button(_("Compute and store batch"), key="rec_batch_go", type="primary"):
    who = service.select_users(**b_segment.as_kwargs())
    if len(who) == 0:
        st.warning(_("No customer in that segment."))
    else:
        config = {"k": int(k), "region": b_segment.region or ANY, "age_band": b_segment.age_band or ANY,
                  "activity": b_segment.activity or ANY,
                  "categories": list(chosen_cats), "exclude_seen": exclude_seen, "source": "page"}

        def score_and_store():
            result = batch_recommend(service, who, k=int(k), exclude_seen=exclude_seen, flt=flt)
            with store_session() as session:
                return result, store_batch(session, service, result, config)

        result, batch_id = run_with_progress(score_and_store, _("Scoring {n_who:,} customers…").format(
            n_who=len(who)), key="rec_batch")
        st.session_state["rec_batch"] = (batch_id, result.csv_frame(), result.n_users, result.seconds)
if "rec_batch" in st.session_state:
    batch_id, payload, n_users, seconds = st.session_state["rec_batch"]
    st.success(_("Batch {batch_id}: {n_users:,} customers in {seconds:.2f}s.").format(batch_id=batch_id, n_users=n_users, seconds=seconds))
    csv_download(payload, _("Download CSV"), f"recommendations-batch-{batch_id}.csv", "rec_download")
with store_session() as session:
    batches = list_batches(session)
if not batches.empty:
    with st.expander(_("Stored batches ({n_batches})").format(n_batches=len(batches))):
        dataframe(batches.drop(columns=["config"]), hide_index=True)
