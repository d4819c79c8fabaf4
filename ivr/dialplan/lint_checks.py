"""Semantic checks of a loaded dialplan, run by `ivr lint` and by hot reload (see lint.py).

The loader already rejects what cannot run (bad YAML, wrong types, dangling references);
these checks find what runs but misbehaves. Every issue has a stable `code` and is located
at the most precise YAML path the loader recorded.
"""

from __future__ import annotations

import difflib
import urllib.parse
from collections.abc import Iterator
from typing import Any

from ivr.dialplan.expr import compile_expr
from ivr.dialplan.lint_graph import graph_issues
from ivr.dialplan.lint_knowledge import knowledge_issues
from ivr.dialplan.lint_loops import input_free_loops
from ivr.dialplan.loader import Issue, LoadedDialplan
from ivr.dialplan.models import PerLanguageList
from ivr.dialplan.nodes import Prompt
from ivr.dialplan.say_as import TEMPLATE as VAR  # `{name}` and `{name|filter}`
from ivr.understanding.intents import normalise, score_intent

P = tuple[str | int, ...]
# what the engine provides besides the plan's own variables; None = any sub-field
BUILTINS: dict[str, frozenset[str] | None] = {
    "language": None, "node": None, "caller": None, "failure_reason": None,
    "webhook_status": None, "webhook_error": None, "emotion": None,
    "turns": frozenset({"count", "failures", "no_match", "no_input", "last_intent"}),
    "now": frozenset({"hour", "minute", "weekday", "date"}),
}


