"""Row-level cleaning of one chunk: blank rows, oversize fields, formula cells, missing fields, duplicates, ids,
numbers and the flags that keep cancellations and returns from ever counting as purchases.

Each function takes the chunk (indexed by file line number) and the file's report, records what it did with
example line numbers, and returns the rows that stay.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.ingest.report import FileReport

MAX_FIELD_CHARS = 65_536  # no real shop cell is this large; a row holding one is dropped
MAX_TEXT_CHARS = 10_000  # titles/descriptions/attributes longer than this are cut to it
MAX_ID_CHARS = 128  # the store's id columns
TEXT_FIELDS = ("title", "description", "category", "brand", "region", "gender")
ID_FIELDS = ("user_id", "item_id")
_FORMULA = r"^[=+\-@\t\r]"
_NUMBER = r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?"


def drop_blank(chunk: pd.DataFrame, report: FileReport) -> pd.DataFrame:
    blank = chunk.isna().all(axis=1)
    if blank.any():
        report.drop("blank_line", "the line is empty", chunk.index[blank])
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
            report.drop(f"{col}_too_long", f"column {name!r}: an id longer than {MAX_ID_CHARS} characters",
                        df.index[too_long])
            bad |= too_long
        if huge.any():
            report.drop("field_too_large",
                        f"column {name!r}: a cell larger than {MAX_FIELD_CHARS:,} characters "
                        f"(largest: {int(lengths.max()):,}); not shop data, the row is skipped", df.index[huge])
            bad |= huge
        cut = (lengths > MAX_TEXT_CHARS) & ~huge
        if col not in ID_FIELDS and cut.any():
            df[col] = df[col].where(~cut, df[col].str.slice(0, MAX_TEXT_CHARS))
            lines = ", ".join(map(str, df.index[cut][:5]))
            report.warn(f"column {name!r}: {int(cut.sum())} cell(s) longer than {MAX_TEXT_CHARS:,} characters were "
                        f"cut to that length (lines {lines})")
    return df[~bad]


def neutralise_formulas(df: pd.DataFrame, report: FileReport, source_cols: dict[str, str],
                        skip: tuple[str, ...] = ()) -> pd.DataFrame:
    """Cells that a spreadsheet would run as a formula (=, +, -, @ first) get a leading apostrophe.

    Ids that look like formulas cannot be real ids: those rows are dropped. Numbers such as -3 are left alone.
    """
    bad = pd.Series(False, index=df.index)
    neutralised = pd.Series(False, index=df.index)
    for col in df.columns:
        if col in skip:
            continue
        s = df[col]
        risky = s.str.match(_FORMULA).fillna(False).astype(bool)
        if not risky.any():
            continue
        risky &= ~s.str.fullmatch(_NUMBER).fillna(False).astype(bool)
        if not risky.any():
            continue
        name = source_cols.get(col, col)
        if col in ID_FIELDS:
            report.drop(f"formula_in_{col}",
                        f"column {name!r}: the id looks like a spreadsheet formula (e.g. {s[risky].iloc[0][:40]!r})",
                        df.index[risky])
            bad |= risky
        else:
            df[col] = s.where(~risky, "'" + s)
            neutralised |= risky
            report.warn(f"column {name!r}: formula-like cells were neutralised (e.g. {s[risky].iloc[0][:40]!r})")
    report.flag("formula_neutralised",
                "a cell started with =, +, - or @ (a spreadsheet formula such as =cmd|' /C calc'!A0); "
                "stored with a leading apostrophe so no spreadsheet runs it", df.index[neutralised & ~bad])
    return df[~bad]


def require(df: pd.DataFrame, fields: tuple[str, ...], report: FileReport, source_cols: dict[str, str]) -> pd.DataFrame:
    for f in fields:
        missing = df[f].isna()
        if missing.any():
            report.drop(f"missing_{f}", f"no {f} (column {source_cols.get(f, f)!r} is empty)", df.index[missing])
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
            report.drop("duplicate_row", "the same line appears earlier in the file (kept once)", keep_index[dup])
        return keep_index[~dup]


def to_number(df: pd.DataFrame, col: str, report: FileReport, source_cols: dict[str, str]) -> None:
    """Numeric column in place; text that is not a number becomes empty, with a warning (the row stays)."""
    if col not in df.columns:
        return
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce")
    bad = raw.notna() & num.isna()
    if bad.any():  # second chance for "£2.55", "1,234.50", "3 pcs"
        cleaned = raw[bad].str.replace(r"^[^\d\-+.]+|[^\d]+$|,", "", regex=True)
        num = num.where(~bad, pd.to_numeric(cleaned, errors="coerce"))
        bad = raw.notna() & num.isna()
    if bad.any():
        lines = ", ".join(map(str, df.index[bad][:5]))
        report.warn(f"column {source_cols.get(col, col)!r}: {int(bad.sum())} value(s) such as "
                    f"{raw[bad].iloc[0][:40]!r} are not numbers and were left empty (lines {lines})")
    df[col] = num.astype("float64")
