"""Batch export: stored batch, CSV with formula cells escaped, the CLI, and the batch equals the preview."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from tests.test_recommend_service import build_planted_shop


@pytest.fixture
def planted_url(store_url):
    from db.engine import session_scope

    with session_scope(store_url) as session:
        build_planted_shop(session)
    return store_url


def test_batch_matches_preview_and_is_stored(planted_url):
    from core.recommend import PreviewOptions, RecommendationService
    from core.recommend.batch import batch_recommend, store_batch
    from db.engine import session_scope
    from db.recommendations import list_batches, read_batch

    with session_scope(planted_url) as session:
        service = RecommendationService.from_store(session)
        result = batch_recommend(service, k=5)
        batch_id = store_batch(session, service, result, {"k": 5})
    frame = result.frame
    assert result.n_users == service.data.n_users and len(frame) == 5 * service.data.n_users
    for user in ("planted", "newbie", "u050"):
        u = service.find_user(user)
        preview = service.preview(u, PreviewOptions(k=5))
        rows = frame[frame["user_id"] == user].sort_values("rank")
        assert rows["item_id"].tolist() == [r.item_id for r in preview.items]
        seen = set(service.data.item_keys[service.history(u)])
        assert not seen & set(rows["item_id"])
    planted_rows = frame[frame["user_id"] == "planted"]
    assert planted_rows["reason"].str.contains("Trail running shoes").any()
    with session_scope(planted_url) as session:
        stored = read_batch(session, batch_id)
        assert list_batches(session)["batch_id"].tolist() == [batch_id]
    assert len(stored) == len(frame)
    assert stored.sort_values(["user_id", "rank"])["item_id"].tolist() == \
        frame.sort_values(["user_id", "rank"])["item_id"].tolist()


def test_batch_for_a_segment_respects_filters(planted_url):
    from core.recommend import ItemFilter, RecommendationService
    from core.recommend.batch import batch_recommend
    from db.engine import session_scope

    with session_scope(planted_url) as session:
        service = RecommendationService.from_store(session)
    users = service.select_users(region="Shanghai")
    assert len(users) == 41 and set(service.users_frame.loc[users, "region"]) == {"Shanghai"}
    result = batch_recommend(service, users, k=4, flt=ItemFilter(categories=("Pets",), max_price=20))
    assert set(result.frame["category"]) == {"Pets"} and (result.frame["price"] <= 20).all()
    assert set(result.frame["user_id"]) == set(service.users_frame.loc[users, "user_id"])


def test_cli_user_json_and_all_to_csv(planted_url, tmp_path, capsys):
    from core.__main__ import main

    assert main(["recommend", "--user", "planted", "--k", "3", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert len(payload["items"]) == 3 and payload["items"][0]["item_id"] == "run2"
    assert "Running socks" in payload["items"][0]["reason"]

    out = tmp_path / "recs.csv"
    # K above the catalogue size (23 items): every item, the formula-titled one included, lands in the file.
    assert main(["recommend", "--all", "--k", "40", "--out", str(out), "--json", "--include-seen"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["batch_id"] and summary["rows"] == 23 * summary["users"]
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == summary["rows"]
    titles = {r["title"] for r in rows}
    # The planted item titled =HYPERLINK(...) is exported as text, never as a live formula.
    assert "'=HYPERLINK(\"http://x\")" in titles
    text_cols = ("user_id", "item_id", "title", "category", "reason")
    assert not any(r[c].startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for c in text_cols)


def test_cli_errors_name_the_problem(planted_url, capsys):
    from core.__main__ import main

    assert main(["recommend", "--user", "nobody"]) == 2
    assert "'nobody'" in capsys.readouterr().err
    assert main(["recommend", "--user", "planted", "--diversity", "3"]) == 2
    assert "diversity" in capsys.readouterr().err
    assert main(["recommend", "--all", "--region", "Atlantis"]) == 2
    assert "segment" in capsys.readouterr().err


def test_cli_search(planted_url, capsys):
    from core.__main__ import main

    assert main(["recommend", "--user", "planted", "--search", "coffee under 25", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["understood"]["max_price"] == 25
    assert payload["items"] and all(i["price"] <= 25 for i in payload["items"])
    assert np.mean([i["category"] == "Coffee" for i in payload["items"][:2]]) == 1.0


def test_cli_all_to_csv_in_gb18030_reads_back_like_utf8(planted_url, tmp_path, capsys):
    from core.__main__ import main

    utf8, gb = tmp_path / "recs.csv", tmp_path / "recs_gb18030.csv"
    assert main(["recommend", "--all", "--k", "3", "--out", str(utf8), "--no-store", "--json"]) == 0
    assert main(["recommend", "--all", "--k", "3", "--out", str(gb), "--encoding", "gb18030", "--no-store",
                 "--json"]) == 0
    capsys.readouterr()
    assert utf8.read_bytes().startswith(b"\xef\xbb\xbf") and not gb.read_bytes().startswith(b"\xef\xbb\xbf")
    with open(utf8, encoding="utf-8-sig", newline="") as a, open(gb, encoding="gb18030", newline="") as b:
        assert list(csv.reader(a)) == list(csv.reader(b))
    with pytest.raises(SystemExit) as exit_:
        main(["recommend", "--all", "--out", str(gb), "--encoding", "latin-1"])
    assert exit_.value.code == 2 and "latin-1" in capsys.readouterr().err
