"""Every kind of bad upload: a clear message naming the problem and where, and a store left exactly as it was."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.ingest import IngestOptions, Source, Upload, ingest_into_store
from db.engine import session_scope
from db.models import Event, Item, User
from db.shop_read import store_counts

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
