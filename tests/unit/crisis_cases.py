"""The crisis-wording development set of tests/fixtures/crisis/ and its two pass rules,
shared by tests/unit/test_crisis_phrases.py (round 1) and test_crisis_families.py (round 2).

A fixture file maps section names to lists, one wording a line: a crisis wording is
`[wording, intent]` or `[wording, intent, dialect profile]`; an everyday wording is
`wording` or `[wording, dialect profile]`.

- `assert_reaches_its_intent`: the wording scores at least `intent_threshold` and at least
  `GLOBAL_WINS` on its intent (so it also beats a slot value), and ranks first among the
  menu's and the global choices at every menu of the plan.
- `assert_reaches_no_crisis_intent`: the wording scores below the plan's intent and confirm
  thresholds on every crisis intent (not even "did you mean …?").

A wording with a dialect profile is checked both with that profile and without one (the
profile may not be known yet); stroke wordings run on the clinic only (the hotline has no
stroke intent).
"""

from __future__ import annotations

from functools import cache

import pytest
import yaml

from ivr.config import REPO_ROOT
from ivr.dialplan import load_dialplan
from ivr.dialplan.models import Dialplan
from ivr.dialplan.nodes import Choice
from ivr.dialplan.recognition import GLOBAL_WINS, choices_at, ranked
from ivr.understanding.intents import score_intent
from ivr.understanding.profiles import BUILTIN_PROFILES

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "crisis"
PLANS = ("hotline", "clinic")
CRISIS = {"self_harm", "chest_pain", "breathing", "stroke"}

Crisis = tuple[str, str, str | None]  # (wording, intent, dialect profile or None)
Calm = tuple[str, str | None]  # (wording, dialect profile or None)


@cache
def plan(name: str) -> Dialplan:
    return load_dialplan(REPO_ROOT / "dialplans" / f"{name}.yaml").plan


@cache
def menus(name: str) -> dict[str, list[Choice]]:
    """node -> the choices a caller has there, one node per distinct set of intents."""
    p, out, seen = plan(name), {}, set()
    for nid, node in p.nodes.items():
        if node.menu is not None:
            choices = choices_at(p, node)
            key = tuple(c.intent for c in choices)
            if key not in seen:
                seen.add(key)
                out[nid] = choices
    return out


@cache
def _sections(path: str) -> dict[str, list]:
    with open(FIXTURES / path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    assert isinstance(data, dict) and all(isinstance(v, list) for v in data.values()), path
    return data


def crisis_wordings(path: str, *sections: str) -> list[Crisis]:
    """The crisis wordings of a fixture file (`round_1/crisis_zh.yaml`), of the sections
    named or of all of them."""
    out = []
    for entry in _entries(path, sections):
        assert isinstance(entry, list) and len(entry) in (2, 3), (path, entry)
        text, intent, profile = (*entry, None)[:3]
        assert intent in CRISIS and (profile is None or profile in BUILTIN_PROFILES), entry
        out.append((text, intent, profile))
    return out


def calm_wordings(path: str, *sections: str) -> list[Calm]:
    """The everyday wordings of a fixture file, of the sections named or of all of them."""
    out = []
    for entry in _entries(path, sections):
        text, profile = (entry, None) if isinstance(entry, str) else entry
        assert profile is None or profile in BUILTIN_PROFILES, (path, entry)
        out.append((text, profile))
    return out


def _entries(path: str, sections: tuple[str, ...]) -> list:
    data = _sections(path)
    return [entry for name in sections or data for entry in data[name]]


def crisis_cases(wordings: list[Crisis]) -> list:
    """pytest params: (plan, text, intent, profile) for every plan that has the intent."""
    out = []
    for text, intent, dialect in wordings:
        for name in PLANS:
            if intent == "stroke" and name != "clinic":
                continue
            for profile in dict.fromkeys([None, dialect]):
                out.append(pytest.param(name, text, intent, profile,
                                        id=f"{name}-{profile or 'plain'}-{text}"))
    return out


def calm_cases(wordings: list[Calm], plans: tuple[str, ...] = PLANS) -> list:
    """pytest params: (plan, text, profile) for every plan named."""
    return [pytest.param(name, text, profile, id=f"{name}-{profile or 'plain'}-{text}")
            for text, dialect in wordings for name in plans
            for profile in dict.fromkeys([None, dialect])]


def language(text: str) -> str:
    return "zh-CN" if any("\u4e00" <= ch <= "\u9fff" for ch in text) else "en-US"


def assert_reaches_its_intent(name: str, text: str, intent: str, profile: str | None) -> None:
    p = plan(name)
    lang = language(text)
    prof = BUILTIN_PROFILES[profile] if profile else None
    score, why = score_intent(text, p.intents[intent], lang, prof)
    assert score >= max(p.defaults.intent_threshold, GLOBAL_WINS), (score, why)
    for nid, choices in menus(name).items():
        best = ranked(p, text, lang, prof, choices)[0]
        assert best.intent == intent, (nid, best)


def assert_reaches_no_crisis_intent(name: str, text: str, profile: str | None) -> None:
    p = plan(name)
    lang = language(text)
    prof = BUILTIN_PROFILES[profile] if profile else None
    floor = min(p.defaults.intent_threshold, p.defaults.confirm_threshold or 1.0)
    for intent in CRISIS & set(p.intents):
        score, why = score_intent(text, p.intents[intent], lang, prof)
        assert score < floor, (intent, score, why)  # not even "did you mean …?"
