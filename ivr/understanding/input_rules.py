"""How a call judges caller input, shared by real calls (`CallSession`) and text
conversations (`Conversation`, `ivr simulate`, `ivr test`) so both behave the same."""

from __future__ import annotations

import re
from typing import Literal

from audio_models.protocols import Transcript
from ivr.dialplan.actions import Listen

# Whisper's well-known inventions on silence or noise (normalised, lower case).
HALLUCINATIONS = {
    "thank you", "thanks for watching", "thank you for watching", "you", "bye",
    "谢谢观看", "谢谢", "请不吝点赞订阅转发打赏支持明镜与点点栏目", "字幕由amaraorg社区提供",
}

SpeechVerdict = Literal["noise", "unintelligible", "speech"]


MAX_CHARS_PER_S = 12.0  # Mandarin is spoken at 3-6 characters a second
MAX_WORDS_PER_S = 6.0  # English at 2-4 words a second
LOOP_REPEATS = 4  # a phrase said this many times in a row is Whisper looping
_DIGIT_WORDS = {"zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight",
                "nine", "double", "triple"}
_DIGIT_HANZI = set("零〇一二两三四五六七八九幺")


def _repeats(seq: list[str], n: int, i: int) -> int:
    unit, count = seq[i : i + n], 1
    while seq[i + count * n : i + (count + 1) * n] == unit:
        count += 1
    return count


def looping(text: str) -> bool:
    """A phrase (1-4 words, or 2-6 characters) repeated LOOP_REPEATS times in a row; digit
    strings may repeat ("five five five five" is a real account number)."""
    units = [(re.findall(r"[a-z']+", text.lower()), range(1, 5), _DIGIT_WORDS),
             (re.findall(r"[\u4e00-\u9fff]", text), range(2, 7), _DIGIT_HANZI)]
    for seq, sizes, digits in units:
        for n in sizes:
            for i in range(len(seq) - n * LOOP_REPEATS + 1):
                if (_repeats(seq, n, i) >= LOOP_REPEATS
                        and not set(seq[i : i + n]) <= digits):
                    return True
    return False


def hallucination(t: Transcript) -> str | None:
    """Why this recognition is not what the caller said, or None. Whisper invents text on
    silence, breathing and line noise: stock phrases, likely-no-speech with a low
    log-probability, far more text than the audio could hold, or a phrase looping."""
    text = t.text.strip()
    if not text:
        return "empty"
    norm = re.sub(r"[^\w\s]", "", text.lower()).strip()
    if norm in HALLUCINATIONS and (t.no_speech_prob > 0.3 or t.audio_duration < 1.5):
        return "stock phrase"
    if t.no_speech_prob > 0.6 and t.avg_logprob < -0.8:
        return "no speech"
    seconds = max(t.audio_duration, 0.3)
    hanzi = len(re.findall(r"[\u4e00-\u9fff]", text))
    words = len(re.findall(r"[A-Za-z']+", text))
    if hanzi / seconds > MAX_CHARS_PER_S or words / seconds > MAX_WORDS_PER_S:
        return "too much text for the audio"
    if looping(text):
        return "repetition loop"
    return None


def is_noise(t: Transcript) -> bool:
    """Nothing was said, or Whisper invented text (see `hallucination`)."""
    return hallucination(t) is not None


def judge_speech(t: Transcript, min_confidence: float, max_no_speech_prob: float
                 ) -> SpeechVerdict:
    """noise: ignore and keep listening; unintelligible: counts as not understood."""
    if is_noise(t):
        return "noise"
    if t.confidence < min_confidence or (t.no_speech_prob > max_no_speech_prob
                                         and t.confidence < 0.5):
        return "unintelligible"
    return "speech"


def dtmf_complete(listen: Listen, digits: str) -> bool:
    """Is `digits` a whole answer? Slots end on '#' or max length; menus end when the keys
    match a choice that no longer choice extends, or can no longer match one."""
    if listen.digits_slot:
        return digits.endswith("#") or len(digits) >= listen.max_digits
    if listen.max_digits <= 1 or digits.endswith("#"):
        return True
    longer = [k for k in listen.dtmf_choices if k.startswith(digits) and k != digits]
    return not longer or len(digits) >= listen.max_digits


def expects_terminator(listen: Listen, digits: str) -> bool:
    """Did `digits` complete a digit slot by its length, not by '#'? Callers told to "press the
    hash key" press it anyway: that '#' ends nothing and answers nothing, and real calls and
    `ivr test` alike drop it (it must not interrupt the read-back, nor count as input)."""
    return listen.digits_slot and not digits.endswith("#") and len(digits) >= listen.max_digits
