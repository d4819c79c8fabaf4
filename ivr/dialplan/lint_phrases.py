"""Lint of the intents' phrase rules (keywords, `exclude`), beyond what the loader refuses
(`phrases.keyword_problem`: malformed gaps):

- `keyword-excluded` (warning): a keyword that contains one of its own intent's excluded
  phrases can never be heard: the exclusion cuts it before the keywords are searched
  (keyword 气死人 with `exclude: [气死]`).
(One keyword in two intents is the `intent-collision` error of lint_checks.py.)
"""

from __future__ import annotations

from collections import defaultdict

from ivr.dialplan.loader import Issue, LoadedDialplan
from ivr.dialplan.models import PerLanguageList
from ivr.understanding.intents import is_chinese, normalise
from ivr.understanding.phrases import gap_parts


def _per_language(values: PerLanguageList, languages: list[str]
                  ) -> list[tuple[str, tuple[str | int, ...], str]]:
    """(language, path under the field, text) of every entry, a plain list once per
    language of the dialplan."""
    if isinstance(values, list):
        return [(lang, (i,), t) for lang in languages for i, t in enumerate(values)]
    return [(lang, (lang, i), t) for lang, items in values.items()
            for i, t in enumerate(items)]


def phrase_issues(loaded: LoadedDialplan) -> list[Issue]:
    plan, pos = loaded.plan, loaded.positions
    out: list[Issue] = []
    for name, intent in plan.intents.items():
        keywords = _per_language(intent.keywords, plan.languages)
        excluded: dict[str, list[str]] = defaultdict(list)
        for lang, _, text in _per_language(intent.exclude, plan.languages):
            excluded[lang].append(normalise(text, lang))
        for lang, path, kw in keywords:
            where = ("intents", name, "keywords", *path)
            chinese = is_chinese(lang)
            parts = [normalise(p, lang) for p in gap_parts(kw)]
            for phrase in excluded[lang]:
                if phrase and any(_inside(phrase, p, chinese) for p in parts):
                    out.append(pos.issue(where, f"keyword {kw!r} contains {phrase!r}, which "
                                         f"{name} excludes: it can never be heard", "warning",
                                         "keyword-excluded"))
                    break
    return out


def _inside(phrase: str, text: str, chinese: bool) -> bool:
    if chinese:
        return phrase in text
    return f" {phrase} " in f" {text} "
