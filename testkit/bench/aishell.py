"""Real Mandarin requests for the benchmarks: AISHELL-1 read news clips (8 kHz FLAC, shared
data at ../shared/data/asr_zh_aishell) and the news desk topic each one names.

`benchmarks/dialplans/news_desk.yaml` has the topics these clips talk about, so a real Mandarin
caller's first request can be understood: `mandarin_requests` keeps the clips whose transcript
holds a zh-CN keyword of exactly one of its intents (manifest order). Any other dialplan gets
every 7th clip with no expected intent (read news is a no-match there). Used by
`scripts/bench_latency` and `scripts/bench_vs_pipecat --caller zh`; reads the dialplan's YAML,
no `ivr` import.
"""

from __future__ import annotations

import csv
from pathlib import Path

import yaml

from testkit.bench.flow import intent_keywords

REPO = Path(__file__).resolve().parents[2]
AISHELL = REPO.parent / "shared" / "data" / "asr_zh_aishell"
NEWS_DESK = REPO / "benchmarks" / "dialplans" / "news_desk.yaml"
NEWS_DESK_NAME = "news-desk-bench"

__all__ = ["AISHELL", "NEWS_DESK", "mandarin_requests"]


def mandarin_requests(dialplan: Path) -> list[tuple[Path, str | None]]:
    """(AISHELL clip, the intent it names) for the clips whose transcript holds a keyword of
    exactly one of `dialplan`'s intents (the news desk); for any other dialplan (the hotline):
    (clip, None) for every 7th clip, spread over the set."""
    with open(AISHELL / "manifest.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    plan = yaml.safe_load(dialplan.read_text(encoding="utf-8"))
    if plan.get("name") != NEWS_DESK_NAME:
        return [(AISHELL / r["path"], None) for r in rows[::7]]
    keywords = {name: intent_keywords(plan, name, "zh-CN") for name in plan.get("intents", {})}
    out: list[tuple[Path, str | None]] = []
    for r in rows:
        named = {name for name, words in keywords.items()
                 if any(k in r["transcript_raw"] for k in words)}
        if len(named) == 1:
            out.append((AISHELL / r["path"], named.pop()))
    return out
