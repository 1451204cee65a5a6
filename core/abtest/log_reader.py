"""Read an exposure log (CSV, .csv.gz or a one-file .zip) into the canonical exposure frame.

Opening and sniffing (encoding, separator, damaged or binary files) is the ingestion reader's (core.ingest.reader),
and column names are compared the way the data upload compares them (core.ingest.mapping.normalise), so an
exposure log goes in like any other upload. The mapping says which file column is which canonical column
(core.schema.EXPOSURES); `guess_log_mapping` proposes one that the page shows for correction.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import pandas as pd

from core.ingest.mapping import ALIASES, normalise
from core.ingest.reader import Source, read_chunks, sniff
from core.ingest.report import IngestError
from core.schema import EXPOSURES

# Canonical column -> normalised names shops use for it, best first (user and time as in the data upload).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "user_id": ("userid", *ALIASES["user_id"], "id"),
    "variant": ("variant", "group", "arm", "bucket", "treatmentgroup", "testgroup", "version", "variation",
                "experimentgroup", "cohort", "分组", "实验组"),
    "converted": ("converted", "conversion", "purchased", "isconverted", "ordered", "success", "转化", "是否转化"),
    "timestamp": ("exposedat", "exposuretime", "exposuredate", *ALIASES["timestamp"]),
    "revenue": ("revenue", "amount", "sales", "ordervalue", "spend", "value", "gmv", "收入", "销售额"),
    "pre_metric": ("premetric", "prerevenue", "preperiod", "preperiodrevenue", "prior", "priorrevenue", "history"),
    "page": ("page", "landingpage", "shownpage", "pageversion", "experience", "落地页", "页面"),
}
TRUE_WORDS = {"1", "1.0", "true", "yes", "y", "t", "converted"}
FALSE_WORDS = {"0", "0.0", "false", "no", "n", "f", ""}


def guess_log_mapping(columns: list[str]) -> dict[str, str]:
    """Canonical column -> file column, for every canonical column a file column plausibly names (each used once)."""
    norm = {c: normalise(c) for c in columns}
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for canon in EXPOSURES.columns:
        for word in SYNONYMS[canon]:
            col = next((c for c in columns if norm[c] == word and c not in used), None)
            if col is not None:
                mapping[canon] = col
                used.add(col)
                break
    return mapping


def parse_mapping(text: str) -> dict[str, str]:
    """'user_id=uid,variant=group' -> {'user_id': 'uid', 'variant': 'group'} (the CLI's --mapping)."""
    mapping: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ValueError(f"mapping entry {part!r} is not canonical=column")
        key, col = (s.strip() for s in part.split("=", 1))
        if key not in EXPOSURES.columns:
            raise ValueError(f"mapping names unknown column {key!r}; known: {', '.join(EXPOSURES.columns)}")
        mapping[key] = col
    return mapping


def read_table(source: str | Path | IO[bytes], name: str | None = None) -> pd.DataFrame:
    """The raw table as text, indexed by file line number (header = line 1). Unreadable files raise ValueError."""
    if isinstance(source, (str, Path)):
        src = Source("exposures", Path(source), name or Path(source).name)
    else:
        src = Source("exposures", source.read(), name or getattr(source, "name", "upload.csv"))
    try:
        fmt = sniff(src)
        chunks = list(read_chunks(src, fmt))
    except IngestError as exc:
        raise ValueError(str(exc)) from exc
    return pd.concat(chunks) if chunks else pd.DataFrame(columns=fmt.header)


def _lines(mask: pd.Series) -> list[int]:
    """File line numbers (the table's index) of the first few rows where `mask` holds."""
    return [int(i) for i in mask.index[mask.to_numpy()][:5]]


def _to_converted(values: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(int)
    if pd.api.types.is_numeric_dtype(values):
        bad = values.isna() | ~values.isin([0, 1])
        if bad.any():
            raise ValueError(f"column {column!r} (converted) must be 0/1; line(s) {_lines(bad)} are not")
        return values.astype(int)
    words = values.astype(str).str.strip().str.lower()
    good = words.isin(TRUE_WORDS | FALSE_WORDS)
    if not good.all():
        raise ValueError(f"column {column!r} (converted) must be 0/1 or yes/no; line(s) {_lines(~good)} are not")
    return words.isin(TRUE_WORDS).astype(int)


def to_exposures(table: pd.DataFrame, mapping: dict[str, str], orders: str | None = None,
                 segments: list[str] | tuple[str, ...] = ()) -> pd.DataFrame:
    """Apply the mapping: canonical columns with canonical types, file order kept.

    `orders`: a file column of orders per user, read as a number into column "orders" (for orders per user and
    average order value); `segments`: file columns kept as text under their own names (segment breakdowns).
    """
    missing = [c for c in EXPOSURES.required if c not in mapping]
    if missing:
        raise ValueError(f"the mapping has no column for {missing}; map them to columns of {list(table.columns)}")
    absent = {k: v for k, v in mapping.items() if v not in table.columns}
    if absent:
        raise ValueError(f"mapped column(s) {absent} are not in the file (columns: {list(table.columns)})")
    for col in ("user_id", "variant"):
        empty = table[mapping[col]].isna() | (table[mapping[col]].astype(str).str.strip() == "")
        if empty.any():
            raise ValueError(f"column {mapping[col]!r} ({col}) is empty on line(s) {_lines(empty)}")
    out = pd.DataFrame(index=table.index)
    out["user_id"] = table[mapping["user_id"]].astype(str).str.strip()
    out["variant"] = table[mapping["variant"]].astype(str).str.strip()
    out["converted"] = _to_converted(table[mapping["converted"]], mapping["converted"])
    if "timestamp" in mapping:
        ts = pd.to_datetime(table[mapping["timestamp"]], errors="coerce", format="mixed")
        if ts.isna().all():
            raise ValueError(f"column {mapping['timestamp']!r} (timestamp) holds no readable dates")
        out["timestamp"] = ts
    for col in ("revenue", "pre_metric"):
        if col in mapping:
            values = pd.to_numeric(table[mapping[col]], errors="coerce")
            bad = values.isna() & table[mapping[col]].notna()
            if bad.any():
                raise ValueError(f"column {mapping[col]!r} ({col}) must be numeric; line(s) {_lines(bad)} are not")
            out[col] = values.astype(float)
    if "page" in mapping:
        out["page"] = table[mapping["page"]].astype(str).str.strip()
    extra = [c for c in (orders, *segments) if c is not None and c not in table.columns]
    if extra:
        raise ValueError(f"column(s) {extra} are not in the file (columns: {list(table.columns)})")
    if orders is not None:
        values = pd.to_numeric(table[orders], errors="coerce")
        bad = (values.isna() & table[orders].notna()) | (values < 0)
        if bad.any():
            raise ValueError(f"column {orders!r} (orders) must be a non-negative number; line(s) {_lines(bad)} are not")
        out["orders"] = values.fillna(0.0).astype(float)
    for col in segments:
        if col in out:
            raise ValueError(f"segment column {col!r} clashes with a canonical column; rename it in the file")
        out[col] = table[col].astype(str).str.strip()
    return out.reset_index(drop=True)


def read_log(source: str | Path | IO[bytes], mapping: dict[str, str] | None = None,
             name: str | None = None, orders: str | None = None,
             segments: list[str] | tuple[str, ...] = ()) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read and map a log; without a mapping the guessed one is used. Returns (exposure frame, mapping used)."""
    table = read_table(source, name)
    used = dict(guess_log_mapping(list(table.columns)))
    used.update(mapping or {})
    return to_exposures(table, used, orders=orders, segments=segments), used
