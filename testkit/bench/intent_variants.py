"""Caller wording variants for `scripts/bench_intents` (and the benchmarks that reuse its
sets, such as `scripts/bench_kb_carry`): the YAML files under benchmarks/ read into items,
and one item's result.

A variants file has `languages` (each group's default profile), `intents` (per intent, group
and category, a list of wordings: a string, or `{text, profile, note}`), `negatives`
(off-topic requests that must match nothing) and `near_crisis` (figures of speech that must
reach no crisis intent); a development file may hold two such halves under `halves`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ivr.understanding.profiles import BUILTIN_PROFILES

__all__ = ["CATEGORIES", "CRISIS", "Item", "Result", "load_variants", "pct"]

CATEGORIES = ("standard", "colloquial", "dialect", "asr_error", "crisis", "negative",
              "near_crisis")
CRISIS = ("self_harm", "chest_pain", "breathing", "stroke")


@dataclass
class Item:
    text: str
    expected: str | None  # None: must not match anything
    group: str  # zh / en
    category: str
    profile: str
    note: str = ""


@dataclass
class Result:
    item: Item
    normalised: str
    got: str | None  # accepted intent (score >= threshold) or None
    top: str | None  # best intent regardless of threshold
    score: float
    evidence: str

    @property
    def ok(self) -> bool:
        if self.item.category == "near_crisis":  # anything but a crisis intent
            return self.got not in CRISIS
        return self.got == self.item.expected

    @property
    def top_ok(self) -> bool:
        return self.item.expected is not None and self.top == self.item.expected


def _item(raw: Any, default_profile: str) -> tuple[str, str, str]:
    if isinstance(raw, str):
        return raw, default_profile, ""
    return str(raw["text"]), str(raw.get("profile", default_profile)), str(raw.get("note", ""))


def load_variants(path: Path, half: str | None = None
                  ) -> tuple[list[Item], list[dict[str, Any]]]:
    """The items of a variants file. A file in halves (`halves: {A: ..., B: ...}`, each of
    the plain file's shape: benchmarks/intent_variants_dev.yaml) gives the `half` asked for,
    or all of them."""
    whole = yaml.safe_load(path.read_text(encoding="utf-8"))
    defaults = {g: v["profile"] for g, v in whole["languages"].items()}
    if "halves" in whole:
        names = [half] if half else list(whole["halves"])
        if half and half not in whole["halves"]:
            raise ValueError(f"{path}: no half {half!r} (has {', '.join(whole['halves'])})")
        parts = [whole["halves"][n] for n in names]
    elif half:
        raise ValueError(f"{path} has no halves: drop --half")
    else:
        parts = [whole]
    items: list[Item] = []
    slots: list[dict[str, Any]] = list(whole.get("slots", []))
    for data in parts:
        items += _items(path, data, defaults)
    for it in items:
        if it.profile not in BUILTIN_PROFILES:
            raise ValueError(f"{path}: unknown profile {it.profile!r} for {it.text!r}")
    return items, slots


def _items(path: Path, data: dict[str, Any], defaults: dict[str, str]) -> list[Item]:
    items: list[Item] = []
    for intent, groups in data.get("intents", {}).items():
        for group, categories in groups.items():
            for category, entries in categories.items():
                if category not in CATEGORIES:
                    raise ValueError(f"{path}: unknown category {category!r} for {intent}")
                for raw in entries:
                    text, profile, note = _item(raw, defaults[group])
                    items.append(Item(text, intent, group, category, profile, note))
    for key, category in (("negatives", "negative"), ("near_crisis", "near_crisis")):
        for group, entries in data.get(key, {}).items():
            for raw in entries:
                text, profile, note = _item(raw, defaults[group])
                items.append(Item(text, None, group, category, profile, note))
    return items


def pct(ok: int, n: int) -> str:
    return f"{100 * ok / n:5.1f}% ({ok:>2}/{n:<2})" if n else "      -      "
