"""Messages and locale formatting in English and Simplified Chinese (gettext catalogues through babel).

Source strings are English and are the msgids: the code reads naturally and English needs no catalogue.
Chinese lives in `locales/zh_Hans_CN/LC_MESSAGES/recolm.po`, which a translator edits with any PO tool.

Marking strings (pages and every UI-facing message):

    _ = translator(lang)                   # gettext-style function for one language
    _("Upload data")
    ngettext_for(lang)("{n} item", "{n} items", n).format(n=n)
    LABEL = N_("Conversion rate")          # module-level constant: marked for extraction, translated at display
    Message("similar to {title} you bought", title=t)   # core/ text for the UI: English str + msgid + values

Catalogue workflow (`make i18n` runs all three; needs nothing but babel, which requirements.txt installs):

    pybabel extract -F babel.cfg -k Message -o locales/recolm.pot --sort-by-file --no-wrap .  # app.py pages/ core/
    pybabel update -i locales/recolm.pot -d locales -D recolm --no-wrap             # merge new msgids into .po
    pybabel compile -d locales -D recolm                                            # optional: .po -> .mo

Compiled .mo files are not committed: at run time a catalogue is read from its .mo when that is at least as new
as the .po (the output of `make i18n`), and otherwise compiled from the .po in memory, so a fresh clone works and
an edited .po shows on the next rerun without a build step. Fuzzy entries are ignored, as gettext does.
"""

from __future__ import annotations

import gettext as _gettext
import io
import threading
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent
from babel.support import Translations

DOMAIN = "recolm"
LOCALES_DIR = Path(__file__).resolve().parent.parent / "locales"
DEFAULT_LANG = "en"
# Short language code used in the UI, URL (?lang=zh) and cookie -> babel locale used for catalogue and formats.
LOCALES: dict[str, str] = {"en": "en", "zh": "zh_Hans_CN"}
# Each language's name in itself, for the selector.
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "zh": "简体中文"}

_lock = threading.Lock()
_cache: dict[str, tuple[tuple[str, float, float], _gettext.NullTranslations]] = {}


# Marker functions the extraction looks for besides gettext's defaults (`make i18n` passes them with -k).
EXTRA_KEYWORDS: dict[str, None] = {"Message": None}


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it now (module-level constants, core/ messages)."""
    return message


class Message(str):
    """Text that core/ hands to the UI: it IS the English string (logs, CLI, CSV, JSON and tests see plain text),
    and it remembers its msgid template and values, so a page can show it in the reader's language.

    >>> m = Message("best seller #{rank} in the shop", rank=3)
    >>> str(m), m.translate(translator("zh"))
    ('best seller #3 in the shop', '全店畅销第 3 名')

    Values may be Messages themselves; they are translated too.
    """

    template: str
    params: dict[str, object]

    def __new__(cls, template: str, /, **params: object) -> Message:
        obj = super().__new__(cls, template.format(**params) if params else template)
        obj.template = template
        obj.params = params
        return obj

    def translate(self, gettext: Callable[[str], str]) -> str:
        values = {k: v.translate(gettext) if isinstance(v, Message) else v for k, v in self.params.items()}
        text = gettext(self.template)
        return text.format(**values) if values else text

    def __reduce__(self):  # pickle / copy keep the template (st.cache_* and multiprocessing copy results)
        return (_rebuild_message, (self.template, self.params))


def _rebuild_message(template: str, params: dict[str, object]) -> Message:
    return Message(template, **params)


def join_lines(lines: list[str]) -> Message:
    """Lines joined by newlines, as one Message whose lines still translate one by one."""
    template = "\n".join(f"{{line{i}}}" for i in range(len(lines)))
    return Message(template, **{f"line{i}": line for i, line in enumerate(lines)})


def message_data(value: object) -> object:
    """A Message as JSON-ready data ({"msgid", "params"}), so a stored report still translates when read back."""
    if isinstance(value, Message):
        return {"msgid": value.template, "params": {k: _plain(message_data(v)) for k, v in value.params.items()}}
    return value


def _plain(value: object) -> object:
    """A parameter as JSON can hold it: numpy scalars as Python numbers, anything else unknown as its text."""
    if value is None or isinstance(value, (str, bool, int, float, dict)):
        return value
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    return str(value)


def message_from_data(data: object) -> object:
    """The inverse of `message_data`: the Message again (anything else as it is)."""
    if isinstance(data, dict) and set(data) == {"msgid", "params"}:
        return Message(data["msgid"], **{k: message_from_data(v) for k, v in data["params"].items()})
    return data


def translate(value: object, gettext: Callable[[str], str]) -> object:
    """A Message in `gettext`'s language; a plain str looked up as a msgid; anything else as it is."""
    if isinstance(value, Message):
        return value.translate(gettext)
    if isinstance(value, str):
        return gettext(value)
    return value


