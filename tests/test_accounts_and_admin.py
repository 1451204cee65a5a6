"""Sign-in policy, bcrypt accounts, the audit log, the CLI for keys and users, and the admin page (AppTest)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import app_test


def test_sign_in_policy(monkeypatch: pytest.MonkeyPatch):
    from core.auth.accounts import LOCAL, SignedIn, sign_in_required

    monkeypatch.delenv("RECOLM_AUTH", raising=False)
    assert not sign_in_required("127.0.0.1") and not sign_in_required("localhost") and not sign_in_required(None)
    assert sign_in_required("0.0.0.0") and sign_in_required("192.168.1.20")  # any non-loopback bind asks
    monkeypatch.setenv("RECOLM_AUTH", "on")
    assert sign_in_required("127.0.0.1")
    monkeypatch.setenv("RECOLM_AUTH", "off")
    assert sign_in_required("0.0.0.0")  # off cannot open a public bind
    marketer = SignedIn("mia", "marketer")
    assert marketer.can("experiments") and not marketer.can("keys") and not marketer.can("rollback")
    assert LOCAL.can("keys")


def test_accounts_hash_passwords_and_authenticate(store_url: str):
    from core.auth.accounts import add_user, authenticate
    from db.accounts import get_account, set_disabled
    from db.audit import recent
    from db.engine import session_scope

    with session_scope(store_url) as session:
        add_user(session, "ana", "correct horse", "admin", actor="tests")
        with pytest.raises(ValueError, match="at least 8"):
            add_user(session, "bob", "short", "marketer")
        with pytest.raises(ValueError, match="already exists"):
            add_user(session, "ana", "another password", "marketer")
    with session_scope(store_url) as session:
        stored = get_account(session, "ana").password_hash
        assert stored.startswith("$2b$") and "correct horse" not in stored
        assert authenticate(session, "ana", "correct horse").role == "admin"
        assert authenticate(session, "ana", "wrong horse") is None
        assert authenticate(session, "nobody", "correct horse") is None
        set_disabled(session, "ana")
    with session_scope(store_url) as session:
        assert authenticate(session, "ana", "correct horse") is None
        log = recent(session)
    assert list(log["action"]) == ["add_user"] and log["actor"].iloc[0] == "tests"


def test_cli_keys_and_users(store_url: str, capsys, monkeypatch: pytest.MonkeyPatch):
    from core.__main__ import main
    from core.auth.keys import hash_key
    from db.api_keys import list_keys
    from db.audit import recent
    from db.engine import session_scope

    assert main(["apikey", "create", "--name", "web shop", "--rate-limit", "600", "--json", "--db", store_url]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["key"].startswith("rk_") and len(created["key"]) > 40
    assert main(["apikey", "list", "--json", "--db", store_url]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["name"] == "web shop" and listed[0]["rate_per_minute"] == 600
    assert created["key"] not in json.dumps(listed)  # the key itself is never printed again
    with session_scope(store_url) as session:
        assert list_keys(session)[0].key_hash == hash_key(created["key"])
    assert main(["apikey", "revoke", created["prefix"], "--db", store_url]) == 0
    assert main(["apikey", "revoke", "rk_nothing", "--db", store_url]) == 2
    assert "no API key with id or prefix 'rk_nothing'" in capsys.readouterr().err
    monkeypatch.setenv("RECOLM_PASSWORD", "a long password")
    assert main(["user", "add", "mia", "--role", "marketer", "--db", store_url]) == 0
    assert main(["user", "list", "--json", "--db", store_url]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("["):])[0] == {**json.loads(out[out.index("["):])[0], "username": "mia",
                                                      "role": "marketer", "disabled": False}
    with session_scope(store_url) as session:
        actions = list(recent(session)["action"])
    assert actions == ["add_user", "revoke_key", "create_key"]


def test_admin_page_creates_and_revokes_a_key(store_url: str):
    from core.auth.keys import hash_key
    from db.api_keys import list_keys
    from db.engine import session_scope

    at = app_test("admin")
    at.run()
    assert not at.exception and not at.error
    at.text_input(key="key_name").input("crm sync")
    at.button[0].click()  # the form's submit button
    at.run()
    assert not at.exception
    key = at.code[0].value
    with session_scope(store_url) as session:
        rows = list_keys(session)
    assert rows[0].name == "crm sync" and rows[0].key_hash == hash_key(key) and rows[0].created_by == "local"
    at.button(key="revoke_key").click()
    at.run()
    with session_scope(store_url) as session:
        assert list_keys(session)[0].revoked_at is not None
    at.run()
    assert not at.exception, at.exception
    audit = next(d.value for d in at.dataframe if "action" in d.value.columns)  # the audit log table
    assert list(audit["action"]) == ["revoke_key", "create_key"]
