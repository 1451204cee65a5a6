"""Upload errors and report lines are core Messages: English in the CLI/JSON, Chinese on a Chinese page,
also when the report is read back from the store."""

from __future__ import annotations

import json
import re
from pathlib import Path

from core import i18n
from core.ingest import Source, Upload, ingest_into_store
from tests.conftest import app_test

ZH = i18n.translator("zh")


def _english_words(text: str) -> list[str]:
    """Latin words in `text` outside quotes (file and column names are quoted and stay as they are)."""
    unquoted = re.sub(r"'[^']*'", "", text)
    return [w for w in re.findall(r"[A-Za-z]{3,}", unquoted) if w not in {"CSV", "UTF", "GBK", "ISO"}]  # names of formats


def test_a_rejected_upload_names_file_and_column_in_chinese_after_a_json_round_trip(store_url, tmp_path: Path):
    bad = tmp_path / "eu.csv"
    bad.write_text("user_id;item_id;time;price\nu1;i1;2024-01-01;1.234\nu2;i2;2024-01-02;2.500\n")
    report = ingest_into_store(store_url, [Upload(Source("events", bad))])
    assert not report.accepted
    english = str(report.error)
    assert english.startswith("file 'eu.csv', column 'price': numbers such as '1.234' on line 2")
    stored = json.loads(json.dumps(report.to_dict()))  # as the store and `ingest --json` keep it
    assert stored["error"] == english
    chinese = i18n.translate(i18n.message_from_data(stored["error_i18n"]), ZH)
    assert chinese.startswith("文件 'eu.csv'，列 'price'：") and "1.234" in chinese
    assert _english_words(chinese) == [], chinese


def test_a_stored_report_reads_in_chinese_on_the_upload_page(store_url, tmp_path: Path):
    f = tmp_path / "mixed.csv"
    f.write_text("user_id,item_id,time,price,colour\nu1,i1,2024-01-01,-3,red\nu2,i2,not a time,4,blue\n"
                 "u3,i3,2024-01-03,inf,green\n")
    report = ingest_into_store(store_url, [Upload(Source("events", f))])
    assert report.accepted and report.rows_dropped == 2
    at = app_test("data_upload")
    at.session_state["lang"] = "zh"
    at.run()
    assert not at.exception
    table = at.dataframe[1].value
    meanings = " ".join(table.iloc[:, -1].astype(str))
    assert "不是有限数值" in meanings and "价格为负" in meanings, meanings
    assert _english_words(meanings) == [], meanings
    warnings = " ".join(w.value for w in at.warning)
    assert "未使用的列：colour" in warnings, warnings
    # the same stored report in English reads as the CLI prints it
    at_en = app_test("data_upload").run()
    assert any("is not a finite number" in v for v in at_en.dataframe[1].value.iloc[:, -1].astype(str))
