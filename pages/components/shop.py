"""The sidebar's shop (workspace) switcher: kept in the URL (?shop=slug) and a one-year cookie, like the language.

Every page asks `current_shop()` (through pages.common's store_session / db_url) for the store it works on,
so switching the shop switches every page, job and export. `switch_to(slug)` asks for a change from inside a
page (after an upload starts a new shop): it is applied at the top of the next run, before the widget exists.
"""

from __future__ import annotations

import streamlit as st

from db.shops import Shop, list_shops
from pages.components.language import _
from pages.components.remember import remember

KEY = "shop"  # session-state key of the selector, and the URL query parameter
COOKIE = "recolm_shop"
_PENDING = "_shop_switch_to"


def shop_label(shop: Shop) -> str:
    """The name people see: the demo's in the session's language, the others as their owners typed them."""
    return _("Demo shop") if shop.is_demo else shop.name


def _pick(shops: list[Shop], *candidates: object) -> Shop:
    by_slug = {s.slug: s for s in shops}
    for value in candidates:
        if isinstance(value, str) and value in by_slug:  # (AppTest's client hands out mocks for cookies)
            return by_slug[value]
    return shops[0]


def current_shop() -> Shop:
    """The session's shop: the switcher's choice, else `?shop=` / the cookie, else the first (the demo)."""
    shops = list_shops()
    return _pick(shops, st.session_state.get(_PENDING), st.session_state.get(KEY), st.query_params.get(KEY),
                 st.context.cookies.get(COOKIE))


def switch_to(slug: str) -> None:
    """Select another shop from the next run on (call st.rerun() after it)."""
    st.session_state[_PENDING] = slug


def shop_selector() -> Shop:
    """The sidebar's shop picker (call once, in app.py, next to the language picker); returns the chosen shop."""
    shops = list_shops()
    slugs = [s.slug for s in shops]
    pending = st.session_state.pop(_PENDING, None)
    if pending in slugs:
        st.session_state[KEY] = pending
    elif st.session_state.get(KEY) not in slugs:  # first run, or the chosen shop was removed meanwhile
        st.session_state[KEY] = _pick(shops, st.query_params.get(KEY), st.context.cookies.get(COOKIE)).slug
    names = {s.slug: shop_label(s) for s in shops}
    with st.sidebar:
        st.selectbox(_("Shop"), slugs, format_func=names.__getitem__, key=KEY,
                     help=_("Each shop is its own store: pages, models, campaigns and exports show its data only."))
    shop = _pick(shops, st.session_state.get(KEY))
    remember(KEY, COOKIE, shop.slug)
    return shop
