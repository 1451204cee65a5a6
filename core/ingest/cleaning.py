"""Row-level cleaning of one chunk: blank rows, oversize fields, missing fields, duplicates, ids, numbers (decimal
commas, non-finite values, negative prices) and the flags that keep cancellations and returns from counting as
purchases.

Text is stored as given: a cell such as "- 100 transfer pipettes" or "=SUM(A1)" is data. Spreadsheet formula
escaping happens only when writing CSV exports (core.export), never in the store.

Each function takes the chunk (indexed by file line number) and the file's report, records what it did with
example line numbers, and returns the rows that stay.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.i18n import Message
from core.ingest.report import FileReport

MAX_FIELD_CHARS = 65_536  # no real shop cell is this large; a row holding one is dropped
MAX_TEXT_CHARS = 10_000  # titles/descriptions/attributes longer than this are cut to it
MAX_ID_CHARS = 128  # the store's id columns
TEXT_FIELDS = ("title", "description", "category", "brand", "region", "gender")
ID_FIELDS = ("user_id", "item_id")
_NON_FINITE = r"[+-]?(nan|inf|infinity)"
_SIGN = r"[+-]?"
# Unambiguous evidence of a column's decimal mark (after currency symbols and units are taken off):
# a comma/point followed by other than exactly three digits, both marks with one of them last, or repeated groups.
_COMMA_DECIMAL = _SIGN + (r"(\d+,\d{1,2}|\d+,\d{4,}|,\d+|0,\d+|\d{4,},\d{3}"
                          r"|\d{1,3}(\.\d{3}){2,}(,\d*)?|\d{1,3}(\.\d{3})+,\d*)")
_POINT_DECIMAL = _SIGN + (r"(\d+\.\d{1,2}|\d+\.\d{4,}|\.\d+|0\.\d+|\d{4,}\.\d{3}"
                          r"|\d{1,3}(,\d{3}){2,}(\.\d*)?|\d{1,3}(,\d{3})+\.\d*)")
_ONE_GROUP_COMMA = _SIGN + r"\d{1,3},\d{3}"  # 1,234: a thousand (US) or one and a bit (European)?
_ONE_GROUP_POINT = _SIGN + r"\d{1,3}\.\d{3}"  # 1.234: the same question the other way round
_UNITS = r"^[^\d\-+.,]+|[^\d.,]+$"  # "£2.55", "3 pcs", "12,5 €"


def drop_blank(chunk: pd.DataFrame, report: FileReport) -> pd.DataFrame:
    blank = chunk.isna().all(axis=1)
    if blank.any():
        report.drop("blank_line", Message('the line is empty'), chunk.index[blank])
        chunk = chunk[~blank]
    return chunk


def strip_cells(df: pd.DataFrame) -> pd.DataFrame:
    """Surrounding spaces removed; a cell holding only spaces counts as empty."""
    out = {}
    for col in df.columns:
        s = df[col]
        stripped = s.str.strip()
        out[col] = stripped.where(stripped != "")
    return pd.DataFrame(out, index=df.index)


def limit_sizes(df: pd.DataFrame, report: FileReport, source_cols: dict[str, str]) -> pd.DataFrame:
    """Rows with a giant cell are dropped; long text is cut; over-long ids drop the row. Says which column."""
    bad = pd.Series(False, index=df.index)
    for col in df.columns:
        lengths = df[col].str.len()
        if not (lengths > min(MAX_ID_CHARS, MAX_TEXT_CHARS)).any():
            continue
        name = source_cols.get(col, col)
        huge = lengths > MAX_FIELD_CHARS
        if col in ID_FIELDS:
            too_long = (lengths > MAX_ID_CHARS) & ~huge
            report.drop(f"{col}_too_long", Message('column {name!r}: an id longer than {max_id_chars} characters', name=name, max_id_chars=MAX_ID_CHARS),
                        df.index[too_long])
            bad |= too_long
        if huge.any():
            report.drop("field_too_large",
                        Message('column {name!r}: a cell larger than {max_field_chars:,} characters (largest: {n_value:,}); not shop data, the row is skipped', name=name, max_field_chars=MAX_FIELD_CHARS, n_value=int(lengths.max())), df.index[huge])
            bad |= huge
        cut = (lengths > MAX_TEXT_CHARS) & ~huge
        if col not in ID_FIELDS and cut.any():
            df[col] = df[col].where(~cut, df[col].str.slice(0, MAX_TEXT_CHARS))
            lines = ", ".join(map(str, df.index[cut][:5]))
            report.warn(Message('column {name!r}: {n_value} cell(s) longer than {max_text_chars:,} characters were cut to that length (lines {lines})', name=name, n_value=int(cut.sum()), max_text_chars=MAX_TEXT_CHARS, lines=lines))
    return df[~bad]


def require(df: pd.DataFrame, fields: tuple[str, ...], report: FileReport, source_cols: dict[str, str]) -> pd.DataFrame:
    for f in fields:
        missing = df[f].isna()
        if missing.any():
            report.drop(f"missing_{f}", Message('no {f} (column {value!r} is empty)', f=f, value=source_cols.get(f, f)), df.index[missing])
            df = df[~missing]
    return df


def normalise_ids(s: pd.Series) -> pd.Series:
    """Ids exported through a float column (17850.0) become 17850, so they match the same id elsewhere."""
    if s.str.endswith(".0").any():
        return s.str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
    return s


class Deduplicator:
    """Exact duplicate lines of one file, across chunks (a 64-bit hash per row)."""

    def __init__(self) -> None:
        self.seen = np.empty(0, dtype=np.uint64)

    def drop(self, raw: pd.DataFrame, keep_index: pd.Index, report: FileReport) -> pd.Index:
        rows = raw.loc[keep_index]
        if rows.empty:
            return keep_index
        h = pd.Series(pd.util.hash_pandas_object(rows, index=False).to_numpy())
        dup = h.duplicated().to_numpy() | h.isin(self.seen).to_numpy()
        self.seen = np.concatenate([self.seen, h.to_numpy()[~dup]])
        if dup.any():
            report.drop("duplicate_row", Message('the same line appears earlier in the file (kept once)'), keep_index[dup])
        return keep_index[~dup]


def _example(values: pd.Series, mask: pd.Series) -> Message:
    return Message("{value!r} on line {line}", value=values[mask].iloc[0][:40], line=int(values.index[mask][0]))


def decimal_mark(values: pd.Series, separator: str, column: str, known: str | None = None) -> str | None:
    """The column's decimal mark, "," or "." (None: no value holds one), read from its values.

    `known` is what earlier chunks of the file decided. Raises ValueError naming an example when the column mixes
    both marks, or holds only values such as 1,234 / 1.234 that read either way (a thousand, or one point two).
    """
    core = values.dropna().str.replace(_UNITS, "", regex=True)
    comma = core.str.fullmatch(_COMMA_DECIMAL).fillna(False).astype(bool)
    point = core.str.fullmatch(_POINT_DECIMAL).fillna(False).astype(bool)
    if (comma.any() or known == ",") and (point.any() or known == "."):
        said = {",": Message("decimal commas"), ".": Message("decimal points")}
        if known:
            other = point if known == "," else comma
            raise ValueError(Message('switches from {said} earlier in the file to {said2} ({value}); export it with one decimal mark', said=said[known], said2=said['.' if known == ',' else ','], value=_example(core, other)))
        raise ValueError(Message('mixes decimal commas ({value}) and decimal points ({value2}); export it with one decimal mark', value=_example(core, comma), value2=_example(core, point)))
    if comma.any() or known == ",":
        return ","
    if point.any() or known == ".":
        return "."
    one_comma = core.str.fullmatch(_ONE_GROUP_COMMA).fillna(False).astype(bool)
    one_point = core.str.fullmatch(_ONE_GROUP_POINT).fillna(False).astype(bool)
    if one_comma.any() and separator != ",":  # in a comma file such a cell had to be quoted: US thousands
        raise ValueError(Message('numbers such as {value} could be thousands or decimals (1,234 = 1234 or 1.234?); export them without thousands separators', value=_example(core, one_comma)))
    if one_comma.any():
        return "."
    if one_point.any() and separator == ";":  # ; files come from decimal-comma locales, where 1.234 is 1234
        raise ValueError(Message('numbers such as {value} in a semicolon-separated file could be thousands or decimals (1.234 = 1234 or 1.234?); export them without thousands separators', value=_example(core, one_point)))
    return "." if one_point.any() else None


def to_number(df: pd.DataFrame, col: str, report: FileReport, source_cols: dict[str, str], mark: str | None = None
              ) -> pd.DataFrame:
    """Numeric column (the returned frame); `mark` is the column's decimal mark from `decimal_mark`.

    inf / -inf / NaN cells drop their row (named with the value); text that is not a number becomes empty, with a
    warning (the row stays).
    """
    if col not in df.columns:
        return df
    name = source_cols.get(col, col)
    raw = df[col]
    non_finite = raw.str.fullmatch(_NON_FINITE, case=False).fillna(False).astype(bool)
    if non_finite.any():
        report.drop(f"non_finite_{col}", Message('column {name!r}: {value} is not a finite number', name=name, value=_example(raw, non_finite)),
                    df.index[non_finite])
        df, raw = df[~non_finite], raw[~non_finite]
    core = raw.str.replace(_UNITS, "", regex=True)
    if mark == ",":
        core = core.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        core = core.str.replace(",", "", regex=False)
    num = pd.to_numeric(core, errors="coerce")
    num = num.where(np.isfinite(num))  # 1e999 overflows to inf: not a number either
    bad = raw.notna() & num.isna()
    if bad.any():
        lines = ", ".join(map(str, df.index[bad][:5]))
        report.warn(Message('column {name!r}: {n_value} value(s) such as {value!r} are not numbers and were left empty (lines {lines})', name=name, n_value=int(bad.sum()), value=raw[bad].iloc[0][:40], lines=lines))
    df[col] = num.astype("float64")
    return df
