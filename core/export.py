"""CSV export that is safe to open in a spreadsheet: the ONE place that escapes formula cells.

A cell starting with = + - @ (or a tab / carriage return) is run as a formula by Excel, LibreOffice and
Google Sheets ("CSV injection"). Such text cells get a leading apostrophe, which spreadsheets show as
plain text. Numbers stay numbers (a negative price is data, not a formula).

Encodings: UTF-8 with a BOM opens right in every current Excel. Excel in a Chinese Windows locale opens a CSV
without BOM as GBK, so GB18030 and GBK are offered too. GB18030 encodes every Unicode character; GBK lacks
emoji, the euro sign, rare CJK (e.g. 𠀀) and scripts such as Korean, so a GBK export that meets one fails
with the cell it could not write and the advice to use GB18030 (nothing is replaced silently).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from core.i18n import N_

FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")
# Codec name -> what the download menu says (English msgid; pages translate it).
EXPORT_ENCODINGS: dict[str, str] = {
    "utf-8-sig": N_("UTF-8 (Excel, every language)"),
    "gb18030": N_("GB18030 (Excel in Chinese Windows, every character)"),
    "gbk": N_("GBK (older Chinese software)"),
}
DEFAULT_ENCODING = "utf-8-sig"


class UnencodableCellError(ValueError):
    """A cell holds a character the chosen encoding cannot write (GBK and emoji, say)."""

    def __init__(self, encoding: str, column: str, row: int | None, value: str, char: str):
        self.encoding, self.column, self.row, self.value, self.char = encoding, column, row, value, char
        where = "the header" if row is None else f"row {row}"
        super().__init__(
            f"{encoding.upper()} cannot encode {char!r} (U+{ord(char):04X}) in column {column!r}, {where}: "
            f"{value[:60]!r}; export as GB18030 or UTF-8, which encode every character"
        )


def check_encoding(encoding: str) -> str:
    """The codec name for an export (case-insensitive; 'utf-8' means UTF-8 with BOM), or a ValueError naming the choices."""
    name = encoding.strip().lower().replace("_", "-")
    name = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "utf8-sig": "utf-8-sig", "cp936": "gbk"}.get(name, name)
    if name not in EXPORT_ENCODINGS:
        raise ValueError(f"unknown export encoding {encoding!r}; choose one of {', '.join(EXPORT_ENCODINGS)}")
    return name


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


def _first_unencodable(df: pd.DataFrame, encoding: str) -> UnencodableCellError:
    for col in df.columns:
        for pos, value in enumerate([col, *df[col].tolist()]):
            text = str(value)
            try:
                text.encode(encoding)
            except UnicodeEncodeError as exc:
                return UnencodableCellError(encoding, str(col), None if pos == 0 else pos, text, text[exc.start])
    raise AssertionError("unreachable: the whole text failed to encode but no cell did")


def to_csv_bytes(df: pd.DataFrame, encoding: str = DEFAULT_ENCODING) -> bytes:
    """Escaped CSV for download buttons: UTF-8 with BOM (so Excel reads non-ASCII titles), GB18030 or GBK.

    Rows are counted from 1 after the header in an UnencodableCellError.
    """
    encoding = check_encoding(encoding)
    escaped = escape_frame(df)
    # CRLF rows (RFC 4180) also make the writer quote any cell holding a bare CR, which would split a row otherwise.
    text = escaped.to_csv(index=False, lineterminator="\r\n")
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        raise _first_unencodable(escaped, encoding) from None


def write_csv(df: pd.DataFrame, path: str | Path, encoding: str = DEFAULT_ENCODING) -> Path:
    """Write the escaped CSV to `path` (parent folders created); nothing is written when a cell cannot be encoded."""
    data = to_csv_bytes(df, encoding)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
