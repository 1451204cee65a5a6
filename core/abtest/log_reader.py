"""Read an exposure log (CSV, optionally zipped or gzipped) into the canonical exposure frame.

The mapping says which of the file's columns is which canonical column (core.schema.EXPOSURES); `guess_mapping`
proposes one from common names that the page shows for correction.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from core.schema import EXPOSURES

# Canonical column -> lower-case names shops use for it, best first.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "user_id": ("user_id", "userid", "user", "customer_id", "customer", "visitor_id", "client_id", "uid", "id"),
    "variant": ("variant", "group", "arm", "bucket", "treatment_group", "test_group", "version", "variation"),
    "converted": ("converted", "conversion", "purchased", "purchase", "is_converted", "ordered", "success"),
    "timestamp": ("timestamp", "exposed_at", "exposure_time", "time", "date", "datetime", "ts", "event_time"),
    "revenue": ("revenue", "amount", "sales", "order_value", "spend", "value", "gmv"),
    "pre_metric": ("pre_metric", "pre_revenue", "pre_period", "pre_period_revenue", "history", "prior_revenue"),
    "page": ("page", "landing_page", "shown_page", "page_version", "experience"),
}
TRUE_WORDS = {"1", "true", "yes", "y", "t", "converted"}
FALSE_WORDS = {"0", "false", "no", "n", "f", ""}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """Canonical column -> file column, for every canonical column a file column plausibly names."""
    by_norm = {_norm(c): c for c in columns}
    used: set[str] = set()
    mapping: dict[str, str] = {}
    for canon in EXPOSURES.columns:
        for word in SYNONYMS[canon]:
            col = by_norm.get(word)
            if col is not None and col not in used:
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
    """The raw table: CSV (separator sniffed), .csv.gz, or a .zip holding one CSV (macOS '__MACOSX' entries skipped)."""
    name = name or (str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "upload"))
    raw = Path(source).read_bytes() if isinstance(source, (str, Path)) else source.read()
    if raw[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            members = [m for m in zf.namelist() if not m.startswith("__MACOSX") and not m.endswith("/")]
            csvs = [m for m in members if m.lower().endswith((".csv", ".txt", ".tsv"))] or members
            if len(csvs) != 1:
                raise ValueError(f"{name}: the zip must hold exactly one CSV file, it holds {csvs}")
            raw = zf.read(csvs[0])
    elif raw[:2] == b"\x1f\x8b":
        import gzip

        raw = gzip.decompress(raw)
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    try:
        return pd.read_csv(io.StringIO(text), sep=_sniff_sep(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ValueError(f"{name}: not a readable CSV ({exc})") from exc


def _sniff_sep(text: str) -> str:
    head = text[: text.find("\n")] if "\n" in text else text
    return max([",", ";", "\t", "|"], key=head.count)


def _to_converted(values: pd.Series, column: str) -> pd.Series:
    if pd.api.types.is_bool_dtype(values):
        return values.astype(int)
    if pd.api.types.is_numeric_dtype(values):
        bad = values.isna() | ~values.isin([0, 1])
        if bad.any():
            rows = (np.flatnonzero(bad.to_numpy())[:5] + 2).tolist()
            raise ValueError(f"column {column!r} (converted) must be 0/1; file row(s) {rows} are not")
        return values.astype(int)
    words = values.astype(str).str.strip().str.lower()
    good = words.isin(TRUE_WORDS | FALSE_WORDS)
    if not good.all():
        rows = (np.flatnonzero(~good.to_numpy())[:5] + 2).tolist()
        raise ValueError(f"column {column!r} (converted) must be 0/1 or yes/no; file row(s) {rows} are not")
    return words.isin(TRUE_WORDS).astype(int)


def to_exposures(table: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """Apply the mapping: canonical columns with canonical types, file order kept."""
    missing = [c for c in EXPOSURES.required if c not in mapping]
    if missing:
        raise ValueError(f"the mapping has no column for {missing}; map them to columns of {list(table.columns)}")
    absent = {k: v for k, v in mapping.items() if v not in table.columns}
    if absent:
        raise ValueError(f"mapped column(s) {absent} are not in the file (columns: {list(table.columns)})")
    out = pd.DataFrame(index=table.index)
    out["user_id"] = table[mapping["user_id"]].astype(str)
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
                rows = (np.flatnonzero(bad.to_numpy())[:5] + 2).tolist()
                raise ValueError(f"column {mapping[col]!r} ({col}) must be numeric; file row(s) {rows} are not")
            out[col] = values.astype(float)
    if "page" in mapping:
        out["page"] = table[mapping["page"]].astype(str).str.strip()
    return out.reset_index(drop=True)


def read_log(source: str | Path | IO[bytes], mapping: dict[str, str] | None = None,
             name: str | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    """Read and map a log; without a mapping the guessed one is used. Returns (exposure frame, mapping used)."""
    table = read_table(source, name)
    used = dict(guess_mapping(list(table.columns)))
    used.update(mapping or {})
    return to_exposures(table, used), used
