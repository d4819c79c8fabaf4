"""What our IVR would answer: intents, keywords and reply texts read from a dialplan.

The Pipecat side of `scripts/bench_vs_pipecat` has no dialogue engine; it is given, per intent
reachable from one menu node, the dialplan's keywords and the text of the node the intent
leads to, in one dialplan language (the hotline's en-US, the news desk's zh-CN), so it says the
same first reply as our IVR. Pure functions on the loaded YAML dict, except
`with_traditional` (OpenCC, our side only).
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
        words = intent_keywords(plan, intent, language)
        text = node_first_text(plan["nodes"][choice["goto"]], language)
        if words and text:
            keywords[intent], replies[intent] = words, text
    return keywords, replies


def no_match_text(plan: dict[str, Any], language: str, menu_node: str | None = None) -> str:
    """What the IVR says first after a no-match at `menu_node`, in `language`: the node's own
    first no-match prompt, else the dialplan's default one, else (no no-match prompts at all)
    the node's question again, as the engine does."""
    menu = plan["nodes"][menu_node]["menu"] if menu_node else {}
    no_match = menu.get("no_match") or plan.get("defaults", {}).get("no_match")
    if isinstance(no_match, list) and no_match:
        no_match = no_match[0]
    text = _text(no_match, language)
    if text is None and menu_node:
        text = _text(menu.get("prompt"), language)
    return text or "Sorry, I didn't understand that."


def with_traditional(keywords: dict[str, list[str]]) -> dict[str, list[str]]:
    """Chinese keywords plus their Traditional forms (OpenCC s2t, s2tw): Whisper writes Mandarin
    in either script, our IVR converts its transcripts to Simplified (profile script t2s), and
    the Pipecat side's keyword match should not fail on the script alone."""
    import opencc

    converters = [opencc.OpenCC(c) for c in ("s2t", "s2tw")]
    return {intent: list(dict.fromkeys(v for k in words
                                       for v in (k, *(c.convert(k) for c in converters))))
            for intent, words in keywords.items()}
