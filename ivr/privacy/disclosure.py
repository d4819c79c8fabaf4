"""The opening line every caller hears (automated assistant, call recorded) and the consent
question a dialplan may add."""

from __future__ import annotations

from collections.abc import Mapping

from ivr.dialplan.models import Dialplan, Prompt


def pick(texts: Mapping[str, str] | str | None, language: str) -> str | None:
    """The text for `language` (zh-CN): an exact key, else its base language (zh), else None
    (for a prompt mapping: else the first text)."""
    if not texts:
        return None
    if isinstance(texts, str):
        return texts
    if language in texts:
        return texts[language]
    base = language.split("-")[0]
    for key, text in texts.items():
        if key.split("-")[0] == base:
            return text
    return None


def disclosure_text(texts: Mapping[str, str], language: str) -> str | None:
    """`privacy.disclosure` in the caller's language; None: no disclosure."""
    return pick(texts, language) or None


def prompt_text(prompt: Prompt, language: str) -> str:
    """A dialplan prompt in `language` (falls back to its first text)."""
    return pick(prompt, language) or next(iter(prompt.values()))  # type: ignore[union-attr]


def opening_prompts(texts: Mapping[str, str], plan: Dialplan) -> list[tuple[str, str]]:
    """(text, language) of the disclosure in every language of `plan`, for pre-rendering."""
    out = []
    for language in plan.languages:
        text = disclosure_text(texts, language)
        if text:
            out.append((text, language))
    return out
