"""Lint checks of say-as filters (say_as.py) that load cannot make: an unknown filter name is
already a load error; these find filters that load but misread.

- `say-as-currency`: a value read as `money` (by its filter or its `amount` slot) followed by
  元, 块 or "yuan" in the text: the filter says the currency itself, so the caller would hear
  "八十八元五角元".
- `say-as-ignored`: a filter in a webhook URL, header or body or a `set` value, where the value
  is inserted as written: the filter does nothing there.
"""

from __future__ import annotations

import re

from ivr.dialplan.lint_checks import Checker
from ivr.dialplan.loader import Issue, LoadedDialplan
from ivr.dialplan.rendering import slot_filters
from ivr.dialplan.say_as import DEFAULT_FILTERS, TEMPLATE

_CURRENCY_AFTER = re.compile(r"\s*(元|块|圆|yuan\b|RMB\b)", re.IGNORECASE)


def say_as_issues(loaded: LoadedDialplan) -> list[Issue]:
    """Issues of the say-as filters of a loaded dialplan."""
    checker = Checker(loaded)
    plan = loaded.plan
    defaults = slot_filters(plan)
    prompt_paths = set()
    for path, prompt, _langs, _extra in checker.prompt_fields():
        gather = plan.nodes[str(path[1])].gather if path[0] == "nodes" else None
        read_back = {"value": DEFAULT_FILTERS.get(gather.slot.type)} if gather else {}
        texts = {(): prompt} if isinstance(prompt, str) else {(k,): v for k, v in prompt.items()}
        for suffix, text in texts.items():
            prompt_paths.add((*path, *suffix))
            for m in TEMPLATE.finditer(text):
                how = m.group(2) or {**defaults, **read_back}.get(m.group(1))
                after = _CURRENCY_AFTER.match(text, m.end())
                if how == "money" and after:
                    checker.add((*path, *suffix), f"{m.group(0)} is read as money, which says "
                                f"the currency itself: drop the {after.group(1)!r} after it",
                                "say-as-currency", "warning")
    for path, text, _extra in checker.texts():
        if path not in prompt_paths:
            _ignored(checker, path, text)
    for path, value, _evaluated in checker.set_values():
        if isinstance(value, str) and not value.startswith("="):
            _ignored(checker, path, value)
    return checker.issues


def _ignored(checker: Checker, path: tuple[str | int, ...], text: str) -> None:
    for m in TEMPLATE.finditer(text):
        if m.group(2) is not None:
            checker.add(path, f"say-as filter in {m.group(0)} does nothing here: webhooks and "
                        "`set` get the value as written", "say-as-ignored", "warning")
