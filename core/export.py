"""CSV export that is safe to open in a spreadsheet: the ONE place that escapes formula cells.

A cell starting with = + - @ (or a tab / carriage return) is run as a formula by Excel, LibreOffice and
Google Sheets ("CSV injection"). Such text cells get a leading apostrophe, which spreadsheets show as
plain text. Numbers stay numbers (a negative price is data, not a formula).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: Any) -> Any:
    """`value` with a leading apostrophe when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def escape_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of `df` with every text cell (and column name) escaped; numeric columns untouched."""
    out = df.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        out[col] = series.map(escape_cell)
    out.columns = [escape_cell(str(c)) for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Escaped CSV as UTF-8 with BOM (so Excel reads non-ASCII titles correctly), for download buttons."""
    # CRLF rows (RFC 4180) also make the writer quote any cell holding a bare CR, which would split a row otherwise.
    return escape_frame(df).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """Write the escaped CSV to `path` (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_csv_bytes(df))
    return path
