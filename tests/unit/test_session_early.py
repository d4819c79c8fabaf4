"""Speculative recognition on the call's timeline (fakes for ASR, media and prompts; the real
endpointer, engine and store): the early result is used when the caller stays silent,
discarded when they speak again, and a complete answer ends the utterance early."""

from __future__ import annotations

import asyncio
import time

from audio_models.frames import AudioFrame, concat, split_frames
from tests.unit.call_runner import Call, hotline_variable_account, run_call, speech_clip
from tests.unit.fakes import transcript

RATE = 16000
AGENT = "Waiting to speak with a representative."


class Timeline:
    """Caller audio fed in pieces, stamped continuously: the first piece ends now."""

    def __init__(self) -> None:
        self.t: float | None = None

    def feed(self, c: Call, *pieces: AudioFrame) -> None:
        audio = concat(list(pieces))
        if self.t is None:
            self.t = time.monotonic() - audio.duration
        c.media.feed(split_frames(AudioFrame(audio.pcm, RATE, self.t)))
        self.t += audio.duration


def silence(s: float) -> AudioFrame:
    return AudioFrame.silence(s, RATE)


async def english_menu(c: Call) -> None:
    await c.wait_event("listen", node="main_menu")
    c.dtmf("9")
    await c.wait_event("prompt", node="main_menu", language="en-US")
    await c.session.wait_playout()  # the caller answers after the menu


def test_early_result_used_when_no_speech_follows(tmp_path):
    async def scenario(c: Call) -> None:
        await english_menu(c)
        tl = Timeline()
        tl.feed(c, silence(0.5), speech_clip(), silence(0.3))  # a 300 ms pause: speculation
        await asyncio.sleep(0.1)
        assert len(c.asr.calls) == 1  # recognising while the end-of-speech silence runs
        tl.feed(c, silence(0.6))  # end of speech: the early result is the result
        await c.wait_event("turn", count=2)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, asr_script=[transcript(AGENT)], speed=0.01,
                 early_commit_score=0)
    assert len(c.asr.calls) == 1
    assert c.events("utterance")[0]["early"] is True
    assert not c.events("early_commit") and not c.events("asr_early_discarded")
    turn = c.row()["turns"][1]
    assert (turn["caller_text"], turn["intent"]) == (AGENT, "agent")
    assert turn["asr_done"] < turn["speech_end"] + 0.7  # ASR overlapped the silence


def test_early_result_discarded_when_speech_resumes(tmp_path):
    said = "Waiting to speak with a representative about my bill."

    async def scenario(c: Call) -> None:
        await english_menu(c)
        tl = Timeline()
        tl.feed(c, silence(0.5), speech_clip(), silence(0.3))
        await asyncio.sleep(0.1)
        tl.feed(c, speech_clip(), silence(1.0))  # more speech, then the real end
        await c.wait_event("turn", count=2)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, asr_script=[transcript("Waiting"), transcript(said)],
                 speed=0.01, early_commit_score=0)
    assert [e["why"] for e in c.events("asr_early_discarded")] == ["speech_resumed"]
    assert len(c.asr.calls) == 2
    first, final = c.asr.calls[0][0], c.asr.calls[1][0]
    assert final.duration > first.duration + speech_clip().duration - 0.1
    (utt,) = c.events("utterance")
    assert (utt["text"], utt["early"]) == (said, True)  # the second pause's recognition
    assert c.row()["turns"][1]["caller_text"] == said


def test_confident_intent_commits_before_the_end_silence(tmp_path):
    async def scenario(c: Call) -> None:
        await english_menu(c)
        tl = Timeline()
        tl.feed(c, silence(0.5), speech_clip(), silence(0.3))  # never 700 ms of silence
        await c.wait_event("turn", count=2)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, asr_script=[transcript(AGENT)], speed=0.01)
    (commit,) = c.events("early_commit")
    assert commit["silence_ms"] < 700
    turn = c.row()["turns"][1]
    assert (turn["intent"], turn["outcome"]) == ("agent", "match")
    assert len(c.asr.calls) == 1


def test_digits_short_of_the_gather_length_wait_for_the_end_reply_prerendered(tmp_path):
    digits = "one two three four five six seven eight"
    early_requests: list[str] = []

    async def scenario(c: Call) -> None:
        await english_menu(c)
        c.dtmf("2")
        await c.wait_event("listen", node="broadband_account")
        tl = Timeline()
        tl.feed(c, silence(0.5), speech_clip(), silence(0.3))
        await asyncio.sleep(0.1)
        assert not c.events("early_commit")  # 8 digits of up to 12: maybe more to come
        assert c.session._listening.in_speech
        early_requests.extend(text for text, _ in c.prompts.requests)
        tl.feed(c, silence(0.6))
        await c.wait_event("turn", count=3)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, asr_script=[transcript(digits)], speed=0.01,
                 plan_path=hotline_variable_account(tmp_path))
    assert not c.events("early_commit")
    turn = c.row()["turns"][2]
    assert (turn["node"], turn["slots"]) == ("broadband_account", {"account": "12345678"})
    assert c.events("utterance")[0]["early"] is True
    # the replies (the read-back with the number, the next question) were rendered in the pause
    assert all(say in early_requests for say in turn["prompt"].split("\n"))


def test_yes_no_answer_commits_before_the_end_silence(tmp_path):
    async def scenario(c: Call) -> None:
        await english_menu(c)
        c.dtmf("1")  # the bill, then "anything else?"
        await c.wait_event("listen", node="anything_else")
        await c.session.wait_playout()
        Timeline().feed(c, silence(0.5), speech_clip(), silence(0.3))
        await c.wait_event("turn", count=3)
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario, asr_script=[transcript("No, thank you.")], speed=0.01)
    assert len(c.events("early_commit")) == 1
    turn = c.row()["turns"][2]
    assert (turn["node"], turn["outcome"]) == ("anything_else", "match")
