"""The dashboard's language: picked in the sidebar, kept in the URL (?lang=zh) and a one-year cookie.

On a browser's first visit the language follows the browser (`st.context.locale`, navigator.language);
afterwards the cookie wins, and a `?lang=` link wins over both. Pages translate with the `_` / `ngettext`
here (they look the session's language up at call time), show core/ text with `tr` (reasons, notes: Messages)
and format numbers with `number` / `percent` / `date` / `money`; the catalogue itself lives in core/i18n.py.
"""

from __future__ import annotations

from datetime import date as _date
from datetime import datetime

import streamlit as st

from core import i18n
from core.i18n import N_  # noqa: F401 - re-exported for pages that mark module-level constants
from pages.components import labels as _labels
from pages.components.remember import remember

KEY = "lang"  # session-state key of the selector, and the URL query parameter
COOKIE = "recolm_lang"


def initial_lang() -> str:
    """A session's first language: `?lang=` in the URL, else the cookie of an earlier visit, else the browser's."""
    for value in (st.query_params.get(KEY), st.context.cookies.get(COOKIE), st.context.locale):
        if isinstance(value, str) and value:  # (AppTest's client hands out mocks for cookies)
            return i18n.normalize_lang(value)
    return i18n.DEFAULT_LANG


def current_lang() -> str:
    """The session's language ('en' where none is chosen yet, e.g. a page run on its own in a test)."""
    return i18n.normalize_lang(st.session_state.get(KEY))


def _(message: str) -> str:
    return i18n.translator(current_lang())(message)


def tr(value: object) -> object:
    """core/ text in the session's language: a core.i18n.Message with its values, a plain str as a msgid."""
    return i18n.translate(value, i18n.translator(current_lang()))


def stored(text: object, data: object = None) -> object:
    """Text read back from the store (a validation report): its `*_i18n` data translated, else the text itself."""
    message = i18n.message_from_data(data)
    return tr(message if isinstance(message, i18n.Message) else text)


def label(key: object) -> object:
    """A column id or data word (pages/components/labels.py) in the session's language; unknown keys as they are."""
    return _labels.label(key, i18n.translator(current_lang()))


def chart_labels(*keys: str) -> dict[str, object]:
    """Plotly `labels=` for these column ids (axis and legend titles)."""
    return {k: label(k) for k in keys}


def translated_values(frame, *columns: str):
    """Copy of `frame` whose `columns` hold translated words (chart legends and axes show the values themselves)."""
    if current_lang() == i18n.DEFAULT_LANG:
        return frame
    return frame.assign(**{c: frame[c].map(label) for c in columns if c in frame})


def translated_cells(frame):
    """Copy of `frame` whose text cells that are core Messages (statuses, reasons) read in the session's language."""
    if current_lang() == i18n.DEFAULT_LANG:
        return frame
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(tr)
    return out


def date_ticks(fig) -> None:
    """Date axes without English month names outside English (Plotly's own labels are English only)."""
    if current_lang() != i18n.DEFAULT_LANG:
        fig.update_xaxes(tickformat="%Y-%m-%d")


def glossary_help(term: object) -> str | None:
    """The metric's one-line plain meaning (core.glossary) in the reader's language, for help= / captions."""
    from core.glossary import meaning

    text = meaning(term)
    return _(text) if text else None


def column_config(columns, config: dict | None = None) -> dict:
    """`config` plus a readable, translated label for every known column id (st.dataframe draws headers on a
    canvas, so `age_band` would show as is) and, for metric columns, the glossary's meaning as the header tooltip."""
    out = dict(config or {})
    for col in columns:
        if not isinstance(col, str):
            continue
        text, tip = label(col), glossary_help(col)
        cfg = out.get(col)
        extra = {}
        if text != col:
            extra["label"] = text
        if tip:
            extra["help"] = tip
        if not extra:
            continue
        if cfg is None:
            out[col] = extra
        elif isinstance(cfg, dict):
            merged = dict(cfg)
            if "label" in extra and merged.get("label") in (None, "", col):
                merged["label"] = extra["label"]
            if "help" in extra and not merged.get("help"):
                merged["help"] = extra["help"]
            out[col] = merged
    return out


def dataframe(data, **kwargs):
    """st.dataframe with readable, translated column headers, metric tooltips, and empty cells for missing values
    (never "None" / "nan"); same arguments."""
    kwargs.setdefault("placeholder", "")
    columns = getattr(data, "columns", None)
    if columns is None and isinstance(data, list) and data and isinstance(data[0], dict):
        columns = list(data[0])
    if columns is not None:
        kwargs["column_config"] = column_config(list(columns), kwargs.get("column_config"))
    return st.dataframe(data, **kwargs)


def ngettext(singular: str, plural: str, n: int) -> str:
    return i18n.ngettext_for(current_lang())(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return i18n.pgettext_for(current_lang())(context, message)


def number(value: float | int, decimals: int | None = None) -> str:
    return i18n.fmt_number(value, current_lang(), decimals)


def percent(value: float, decimals: int = 1) -> str:
    return i18n.fmt_percent(value, current_lang(), decimals)


def date(value: _date | datetime, format: str = "medium") -> str:
    return i18n.fmt_date(value, current_lang(), format)


def money(value: float, currency: str = "CNY") -> str:
    return i18n.fmt_money(value, currency, current_lang())


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def file_uploader_chrome(types: list[str]) -> None:
    """Streamlit's file uploader writes its button and size limit in English only (no setting for it): outside
    English, show them in the reader's language by CSS (the English text is sized away, ours drawn after it)."""
    if current_lang() == i18n.DEFAULT_LANG:
        return
    mb = int(st.get_option("server.maxUploadSize"))
    size = f"{mb // 1024}GB" if mb % 1024 == 0 else f"{mb}MB"
    limit = _("{size} per file • {types}").format(size=size, types="、".join(t.upper() for t in types))
    button = _("Upload")
    zone = '[data-testid="stFileUploaderDropzone"]'
    st.html(f"""<style>
{zone} button [data-testid="stMarkdownContainer"] p,
{zone} [data-testid="stFileUploaderDropzoneInstructions"] span {{ font-size: 0; }}
{zone} button [data-testid="stMarkdownContainer"] p::after {{ content: {_css_string(button)}; font-size: 0.875rem; }}
{zone} [data-testid="stFileUploaderDropzoneInstructions"] span::after {{ content: {_css_string(limit)}; font-size: 0.875rem; }}
</style>""")


def language_selector() -> str:
    """The sidebar's language picker (call once, in app.py, before st.navigation); returns 'en' or 'zh'."""
    if KEY not in st.session_state:
        st.session_state[KEY] = initial_lang()
    with st.sidebar:
        st.selectbox(
            _("Language"),
            list(i18n.LANGUAGE_NAMES),
            format_func=i18n.LANGUAGE_NAMES.__getitem__,
            key=KEY,
        )
        lang = current_lang()
        remember(KEY, COOKIE, lang)
    return lang
