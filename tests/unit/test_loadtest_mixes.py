"""Which real recordings each caller mix speaks (testkit/loadtest/mixes.py): a Mandarin clip
is used only when its transcript names exactly one of the hotline's service intents."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from testkit.loadtest import REQUESTS
from testkit.loadtest.mixes import (
    AISHELL,
    HOTLINE,
    hotline_keywords,
    load_mixes,
    mandarin_mix,
    select_requests,
)

KEYWORDS = {"bill_enquiry": ["话费", "账单"], "broadband_fault": ["宽带", "网络"],
            "agent": ["人工", "领导"], "self_harm": ["不想活"], "top_up": ["充值"]}


def row(path: str, text: str, seconds: str = "4.0") -> dict[str, str]:
    return {"path": path, "transcript_raw": text, "duration_s": seconds}


def test_a_clip_naming_one_service_intent_is_kept_with_its_length() -> None:
    got = select_requests([row("a.flac", "网络上搜索", "7.1"), row("b.flac", "领导小组")],
                          KEYWORDS, Path("/data"))
    assert [(r.clip, r.intent, r.speech_s) for r in got] == [
        (Path("/data/a.flac"), "broadband_fault", 7.1), (Path("/data/b.flac"), "agent", 4.0)]


def test_ambiguous_crisis_and_unrelated_clips_are_left_out() -> None:
    rows = [row("two.flac", "网络领导"),  # two intents: no clear expectation
            row("crisis.flac", "网络让我不想活"),  # a crisis word: the crisis path may win
            row("news.flac", "房价上涨或者下跌"),  # no keyword: a no-match, not a request
            row("bad.flac", "话费", "n/a")]  # unreadable length: kept, length 0
    got = select_requests(rows, KEYWORDS, Path("/d"))
    assert [(r.clip.name, r.speech_s) for r in got] == [("bad.flac", 0.0)]


def test_the_segmented_transcript_serves_when_the_raw_one_is_missing() -> None:
    # AISHELL's `transcript` is word-segmented: spaces are stripped before matching
    got = select_requests([{"path": "c.flac", "transcript": "网 络 上"}], KEYWORDS, Path("/d"))
    assert [(r.intent, r.text) for r in got] == [("broadband_fault", "网络上")]
    assert select_requests([{"path": "c.flac", "transcript": "网 上"}], KEYWORDS, Path("/d")) == []


def test_hotline_keywords_come_from_the_shipped_dialplan() -> None:
    words = hotline_keywords(yaml.safe_load(HOTLINE.read_text(encoding="utf-8")))
    assert "网络" in words["broadband_fault"] and "领导" in words["agent"]
    assert words["self_harm"]  # crisis keywords rule clips out


@pytest.mark.skipif(not (AISHELL / "manifest.csv").exists(), reason="needs ../shared/data")
def test_the_mandarin_mix_reaches_real_hotline_intents() -> None:
    mix = mandarin_mix()
    assert mix.key is None and mix.name == "zh"
    assert {r.intent for r in mix.requests} >= {"broadband_fault", "agent"}
    assert all(r.clip.exists() and r.speech_s > 1.0 for r in mix.requests)
    assert mix.continuing() and all(r.intent == "broadband_fault" for r in mix.continuing())


def test_the_english_mix_speaks_the_earlier_sweeps_requests_in_order() -> None:
    mix = load_mixes("en")[0]
    assert [(r.clip.name, r.intent) for r in mix.requests] == REQUESTS
    assert mix.aggressive_continues == {"bill_enquiry"}  # as every earlier sweep


def test_load_mixes_names() -> None:
    assert [m.name for m in load_mixes("en")] == ["en"]
    assert load_mixes("en")[0].key == "9"
    with pytest.raises(ValueError):
        load_mixes("fr")
