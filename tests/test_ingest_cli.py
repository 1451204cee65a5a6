"""`python -m core ingest`: the report as JSON, exit code 0 on success, 1 on a rejected upload, 2 on bad options."""

from __future__ import annotations

import json
from pathlib import Path

from core.__main__ import main
from db.engine import session_scope
from db.shop_read import store_counts
from db.tables import Event


def _run(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["ingest", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_cli_upload_with_corrected_mapping_and_purchase_values(store_url, tmp_path: Path, capsys):
    items = tmp_path / "items.csv"
    items.write_text("sku,name\nA,Mug\nB,Plate\n")
    users = tmp_path / "people.csv"
    users.write_text("customer,region\n1,UK\n2,FR\n")
    events = tmp_path / "log.csv"
    events.write_text("who,sku,what,when\n1,A,checkout,2024-05-01 10:00\n1,B,look,2024-05-01 10:05\n2,C,look,2024-05-02\n")
    code, report = _run(capsys, "--db", store_url, "--items", str(items), "--events", str(events),
                        "--users", str(users),
                        "--map", "who=user_id", "--map", "what=action_type", "--map", "when=timestamp",
                        "--purchase-values", "checkout", "--unknown", "drop")
    assert code == 0, report
    assert report["accepted"] and report["rows_read"] == 7 and report["rows_kept"] == 6
    assert [f["kind"] for f in report["files"]] == ["users", "items", "events"]
    ev = report["files"][2]
    assert ev["mapping"] == {"item_id": "sku", "user_id": "who", "action_type": "what", "timestamp": "when"}
    assert ev["dropped"]["unknown_item"]["examples"] == [4]
    assert "look" in " ".join(ev["warnings"])  # an unrecognised action word is named
    with session_scope(store_url) as s:
        assert sorted(a for (a,) in s.query(Event.action)) == ["other", "purchase"]


def test_cli_rejected_upload_exits_non_zero_and_changes_nothing(store_url, tmp_path: Path, capsys):
    good = tmp_path / "ok.csv"
    good.write_text("user_id,item_id,timestamp\n1,A,2024-01-01\n")
    assert _run(capsys, "--db", store_url, "--events", str(good), "--all-purchases")[0] == 0
    with session_scope(store_url) as s:
        before = store_counts(s)
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id\n1,A\n")
    code, report = _run(capsys, "--db", store_url, "--transactions", str(bad))
    assert code == 1 and not report["accepted"]
    assert "bad.csv" in report["error"] and "required column timestamp is missing" in report["error"]
    code, report = _run(capsys, "--db", store_url, "--events", str(tmp_path / "nope.csv"))
    assert code == 1 and "no such file" in report["error"]
    with session_scope(store_url) as s:
        assert store_counts(s) == before


def test_cli_human_output_and_usage_errors(store_url, tmp_path: Path, capsys):
    assert main(["ingest", "--db", store_url]) == 2
    assert "give at least one of" in capsys.readouterr().err
    path = tmp_path / "u.csv"
    path.write_text("customer,age\n7,41\n")
    assert main(["ingest", "--db", store_url, "--users", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ACCEPTED: 1 rows read, 1 kept") and "u.csv (users, utf-8" in out


def test_cli_timestamp_format_given_by_the_user(store_url, tmp_path: Path, capsys):
    path = tmp_path / "e.csv"
    path.write_text("user,item,date\n1,A,03/04/2024\n2,B,05/04/2024\n")
    assert main(["ingest", "--db", store_url, "--events", str(path), "--timestamp-format", "%Q"]) == 2
    assert "--timestamp-format '%Q' is not valid" in capsys.readouterr().err
    code, report = _run(capsys, "--db", store_url, "--events", str(path), "--timestamp-format", "%m/%d/%Y")
    assert code == 0 and report["files"][0]["timestamp_format"] == "%m/%d/%Y"
    with session_scope(store_url) as s:
        assert sorted(str(ts.date()) for (ts,) in s.query(Event.ts)) == ["2024-03-04", "2024-05-04"]


def test_cli_bad_options_exit_2_as_the_help_says_and_change_nothing(store_url, tmp_path: Path, capsys):
    try:
        main(["ingest", "--help"])
    except SystemExit as exc:
        assert exc.code == 0
    assert "1 when it was rejected (the store unchanged), 2 on bad options" in " ".join(capsys.readouterr().out.split())
    good = tmp_path / "ok.csv"
    good.write_text("user_id;item_id;timestamp\n1;A;2024-01-01\n")
    with session_scope(store_url) as s:
        before = store_counts(s)
    cases = [
        (["--sep", ";;"], "the separator must be one character"),
        (["--sep", "ab"], "not 'ab'"),
        (["--encoding", "klingon"], "unknown encoding 'klingon'"),
        (["--map", "nonsense"], "--map expects COLUMN=FIELD, got 'nonsense'"),
        (["--map", "user_id=shoe_size"], "'shoe_size' is not a field of a events file"),
        (["--chunk-rows", "0"], "chunk_rows must be positive, not 0"),
        (["--max-bytes", "-5"], "max_bytes must be positive"),
    ]
    for extra, phrase in cases:
        code = main(["ingest", "--db", store_url, "--events", str(good), *extra])
        err = capsys.readouterr().err
        assert code == 2, (extra, err)
        assert phrase in err, (extra, err)
    # argparse's own errors (an unknown choice, a non-number) exit 2 as well.
    for extra in (["--unknown", "maybe"], ["--chunk-rows", "many"]):
        try:
            main(["ingest", "--db", store_url, "--events", str(good), *extra])
        except SystemExit as exc:
            assert exc.code == 2
        else:
            raise AssertionError(f"{extra} did not exit")
    with session_scope(store_url) as s:
        assert store_counts(s) == before
    # 'tab' and a one-character separator are fine.
    assert main(["ingest", "--db", store_url, "--events", str(good), "--sep", ";", "--all-purchases"]) == 0
