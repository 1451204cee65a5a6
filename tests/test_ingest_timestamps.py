"""Timestamp formats a shop's export may use, detected from the data and parsed to naive UTC."""

from __future__ import annotations

import pandas as pd
import pytest

from core.ingest import timestamps as ts


def _detect_parse(values):
    s = pd.Series(values, dtype="str")
    fmt = ts.detect(s)
    assert fmt is not None, values
    return fmt, ts.parse(s, fmt.format).tolist()


@pytest.mark.parametrize(
    "values, expected_format, first",
    [
        (["2010-12-01 08:26:00", "2011-01-02 10:00:00"], ts.ISO, "2010-12-01 08:26:00"),
        (["2024-03-01T10:00:00+02:00", "2024-03-02T10:00:00Z"], ts.ISO, "2024-03-01 08:00:00"),
        (["2024-03-01"], ts.ISO, "2024-03-01 00:00:00"),
        (["1/12/2010 08:26", "13/12/2010 09:00"], "%d/%m/%Y %H:%M", "2010-12-01 08:26:00"),
        (["12/1/2010 08:26", "12/13/2010 09:00"], "%m/%d/%Y %H:%M", "2010-12-01 08:26:00"),
        (["31.01.2024 17:45:10"], "%d.%m.%Y %H:%M:%S", "2024-01-31 17:45:10"),
        (["2024/01/31 17:45"], "%Y/%m/%d %H:%M", "2024-01-31 17:45:00"),
        (["2024年1月3日 10:00:00"], "%Y年%m月%d日 %H:%M:%S", "2024-01-03 10:00:00"),
        (["1700000000", "1700000100"], ts.UNIX_SECONDS, "2023-11-14 22:13:20"),
        (["1700000000123", "1700000100000"], ts.UNIX_MILLIS, "2023-11-14 22:13:20.123000"),
        (["20240131"], "%Y%m%d", "2024-01-31 00:00:00"),
    ],
)
def test_formats(values, expected_format, first):
    fmt, parsed = _detect_parse(values)
    assert fmt.format == expected_format
    assert str(parsed[0]) == first


def test_ambiguous_day_month_is_read_day_first_with_a_warning():
    fmt, parsed = _detect_parse(["01/02/2020", "03/04/2020"])
    assert fmt.format == "%d/%m/%Y" and "day/month" in fmt.warning
    assert str(parsed[0]) == "2020-02-01 00:00:00"


def test_garbage_and_small_numbers_are_not_timestamps():
    assert ts.detect(pd.Series(["yesterday", "soon"], dtype="str")) is None
    assert ts.detect(pd.Series(["3", "4"], dtype="str")) is None


def test_values_outside_the_format_or_era_become_missing():
    parsed = ts.parse(pd.Series(["2024-01-01", "2024-13-01", "1850-01-01", None], dtype="str"), ts.ISO)
    assert parsed.notna().tolist() == [True, False, False, False]
    assert str(parsed.dtype) == "datetime64[us]"
