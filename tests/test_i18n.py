"""The message catalogue (gettext via babel) and the locale formatting helpers, for English and Simplified Chinese."""

from __future__ import annotations

import os
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.numbers import format_currency, format_decimal, format_percent

from core import i18n

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("value", "expected"),
    [("zh", "zh"), ("zh-CN", "zh"), ("zh_Hans_CN", "zh"), ("ZH-hans", "zh"), ("en-US", "en"), ("fr-FR", "en"),
     ("", "en"), (None, "en")],
)
def test_language_codes_from_browsers_urls_and_cookies_map_to_en_or_zh(value, expected):
    assert i18n.normalize_lang(value) == expected


def test_shipped_catalogue_translates_navigation_and_falls_back_to_english():
    _ = i18n.translator("zh")
    assert _("Overview") == "概览"
    assert _("Coupons") == "优惠券"
    assert _("a sentence nobody marked") == "a sentence nobody marked"
    assert i18n.translator("en")("Overview") == "Overview"
    assert i18n.ngettext_for("en")("{n} item", "{n} items", 2) == "{n} items"


def _write_catalogue(folder: Path, entries: dict[str, str], fuzzy: set[str] = frozenset(), suffix: str = ".po") -> Path:
    cat = Catalog(locale="zh_Hans_CN", domain="recolm")
    for msgid, msgstr in entries.items():
        cat.add(msgid, msgstr, flags={"fuzzy"} if msgid in fuzzy else ())
    path = folder / "zh_Hans_CN" / "LC_MESSAGES" / f"recolm{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        (write_po if suffix == ".po" else write_mo)(fh, cat)
    return path


