"""The caller's emotion over a call: per-turn estimates fused from prosody and words, a
trajectory (current, peak, trend), and the policies that act on it (soothing mode,
escalation after repeated anger).

Prosody comes from `audio_models.emotion` (features normalised against the caller's own
earlier turns); words come from text cues (投诉, 多次联系都没解决, "this is ridiculous",
swearing). What the dialplan sees as `emotion.*` is `EmotionTracker.facts()`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

# Words that signal anger/frustration or distress, by strength (0..1). Matched on normalised
# text (Simplified Chinese, lower-case English).
ANGER_CUES: dict[str, float] = {
    "投诉": 0.7, "举报": 0.6, "多次联系": 0.6, "都没解决": 0.7, "还没解决": 0.6, "一直没解决": 0.7,
    "太差": 0.6, "什么破": 0.7, "垃圾": 0.8, "骗子": 0.8, "欺骗": 0.7, "气死": 0.8, "受够了": 0.8,
    "搞什么": 0.6, "有没有人管": 0.7, "退钱": 0.5, "赔偿": 0.4, "太过分": 0.7, "无语": 0.5,
    "混蛋": 0.9, "妈的": 0.9, "他妈": 0.9, "靠": 0.4,
    "ridiculous": 0.7, "unacceptable": 0.7, "complaint": 0.6, "complain": 0.6,
    "fed up": 0.7, "sick of": 0.7, "useless": 0.6, "scam": 0.7, "rip off": 0.7, "ripoff": 0.7,
    "furious": 0.8, "angry": 0.6, "still not fixed": 0.7, "three times": 0.4,
    "damn": 0.7, "hell": 0.5, "shit": 0.9, "fuck": 0.9, "bloody": 0.6,
}
DISTRESS_CUES: dict[str, float] = {
    "救命": 0.9, "害怕": 0.6, "着急": 0.5, "急死": 0.6, "怎么办": 0.4, "难受": 0.5, "哭": 0.5,
    "不想活": 1.0, "想死": 1.0, "撑不住": 0.7, "绝望": 0.8,
    "help me": 0.6, "scared": 0.6, "afraid": 0.5, "desperate": 0.7, "panic": 0.7,
    "emergency": 0.6, "please hurry": 0.5, "can't cope": 0.7, "crying": 0.5,
}


def text_cues(text: str) -> tuple[float, float, list[str]]:
    """(anger, distress, cue words found) from the words of a turn."""
    t = text.lower()
    found: list[str] = []
    anger = distress = 0.0
    for table, which in ((ANGER_CUES, "anger"), (DISTRESS_CUES, "distress")):
        for cue, weight in table.items():
            hit = cue in t if re.search(r"[\u4e00-\u9fff]", cue) else re.search(
                rf"(?<![a-z]){re.escape(cue)}(?![a-z])", t)
            if hit:
                found.append(cue)
                if which == "anger":
                    anger = 1 - (1 - anger) * (1 - weight)  # several cues add up
                else:
                    distress = 1 - (1 - distress) * (1 - weight)
    return anger, distress, found


@dataclass(frozen=True)
class TurnEmotion:
    """One caller turn's fused estimate (all scores 0..1)."""

    anger: float
    distress: float
    arousal: float
    label: str  # neutral, angry, sad/distressed...
    prosody_anger: float | None = None  # None: no audio (keys, text)
    text_anger: float = 0.0
    cues: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"anger": round(self.anger, 3), "distress": round(self.distress, 3),
                "arousal": round(self.arousal, 3), "label": self.label,
                "prosody_anger": None if self.prosody_anger is None
                else round(self.prosody_anger, 3),
                "text_anger": round(self.text_anger, 3), "cues": list(self.cues)}


@dataclass
class EmotionPolicy:
    """Thresholds (from settings, scaled by the dialplan's sensitivity)."""

    angry: float = 0.6  # a turn at or above this counts as angry
    soothing: float = 0.5  # soothing mode from this anger (or distress) on
    escalate_turns: int = 2  # angry turns in a row that hand the call to a person
    prosody_weight: float = 0.75  # how far the voice alone can take a score
    text_weight: float = 0.9  # how far the words alone can take it
    sensitivity: float = 1.0  # >1 reacts sooner, <1 later

    def scaled(self, value: float) -> float:
        return min(1.0, value * self.sensitivity)


@dataclass
class EmotionTracker:
    """Per call: fuse each turn, keep the trajectory, decide soothing and escalation."""

    policy: EmotionPolicy = field(default_factory=EmotionPolicy)
    turns: list[TurnEmotion] = field(default_factory=list)
    soothing: bool = False
    _angry_run: int = 0

    def add(self, prosody: dict[str, float] | None, text: str) -> TurnEmotion:
        """Fuse one turn: `prosody` has anger, distress, arousal (0..1) and label, or is
        None for a turn without usable audio."""
        t_anger, t_distress, cues = text_cues(text)
        p = self.policy
        # noisy-OR of weighted evidence: either the voice or the words can carry a turn (an
        # explicit complaint said calmly is still one), and both together add up
        def fuse(voice: float, words: float) -> float:
            return 1 - (1 - p.prosody_weight * voice) * (1 - p.text_weight * words)

        if prosody is not None:
            anger = fuse(prosody["anger"], t_anger)
            distress = fuse(prosody.get("distress", 0.0), t_distress)
            arousal = prosody.get("arousal", 0.0)
            label = prosody.get("label", "neutral")
        else:
            anger, distress = p.text_weight * t_anger, p.text_weight * t_distress
            arousal, label = 0.0, "neutral"
        anger, distress = p.scaled(anger), p.scaled(distress)
        if anger >= p.angry and label == "neutral":
            label = "angry"
        turn = TurnEmotion(anger, distress, arousal, str(label),
                           None if prosody is None else prosody["anger"], t_anger, tuple(cues))
        self.turns.append(turn)
        self._angry_run = self._angry_run + 1 if anger >= p.angry else 0
        if max(anger, distress) >= p.soothing:
            self.soothing = True
        return turn

    @property
    def current(self) -> TurnEmotion | None:
        return self.turns[-1] if self.turns else None

    def trend(self) -> float:
        """Change of anger over the last three turns (positive: getting angrier)."""
        recent = [t.anger for t in self.turns[-3:]]
        return recent[-1] - recent[0] if len(recent) > 1 else 0.0

    @property
    def escalate(self) -> bool:
        return self._angry_run >= self.policy.escalate_turns

    def facts(self) -> dict[str, Any]:
        """`emotion.*` for dialplan conditions."""
        cur = self.current
        return {
            "anger": round(cur.anger, 3) if cur else 0.0,
            "distress": round(cur.distress, 3) if cur else 0.0,
            "arousal": round(cur.arousal, 3) if cur else 0.0,
            "label": cur.label if cur else "neutral",
            "peak_anger": round(max((t.anger for t in self.turns), default=0.0), 3),
            "trend": round(self.trend(), 3),
            "angry_turns": self._angry_run,
            "soothing": self.soothing,
            "escalate": self.escalate,
        }
