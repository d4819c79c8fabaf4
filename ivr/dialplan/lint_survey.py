"""Lint: the `survey` verb's fields (issue 21).

A survey is the caller's last impression and the contact centre's satisfaction figure, so
what goes wrong with one goes wrong quietly: a question missing the caller's language is
read in another one, two surveys sharing a `name` are counted as one, a survey whose `next`
hands the caller to an agent or asks again for input keeps them on the line after they said
goodbye, and a `question` that names no scale gets answers that are no scores.

Codes: ``survey-missing-language`` (error: a prompt without a text for one of the dialplan's
languages, or the node's `prompt_language`), ``survey-name-reused`` (warning),
``survey-next`` (warning: `next` is not a `say`, `set`, `branch` or `hangup` leading to the
end), ``survey-no-scale`` (warning: the question names neither 1 and 5 nor their words).
"""

from __future__ import annotations

from collections.abc import Iterator

from ivr.dialplan.loader import Issue, LoadedDialplan
from ivr.dialplan.nodes import Node, Prompt, Survey

P = tuple[str | int, ...]
QUIET_AFTER = ("say", "set", "branch", "hangup")  # what may follow a survey
SCALE_WORDS = (("1", "5"), ("一", "五"), ("one", "five"))


def _prompts(spec: Survey) -> Iterator[tuple[P, Prompt]]:
    for field in ("question", "comment", "thanks"):
        value = getattr(spec, field)
        if value is not None:
            yield (field,), value
    for kind in ("no_input", "no_match"):
        for i, p in enumerate(getattr(spec, kind) or []):
            yield (kind, i), p


def _names_scale(text: str) -> bool:
    low = text.lower()
    return any(a in low and b in low for a, b in SCALE_WORDS)


def survey_issues(loaded: LoadedDialplan) -> list[Issue]:
    """The issues of every survey node of a loaded dialplan."""
    plan, pos = loaded.plan, loaded.positions
    issues: list[Issue] = []
    names: dict[str, str] = {}
    for nid, node in plan.nodes.items():
        spec = node.survey
        if spec is None:
            continue
        at: P = ("nodes", nid, "survey")
        langs = [node.prompt_language] if node.prompt_language else list(plan.languages)
        for path, prompt in _prompts(spec):
            if isinstance(prompt, dict) and (missing := [x for x in langs if x not in prompt]):
                issues.append(pos.issue((*at, *path), f"survey prompt has no text for "
                                        f"{', '.join(missing)}", "error",
                                        "survey-missing-language"))
        texts = [spec.question] if isinstance(spec.question, str) else spec.question.values()
        if not all(_names_scale(t) or t.startswith("file:") for t in texts):
            issues.append(pos.issue((*at, "question"), "the question names no scale (1 to 5, "
                                    "一到五, one to five): callers answer with words that "
                                    "are no score", "warning", "survey-no-scale"))
        if spec.name in names:
            issues.append(pos.issue((*at, "name"), f"survey name {spec.name!r} is also "
                                    f"node {names[spec.name]!r}'s: their answers are counted "
                                    "as one survey", "warning", "survey-name-reused"))
        names.setdefault(spec.name, nid)
        after = plan.nodes.get(node.next or "")
        if after is not None and not _quiet(after):
            issues.append(pos.issue(("nodes", nid, "next"), f"after the survey comes a "
                                    f"`{after.verb}` node: a survey is the call's last "
                                    "question (say goodbye, then hang up)", "warning",
                                    "survey-next"))
    return issues


def _quiet(node: Node) -> bool:
    return node.verb in QUIET_AFTER