class Checker:
    def __init__(self, loaded: LoadedDialplan) -> None:
        self.loaded, self.plan, self.pos = loaded, loaded.plan, loaded.positions
        self.issues: list[Issue] = []

    def add(self, path: P, message: str, code: str, severity: str = "error") -> None:
        self.issues.append(self.pos.issue(path, message, severity, code))

    def line(self, path: P) -> str:
        file, line, _col = self.pos.locate(path)
        return f"line {line}" if file == self.pos.locate(())[0] else f"{file}:{line}"

    def run(self) -> list[Issue]:
        for check in (self.graph, self.variables, self.prompts, self.intents, self.webhooks,
                      self.menus, self.slots, self.unused):
            check()
        return self.issues

    def graph(self) -> None:
        self.issues += graph_issues(self.loaded)

    # ------------------------------------------------------------ prompts and variables
    def prompt_fields(self) -> Iterator[tuple[P, Prompt, tuple[str, ...], frozenset[str]]]:
        """(path, prompt, languages it must cover, extra variable names it may use)."""
        plan, none = self.plan, frozenset[str]()
        every = tuple(plan.languages)
        for kind in ("no_input", "no_match"):
            for i, p in enumerate(getattr(plan.defaults, kind) or []):
                yield ("defaults", kind, i), p, every, none
        for i, c in enumerate(plan.global_choices):
            if c.say is not None:
                yield ("global_choices", i, "say"), c.say, every, none
        for nid, node in plan.nodes.items():
            at: P = ("nodes", nid)
            langs = (node.prompt_language,) if node.prompt_language else every
            if node.say is not None:
                yield (*at, "say"), node.say, langs, none
            for verb in ("menu", "gather", "answer"):
                listener = getattr(node, verb)
                if listener is None:
                    continue
                yield (*at, verb, "prompt"), listener.prompt, langs, none
                if node.answer and node.answer.check:
                    yield (*at, verb, "check"), node.answer.check, langs, none
                for kind in ("no_input", "no_match"):
                    for i, p in enumerate(getattr(listener, kind) or []):
                        yield (*at, verb, kind, i), p, langs, none
            if node.gather and node.gather.confirm_prompt is not None:
                yield ((*at, "gather", "confirm_prompt"), node.gather.confirm_prompt, every,
                       frozenset({"value"}))
            for i, c in enumerate(node.menu.choices if node.menu else []):
                if c.say is not None:
                    yield (*at, "menu", "choices", i, "say"), c.say, langs, none
            for verb in ("transfer", "hangup", "callback"):
                sub = getattr(node, verb)
                if sub is not None and sub.say is not None:
                    yield (*at, verb, "say"), sub.say, langs, none
            if node.consent is not None:
                yield (*at, "consent", "prompt"), node.consent.prompt, langs, none
                if node.consent.refused_say is not None:
                    yield (*at, "consent", "refused_say"), node.consent.refused_say, langs, none
            if node.voicemail is not None:
                yield (*at, "voicemail", "prompt"), node.voicemail.prompt, langs, none

    def texts(self) -> Iterator[tuple[P, str, frozenset[str]]]:
        """(path, text) of every prompt text and other `{name}` template."""
        for path, prompt, _langs, extra in self.prompt_fields():
            if isinstance(prompt, dict):
                for lang, text in prompt.items():
                    yield (*path, lang), text, extra
            else:
                yield path, prompt, extra
        for nid, node in self.plan.nodes.items():
            hook = node.webhook
            if hook is not None:
                at: P = ("nodes", nid, "webhook")
                yield (*at, "url"), hook.url, frozenset()
                for k, v in hook.headers.items():
                    yield (*at, "headers", k), v, frozenset()
                yield from _json_strings(hook.body, (*at, "body"))

    def set_values(self) -> Iterator[tuple[P, Any, bool]]:
        """(path, value, evaluated?): node and choice `set` values both evaluate `=expr`
        and `{name}`."""
        plan = self.plan
        for nid, node in plan.nodes.items():
            for k, v in (node.set or {}).items():
                yield ("nodes", nid, "set", k), v, True
            for i, c in enumerate(node.menu.choices if node.menu else []):
                for k, v in c.set.items():
                    yield ("nodes", nid, "menu", "choices", i, "set", k), v, True
        for i, c in enumerate(plan.global_choices):
            for k, v in c.set.items():
                yield ("global_choices", i, "set", k), v, True

    def variables(self) -> None:
        plan = self.plan
        defined = set(plan.variables) | {str(p[-1]) for p, _v, _e in self.set_values()}
        for node in plan.nodes.values():
            if node.gather:
                defined.add(node.gather.slot.name)
            if node.webhook:
                defined |= set(node.webhook.save)
        reads: list[tuple[P, str, frozenset[str]]] = []
        for path, text, extra in self.texts():
            reads += [(path, m.group(1), extra) for m in VAR.finditer(text)]
        for path, value, _evaluated in self.set_values():
            if not isinstance(value, str):
                continue
            if value.startswith("="):
                reads += [(path, n, frozenset()) for n in sorted(compile_expr(value[1:]).names)]
            else:
                reads += [(path, m.group(1), frozenset()) for m in VAR.finditer(value)]
        for nid, node in plan.nodes.items():
            for i, case in enumerate(node.branch or []):
                path = ("nodes", nid, "branch", i, "if")
                reads += [(path, n, frozenset()) for n in sorted(compile_expr(case.if_).names)]
        for path, name, extra in reads:
            head, _, rest = name.partition(".")
            fields = BUILTINS.get(head)
            if head in BUILTINS and fields is not None and rest:
                if rest.split(".")[0] not in fields:
                    self.add(path, f"unknown variable {name!r}: {head}.* is one of "
                             f"{', '.join(sorted(fields))}", "undefined-variable")
            elif head not in BUILTINS and head not in defined and head not in extra:
                near = difflib.get_close_matches(head, sorted(defined | set(BUILTINS)), 1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                self.add(path, f"undefined variable {name!r}: not in variables, a slot, a "
                         f"`set` or a webhook `save`{hint}", "undefined-variable")

    def prompts(self) -> None:
        plan = self.plan
        for path, prompt, langs, _extra in self.prompt_fields():
            if isinstance(prompt, dict):
                missing = [lang for lang in langs if lang not in prompt]
                if missing:
                    self.add(path, f"prompt has no text for {', '.join(missing)}",
                             "missing-language")
                for lang in prompt:
                    if lang not in plan.languages:
                        self.add((*path, lang), f"language {lang!r} is not in languages "
                                 f"{plan.languages}", "unknown-language", "warning")
        switches: list[tuple[P, str | None]] = [
            (("global_choices", i, "language"), c.language)
            for i, c in enumerate(plan.global_choices)]
        for nid, node in plan.nodes.items():
            switches += [(("nodes", nid, "language"), node.language),
                         (("nodes", nid, "prompt_language"), node.prompt_language)]
            switches += [(("nodes", nid, "menu", "choices", i, "language"), c.language)
                         for i, c in enumerate(node.menu.choices if node.menu else [])]
        for path, lang in switches:
            if lang is not None and lang not in plan.languages:
                self.add(path, f"language {lang!r} is not in languages {plan.languages}",
                         "unknown-language", "warning")
        base = self.loaded.base_dir
        for path, text, _extra in self.texts():
            if text.startswith("file:") and not VAR.search(text):
                rel = text[5:].strip()
                if not (base / rel).is_file():
                    self.add(path, f"recorded prompt not found: {rel} (relative to {base})",
                             "missing-file")

    # ------------------------------------------------------------ intents
    def intents(self) -> None:
        plan = self.plan
        for lang in plan.languages:
            seen: dict[str, tuple[str, P]] = {}
            for name, intent in plan.intents.items():
                for kind in ("examples", "keywords"):
                    for sfx, text in _phrases(getattr(intent, kind), lang):
                        norm = normalise(text, lang)
                        first = seen.setdefault(norm, (name, ("intents", name, kind, *sfx)))
                        if norm and first[0] != name:
                            self.add(("intents", name, kind, *sfx),
                                     f"{kind[:-1]} {text!r} is also in intent {first[0]!r} "
                                     f"({self.line(first[1])})", "intent-collision")
        threshold = plan.defaults.intent_threshold
        common = [c.intent for c in plan.global_choices if c.intent]
        done: set[tuple[str, P, str]] = set()
        known: dict[tuple[str, str, str], tuple[float, str]] = {}  # menus share intents

        def scored(text: str, intent: str, lang: str) -> tuple[float, str]:
            key = (text, intent, lang)
            if key not in known:
                known[key] = score_intent(text, plan.intents[intent], lang)
            return known[key]

        for nid, node in plan.nodes.items():
            if not node.menu:
                continue
            offered = list(dict.fromkeys([c.intent for c in node.menu.choices if c.intent]
                                         + common))
            for a in offered:
                for lang in plan.languages:
                    for sfx, example in _phrases(plan.intents[a].examples, lang):
                        own = scored(example, a, lang)[0]
                        for b in offered:
                            score, why = scored(example, b, lang)
                            if b == a or score < threshold or score <= own or (
                                    a, sfx, b) in done:
                                continue
                            done.add((a, sfx, b))
                            self.add(("intents", a, "examples", *sfx),
                                     f"example {example!r} of intent {a!r} scores {score:.2f} "
                                     f"for {b!r} (via {why!r}) but {own:.2f} for {a!r}; both "
                                     f"are offered in menu {nid!r}", "intent-overlap", "warning")

    # ------------------------------------------------------------ the rest
    def webhooks(self) -> None:
        for nid, node in self.plan.nodes.items():
            if node.webhook is None:
                continue
            url = VAR.sub("x", node.webhook.url)
            try:
                parts = urllib.parse.urlsplit(url)
                ok = parts.scheme in ("http", "https") and bool(parts.hostname)
            except ValueError:
                ok = False
            if not ok:
                self.add(("nodes", nid, "webhook", "url"), f"not an http(s) URL with a host: "
                         f"{node.webhook.url!r}", "bad-url")

    def menus(self) -> None:
        """Keys of one menu (its choices and the global ones): duplicates, prefixes."""
        common = [(("global_choices", i, "dtmf"), c.dtmf, True)
                  for i, c in enumerate(self.plan.global_choices) if c.dtmf]
        groups = [common] + [
            [(("nodes", nid, "menu", "choices", i, "dtmf"), c.dtmf, False)
             for i, c in enumerate(node.menu.choices) if c.dtmf] + common
            for nid, node in self.plan.nodes.items() if node.menu]
        for n, keys in enumerate(groups):
            for i, one in enumerate(keys):
                for two in keys[i + 1:]:
                    if one[2] and two[2] and n > 0:
                        continue  # both global: reported once, in group 0
                    # report at the menu's own choice; between equals, at the later/shorter
                    if one[1] == two[1]:
                        here, other = (one, two) if two[2] and not one[2] else (two, one)
                        self.add(here[0], f"key {one[1]!r} is also used by the choice at "
                                 f"{self.line(other[0])}", "duplicate-dtmf")
                        continue
                    short, long_ = sorted((one, two), key=lambda e: len(e[1] or ""))
                    if not (long_[1] or "").startswith(short[1] or "-"):
                        continue
                    here, other = (long_, short) if short[2] and not long_[2] else (short, long_)
                    self.add(here[0], f"key {short[1]!r} is a prefix of {long_[1]!r} "
                             f"({self.line(other[0])}): after {short[1]!r} the menu waits "
                             "for more keys", "dtmf-prefix", "warning")

    def slots(self) -> None:
        for nid, node in self.plan.nodes.items():
            if node.gather is None:
                continue
            s, at = node.gather.slot, ("nodes", nid, "gather", "slot")
            if s.min_length > s.max_length:
                self.add((*at, "min_length"), f"min_length {s.min_length} > max_length "
                         f"{s.max_length}", "bad-range")
            if s.min_value is not None and s.max_value is not None and s.min_value > s.max_value:
                self.add((*at, "min_value"), f"min_value {s.min_value:g} > max_value "
                         f"{s.max_value:g}", "bad-range")

    def unused(self) -> None:
        plan = self.plan
        used = {c.intent for c in plan.global_choices}
        used |= {c.intent for n in plan.nodes.values() for c in (n.menu.choices if n.menu else [])}
        for name in plan.intents:
            if name not in used:
                self.add(("intents", name), f"intent {name!r} is not offered by any choice",
                         "unused", "warning")
        calendars = {n.hours.calendar for n in plan.nodes.values() if n.hours}
        for name in plan.calendars:
            if name not in calendars:
                self.add(("calendars", name), f"calendar {name!r} is not used by any `hours` "
                         "node", "unused", "warning")


def _phrases(values: PerLanguageList, language: str) -> list[tuple[P, str]]:
    """(path suffix, text) of the examples/keywords that apply to `language`."""
    if isinstance(values, list):
        return [((i,), t) for i, t in enumerate(values)]
    base = language.split("-")[0]
    return [((lang, i), t) for lang, items in values.items()
            if lang == language or lang.split("-")[0] == base for i, t in enumerate(items)]


def _json_strings(value: Any, path: P) -> Iterator[tuple[P, str, frozenset[str]]]:
    if isinstance(value, str):
        yield path, value, frozenset()
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _json_strings(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _json_strings(v, (*path, i))


def check_plan(loaded: LoadedDialplan) -> list[Issue]:
    """Every semantic issue of a loaded dialplan (unsorted, possibly repeated)."""
    return Checker(loaded).run() + input_free_loops(loaded) + knowledge_issues(loaded)

