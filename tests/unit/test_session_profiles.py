"""Calls pick the caller's language and dialect profile: language detection on the first
utterance, dialect cues in its transcript, the Cantonese voice (fakes, hotline dialplan)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import Any

from audio_models.frames import AudioFrame
from audio_models.protocols import Transcript
from tests.unit import call_runner
from tests.unit.call_runner import Call, speech_clip
from tests.unit.fakes import FakeASR, transcript

BILL_ZH = "您本月的账单为九十八元，当前余额为五十八元二角。"
BILL_EN = "Your bill for this month is 98 yuan, and your current balance is 58 yuan 20."


class DetectingASR(FakeASR):
    """FakeASR that also identifies the language when asked to (`detect`: the plan's
    languages and their prompts), from a script of (language, probability among them) pairs
    or exceptions; the transcript is then "recognised" in that language, in the same pass."""

    identifies_languages = True

    def __init__(self, script: list[Any], detections: list[Any]) -> None:
        super().__init__(script)
        self.detections = list(detections)
        self.detect_calls: list[dict[str, str | None]] = []

    async def recognize(self, audio: AudioFrame, language: str,
                        initial_prompt: str | None = None, *, priority: int = 0,
                        deadline: float | None = None, full_window: bool = False,
                        detect: Mapping[str, str | None] | None = None,
                        grammar: Any = None) -> Transcript:
        if detect is None:
            return await super().recognize(audio, language, initial_prompt,
                                           priority=priority, deadline=deadline,
                                           full_window=full_window, grammar=grammar)
        self.detect_calls.append(dict(detect))
        if not self.detections:
            raise AssertionError("DetectingASR: no scripted detection left")
        item = self.detections.pop(0)
        if isinstance(item, BaseException):
            raise item
        lang, prob = item
        assert lang in detect, f"{lang} is not a language of the plan: {sorted(detect)}"
        t = await super().recognize(audio, lang, detect[lang], priority=priority,
                                    deadline=deadline, full_window=full_window)
        return replace(t, language=lang, language_probability=prob)


def run_call(tmp_path, scenario: Callable[[Call], Awaitable[None]], script: list[Any],
             detections: list[Any], detection: bool = True) -> Call:
    """call_runner's call on the hotline, its recogniser also scripting `detections`."""
    return call_runner.run_call(tmp_path, scenario, asr=DetectingASR(script, detections),
                                language_detection=detection)


async def _hang_up_after_turn(c: Call, count: int) -> None:
    await c.wait_event("turn", count=count)
    await asyncio.sleep(0.05)
    c.session.on_hangup("caller_hangup")


async def _speak_at_menu(c: Call) -> None:
    await c.wait_event("listen", node="main_menu")
    await c.wait_event("prompt_end", node="main_menu")
    c.say(speech_clip())


# ---------------------------------------------------------------- language detection
def test_english_first_utterance_switches_to_en_us(tmp_path):
    async def scenario(c: Call) -> None:
        await _speak_at_menu(c)
        await _hang_up_after_turn(c, 1)

    said = "I want to check my bill"
    c = run_call(tmp_path, scenario, [transcript(said, "en")], [("en", 0.95)])
    assert len(c.asr.detect_calls) == 1
    # the plan's languages (yue: the Cantonese profile), each with its profile's prompt
    assert c.asr.detect_calls[0] == {"zh": "以下是普通话的句子。", "en": None,
                                     "yue": "以下係廣東話。"}
    assert c.asr.languages == ["en"]  # recognised as English in the same pass
    assert c.asr.calls[0][2] is None  # en-US has no initial prompt
    assert c.events("language_detected") == [
        {"language": "en", "probability": 0.95, "profile": "en-US", "same_pass": True}]
    assert c.events("language") == [{"language": "en-US", "profile": "en-US"}]
    assert c.events("dialect_detected") == []
    row = c.row()
    assert (row["language"], row["profile"]) == ("en-US", "en-US")
    (turn,) = row["turns"]
    assert (turn["caller_text"], turn["intent"], turn["outcome"]) == (
        said, "bill_enquiry", "match")
    assert (BILL_EN, "en-US") in c.prompts.requests
    assert (BILL_ZH, "zh-CN") not in c.prompts.requests


