"""Language codes: base language, Chinese, English."""

from ivr.understanding.intents import is_chinese as reexported
from ivr.understanding.language_codes import base_language, is_chinese, is_english


def test_base_language_of_dialplan_and_profile_codes() -> None:
    assert base_language("en-US") == "en"
    assert base_language("zh-sichuan") == "zh"
    assert base_language("YUE") == "yue"
    assert base_language("") == ""


def test_chinese_and_english() -> None:
    assert all(is_chinese(c) for c in ("zh-CN", "zh-sichuan", "yue", "cmn", "ZH"))
    assert not any(is_chinese(c) for c in ("en-US", "ja", "", "zhx"))
    assert is_english("en-GB") and is_english("EN") and not is_english("eng")
    assert reexported is is_chinese
