"""The opening line every caller hears (automated assistant, call recorded) and the consent
question a dialplan may add."""

from __future__ import annotations

from collections.abc import Mapping

from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Prompt, pick_text


def disclosure_text(texts: Mapping[str, str], language: str) -> str | None:
    """`privacy.disclosure` in the caller's language; None: no disclosure."""
    return pick_text(texts, language) or None


def prompt_text(prompt: Prompt, language: str) -> str:
    """A dialplan prompt in `language` (falls back to its first text)."""
    return pick_text(prompt, language) or next(iter(prompt.values()))  # type: ignore[union-attr]


def opening_prompts(texts: Mapping[str, str], plan: Dialplan) -> list[tuple[str, str]]:
    """(text, language) of the disclosure in every language of `plan`, for pre-rendering."""
    out = []
    for language in plan.languages:
        text = disclosure_text(texts, language)
        if text:
            out.append((text, language))
    return out