def test_mandarin_first_utterance_keeps_the_language(tmp_path):
    async def scenario(c: Call) -> None:
        await _speak_at_menu(c)
        await _hang_up_after_turn(c, 1)

    c = run_call(tmp_path, scenario, [transcript("我想查一下话费", "zh")], [("zh", 0.7)])
    assert len(c.asr.detect_calls) == 1
    assert len(c.asr.calls) == 1  # one recognition: no separate detection pass
    assert c.asr.languages == ["zh"]
    assert c.asr.calls[0][2] == "以下是普通话的句子。"
    assert c.events("language_detected") == [
        {"language": "zh", "probability": 0.7, "profile": "zh-CN", "same_pass": True}]
    assert c.events("language") == []
    row = c.row()
    assert (row["language"], row["profile"]) == ("zh-CN", "zh-CN")
    assert row["turns"][0]["intent"] == "bill_enquiry"
    assert (BILL_ZH, "zh-CN") in c.prompts.requests


def test_detection_runs_once_per_call(tmp_path):
    async def scenario(c: Call) -> None:
        await _speak_at_menu(c)
        await c.wait_event("listen", node="anything_else")
        await c.wait_event("prompt_end", node="anything_else")
        c.say(speech_clip())
        await _hang_up_after_turn(c, 2)

    c = run_call(tmp_path, scenario,
                 [transcript("我想查一下话费", "zh"), transcript("没有了", "zh")],
                 [("zh", 0.99), ("en", 0.99)])
    assert len(c.asr.detect_calls) == 1
    assert c.asr.detections == [("en", 0.99)]  # the second one was never asked for
    assert c.asr.languages == ["zh", "zh"]
    assert len(c.events("language_detected")) == 1
    assert c.events("language") == []
    assert [t["intent"] for t in c.row()["turns"]] == ["bill_enquiry", "deny"]


def test_detection_once_even_after_a_switch(tmp_path):
    async def scenario(c: Call) -> None:
        await _speak_at_menu(c)
        await c.wait_event("listen", node="anything_else")
        await c.wait_event("prompt_end", node="anything_else")
        c.say(speech_clip())
        await _hang_up_after_turn(c, 2)

    c = run_call(tmp_path, scenario,
                 [transcript("check my bill", "en"), transcript("no thanks", "en")],
                 [("en", 0.9), ("zh", 0.99)])
    assert len(c.asr.detect_calls) == 1
    assert c.asr.languages == ["en", "en"]
    assert [t["intent"] for t in c.row()["turns"]] == ["bill_enquiry", "deny"]
    assert c.events("language") == [{"language": "en-US", "profile": "en-US"}]


def test_caller_who_pressed_9_is_never_detected(tmp_path):
    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("9")
        await c.wait_event("listen", node="main_menu", language="en-US")
        c.say(speech_clip())  # over the English menu
        await _hang_up_after_turn(c, 2)

    c = run_call(tmp_path, scenario, [transcript("check my bill", "en")], [("zh", 0.99)])
    assert c.asr.detect_calls == []
    assert c.events("language_detected") == []
    assert c.asr.languages == ["en"]
    assert c.events("language") == [{"language": "en-US", "profile": "en-US"}]
    assert [t["intent"] for t in c.row()["turns"]] == ["english", "bill_enquiry"]


def test_detection_off_in_the_dialplan(tmp_path):
    async def scenario(c: Call) -> None:
        await _speak_at_menu(c)
        await _hang_up_after_turn(c, 1)

    c = run_call(tmp_path, scenario, [transcript("哎呀我也说不清楚是啥子", "zh")],
                 [("en", 0.99)], detection=False)
    assert c.asr.detect_calls == []
    assert c.events("language_detected") == []
    assert c.events("dialect_detected") == []  # no dialect cues looked at either
    assert c.events("language") == []
    assert c.asr.languages == ["zh"]
    assert c.row()["profile"] == "zh-CN"


def test_detection_error_is_logged_and_the_call_goes_on(tmp_path):
    async def scenario(c: Call) -> None:
        await _speak_at_menu(c)
        await _hang_up_after_turn(c, 1)

    c = run_call(tmp_path, scenario, [transcript("我想查一下话费", "zh")],
                 [RuntimeError("encoder failed")])
    assert c.events("error") == [{"where": "language_detection", "error": "encoder failed"}]
    assert c.asr.languages == ["zh"]  # recognised again, plainly, in the line's language
    assert c.row()["turns"][0]["intent"] == "bill_enquiry"


