"""The Upload data page renders on an empty store and on the demo store (file uploading itself: browser test)."""

from __future__ import annotations

from pathlib import Path

from core.ingest import Source, Upload, ingest_into_store
from tests.conftest import app_test


def _labels(elements) -> list[str]:
    return [e.label for e in elements]


def test_upload_page_on_empty_store(store_url):
    at = app_test("data_upload").run()
    assert not at.exception
    assert at.title[0].value == "Upload data"
    assert at.radio[0].label == "What are you uploading?"
    assert [u.label for u in at.get("file_uploader")] == ["events CSV (optional)", "items CSV (optional)",
                                                          "users CSV (optional)"]
    at.radio[0].set_value(at.radio[0].options[1]).run()
    assert [u.label for u in at.get("file_uploader")] == ["transactions CSV"]
    assert at.button[0].label == "Ingest" and at.button[0].disabled  # nothing uploaded yet
    assert any("No data yet" in i.value for i in at.info)
    assert "Events for users or items the store does not know" in _labels(at.radio)


def test_upload_page_lists_versions_and_shows_a_stored_report(store_url, tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id,time\nu1,i1,2024-01-01\nu2,i2,not a time\n")
    report = ingest_into_store(store_url, [Upload(Source("events", bad))])
    assert report.accepted
    at = app_test("data_upload").run()
    assert not at.exception
    assert at.dataframe[0].value["files"].tolist() == ["bad.csv"]
    assert [b.label for b in at.selectbox] == ["Encoding", "Separator", "Show the report of version"]
    assert any(m.label == "Rows dropped" and m.value == "1" for m in at.metric)
    table = at.dataframe[1].value
    assert table["reason"].tolist() == ["bad_timestamp"] and table["example lines"].tolist() == ["3"]


def test_upload_page_on_demo_store(demo_store):
    at = app_test("data_upload").run()
    assert not at.exception
    assert len(at.dataframe) >= 1 and "demo" in " ".join(at.dataframe[0].value["kind"].astype(str))
