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


def is_noise(t: Transcript) -> bool:
    """Nothing was said, or Whisper invented a stock phrase on noise."""
    norm = re.sub(r"[^\w\s]", "", t.text.lower()).strip()
    return bool(t.is_empty or (norm in HALLUCINATIONS and (
        t.no_speech_prob > 0.3 or t.audio_duration < 1.5)))


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
