"""Every kind of bad upload: a clear message naming the problem and where, and a store left exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.ingest import IngestOptions, Source, Upload, ingest_into_store
from db.engine import session_scope
from db.shop_read import store_counts
from db.tables import Event, Item, User

EVENTS_HEADER = "user_id,item_id,action,time\n"


def _upload(url: str, tmp_path: Path, kind: str, content: bytes | str, name: str = "upload.csv", **options):
    data = content.encode("utf-8") if isinstance(content, str) else content
    path = tmp_path / name
    path.write_bytes(data)
    return ingest_into_store(url, [Upload(Source(kind, path))], IngestOptions(**options))


def _counts(url: str) -> dict:
    with session_scope(url) as s:
        return store_counts(s).as_dict()


@pytest.fixture
def seeded(store_url: str, tmp_path: Path) -> str:
    """A store that already holds a small shop, so 'unchanged' means something."""
    seed = tmp_path / "seed"
    seed.mkdir()
    report = _upload(store_url, seed, "events", EVENTS_HEADER + "u1,i1,view,2024-01-01 10:00\nu2,i2,buy,2024-01-02 11:00\n")
    assert report.accepted, report.error
    return store_url


def _rejected(url: str, before: dict, report, *phrases: str) -> None:
    assert not report.accepted
    for phrase in phrases:
        assert phrase in report.error, report.error
    assert _counts(url) == before, "a rejected upload changed the store"


def test_empty_file(seeded, tmp_path):
    before = _counts(seeded)
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", b"", name="empty.csv"),
              "file 'empty.csv'", "the file is empty")
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", b"\n\n  \n", name="blank.csv"),
              "blank.csv", "only blank lines")


def test_header_only_file(seeded, tmp_path):
    before = _counts(seeded)
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", EVENTS_HEADER, name="head.csv"),
              "head.csv", "no row could be kept", "no data rows")


def test_binary_files(seeded, tmp_path):
    before = _counts(seeded)
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", png, name="photo.csv"), "photo.csv", "PNG image")
    xlsx = b"PK\x03\x04" + b"\x00" * 200
    _rejected(seeded, before, _upload(seeded, tmp_path, "items", xlsx, name="items.xlsx"), "Excel", "CSV")
    junk = b"user_id,item_id\n" + b"ab\x00\x01\x02" * 50
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", junk, name="junk.csv"),
              "binary file", "NUL byte", "line 2")


def test_wrong_encoding(seeded, tmp_path):
    before = _counts(seeded)
    latin1 = (EVENTS_HEADER + "u1,i1,view,2024-01-01 10:00\nu3,caf\xe9,view,2024-01-01 10:00\n").encode("latin-1")
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", latin1, name="latin.csv"),
              "latin.csv", "neither UTF-8 nor GBK", "line 3", "0xE9")
    gbk = "用户ID,商品ID,行为,时间\n1,苹果,购买,2024-01-01 10:00\n".encode("gbk")
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", gbk, name="gbk.csv", encoding="utf-8"),
              "gbk.csv", "not valid utf-8", "line 1")
    # The first MB is plain ASCII (sniffed as UTF-8); a GBK line far below must still be caught, with its line.
    rows = "".join(f"u{i},i{i % 50},view,2024-01-01 10:00\n" for i in range(40_000))
    mixed = (EVENTS_HEADER + rows).encode() + "u9,苹果,view,2024-01-01 10:00\n".encode("gbk")
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", mixed, name="mixed.csv", chunk_rows=10_000),
              "mixed.csv", "line 40002 is not valid utf-8", "mixes encodings")


def test_missing_required_column(seeded, tmp_path):
    before = _counts(seeded)
    report = _upload(seeded, tmp_path, "events", "user_id,item_id,action\nu1,i1,view\n", name="notime.csv")
    _rejected(seeded, before, report, "notime.csv", "required column timestamp is missing",
              "user_id, item_id, action", "--map COLUMN=timestamp")
    report = _upload(seeded, tmp_path, "items", "item_id,price\ni1,3\n", name="items.csv")
    _rejected(seeded, before, report, "items.csv", "one of the columns title or description")


def test_unparseable_timestamps(seeded, tmp_path):
    before = _counts(seeded)
    bad = EVENTS_HEADER + "u1,i1,view,yesterday\nu2,i2,view,last week\n"
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", bad, name="t.csv"),
              "t.csv", "line 2", "column 'time'", "cannot read the times", "'yesterday'")
    # One bad time among good ones: that row is dropped and named; under --strict the upload is refused.
    some = EVENTS_HEADER + "u1,i1,view,2024-01-05 10:00\nu2,i2,view,2024-13-45 99:00\nu3,i3,view,2024-01-06 10:00\n"
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", some, name="t2.csv", strict=True),
              "strict upload", "1 row(s)", "column 'time': not a valid time", "line 3")
    report = _upload(seeded, tmp_path, "events", some, name="t2.csv")
    assert report.accepted
    issue = report.files[0].dropped["bad_timestamp"]
    assert (issue.count, issue.examples) == (1, [3])
    assert _counts(seeded)["events"] == before["events"] + 2


def test_duplicate_rows(seeded, tmp_path):
    before = _counts(seeded)
    dup = EVENTS_HEADER + "u5,i5,view,2024-02-01 10:00\nu6,i6,view,2024-02-01 10:00\nu5,i5,view,2024-02-01 10:00\n"
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", dup, name="d.csv", strict=True),
              "d.csv", "the same line appears earlier", "line 4")
    report = _upload(seeded, tmp_path, "events", dup, name="d.csv")
    assert report.files[0].dropped["duplicate_row"].examples == [4]
    assert _counts(seeded)["events"] == before["events"] + 2
    # Uploading the same export again adds nothing: every row is already stored.
    again = _upload(seeded, tmp_path, "events", dup, name="d.csv")
    assert not again.accepted and "already in the store" in again.error
    assert _counts(seeded)["events"] == before["events"] + 2


def test_unknown_ids(seeded, tmp_path):
    before = _counts(seeded)
    text = EVENTS_HEADER + "u1,i1,cart,2024-03-01 10:00\nnew_user,i1,view,2024-03-01 10:00\nu2,new_item,view,2024-03-01\n"
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", text, name="u.csv", unknown="drop", strict=True),
              "u.csv", "not in the store")
    report = _upload(seeded, tmp_path, "events", text, name="u.csv", unknown="drop")
    f = report.files[0]
    assert f.dropped["unknown_user"].examples == [3] and f.dropped["unknown_item"].examples == [4]
    after = _counts(seeded)
    assert (after["users"], after["items"], after["events"]) == (before["users"], before["items"], before["events"] + 1)
    report = _upload(seeded, tmp_path, "events", text, name="u.csv", unknown="create")
    assert report.files[0].written["users_created"] == 1 and report.files[0].written["items_created"] == 1
    with session_scope(seeded) as s:
        assert s.query(User).filter_by(external_id="new_user").count() == 1
        assert s.query(Item).filter_by(external_id="new_item").count() == 1


def test_one_megabyte_field(seeded, tmp_path):
    before = _counts(seeded)
    big = "x" * 1_048_576
    text = f"item_id,title,description\ni1,Mug,{big}\ni2,Plate,fine\n"
    _rejected(seeded, before, _upload(seeded, tmp_path, "items", text, name="big.csv", strict=True),
              "big.csv", "column 'description'", "larger than 65,536 characters", "line 2")
    report = _upload(seeded, tmp_path, "items", text, name="big.csv")
    assert report.accepted and report.files[0].dropped["field_too_large"].examples == [2]
    with session_scope(seeded) as s:
        assert s.query(Item).filter_by(external_id="i2").one().description == "fine"
    # Long-but-plausible text is kept, cut to the limit, with a warning naming the column and line.
    long = "y" * 20_000
    report = _upload(seeded, tmp_path, "items", f"item_id,title,description\ni3,Bowl,{long}\n", name="long.csv")
    assert any("'description'" in w and "cut" in w and "lines 2" in w for w in report.files[0].warnings)
    with session_scope(seeded) as s:
        assert len(s.query(Item).filter_by(external_id="i3").one().description) == 10_000


def test_formula_cells_are_stored_as_given_and_escaped_only_in_exports(seeded, tmp_path):
    from core.export import to_csv_bytes

    before = _counts(seeded)
    text = ("item_id,title,category,description\n"
            "i7,\"=cmd|' /C calc'!A0\",@SUM(A1),- 100 transfer pipettes\n"
            "\"=HYPERLINK(\"\"http://x\"\")\",Lamp,Home,+ free case\n"
            "i8,-3 for 2 deal,+Garden,plain\n")
    report = _upload(seeded, tmp_path, "items", text, name="f.csv", strict=True)
    assert report.accepted, report.error
    f = report.files[0]
    assert (f.rows_kept, f.dropped, f.flagged, f.warnings) == (3, {}, {}, [])
    assert _counts(seeded)["items"] == before["items"] + 3
    with session_scope(seeded) as s:
        rows = {i.external_id: (i.title, i.category, i.description) for i in s.query(Item)}
    assert rows["i7"] == ("=cmd|' /C calc'!A0", "@SUM(A1)", "- 100 transfer pipettes")
    assert rows['=HYPERLINK("http://x")'] == ("Lamp", "Home", "+ free case")
    assert rows["i8"] == ("-3 for 2 deal", "+Garden", "plain")
    # The export is where the escaping happens.
    import io

    import pandas as pd

    frame = pd.DataFrame([(k, *v) for k, v in sorted(rows.items()) if k != "i1" and k != "i2"],
                         columns=["item_id", "title", "category", "description"])
    back = pd.read_csv(io.BytesIO(to_csv_bytes(frame)), dtype=str, encoding="utf-8-sig")
    assert back.loc[back["item_id"] == "i7", "title"].item() == "'=cmd|' /C calc'!A0"
    assert back.loc[back["item_id"] == "i7", "description"].item() == "'- 100 transfer pipettes"
    assert "'=HYPERLINK(\"http://x\")" in back["item_id"].tolist()


def test_truncated_last_line(seeded, tmp_path):
    before = _counts(seeded)
    cut = EVENTS_HEADER + "u1,i1,view,2024-01-01 10:00\nu2,i2,vi"
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", cut, name="cut.csv"),
              "cut.csv", "line 3", "the last line is cut off", "3 of the header's 4 columns")
    quoted = 'item_id,title\ni1,Mug\ni2,"Plate, white'
    _rejected(seeded, before, _upload(seeded, tmp_path, "items", quoted, name="q.csv"), "q.csv", "cut off")
    # A complete last line without a line end is fine.
    ok = _upload(seeded, tmp_path, "events", EVENTS_HEADER + "u1,i1,cart,2024-01-01 10:00", name="ok.csv")
    assert ok.accepted and ok.rows_kept == 1


def test_rows_with_too_many_fields(seeded, tmp_path):
    before = _counts(seeded)
    text = EVENTS_HEADER + "u1,i1,view,2024-01-01 10:00\nu2,i2,view,2024-01-01 10:00,extra\n"
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", text, name="wide.csv"),
              "wide.csv", "line 3", "5 fields but the header has 4")


def test_missing_required_values_are_dropped_with_line_numbers(seeded, tmp_path):
    text = EVENTS_HEADER + "u1,i1,view,2024-04-01 10:00\n,i2,view,2024-04-01 10:00\n\nu3,,view,2024-04-01\n"
    report = _upload(seeded, tmp_path, "events", text, name="m.csv")
    f = report.files[0]
    assert f.rows_read == 4 and f.rows_kept == 1
    assert f.dropped["missing_user_id"].examples == [3]
    assert f.dropped["blank_line"].examples == [4]
    assert f.dropped["missing_item_id"].examples == [5]
    with session_scope(seeded) as s:
        assert s.query(Event).count() == 3


def test_a_later_file_failing_rolls_back_the_files_already_written(seeded, tmp_path):
    before = _counts(seeded)
    items = tmp_path / "items.csv"
    items.write_text("item_id,title\nn1,New mug\nn2,New plate\n")
    events = tmp_path / "events.csv"
    rows = "".join(f"u{i},n{1 + i % 2},view,2024-06-01 10:{i % 60:02d}\n" for i in range(300))
    events.write_text(EVENTS_HEADER + rows + "u9,n1,vi")  # cut off after 300 good rows (written in chunks of 100)
    report = ingest_into_store(seeded, [Upload(Source("events", events)), Upload(Source("items", items))],
                               IngestOptions(chunk_rows=100))
    assert [f.file for f in report.files] == ["items.csv", "events.csv"]  # items went in first
    assert report.files[0].rows_kept == 2 and report.files[1].rows_kept == 300  # ...and events were being written
    _rejected(seeded, before, report, "events.csv", "line 302", "cut off")


# ---- numbers: decimal commas, thousands separators, non-finite and negative values ----------------------------------

def _prices(url: str) -> dict[str, float | None]:
    with session_scope(url) as s:
        return {i.external_id: i.price for i in s.query(Item)}


def test_decimal_commas_and_thousands_separators_are_read_per_column(seeded, tmp_path):
    european = "item_id;title;price\np1;Mug;12,5\np2;Lamp;1.234,5\np3;Plate;3\np4;Bowl;€ 0,99\n"
    report = _upload(seeded, tmp_path, "items", european, name="eu.csv", strict=True)
    assert report.accepted, report.error
    prices = _prices(seeded)
    assert (prices["p1"], prices["p2"], prices["p3"], prices["p4"]) == (12.5, 1234.5, 3.0, 0.99)
    us = 'item_id,title,price\nq1,Mug,"1,234.5"\nq2,Lamp,2.25\nq3,Plate,"1,000"\n'
    assert _upload(seeded, tmp_path, "items", us, name="us.csv", strict=True).accepted
    prices = _prices(seeded)
    assert (prices["q1"], prices["q2"], prices["q3"]) == (1234.5, 2.25, 1000.0)
    # The mark is decided for the whole file: a later chunk's 1.500 follows the earlier 2,5 (one and a half thousand).
    chunked = "item_id;title;price\nr1;Mug;2,5\nr2;Lamp;1.500\n"
    assert _upload(seeded, tmp_path, "items", chunked, name="ch.csv", chunk_rows=1).accepted
    assert (_prices(seeded)["r1"], _prices(seeded)["r2"]) == (2.5, 1500.0)


def test_ambiguous_or_mixed_decimal_marks_are_rejected_naming_the_column(seeded, tmp_path):
    before = _counts(seeded)
    ambiguous = "item_id;title;price\np1;Mug;1,234\np2;Lamp;5\n"
    _rejected(seeded, before, _upload(seeded, tmp_path, "items", ambiguous, name="amb.csv"),
              "file 'amb.csv'", "column 'price'", "'1,234' on line 2", "could be thousands or decimals")
    dots = "item_id;title;price\np1;Mug;1.234\n"
    _rejected(seeded, before, _upload(seeded, tmp_path, "items", dots, name="dots.csv"),
              "column 'price'", "'1.234' on line 2", "semicolon-separated")
    mixed = "item_id;title;price\np1;Mug;12,5\np2;Lamp;3.25\n"
    _rejected(seeded, before, _upload(seeded, tmp_path, "items", mixed, name="mix.csv"),
              "column 'price'", "mixes decimal commas ('12,5' on line 2) and decimal points ('3.25' on line 3)")
    switch = "item_id;title;price\np1;Mug;12,5\np2;Lamp;3.25\n"
    _rejected(seeded, before, _upload(seeded, tmp_path, "items", switch, name="sw.csv", chunk_rows=1),
              "column 'price'", "switches from decimal commas", "'3.25' on line 3")


def test_non_finite_prices_are_rejected_cells(seeded, tmp_path):
    before = _counts(seeded)
    text = "item_id,title,price\np1,Mug,inf\np2,Lamp,-inf\np3,Plate,NaN\np4,Bowl,2.5\n"
    _rejected(seeded, before, _upload(seeded, tmp_path, "items", text, name="inf.csv", strict=True),
              "strict upload", "3 row(s)", "column 'price': 'inf' on line 2 is not a finite number")
    report = _upload(seeded, tmp_path, "items", text, name="inf.csv")
    issue = report.files[0].dropped["non_finite_price"]
    assert (issue.count, issue.examples) == (3, [2, 3, 4])
    assert report.files[0].rows_kept == 1
    prices = _prices(seeded)
    assert prices["p4"] == 2.5 and not {"p1", "p2", "p3"} & set(prices)
    # Events carry prices too: the same rule there.
    ev = "user_id,item_id,action,time,price\nu1,i1,buy,2024-01-03 10:00,Infinity\nu1,i2,buy,2024-01-03 11:00,4\n"
    report = _upload(seeded, tmp_path, "events", ev, name="ev.csv")
    assert report.files[0].dropped["non_finite_price"].examples == [2]
    assert _counts(seeded)["events"] == before["events"] + 1


def test_negative_prices_and_future_times_are_stored_but_flagged(seeded, tmp_path):
    before = _counts(seeded)
    text = (EVENTS_HEADER.strip() + ",price\n"
            "u1,i1,buy,2024-01-03 10:00,-4.5\nu2,i2,buy,2099-01-01 10:00,3\nu3,i1,buy,2024-01-04 10:00,-1\n"
            "u4,i2,buy,2098-06-01 10:00,2\nu5,i1,view,2024-01-05 10:00,2\n")
    report = _upload(seeded, tmp_path, "events", text, name="odd.csv", strict=True)
    assert report.accepted, report.error
    f = report.files[0]
    assert (f.flagged["negative_price"].count, f.flagged["negative_price"].examples) == (2, [2, 4])
    assert (f.flagged["future_timestamp"].count, f.flagged["future_timestamp"].examples) == (2, [3, 5])
    assert "column 'price'" in f.flagged["negative_price"].message
    assert "column 'time'" in f.flagged["future_timestamp"].message
    assert {r["reason"] for r in report.dropped_table()} == {"negative_price", "future_timestamp"}
    assert _counts(seeded)["events"] == before["events"] + 5
    with session_scope(seeded) as s:
        assert sorted(p for (p,) in s.query(Event.price) if p is not None) == [-4.5, -1.0, 2.0, 2.0, 3.0]
        assert max(t for (t,) in s.query(Event.ts)).year == 2099


# ---- line ends, options, files that are not files ---------------------------------------------------------------------

def test_bare_carriage_return_line_ends(seeded, tmp_path):
    before = _counts(seeded)
    text = (EVENTS_HEADER + "u7,i7,view,2024-01-01 10:00\n,i8,view,2024-01-01 10:00\nu8,i8,buy,2024-01-02 11:00\n")
    report = _upload(seeded, tmp_path, "events", text.replace("\n", "\r").encode(), name="mac.csv")
    assert report.accepted, report.error
    f = report.files[0]
    assert (f.rows_read, f.rows_kept) == (3, 2)
    assert f.dropped["missing_user_id"].examples == [3]  # line numbers count \r line ends
    assert _counts(seeded)["events"] == before["events"] + 2


def test_separator_option_of_two_characters_is_a_clear_option_error(seeded, tmp_path):
    from core.ingest import OptionError

    with pytest.raises(OptionError, match=r"the separator must be one character \(such as , ; \| or tab\), not ';;'"):
        IngestOptions(separator=";;")
    assert IngestOptions(separator="tab").separator == "\t"
    before = _counts(seeded)
    report = _upload(seeded, tmp_path, "events", EVENTS_HEADER.replace(",", "\t") + "u9\ti9\tview\t2024-01-01\n",
                     name="t.tsv", separator="\\t")
    assert report.accepted and _counts(seeded)["events"] == before["events"] + 1


@pytest.fixture
def no_hang():
    """Turns a hang into a failure (SIGALRM) instead of a stuck test run."""
    import signal

    def _boom(*_):
        raise TimeoutError("the upload hung")

    old = signal.signal(signal.SIGALRM, _boom)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def test_a_named_pipe_is_refused_without_blocking(seeded, tmp_path, no_hang):
    import os

    before = _counts(seeded)
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # nobody writes to it: opening it for reading would block forever
    report = ingest_into_store(seeded, [Upload(Source("events", fifo))])
    _rejected(seeded, before, report, "pipe.csv", "this is a named pipe (FIFO), not a regular file")
    report = ingest_into_store(seeded, [Upload(Source("events", tmp_path))])
    _rejected(seeded, before, report, "this is a folder, not a regular file")


def test_a_100000_column_header_is_refused_fast(seeded, tmp_path, no_hang):
    before = _counts(seeded)
    header = ",".join(f"c{i}" for i in range(100_000))
    report = _upload(seeded, tmp_path, "events", header + "\n" + ",".join("1" * 100_000) + "\n", name="wide.csv")
    _rejected(seeded, before, report, "wide.csv", "line 1", "the header has 100,000 columns (the limit is 1,000)")


def test_a_gzip_bomb_is_refused_fast(seeded, tmp_path, no_hang):
    import gzip

    before = _counts(seeded)
    line = b"u1,i1,view,2024-01-01 10:00\n"
    bomb = gzip.compress(EVENTS_HEADER.encode() + line * ((48 << 20) // len(line)), compresslevel=6)
    assert len(bomb) < 200_000  # 48 MB of CSV in a ~100 KB file
    report = _upload(seeded, tmp_path, "events", bomb, name="bomb.csv.gz")
    _rejected(seeded, before, report, "bomb.csv.gz", "expands more than 200x", "decompression bomb")


def test_the_decompressed_size_cap(seeded, tmp_path, no_hang, monkeypatch):
    import gzip
    import zipfile

    before = _counts(seeded)
    rows = "".join(f"u{i},i{i % 97},view,2024-01-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}\n" for i in range(60_000))
    data = (EVENTS_HEADER + rows).encode()  # 2.0 MB that gzips about 6x: not a bomb, only over a 1 MB cap
    cap = "the file is larger than the upload limit of 1.0 MB once decompressed"
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", gzip.compress(data), name="big.csv.gz",
                                      max_bytes=1 << 20), "big.csv.gz", cap)
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", data, name="big.csv", max_bytes=1 << 20),
              "big.csv", cap)
    zipped = tmp_path / "big.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.csv", data)
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", zipped.read_bytes(), name="big.zip",
                                      max_bytes=1 << 20), "big.zip", cap)
    # The environment sets the default; a gzip whose trailer under-states its size is still stopped while read.
    monkeypatch.setenv("RECOLM_MAX_UPLOAD_BYTES", str(512 << 10))
    lying = bytearray(gzip.compress(data))
    lying[-4:] = (1000).to_bytes(4, "little")
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", bytes(lying), name="liar.csv.gz"), "liar.csv.gz",
              "larger than the upload limit of 512.0 KB once decompressed")
    # ...and a gzip damaged further down than the first megabyte says so, instead of crashing.
    monkeypatch.setenv("RECOLM_MAX_UPLOAD_BYTES", str(1 << 30))
    _rejected(seeded, before, _upload(seeded, tmp_path, "events", bytes(lying), name="liar.csv.gz"), "liar.csv.gz",
              "cannot read the file to its end", "damaged")
    monkeypatch.delenv("RECOLM_MAX_UPLOAD_BYTES")
    assert _upload(seeded, tmp_path, "events", gzip.compress(data), name="big.csv.gz").accepted
