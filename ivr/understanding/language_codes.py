"""Language codes as dialplans and profiles write them (zh-CN, en-US, yue, zh-sichuan):
which base language a code is, and whether it is Chinese or English. A leaf module: the
matchers (intents, fuzzy, semantic, crisis recall) all ask it the same way."""

from __future__ import annotations

CHINESE = frozenset({"zh", "yue", "cmn"})


def base_language(language: str) -> str:
    """The code's base language, lower case: "en-US" -> "en", "zh-sichuan" -> "zh"."""
    return language.split("-")[0].lower()


def is_chinese(language: str) -> bool:
    """Mandarin, Cantonese or a Chinese dialect profile."""
    return base_language(language) in CHINESE


def is_english(language: str) -> bool:
    return base_language(language) == "en"
