"""What our hotline would answer: intents, keywords and reply texts read from a dialplan.

The Pipecat side of `scripts/bench_vs_pipecat` has no dialogue engine; it is given, per intent
reachable from one menu node, the dialplan's keywords and the text of the node the intent
leads to, so it says the same first reply as our IVR. Pure functions on the loaded YAML dict.
"""

from __future__ import annotations

from typing import Any


def _text(value: Any, language: str) -> str | None:
    if isinstance(value, dict):
        return value.get(language)
    return value if isinstance(value, str) else None


def _words(value: Any, language: str) -> list[str]:
    if isinstance(value, dict):
        return [str(v) for v in value.get(language, [])]
    return [str(v) for v in value or []]


def intent_keywords(plan: dict[str, Any], intent: str, language: str) -> list[str]:
    """The dialplan's keywords for `intent` in `language` (a plain list serves every
    language)."""
    return _words(plan.get("intents", {}).get(intent, {}).get("keywords"), language)


def node_first_text(node: dict[str, Any], language: str) -> str | None:
    """The first thing a node says: say, gather/menu/answer prompt, or a transfer/hangup's
    say."""
    if "say" in node:
        return _text(node["say"], language)
    for kind in ("gather", "menu", "answer"):
        if kind in node:
            return _text(node[kind].get("prompt"), language)
    for kind in ("transfer", "hangup"):
        if kind in node:
            return _text(node[kind].get("say"), language)
    return None


def menu_replies(plan: dict[str, Any], menu_node: str, language: str
                 ) -> tuple[dict[str, list[str]], dict[str, str]]:
    """(keywords, replies) per spoken intent reachable at `menu_node`: its own choices first,
    then the dialplan's global choices. Intents that switch language are left out."""
    choices = [*plan["nodes"][menu_node]["menu"].get("choices", []),
               *plan.get("global_choices", [])]
    keywords: dict[str, list[str]] = {}
    replies: dict[str, str] = {}
    for choice in choices:
        intent = choice.get("intent")
        if not intent or "language" in choice or intent in replies:
            continue
        words = _words(plan.get("intents", {}).get(intent, {}).get("keywords"), language)
        text = node_first_text(plan["nodes"][choice["goto"]], language)
        if words and text:
            keywords[intent], replies[intent] = words, text
    return keywords, replies


def no_match_text(plan: dict[str, Any], language: str) -> str:
    """The dialplan's first no-match reprompt in `language`."""
    no_match = plan.get("defaults", {}).get("no_match")
    if isinstance(no_match, list) and no_match:
        no_match = no_match[0]
    return _text(no_match, language) or "Sorry, I didn't understand that."