def test_po_is_compiled_in_memory_without_mo_and_fuzzy_entries_stay_english(tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    _write_catalogue(tmp_path, {"Save": "保存", "Delete": "删除"}, fuzzy={"Delete"})
    _ = i18n.translator("zh")
    assert _("Save") == "保存"
    assert _("Delete") == "Delete"  # a fuzzy guess is not shown, as gettext does
    assert not (tmp_path / "zh_Hans_CN" / "LC_MESSAGES" / "recolm.mo").exists()  # nothing written at run time


def test_fresh_mo_is_used_stale_mo_is_ignored_and_edits_show_without_restart(tmp_path, monkeypatch):
    monkeypatch.setattr(i18n, "LOCALES_DIR", tmp_path)
    po = _write_catalogue(tmp_path, {"Save": "保存(po)"})
    mo = _write_catalogue(tmp_path, {"Save": "保存(mo)"}, suffix=".mo")
    now = time.time()
    os.utime(po, (now - 10, now - 10))
    os.utime(mo, (now - 5, now - 5))
    assert i18n.translator("zh")("Save") == "保存(mo)"  # `make i18n` output, newer than the .po
    _write_catalogue(tmp_path, {"Save": "保存(edited)"})
    os.utime(po, (now, now))
    assert i18n.translator("zh")("Save") == "保存(edited)"  # .po edited after the compile: the .mo is stale


def test_every_translated_entry_keeps_the_placeholders_of_its_msgid():
    import re

    with i18n.catalogue_path("zh").open("rb") as fh:
        cat = read_po(fh)
    field = re.compile(r"\{[^{}]*\}|%\(\w+\)[sdfr]|%[sdfr]")
    for msg in cat:
        if not msg.id or not msg.string or "fuzzy" in msg.flags:  # fuzzy guesses are never shown
            continue
        ids = msg.id if isinstance(msg.id, tuple) else (msg.id,)
        strs = msg.string if isinstance(msg.string, tuple) else (msg.string,)
        for s in strs:
            assert sorted(field.findall(s)) == sorted(field.findall(ids[-1])), (msg.id, s)


def test_every_string_marked_in_the_code_has_a_chinese_translation():
    """Collects the msgids from app.py, pages/ and core/ (babel.cfg) and checks each in the shipped zh catalogue."""
    method_map = [("app.py", "python"), ("pages/**.py", "python"), ("core/**.py", "python")]
    found: dict[tuple[str, str | None], str] = {}
    keywords = {**DEFAULT_KEYWORDS, **i18n.EXTRA_KEYWORDS}
    for filename, _lineno, message, _comments, context in extract_from_dir(str(ROOT), method_map, keywords=keywords):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault((msgid, context), filename)
    assert ("Overview", None) in found and ("Language", None) in found  # the extraction itself works
    with i18n.catalogue_path("zh").open("rb") as fh:
        cat = read_po(fh)
    missing = []
    for (msgid, context), filename in sorted(found.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        entry = cat.get(msgid, context=context)
        translated = entry is not None and "fuzzy" not in entry.flags and (
            all(entry.string) if isinstance(entry.string, tuple) else bool(entry.string)
        )
        if not translated:
            missing.append(f"{filename}: {msgid!r}")
    assert not missing, "no Chinese translation (run `make i18n`, then translate):\n" + "\n".join(missing)


# -- formatting: babel is the oracle for both locales, plus a few readable exact cases --

LOCALE_IDS = {"en": "en", "zh": "zh_Hans_CN"}


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("value", [0, 7, 1234567.891, -42.5, 0.000123])
def test_fmt_number_is_babels_decimal_format(lang, value):
    assert i18n.fmt_number(value, lang) == format_decimal(value, locale=LOCALE_IDS[lang])
    assert i18n.fmt_number(value, lang, decimals=2) == format_decimal(value, format="#,##0.00", locale=LOCALE_IDS[lang])


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("value", [0.0, 0.1234, 1.5, -0.031])
def test_fmt_percent_is_babels_percent_format(lang, value):
    assert i18n.fmt_percent(value, lang) == format_percent(value, format="#,##0.0%", locale=LOCALE_IDS[lang])
    assert i18n.fmt_percent(value, lang, decimals=0) == format_percent(value, format="#,##0%", locale=LOCALE_IDS[lang])


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("width", ["short", "medium", "long", "full"])
def test_fmt_date_is_babels_date_format(lang, width):
    day = date(2026, 6, 1)
    assert i18n.fmt_date(day, lang, width) == format_date(day, format=width, locale=LOCALE_IDS[lang])
    assert i18n.fmt_date(datetime(2026, 6, 1, 23, 59), lang, width) == format_date(day, format=width,
                                                                                   locale=LOCALE_IDS[lang])
    when = datetime(2026, 6, 1, 14, 5)
    assert i18n.fmt_datetime(when, lang, width) == format_datetime(when, format=width, locale=LOCALE_IDS[lang])


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("value", "currency"), [(12345.5, "CNY"), (-3.2, "CNY"), (99.99, "USD"), (1234, "JPY")])
def test_fmt_money_is_babels_currency_format(lang, value, currency):
    assert i18n.fmt_money(value, currency, lang) == format_currency(value, currency, locale=LOCALE_IDS[lang])


def test_readable_exact_cases():
    assert i18n.fmt_number(1234567.891, "en") == "1,234,567.891"
    assert i18n.fmt_number(1234567.891, "zh") == "1,234,567.891"
    assert i18n.fmt_percent(0.1234, "zh") == "12.3%"
    assert i18n.fmt_date(date(2026, 6, 1), "en") == "Jun 1, 2026"
    assert i18n.fmt_date(date(2026, 6, 1), "zh") == "2026年6月1日"
    assert i18n.fmt_date(date(2026, 6, 1), "zh", "short") == "2026/6/1"
    assert i18n.fmt_datetime(datetime(2026, 6, 1, 14, 5), "zh") == "2026年6月1日 14:05:00"
    assert i18n.fmt_money(12345.5, "CNY", "zh") == "¥12,345.50"
    assert i18n.fmt_money(12345.5, "CNY", "en") == "CN¥12,345.50"
    assert i18n.fmt_money(99.99, "USD", "zh") == "US$99.99"
    assert i18n.fmt_money(1234, "JPY", "en") == "¥1,234"  # no fraction digits in yen


def test_audit_finds_bare_ui_strings_and_wrap_rewrites_them():
    from tests.i18n_audit import audit_source, wrap_source

    src = '''import streamlit as st
from pages.common import store_session

st.title("Coupons")
for _, row in rows:
    col.metric("Targeted", f"{n:,}", help=f"of {t['n_eligible']:,} eligible, {len(users)} users")
kind = st.selectbox("Coupon", KINDS, format_func=lambda k: {"fixed": "fixed amount off"}[k])
st.caption("---")
st.info("Why: " + reason)
'''
    found = [f.text for f in audit_source(src, "x.py")]
    assert sorted(found) == sorted(["Coupons", "Targeted", "of {…} eligible, {…} users", "Coupon", "fixed amount off",
                                    "Why: {…}"])
    out, manual = wrap_source(src)
    assert 'st.title(_("Coupons"))' in out
    assert 'help=_("of {n_eligible:,} eligible, {n_users} users").format(n_eligible=t[\'n_eligible\'], n_users=len(users))' in out
    assert '{"fixed": _("fixed amount off")}' in out
    assert "for _unused, row in rows:" in out  # a throwaway `_` would hide the translator
    assert "from pages.components.language import _\n" in out
    assert 'st.caption("---")' in out  # nothing to translate
    assert manual == ["line 9: 'Why: {…}' (glued with +: rewrite as one _() with placeholders)"]
    compile(out, "x.py", "exec")


def test_message_is_its_english_text_and_translates_with_its_values():
    import copy
    import json
    import pickle

    inner = i18n.Message("{band} in {place}", band="25–34", place="上海")
    m = i18n.Message("popular with {segment} (#{rank} there)", segment=inner, rank=3)
    assert m == "popular with 25–34 in 上海 (#3 there)" and isinstance(m, str)
    assert json.dumps({"reason": m}, ensure_ascii=False) == '{"reason": "popular with 25–34 in 上海 (#3 there)"}'
    assert m.translate(i18n.translator("zh")) == "在上海 25–34 岁人群中很受欢迎（排名第 3）"
    assert m.translate(i18n.translator("en")) == m
    for copied in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        assert copied == m and copied.translate(i18n.translator("zh")) == m.translate(i18n.translator("zh"))
    assert i18n.translate("Overview", i18n.translator("zh")) == "概览"
    assert i18n.translate(42, i18n.translator("zh")) == 42
    assert i18n.Message("no {braces} needed") == "no {braces} needed"  # no values: the template is the text


def test_no_bare_ui_string_left_in_app_and_pages():
    """Static half of the check (the browser walk is the other): every literal a Streamlit call shows is wrapped."""
    from tests.i18n_audit import audit

    left = audit()
    assert not left, "wrap these with _() (python -m tests.i18n_audit --wrap):\n" + "\n".join(map(str, left))