# ---------------------------------------------------------------- dialect cues
def test_sichuan_cue_adopts_the_sichuan_profile(tmp_path):
    async def scenario(c: Call) -> None:
        await _speak_at_menu(c)
        await _hang_up_after_turn(c, 1)

    c = run_call(tmp_path, scenario, [transcript("哎呀我也说不清楚是啥子", "zh")],
                 [("zh", 0.98)])
    assert c.asr.languages == ["zh"]
    assert c.events("dialect_detected") == [{"profile": "zh-sichuan"}]
    assert c.events("language") == [{"language": "zh-CN", "profile": "zh-sichuan"}]
    row = c.row()
    assert (row["language"], row["profile"]) == ("zh-CN", "zh-sichuan")
    assert c.session.profile_id == "zh-sichuan"


def test_english_dialect_cue_after_detection(tmp_path):
    async def scenario(c: Call) -> None:
        await _speak_at_menu(c)
        await _hang_up_after_turn(c, 1)

    said = "Kindly revert on my bill"
    c = run_call(tmp_path, scenario, [transcript(said, "en")], [("en", 0.9)])
    assert c.events("language_detected")[0]["profile"] == "en-US"
    assert c.events("dialect_detected") == [{"profile": "en-IN"}]
    assert c.events("language") == [{"language": "en-US", "profile": "en-IN"}]
    assert c.row()["profile"] == "en-IN"
    assert c.row()["turns"][0]["intent"] == "bill_enquiry"


def test_no_cue_fixes_the_profile(tmp_path):
    async def scenario(c: Call) -> None:
        await _speak_at_menu(c)
        await _hang_up_after_turn(c, 1)

    c = run_call(tmp_path, scenario, [transcript("我想查一下话费", "zh")], [("zh", 0.98)])
    assert c.events("dialect_detected") == []
    assert c.events("language") == []
    assert c.session.profile_id == "zh-CN"
    assert c.session.facts()["profile"] is None


def test_choice_after_detection_is_kept(tmp_path):
    async def scenario(c: Call) -> None:
        await _speak_at_menu(c)
        await c.wait_event("listen", count=2, node="main_menu")  # no match: asked again
        c.dtmf("9")
        await c.wait_event("listen", node="main_menu", language="en-US")
        c.dtmf("1")
        await _hang_up_after_turn(c, 3)

    c = run_call(tmp_path, scenario, [transcript("哎呀我也说不清楚是啥子", "zh")],
                 [("zh", 0.98)])
    assert c.events("language")[:2] == [{"language": "zh-CN", "profile": "zh-sichuan"},
                                        {"language": "en-US", "profile": "en-US"}]
    assert (BILL_EN, "en-US") in c.prompts.requests
    assert c.row()["language"] == "en-US"


# ---------------------------------------------------------------- Cantonese voice
def test_cantonese_profile_speaks_with_the_cantonese_voice(tmp_path):
    async def scenario(c: Call) -> None:
        await _speak_at_menu(c)
        await _hang_up_after_turn(c, 1)

    c = run_call(tmp_path, scenario, [transcript("我想查下話費", "yue")], [("yue", 0.9)])
    assert c.asr.languages == ["yue"]
    assert c.asr.calls[0][2] == "以下係廣東話。"
    assert c.events("language_detected") == [
        {"language": "yue", "probability": 0.9, "profile": "yue", "same_pass": True}]
    assert c.events("language") == [{"language": "zh-CN", "profile": "yue"}]
    assert c.row()["profile"] == "yue"
    assert c.row()["turns"][0]["intent"] == "bill_enquiry"
    # Mandarin prompts, rendered with the Cantonese voice once the profile is adopted
    assert (BILL_ZH, "yue") in c.prompts.requests
    assert (BILL_ZH, "zh-CN") not in c.prompts.requests
    before = c.prompts.requests[:3]  # greeting, English offer, menu: before the caller spoke
    assert [lang for _, lang in before] == ["zh-CN", "en-US", "zh-CN"]
    assert all(lang == "yue" for text, lang in c.prompts.requests[3:] if text != BILL_EN)
