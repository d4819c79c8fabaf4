"""The opening line every caller hears (automated assistant, call recorded) and the consent
question a dialplan may add."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Prompt, pick_text


def disclosure_text(texts: Mapping[str, str], language: str) -> str | None:
    """`privacy.disclosure` in the caller's language; None: no disclosure."""
    return pick_text(texts, language) or None


def prompt_text(prompt: Prompt, language: str) -> str:
    """A dialplan prompt in `language` (falls back to its first text)."""
    return pick_text(prompt, language) or next(iter(prompt.values()))  # type: ignore[union-attr]


def disclosure_languages(plan: Dialplan, order: Sequence[str] = ()) -> list[str]:
    """The languages the disclosure is said in when the caller's is not known: `order`
    (`privacy.disclosure_languages`), or the dialplan's languages with its default first."""
    if order:
        return list(dict.fromkeys(order))
    return list(dict.fromkeys([plan.default_language, *plan.languages]))


def disclosure_lines(texts: Mapping[str, str], languages: Sequence[str]) -> list[tuple[str, str]]:
    """(text, language) of the disclosure in each of `languages` that has a text, in order; a
    text two languages share (`zh` for zh-CN and zh-TW) is said once."""
    out: list[tuple[str, str]] = []
    for language in languages:
        text = disclosure_text(texts, language)
        if text and all(text != said for said, _ in out):
            out.append((text, language))
    return out


def opening_prompts(texts: Mapping[str, str], plan: Dialplan,
                    order: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(text, language) of the disclosure in every language a call of `plan` may say it in
    (each of its languages, the caller's when known, and `order`), for pre-rendering."""
    out: list[tuple[str, str]] = []
    for language in dict.fromkeys([*plan.languages, *order]):
        out += disclosure_lines(texts, [language])
    return out
