"""Pure parts of scripts/bench_vs_pipecat: speech end on a real recording, first reply sound,
percentile/ratio maths, the keyword intent (English words, Chinese characters) and the replies
read from the shipped hotline and the news desk, the news desk's Mandarin clips."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from testkit.bench.aishell import AISHELL, NEWS_DESK, mandarin_requests
from testkit.bench.flow import menu_replies, no_match_text, with_traditional
from testkit.bench.measure import (
    first_sound_s,
    keyword_intent,
    percentile,
    ratio,
    speech_end_s,
    summary,
)

REPO = Path(__file__).resolve().parents[2]
REPRESENTATIVE = Path("/usr/share/asterisk/sounds/en_US_f_Allison/queue-callswaiting.wav")


@pytest.fixture
def speech() -> tuple[np.ndarray, int]:
    if not REPRESENTATIVE.exists():
        pytest.skip("asterisk-core-sounds-en-wav is not installed (run scripts/setup)")
    data, rate = sf.read(str(REPRESENTATIVE), dtype="int16")
    return data, rate


def test_speech_end_on_a_real_recording_agrees_with_webrtcvad(speech) -> None:
    """"Waiting to speak with a representative": the energy end (2.28 s) is at most 200 ms
    before the end of the last 30 ms frame webrtcvad calls voiced (it also votes "voiced" on
    the fading tail, 35-50 dB below the peak), and well inside the 2.47 s file."""
    import webrtcvad

    data, rate = speech
    end = speech_end_s(data, rate)
    vad, n = webrtcvad.Vad(2), int(rate * 0.03)
    voiced = [i for i in range(0, len(data) - n + 1, n)
              if vad.is_speech(data[i : i + n].tobytes(), rate)]
    vad_end = (voiced[-1] + n) / rate
    assert 2.0 < end < len(data) / rate - 0.1
    assert 0.0 <= vad_end - end <= 0.2, (end, vad_end)


def test_speech_end_moves_with_leading_silence_and_ignores_trailing(speech) -> None:
    data, rate = speech
    end = speech_end_s(data, rate)
    padded = np.concatenate([np.zeros(rate // 2, np.int16), data, np.zeros(3 * rate, np.int16)])
    assert speech_end_s(padded, rate) == pytest.approx(end + 0.5, abs=0.011)
    # low background noise (-60 dBFS) after the speech is not speech
    noisy = padded.copy()
    rng = np.random.default_rng(1)
    noisy[-2 * rate :] = (rng.standard_normal(2 * rate) * 32768 * 10 ** (-60 / 20)).astype(
        np.int16)
    assert speech_end_s(noisy, rate) == pytest.approx(end + 0.5, abs=0.011)


def test_speech_end_of_silence_raises() -> None:
    with pytest.raises(ValueError):
        speech_end_s(np.zeros(8000, np.int16), 8000)


def test_first_sound_finds_the_first_loud_sample_after_a_time() -> None:
    rate = 8000
    x = np.zeros(3 * rate, np.float32)
    x[1000:1100] = 0.5  # an earlier sound (the menu prompt), before `after_s`
    x[12_345:16_000] = 0.3  # the reply
    assert first_sound_s(x, rate) == pytest.approx(1000 / rate)
    assert first_sound_s(x, rate, after_s=0.5) == pytest.approx(12_345 / rate)
    assert first_sound_s(x, rate, after_s=2.5) is None


def test_percentile_ratio_and_summary() -> None:
    vals = [1700.0, 1550.0, 3540.0, 1600.0, 1800.0]
    assert percentile(vals, 50) == 1700.0
    assert percentile(vals, 95) == pytest.approx(float(np.percentile(vals, 95)))
    assert percentile([5.0], 95) == 5.0
    s = summary(vals)
    assert (s["n"], s["median"], s["min"], s["max"]) == (5, 1700.0, 1550.0, 3540.0)
    assert ratio(1700.0, 850.0) == 2.0
    assert math.isinf(ratio(1700.0, 0.0))
    with pytest.raises(ValueError):
        percentile([], 50)


def test_keyword_intent_longest_whole_word_match() -> None:
    kw = {"bill_enquiry": ["bill", "last call"], "agent": ["representative", "agent"],
          "broadband_fault": ["having problems"]}
    assert keyword_intent(" Waiting to speak with a representative.", kw) == "agent"
    assert keyword_intent("Information about your last call.", kw) == "bill_enquiry"
    assert keyword_intent("Sorry, you're having problems!", kw) == "broadband_fault"
    assert keyword_intent("Waiting to speak with our representatives.", kw) == "agent"
    assert keyword_intent("billing", kw) is None  # whole words (plus up to 2 letters) only
    assert keyword_intent("the last of my calls", kw) is None  # phrases stay phrases
    assert keyword_intent("bill for the agent", {"a": ["bill"], "b": ["agent"]}) == "b"


def test_replies_are_the_hotline_texts() -> None:
    plan = yaml.safe_load((REPO / "dialplans" / "hotline.yaml").read_text(encoding="utf-8"))
    keywords, replies = menu_replies(plan, "main_menu", "en-US")
    assert replies["agent"] == plan["nodes"]["agent"]["transfer"]["say"]["en-US"]
    assert replies["bill_enquiry"] == plan["nodes"]["bill_info"]["say"]["en-US"]
    assert replies["broadband_fault"].startswith("Please say or key in your 8-digit broadband")
    assert "representative" in keywords["agent"]
    assert "english" not in replies  # language switches are not replies
    assert no_match_text(plan, "en-US") == "Sorry, I didn't understand that."
    assert no_match_text(plan, "en-US", "main_menu") == "Sorry, I didn't understand that."


def test_replies_are_the_news_desk_mandarin_texts() -> None:
    """The news desk has no no-match prompt: the engine asks the topic question again."""
    plan = yaml.safe_load(NEWS_DESK.read_text(encoding="utf-8"))
    keywords, replies = menu_replies(plan, "topic", "zh-CN")
    assert set(replies) == {"phones", "property", "economy", "traffic", "stocks"}
    assert replies["property"] == plan["nodes"]["property_desk"]["hangup"]["say"]["zh-CN"]
    assert replies["economy"] == "好的，已为您转到财经组。"
    assert "房价" in keywords["property"] and "housing" not in keywords["property"]
    assert no_match_text(plan, "zh-CN", "topic") == plan["nodes"]["topic"]["menu"]["prompt"][
        "zh-CN"]


def test_keyword_intent_finds_chinese_keywords_inside_words() -> None:
    plan = yaml.safe_load(NEWS_DESK.read_text(encoding="utf-8"))
    keywords, _ = menu_replies(plan, "topic", "zh-CN")
    assert keyword_intent("需求将可能难以支撑房价", keywords) == "property"
    assert keyword_intent("需求 将 可能，难以支撑房 价。", keywords) == "property"
    assert keyword_intent("今天天气很好", keywords) is None
    # Whisper may write Traditional characters: with_traditional keeps both scripts
    assert keyword_intent("需求將可能難以支撐房價", keywords) is None
    both = with_traditional(keywords)
    assert both["property"][0] == "房价" and "房價" in both["property"]
    assert keyword_intent("需求將可能難以支撐房價", both) == "property"
    assert keyword_intent("私家車司機", both) == "traffic"


def test_mandarin_requests_name_exactly_one_news_desk_topic() -> None:
    if not (AISHELL / "manifest.csv").exists():
        pytest.skip(f"no shared Mandarin speech at {AISHELL}")
    plan = yaml.safe_load(NEWS_DESK.read_text(encoding="utf-8"))
    keywords, _ = menu_replies(plan, "topic", "zh-CN")
    requests = mandarin_requests(NEWS_DESK)
    assert len(requests) >= 20
    assert {expected for _, expected in requests} == set(keywords)
    transcripts = {r.split(",")[0]: r.rsplit(",", 1)[1] for r in
                   (AISHELL / "manifest.csv").read_text(encoding="utf-8").splitlines()[1:]}
    for clip, expected in requests:
        assert clip.exists()
        text = transcripts[str(clip.relative_to(AISHELL))]
        assert keyword_intent(text, keywords) == expected, (clip.name, text)
    hotline = mandarin_requests(REPO / "dialplans" / "hotline.yaml")
    assert hotline and all(expected is None for _, expected in hotline)
