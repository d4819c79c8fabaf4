"""The escalation summary's phrasebook: how a dialplan names its intents, slots and transfer
reasons for the agent, and what it suggests the agent do first. The words are the dialplan's
own (its `summary` section and its intents' `label`s, see dialplans/README.md); the code
keeps only what holds for every dialplan: the names of the requests for a person and a
generic first step.

A call is normally summarised with the plan that answered it (the session passes it). The
API and the agent desk summarise stored calls without one: the phrasebook then comes from
the shipped dialplan of the same name (`dialplans/*.yaml`, matched by `name` or file name),
read once and again only when the file changes. A call of any other dialplan gets the
generic phrasebook: intents named in words, the generic first step.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ivr.dialplan.nodes import pick_text
from ivr.dialplan.summary_phrases import IntentPhrases, SummaryPhrases

if TYPE_CHECKING:
    from ivr.dialplan.models import Dialplan

log = logging.getLogger(__name__)

Texts = str | Mapping[str, str]  # one text, or language -> text (a dialplan prompt)

# Intents that ask for a person: every dialplan has them, named alike (en, zh).
AGENT_INTENT_NAMES: dict[str, tuple[str, str]] = {
    "agent": ("speak to an agent", "转人工服务"),
    "callback": ("a call back", "预约回电"),
}
GENERIC_ACTION = ("Greet the caller and ask how you can help", "问候来电者并询问需要什么帮助")


def is_zh(language: str | None) -> bool:
    """Is this a Chinese language (Mandarin, Cantonese...): the agent reads Chinese."""
    return bool(language) and language.lower().startswith(("zh", "yue", "cmn"))  # type: ignore[union-attr]


def pick_pair(pair: tuple[str, str], language: str | None) -> str:
    """The Chinese or the English one of an (en, zh) pair."""
    return pair[1] if is_zh(language) else pair[0]


def pick(texts: Texts, language: str | None) -> str:
    """The text for `language` from a dialplan's per-language texts: the same language, else
    any Chinese one for a Chinese language, else English, else the first."""
    if isinstance(texts, str):
        return texts
    lang = language or ""
    found = pick_text(texts, lang) if lang else None
    if found is None and is_zh(lang):
        found = next((t for k, t in texts.items() if is_zh(k)), None)
    if found is None:
        found = next((t for k, t in texts.items() if k.split("-")[0] == "en"), None)
    return found if found is not None else next(iter(texts.values()), "")


def _label_text(label: Texts | None, language: str | None) -> str | None:
    """An intent's `label` in this language: the same language or its base, or any Chinese one
    for a Chinese language; None when it has none in that language."""
    if isinstance(label, str):
        return label
    if not label:
        return None
    lang = language or ""
    if lang in label:
        return label[lang]
    base = lang.split("-")[0]
    return next((text for key, text in label.items()
                 if key.split("-")[0] == base or (is_zh(key) and is_zh(lang))), None)


@dataclass(frozen=True, eq=False)
class Phrasebook:
    """What one dialplan says to agents: its `summary` section and its intents' labels."""

    phrases: SummaryPhrases = field(default_factory=SummaryPhrases)
    labels: Mapping[str, Texts] = field(default_factory=dict)  # intent -> its `label`

    @classmethod
    def of(cls, plan: Dialplan) -> Phrasebook:
        return cls(plan.summary, {name: intent.label for name, intent in plan.intents.items()
                                  if intent.label is not None})

    @property
    def crisis_intents(self) -> frozenset[str]:
        return frozenset(name for name, p in self.phrases.intents.items() if p.crisis)

    def intent(self, name: str | None) -> IntentPhrases | None:
        return self.phrases.intents.get(name or "")

    def intent_label(self, intent: str | None, language: str | None) -> str | None:
        """The intent's name for the agent in this language: the summary's, else its `label`,
        else the generic name of a request for a person, else its name in words."""
        if not intent:
            return None
        phrases = self.intent(intent)
        if phrases is not None and phrases.label is not None:
            return pick(phrases.label, language)
        text = _label_text(self.labels.get(intent), language)
        if text is not None:
            return text
        if intent in AGENT_INTENT_NAMES:
            return pick_pair(AGENT_INTENT_NAMES[intent], language)
        return intent.replace("_", " ")

    def intent_labels(self, intent: str | None) -> dict[str, str]:
        """The intent's name in Chinese ("zh") and English ("en"), to render either."""
        if not intent:
            return {}
        return {"zh": self.intent_label(intent, "zh-CN") or intent,
                "en": self.intent_label(intent, "en-US") or intent}

    def slot_name(self, name: str, language: str | None) -> str:
        texts = self.phrases.slots.get(name)
        return name if texts is None else pick(texts, language)

    def reason_words(self, reason: str, language: str | None) -> str:
        """One of the dialplan's transfer reasons in plain words."""
        texts = self.phrases.transfer_reasons.get(reason)
        return reason.replace("_", " ") if texts is None else pick(texts, language)


GENERIC = Phrasebook()


def phrasebook_for(plan: Dialplan | None, dialplan: str | None) -> Phrasebook:
    """The plan's phrasebook; without a plan, the one of the shipped dialplan named
    `dialplan` (a call's `dialplan` column); else the generic one."""
    if plan is not None:
        return Phrasebook.of(plan)
    return shipped_phrasebook(dialplan) if dialplan else GENERIC


# path -> (mtime, (name, phrasebook) or None when it does not load)
_shipped: dict[Path, tuple[int, tuple[str, Phrasebook] | None]] = {}


def shipped_phrasebook(dialplan: str) -> Phrasebook:
    """The phrasebook of the shipped dialplan whose `name` or file name is `dialplan`."""
    from ivr.config import REPO_ROOT

    for path in sorted((REPO_ROOT / "dialplans").glob("*.yaml")):
        if path.name.endswith(".test.yaml"):
            continue
        found = _read_shipped(path)
        if found is not None and dialplan in (found[0], path.stem):
            return found[1]
    return GENERIC


def _read_shipped(path: Path) -> tuple[str, Phrasebook] | None:
    from ivr.dialplan.loader import DialplanError, load_dialplan

    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError:
        return None
    cached = _shipped.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        plan = load_dialplan(path).plan
        found: tuple[str, Phrasebook] | None = (plan.name, Phrasebook.of(plan))
    except (DialplanError, OSError) as e:
        log.warning("summary phrasebook: %s not loaded: %s", path.name, e)
        found = None
    _shipped[path] = (mtime, found)
    return found
