"""Reading exposure logs: mapping guessed from names, correctable, and errors that name the column and rows."""

from __future__ import annotations

import gzip
import io

import pandas as pd
import pytest

from core.abtest.log_reader import guess_log_mapping, parse_mapping, read_log, read_table
from tests.conftest import shared_path


def test_udacity_zip_member_is_read_and_mapping_guessed():
    frame, mapping = read_log(shared_path("udacity_ab_test", "ab_data.csv.zip"))
    assert mapping == {"user_id": "user_id", "variant": "group", "converted": "converted",
                       "timestamp": "timestamp", "page": "landing_page"}
    assert len(frame) == 294_478
    assert set(frame["variant"]) == {"control", "treatment"}
    assert frame["timestamp"].min() >= pd.Timestamp("2017-01-02") and frame["timestamp"].max() < pd.Timestamp("2017-01-25")
    assert frame["converted"].mean() == pytest.approx(0.1197, abs=1e-4)  # SOURCE.md


def test_semicolon_gzip_with_words_and_an_explicit_mapping():
    text = "Kunde;Gruppe;Kauf;Umsatz;Vorher\nk1;A;yes;10,5;3\nk2;B;no;0;1\nk3;B;Yes;7;0\n"
    raw = gzip.compress(text.replace("10,5", "10.5").encode("latin-1"))
    mapping = parse_mapping("user_id=Kunde, variant=Gruppe, converted=Kauf, revenue=Umsatz, pre_metric=Vorher")
    frame, used = read_log(io.BytesIO(raw), mapping, name="log.csv.gz")
    assert used == mapping
    assert frame["converted"].tolist() == [1, 0, 1]
    assert frame["revenue"].tolist() == [10.5, 0.0, 7.0]
    assert frame["pre_metric"].tolist() == [3.0, 1.0, 0.0]
    assert list(frame["user_id"]) == ["k1", "k2", "k3"]


def test_errors_name_the_column_and_rows():
    bad = b"user,arm,converted\n1,a,1\n2,b,2\n3,b,0\n"
    with pytest.raises(ValueError, match=r"'converted'.*line\(s\) \[3\]"):
        read_log(io.BytesIO(bad))
    no_variant = b"user,converted\n1,1\n"
    with pytest.raises(ValueError, match="no column for \\['variant'\\]"):
        read_log(io.BytesIO(no_variant))
    with pytest.raises(ValueError, match="'nope'"):
        read_log(io.BytesIO(b"user,arm,converted\n1,a,1\n"), {"variant": "nope"})
    with pytest.raises(ValueError, match="revenue.*must be numeric.*\\[2\\]"):
        read_log(io.BytesIO(b"user,arm,converted,revenue\n1,a,1,abc\n"))
    with pytest.raises(ValueError, match=r"'user' \(user_id\) is empty on line\(s\) \[3\]"):
        read_log(io.BytesIO(b"user,arm,converted\n1,a,1\n,b,0\n"))
    with pytest.raises(ValueError, match="PDF"):
        read_log(io.BytesIO(b"%PDF-1.4 not a csv"), name="log.csv")
    with pytest.raises(ValueError, match="unknown column 'colour'"):
        parse_mapping("colour=x")


def test_guess_prefers_exact_names_and_never_reuses_a_column():
    assert guess_log_mapping(["Visitor ID", "Test Group", "Purchased", "Order Value"]) == {
        "user_id": "Visitor ID", "variant": "Test Group", "converted": "Purchased", "revenue": "Order Value"}
    assert read_table(io.BytesIO(b"a\tb\n1\t2\n"), "t.tsv").columns.tolist() == ["a", "b"]
