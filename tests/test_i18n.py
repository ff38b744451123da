"""The message catalogues stay complete and the formatters write what a reader expects."""

from __future__ import annotations

import re
from datetime import date

import pytest

from lantian.i18n import (
    LANGS,
    MissingMessageError,
    catalogue,
    format_date,
    format_number,
    format_period,
    negotiate,
    parse_lang,
    place_name,
    plural,
    translate,
)

PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _placeholders(value: object) -> set[str]:
    texts = value.values() if isinstance(value, dict) else [value]
    return {name for text in texts for name in PLACEHOLDER.findall(str(text))}


def test_every_key_is_in_both_catalogues() -> None:
    zh, en = (set(catalogue(lang)) for lang in LANGS)
    assert not zh - en, f"missing from en.json: {sorted(zh - en)}"
    assert not en - zh, f"missing from zh.json: {sorted(en - zh)}"


def test_both_catalogues_use_the_same_placeholders_and_plural_shape() -> None:
    zh, en = catalogue("zh"), catalogue("en")
    for key in zh:
        assert _placeholders(zh[key]) == _placeholders(en[key]), key
        assert isinstance(zh[key], dict) == isinstance(en[key], dict), key
        if isinstance(en[key], dict):
            assert "other" in en[key] and "other" in zh[key], key
        assert str(zh[key]).strip() and str(en[key]).strip(), key


def test_translate_fills_placeholders_and_names_a_missing_key() -> None:
    assert translate("en", "lang.switch") == "中文"
    assert translate("zh", "lang.switch") == "English"
    with pytest.raises(MissingMessageError, match=r"no message 'no\.such\.key'"):
        translate("zh", "no.such.key")


def test_plural_picks_the_form() -> None:
    key = next(k for k, v in catalogue("en").items() if isinstance(v, dict))
    one, many = plural("en", key, 1), plural("en", key, 1200)
    assert one != many and "1,200" in many


@pytest.mark.parametrize(("header", "lang"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
    ("en-GB,en;q=0.9", "en"),
    ("de-DE,de;q=0.9,zh-TW;q=0.5,en;q=0.4", "zh"),
    ("de-DE, en;q=0.7, zh;q=0.8", "zh"),
    ("fr", "en"),
    ("", "en"),
    (None, "en"),
])
def test_negotiate_takes_the_best_supported_language(header: str | None, lang: str) -> None:
    assert negotiate(header) == lang


def test_parse_lang() -> None:
    assert parse_lang("zh-Hans-CN") == "zh"
    assert parse_lang("EN_us") == "en"
    assert parse_lang("ja") is None


def test_formatters() -> None:
    assert format_period("zh", "2019Q1") == "2019年第一季度"
    assert format_period("en", "2019Q4") == "2019 Q4"
    assert format_period("zh", "2019-01") == "2019年1月"
    assert format_period("en", "2019-12") == "December 2019"
    assert format_period("zh", "2019") == "2019年" and format_period("en", "2019") == "2019"
    assert format_date("zh", date(2026, 12, 3)) == "2026年12月3日"
    assert format_date("en", date(2026, 12, 3)) == "3 December 2026"
    assert format_number("en", 1234.56, 1) == "1,234.6"
    assert place_name("en", "石家庄市", "Shijiazhuang") == "Shijiazhuang"
    assert place_name("en", "某某钢铁", "") == "某某钢铁"
    assert place_name("zh", "", "Delong Steel") == "Delong Steel"