def normalize_lang(value: str | None) -> str:
    """'zh', 'zh-CN', 'zh_Hans_CN', 'ZH-hans' -> 'zh'; 'en-US' -> 'en'; unknown or empty -> DEFAULT_LANG."""
    if not value:
        return DEFAULT_LANG
    head = str(value).strip().replace("-", "_").split("_")[0].lower()
    return head if head in LOCALES else DEFAULT_LANG


def babel_locale(lang: str) -> Locale:
    return Locale.parse(LOCALES[normalize_lang(lang)])


def catalogue_path(lang: str, suffix: str = ".po") -> Path:
    return LOCALES_DIR / LOCALES[normalize_lang(lang)] / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return -1.0


def _load(lang: str) -> _gettext.NullTranslations:
    po, mo = catalogue_path(lang, ".po"), catalogue_path(lang, ".mo")
    po_t, mo_t = _mtime(po), _mtime(mo)
    if mo_t >= 0 and mo_t >= po_t:
        with mo.open("rb") as fh:
            return Translations(fh, domain=DOMAIN)
    if po_t < 0:
        return _gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=LOCALES[lang], domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return Translations(buf, domain=DOMAIN)


def translations(lang: str) -> _gettext.NullTranslations:
    """The catalogue for `lang` (English: no catalogue, msgids as they are). Reloaded when its files change."""
    lang = normalize_lang(lang)
    if lang == "en":
        return _gettext.NullTranslations()
    po = catalogue_path(lang, ".po")
    key = (str(po), _mtime(po), _mtime(catalogue_path(lang, ".mo")))
    with _lock:
        hit = _cache.get(lang)
        if hit is None or hit[0] != key:
            hit = (key, _load(lang))
            _cache[lang] = hit
        return hit[1]


def translator(lang: str) -> Callable[[str], str]:
    """A gettext-style `_` for `lang`: the Chinese text, or the English msgid where none is translated."""
    return translations(lang).gettext


def ngettext_for(lang: str) -> Callable[[str, str, int], str]:
    """A gettext-style `ngettext(singular, plural, n)` for `lang` (Chinese has one plural form)."""
    return translations(lang).ngettext


def pgettext_for(lang: str) -> Callable[[str, str], str]:
    """`pgettext(context, message)` for words that translate differently by context ("Active" model vs user)."""
    return translations(lang).pgettext


# -- locale formatting (babel's CLDR data; the same helpers for pages, exports and CLI text) --


def fmt_number(value: float | int, lang: str, decimals: int | None = None) -> str:
    """1234567.891 -> '1,234,567.891' (en, zh). `decimals` fixes the number of fraction digits."""
    fmt = None if decimals is None else "#,##0" + ("." + "0" * decimals if decimals > 0 else "")
    return format_decimal(value, format=fmt, locale=babel_locale(lang))


def fmt_percent(value: float, lang: str, decimals: int = 1) -> str:
    """A fraction as a percentage: 0.1234 -> '12.3%'."""
    fmt = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + "%"
    return format_percent(value, format=fmt, locale=babel_locale(lang))


def fmt_date(value: date | datetime, lang: str, format: str = "medium") -> str:
    """'Jun 1, 2026' (en) / '2026年6月1日' (zh); `format` is a CLDR width (short/medium/long/full) or pattern."""
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, format=format, locale=babel_locale(lang))


def fmt_datetime(value: datetime, lang: str, format: str = "medium") -> str:
    """Date and time in the locale's order (naive datetimes are shown as they are, no time-zone shift)."""
    return format_datetime(value, format=format, tzinfo=None, locale=babel_locale(lang))


def fmt_money(value: float, currency: str, lang: str) -> str:
    """12345.5, 'CNY' -> 'CN¥12,345.50' (en) / '¥12,345.50' (zh); the currency's own number of decimals."""
    return format_currency(value, currency, locale=babel_locale(lang))
