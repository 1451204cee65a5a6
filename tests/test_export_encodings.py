"""CSV exports in UTF-8 (BOM), GB18030 and GBK: Chinese text round-trips; what GBK cannot hold fails with its cell."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from core.export import EXPORT_ENCODINGS, UnencodableCellError, check_encoding, to_csv_bytes, write_csv

FRAME = pd.DataFrame(
    {
        "用户": ["U1", "U2", "U3"],
        "商品名称": ["飞跃 轻量缓震跑鞋 男款", "-100 支移液管", "=SUM(A1:A2) 喵喵 猫粮"],
        "价格": [399.0, -12.5, 59.9],
        "理由": ["购买过 跑步袜 的顾客也买了", "上海 25–34 岁人群热卖", "新品上架"],
    }
)


def _read_back(data: bytes, encoding: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig" if encoding == "utf-8-sig" else encoding)


@pytest.mark.parametrize("encoding", list(EXPORT_ENCODINGS))
def test_chinese_text_round_trips_in_every_offered_encoding(encoding):
    data = to_csv_bytes(FRAME, encoding)
    back = _read_back(data, encoding)
    assert list(back.columns) == list(FRAME.columns)
    assert back["商品名称"].tolist() == ["飞跃 轻量缓震跑鞋 男款", "'-100 支移液管", "'=SUM(A1:A2) 喵喵 猫粮"]  # formulas escaped
    assert back["价格"].tolist() == [399.0, -12.5, 59.9]  # numbers stay numbers, negative ones too
    assert back["理由"].tolist() == FRAME["理由"].tolist()


def test_bytes_are_what_excel_expects_for_each_encoding():
    assert to_csv_bytes(FRAME).startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM by default
    gbk = to_csv_bytes(FRAME, "GBK")
    assert not gbk.startswith(b"\xef\xbb\xbf") and "商品名称".encode("gbk") in gbk
    assert to_csv_bytes(FRAME, "gb18030") == gbk  # GB18030 is a superset: same bytes for common Chinese
    assert b"\r\n" in gbk


@pytest.mark.parametrize(
    ("text", "char"),
    [("无线耳机 🎧 限时特惠", "🎧"), ("𠀀 生僻字", "𠀀"), ("한국어 상품", "한"), ("Preis 12 €", "€")],
)
def test_gbk_names_the_cell_it_cannot_encode_and_gb18030_writes_it(text, char, tmp_path):
    frame = FRAME.assign(商品名称=["普通商品", text, "另一个"])
    with pytest.raises(UnencodableCellError) as err:
        to_csv_bytes(frame, "gbk")
    e = err.value
    assert (e.column, e.row, e.char) == ("商品名称", 2, char)
    assert "GB18030" in str(e) and "'商品名称'" in str(e) and "row 2" in str(e)
    out = tmp_path / "list.csv"
    with pytest.raises(UnencodableCellError):
        write_csv(frame, out, "gbk")
    assert not out.exists()  # nothing half-written
    write_csv(frame, out, "gb18030")
    assert _read_back(out.read_bytes(), "gb18030")["商品名称"][1] == text


def test_header_that_gbk_cannot_encode_is_reported_as_the_header():
    with pytest.raises(UnencodableCellError, match="the header") as err:
        to_csv_bytes(pd.DataFrame({"名称 ✨": ["a"]}), "gbk")
    assert err.value.row is None


def test_encoding_names_are_checked():
    assert check_encoding("UTF-8") == "utf-8-sig"
    assert check_encoding("GB18030") == "gb18030"
    assert check_encoding("cp936") == "gbk"
    with pytest.raises(ValueError, match="latin-1.*utf-8-sig, gb18030, gbk"):
        check_encoding("latin-1")
