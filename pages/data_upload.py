"""Upload data: a shop's CSV exports through the column mapping into the store, with a validation report.

Choose the files, check the guessed mapping, say which action means "purchase", ingest (one transaction: a
rejected upload changes nothing), read the report. Earlier uploads and their reports are listed below.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.ingest import (
    KIND_LABELS,
    IngestError,
    IngestOptions,
    Source,
    Upload,
    UploadRejected,
    fields_for,
    guess_mapping,
    ingest,
    preview,
)
from core.ingest.mapping import ColumnMapping, likely_purchase_values
from core.ingest.reader import ENCODINGS, SEPARATORS
from core.ingest.report import dropped_table
from db.dataset_versions import list_datasets
from db.engine import get_meta
from db.shops import ShopError, create_shop, list_shops, remove_shop
from pages.common import forget_store, shop, store_session
from pages.components.language import N_, _, dataframe, file_uploader_chrome, label, pgettext, stored, tr
from pages.components.shop import shop_label, switch_to

NEW_SHOP = N_("Start a new shop")
ADD_TO_DEMO = N_("Add to the demo shop")
NOT_MAPPED = N_("— not in this file —")
SEPARATOR_LABELS = {",": N_("comma"), ";": N_("semicolon"), "\t": N_("tab"), "|": N_("pipe"),
                    "automatic": N_("automatic")}
UPLOAD_TYPES = ["csv", "txt", "tsv", "gz", "zip"]
ALL_PURCHASES = N_("Every row is a purchase")
SOME_PURCHASES = N_("Only these action values")
MODES = {
    N_("Shop files: events, items and/or user profiles"): ("events", "items", "users"),
    N_("A transactions export (one file feeding events, items and users)"): ("transactions",),
}
FIELD_HELP = {
    "user_id": N_("the customer"), "item_id": N_("the product"), "timestamp": N_("when it happened"),
    "action_type": N_("view / cart / purchase … in the shop's words"), "invoice": N_("order number (C… = cancellation)"),
}


def _kind_name(kind: str) -> str:
    """The file kind's short name in the session's language ("events CSV")."""
    names = {"events": pgettext("file kind", "events"), "items": pgettext("file kind", "items"),
             "users": pgettext("file kind", "users"), "transactions": pgettext("file kind", "transactions")}
    return names.get(kind, kind)


def _mapping_editor(kind: str, name: str, header: list[str], sample: pd.DataFrame) -> ColumnMapping:
    """Selectboxes pre-filled with the guess; returns the mapping as the user left it."""
    guess = guess_mapping(kind, header)
    options = [NOT_MAPPED, *header]
    columns: dict[str, str] = {}
    fields = fields_for(kind)
    grid = st.columns(4)
    for n, field in enumerate(fields):
        current = guess.columns.get(field)
        choice = grid[n % 4].selectbox(
            field, options, index=options.index(current) if current in header else 0,
            key=f"map:{kind}:{name}:{field}", help=_(FIELD_HELP[field]) if field in FIELD_HELP else None, format_func=_,
        )
        if choice != NOT_MAPPED:
            columns[field] = choice
    mapping = ColumnMapping(kind, columns)
    if kind in ("events", "transactions"):
        action_col = columns.get("action_type")
        if action_col is None:
            st.caption(_("No action column: every row counts as a purchase."))
            mapping.all_purchases = True
        else:
            values = [str(v) for v in pd.unique(sample[action_col].dropna())][:200]
            how = st.radio(_("Which rows are purchases?"), [SOME_PURCHASES, ALL_PURCHASES], horizontal=True, format_func=_,
                           index=1 if kind == "transactions" else 0, key=f"buy:{kind}:{name}")
            if how == ALL_PURCHASES:
                mapping.all_purchases = True
            else:
                chosen = st.multiselect(_("Values of {action_col!r} that mean purchase").format(action_col=action_col), values,
                                        default=likely_purchase_values(values), key=f"buyvals:{kind}:{name}", placeholder=_("Choose options"))
                mapping.purchase_values = tuple(chosen)
        if kind == "transactions" and action_col is None:
            mapping.all_purchases = True
        fmt = st.text_input(_("Timestamp format (blank: detect; e.g. %d/%m/%Y %H:%M, unix-seconds)"), "",
                            key=f"tsfmt:{kind}:{name}")
        mapping.timestamp_format = fmt.strip() or None
    return mapping


def _render_report(report: dict, title: str | None = None) -> None:
    if title:
        st.markdown(f"**{title}**")
    if report.get("accepted"):
        st.success(_("Upload accepted: data set version {value}.").format(value=report.get('dataset_id')))
    else:
        st.error(_("Upload rejected, the store is unchanged. {value}").format(value=stored(report.get('error') or '', report.get('error_i18n'))))
    flagged = sum(i["count"] for f in report.get("files", []) for i in f.get("flagged", {}).values())
    cols = st.columns(4)
    cols[0].metric(_("Rows read"), f"{report.get('rows_read', 0):,}")
    cols[1].metric(_("Rows kept"), f"{report.get('rows_kept', 0):,}")
    cols[2].metric(_("Rows dropped"), f"{report.get('rows_dropped', 0):,}")
    cols[3].metric(_("Rows flagged"), f"{flagged:,}", help=_("kept for the record, never counted as purchases"))
    table = dropped_table(report)
    if table:
        rows = [{**r, "status": label(r["status"]), "what it means": tr(r["what it means"])} for r in table]
        dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    for f in report.get("files", []):
        written = ", ".join(f"{k.replace('_', ' ')}: {v:,}" for k, v in f.get("written", {}).items())
        st.caption(_("{file} ({kind}; {value}, {value2} separated; times {value3}): {rows_read:,} read, {rows_kept:,} kept. {written}").format(file=f['file'], kind=f['kind'], value=f.get('encoding'), value2=f.get('separator'), value3=f.get('timestamp_format') or '–', rows_read=f['rows_read'], rows_kept=f['rows_kept'], written=written))
        for w, data in zip(f.get("warnings", []), f.get("warnings_i18n") or [None] * len(f.get("warnings", []))):
            st.warning(f"{f['file']}: {stored(w, data)}")


st.title(_("Upload data"))
st.caption(_("Upload your shop's CSV exports (UTF-8 or GBK; comma, semicolon or tab separated; .csv, .gz or .zip). "
           "Column names are guessed; correct them below. One upload is one transaction: if it is rejected, "
           "nothing in the store changes."))

mode = st.radio(_("What are you uploading?"), list(MODES), horizontal=True, format_func=_)
kinds = MODES[mode]
with st.expander(_("File format (only if the automatic guess is wrong)")):
    cols = st.columns(2)
    encoding = cols[0].selectbox(_("Encoding"), ["automatic", *ENCODINGS], format_func=lambda e: _("automatic") if e == "automatic" else e)
    separator = cols[1].selectbox(_("Separator"), ["automatic", *SEPARATORS],
                                  format_func=lambda v: _(SEPARATOR_LABELS.get(v, v)))
encoding = None if encoding == "automatic" else encoding
separator = None if separator == "automatic" else separator
file_uploader_chrome(UPLOAD_TYPES)
uploads: list[Upload] = []
problems: list[str] = []
for kind in kinds:
    st.subheader(_(KIND_LABELS[kind]))
    file = st.file_uploader(_("{kind} CSV (optional)").format(kind=_kind_name(kind)) if len(kinds) > 1 else _("{kind} CSV").format(kind=_kind_name(kind)), type=UPLOAD_TYPES, key=f"file:{kind}")
    if file is None:
        continue
    source = Source(kind, file.getvalue(), file.name)
    try:
        fmt, sample = preview(source, encoding=encoding, separator=separator)
    except IngestError as exc:
        st.error(tr(exc.text))
        problems.append(str(exc))
        continue
    st.caption(_("{name}: {encoding}, {separator_name} separated, {n_header} columns.").format(name=file.name, encoding=fmt.encoding, separator_name=_(SEPARATOR_LABELS.get(fmt.separator, fmt.separator_name)), n_header=len(fmt.header)))
    dataframe(sample.head(10), hide_index=True, width="stretch")
    mapping = _mapping_editor(kind, file.name, fmt.header, sample)
    try:
        mapping.validate(fmt.header, file.name)
    except IngestError as exc:
        st.error(tr(exc.text))
        problems.append(str(exc))
    uploads.append(Upload(source, mapping))

current = shop()
with store_session() as session:
    holds_demo = get_meta(session, "demo") == "1"  # the generated demo shop, not data uploaded before shops existed
new_shop_name: str | None = None
if current.is_demo and holds_demo:
    st.subheader(_("Which shop?"))
    target = st.radio(_("Your data is kept apart from the demo's synthetic customers unless you choose otherwise."),
                      [NEW_SHOP, ADD_TO_DEMO], format_func=_, horizontal=True, key="upload_target")
    if target == NEW_SHOP:
        new_shop_name = st.text_input(_("Name of the new shop"), value=_("My shop"), max_chars=80, key="new_shop_name")
else:
    st.caption(_("The upload goes into the shop **{name}**.").format(name=shop_label(current)))

st.subheader(_("Options"))
cols = st.columns(2)
unknown = cols[0].radio(_("Events for users or items the store does not know"), ["create", "drop"],
                        format_func=lambda v: {"create": _("Create them"), "drop": _("Drop those rows")}[v],
                        horizontal=True)
strict = cols[1].checkbox(_("Reject the whole upload if any row would be dropped"))

if st.button(_("Ingest"), type="primary", disabled=not uploads or bool(problems)):
    progress = st.empty()
    options = IngestOptions(unknown=unknown, strict=strict, encoding=encoding, separator=separator,
                            progress=lambda name, n: progress.caption(_("{name}: {n:,} rows read…").format(name=name, n=n)))
    new_shop = None
    if new_shop_name is not None:
        try:
            new_shop = create_shop(new_shop_name)
        except ShopError as exc:
            st.error(_("The new shop cannot be started: {reason}").format(reason=str(exc)))
            st.stop()
    try:
        with st.spinner(_("Ingesting…")), store_session(new_shop.url if new_shop else None) as session:
            result = ingest(session, uploads, options).to_dict()
    except UploadRejected as rejected:
        result = rejected.report.to_dict()
    except Exception:
        if new_shop is not None:  # a crashed upload leaves no half-made shop behind
            remove_shop(new_shop.slug)
            forget_store()
        raise
    progress.empty()
    st.session_state["upload_report"] = result
    st.cache_data.clear()  # other pages cache store summaries
    if new_shop is not None:
        if result.get("accepted"):
            switch_to(new_shop.slug)  # every page now shows the new shop
            st.session_state["shop_started"] = new_shop.name
            st.rerun()
        remove_shop(new_shop.slug)  # rejected: nothing was stored, so the shop goes too
        forget_store()

if st.session_state.get("shop_started") and current.name == st.session_state["shop_started"]:
    st.success(_("Started the shop **{name}**: every page now shows its data only (switch shops in the sidebar).").format(
        name=current.name))

if "upload_report" in st.session_state:
    st.subheader(_("Validation report"))
    _render_report(st.session_state["upload_report"])

st.subheader(_("Data set versions"))
with store_session() as session:
    versions = list_datasets(session)
if not versions:
    st.info(_("No data yet: upload files above (or load the demo shop from the Overview page)."))
else:
    dataframe(pd.DataFrame([{"version": v.id, "created": v.created_at, "kind": v.kind, "files": v.name,
                                "rows read": v.rows_read, "rows kept": v.rows_kept} for v in versions]),
                 hide_index=True, width="stretch")
    with_report = [v for v in versions if "accepted" in v.report]  # uploads (the demo build has its own summary)
    if with_report:
        pick = st.selectbox(_("Show the report of version"), [v.id for v in with_report])
        chosen = next(v for v in with_report if v.id == pick)
        with st.expander(_("Report of version {id} ({name})").format(id=chosen.id, name=chosen.name), expanded=False):
            _render_report(chosen.report)

with st.expander(_("Remove this shop"), expanded=False):
    shops = list_shops()
    if len(shops) <= 1:
        st.caption(_("This is the only shop: start a new shop (upload your data above) before removing it."))
    else:
        st.markdown(_("Deletes **{name}**: its data, models, campaigns and experiments. It cannot be undone.").format(
            name=shop_label(current)))
        if current.is_demo:
            st.caption(_("The demo shop can be rebuilt at any time with `python -m core demo`."))
        sure = st.checkbox(_("Yes, delete {name}").format(name=shop_label(current)), key="confirm_remove_shop")
        if st.button(_("Remove shop"), disabled=not sure, key="remove_shop"):
            try:
                remove_shop(current.slug)
            except ShopError as exc:
                st.error(str(exc))
            else:
                forget_store()
                st.cache_data.clear()
                st.session_state.pop("upload_report", None)
                switch_to(next(s.slug for s in shops if s.slug != current.slug))
                st.rerun()
