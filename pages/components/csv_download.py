"""A CSV download button with the encoding choice (UTF-8, GB18030, GBK for Excel in Chinese Windows) and headers in
the session's language; a cell the chosen encoding cannot hold is named instead of a broken file."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.export import EXPORT_ENCODINGS, UnencodableCellError, to_csv_bytes
from pages.components.language import _, current_lang, label, translated_cells


def export_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` as the reader sees it: translated headers and core Messages (reasons, statuses) in their language."""
    if current_lang() == "en":
        return frame
    return translated_cells(frame).rename(columns=lambda c: label(c))


def csv_download(frame: pd.DataFrame, button: str, file_name: str, key: str, container=None) -> None:
    """An encoding picker and the download button side by side (`button`: the translated button label)."""
    box = container or st
    left, right = box.columns([1, 2])
    encodings = list(EXPORT_ENCODINGS)
    default = encodings.index("gb18030") if current_lang() == "zh" else 0
    encoding = left.selectbox(_("CSV encoding"), encodings, index=default, key=f"{key}_encoding",
                              format_func=lambda e: _(EXPORT_ENCODINGS[e]))
    try:
        data = to_csv_bytes(export_frame(frame), encoding)
    except UnencodableCellError as exc:
        right.warning(_("{encoding} cannot hold {char!r} (column {column}, row {row}); choose GB18030 or UTF-8.").format(
            encoding=exc.encoding.upper(), char=exc.char, column=exc.column, row=exc.row or "—"))
        return
    right.download_button(button, data, file_name=file_name, mime="text/csv", key=key)
