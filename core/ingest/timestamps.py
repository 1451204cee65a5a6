"""Turning a shop's timestamp column into naive-UTC datetimes, whatever form the export used.

The format is decided once per file from a sample (ISO text, common local formats, Unix seconds or milliseconds)
and then applied to every chunk with a fixed format, which is fast and consistent. Day/month order is read from
the data (a first part above 12 means d/m); when the sample cannot tell, d/m is assumed and a warning says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.i18n import Message

UNIX_SECONDS = "unix-seconds"
UNIX_MILLIS = "unix-milliseconds"
ISO = "ISO8601"
MIN_YEAR, MAX_YEAR = 1990, 2100
_TIMES = ("%H:%M:%S", "%H:%M", "%H:%M:%S.%f", "%I:%M %p", "%I:%M:%S %p")
_DAY_FIRST = [f"%d/%m/%Y {t}" for t in _TIMES] + ["%d/%m/%Y", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
                                                  "%d-%m-%Y %H:%M:%S", "%d-%m-%Y %H:%M", "%d-%m-%Y",
                                                  "%d/%m/%y %H:%M", "%d/%m/%y"]
_MONTH_FIRST = [f.replace("%d/%m", "%m/%d").replace("%d.%m", "%m.%d").replace("%d-%m", "%m-%d") for f in _DAY_FIRST]
_OTHER = ["%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%Y.%m.%d %H:%M:%S", "%Y.%m.%d",
          "%Y年%m月%d日 %H:%M:%S", "%Y年%m月%d日 %H:%M", "%Y年%m月%d日", "%Y%m%d%H%M%S", "%Y%m%d",
          "%d %b %Y %H:%M", "%d %b %Y", "%b %d %Y %H:%M", "%b %d %Y", "%d %B %Y", "%B %d, %Y"]
KNOWN_FORMATS = (ISO, UNIX_SECONDS, UNIX_MILLIS, *_DAY_FIRST, *_MONTH_FIRST, *_OTHER)


@dataclass
class TimestampFormat:
    format: str  # ISO8601, unix-seconds, unix-milliseconds or a strftime pattern
    warning: str | None = None


def _plausible(ts: pd.Series) -> pd.Series:
    years = ts.dt.year
    return ts.notna() & (years >= MIN_YEAR) & (years <= MAX_YEAR)


def parse(values: pd.Series, fmt: str) -> pd.Series:
    """`values` (text) as datetime64 naive UTC; NaT where a value does not fit `fmt` or is implausible."""
    text = values.astype("str").str.strip()
    if fmt in (UNIX_SECONDS, UNIX_MILLIS):
        num = pd.to_numeric(text, errors="coerce")
        ts = pd.to_datetime(num, unit="s" if fmt == UNIX_SECONDS else "ms", errors="coerce")
    elif fmt == ISO:
        ts = pd.to_datetime(text, format=ISO, errors="coerce", utc=True).dt.tz_convert(None)
    else:
        ts = pd.to_datetime(text, format=fmt, errors="coerce")
    ts = ts.astype("datetime64[us]")
    return ts.where(_plausible(ts))


def check_format(fmt: str) -> None:
    """ValueError when `fmt` is not a usable timestamp format (e.g. an unknown strftime code such as %Q)."""
    if fmt not in (ISO, UNIX_SECONDS, UNIX_MILLIS):
        parse(pd.Series(["2024-01-01 00:00:00"]), fmt)


def detect(sample: pd.Series, fmt: str | None = None) -> TimestampFormat | None:
    """The format that parses most of the sample's non-empty values (None when nothing fits half of them)."""
    values = sample.dropna().astype("str").str.strip()
    values = values[values != ""].head(2000)
    if fmt:
        return TimestampFormat(fmt)
    if values.empty:
        return None
    if values.str.fullmatch(r"-?\d+(\.\d+)?").all():
        num = pd.to_numeric(values, errors="coerce")
        med = float(np.nanmedian(num))
        if 1e11 <= abs(med) < 1e14:
            return TimestampFormat(UNIX_MILLIS)
        if 1e8 <= abs(med) < 1e11:
            return TimestampFormat(UNIX_SECONDS)
        if not values.str.len().isin([8, 14]).all():  # 20240131 / 20240131235959 are dates, not epochs
            return None
    scores = {}
    for candidate in (ISO, *_DAY_FIRST, *_MONTH_FIRST, *_OTHER):
        if candidate == ISO and values.str.match(r"\d{4}-\d{1,2}-\d{1,2}").mean() < 0.5:
            continue
        ok = int(parse(values, candidate).notna().sum())
        if ok:
            scores[candidate] = ok
        if ok == len(values) and candidate == ISO:
            break
    if not scores:
        return None
    best = max(scores.values())
    if best < 0.5 * len(values):
        return None
    winners = [f for f in scores if scores[f] == best]  # candidate order: ISO, day-first, month-first, other
    chosen = winners[0]
    warning = None
    if chosen in _DAY_FIRST:
        twin = _MONTH_FIRST[_DAY_FIRST.index(chosen)]
        if twin in winners:
            warning = Message("timestamps such as {value!r} could be day/month or month/day; read as day/month "
                              "({chosen}). Set the timestamp format if that is wrong.", value=values.iloc[0], chosen=chosen)
    return TimestampFormat(chosen, warning)
