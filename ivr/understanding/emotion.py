"""The caller's emotion over a call: per-turn estimates fused from prosody and words, a
trajectory (current, peak, trend), and the policies that act on it (soothing mode,
escalation after repeated anger or after repeated expressions of dissatisfaction).

Prosody comes from `audio_models.emotion` (features normalised against the caller's own
earlier turns); words come from text cues (投诉, 多次联系都没解决, "this is ridiculous",
swearing) and dissatisfaction cues (答非所问, 说了半天, "that's not what I asked"). What the
dialplan sees as `emotion.*` is `EmotionTracker.facts()`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

# Words that signal anger/frustration or distress, by strength (0..1). Matched on normalised
# text (Simplified Chinese, lower-case English).
ANGER_CUES: dict[str, float] = {
    "投诉": 0.7, "举报": 0.6, "多次联系": 0.6, "都没解决": 0.7, "还没解决": 0.6, "一直没解决": 0.7,
    "太差": 0.6, "什么破": 0.7, "垃圾": 0.8, "骗子": 0.8, "欺骗": 0.7, "气死": 0.8, "受够了": 0.8,
    "搞什么": 0.6, "有没有人管": 0.7, "退钱": 0.5, "赔偿": 0.4, "太过分": 0.7, "无语": 0.5,
    "混蛋": 0.9, "妈的": 0.9, "他妈": 0.9, "我靠": 0.5,
    "你们怎么回事": 0.6, "怎么搞的": 0.5, "坑人": 0.7, "太离谱": 0.6, "凭什么": 0.5,
    "忍无可忍": 0.8, "乱扣费": 0.6, "乱收费": 0.6, "黑心": 0.7,
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


# Words by which a caller says the hotline is not helping: it misunderstands, answers the
# wrong question, wastes their time, or the problem persists. Phrases, not single words, so
# that ordinary requests ("我想查话费", "没有了，谢谢", "no thanks") never count. A bare 没用 is
# not a cue: in a billing dispute "我根本没用" / "流量没用完" mean "I did not use it".
DISSATISFACTION_CUES: tuple[str, ...] = (
    # the machine does not understand / answers something else
    "听不懂你", "你听不懂", "听不懂人话", "你没听懂", "没听懂我", "听不明白我", "你听不明白",
    "答非所问", "不是这个", "我问的不是", "我说的不是", "牛头不对马嘴", "鸡同鸭讲",
    # it takes too long / goes round in circles
    "说了半天", "说了好几遍", "说了多少遍", "说了几遍", "讲了半天", "讲了好几遍",
    "浪费时间", "浪费我时间", "绕来绕去", "兜圈子",
    # it does not help / the problem persists / the service
    "不满意", "一点用都没有", "一点用也没有", "说了也没用", "太没用", "还是没用", "不管用",
    "不好使", "没帮上", "帮不上忙", "一点帮助都没有", "还是不行", "解决不了", "没解决",
    "这什么服务", "这是什么服务", "什么服务态度", "服务太差",
    # English
    "not helpful", "unhelpful", "not helping", "no help at all", "doesn't help", "didn't help",
    "that's not what i asked", "not what i asked", "not what i said", "not what i meant",
    "you don't understand", "you do not understand", "you don't get it",
    "you're not listening", "you are not listening", "you didn't understand",
    "this isn't working", "this is not working", "this doesn't work", "still not working",
    "still doesn't work", "still isn't working", "still not fixed", "still broken",
    "useless", "waste of time", "wasting my time", "pointless",
    "not satisfied", "dissatisfied", "not happy", "unhappy with", "terrible service",
    "poor service", "bad service", "awful service", "i already told you",
    "i've already told you", "i already said", "how many times do i have to",
    "going round in circles", "going around in circles",
)
# Ordinary phrases that contain a cue, removed before matching: 是不是这个月 (is it this
# month's), 还没用这个套餐 / 还是没用过 (have not used), 行还是不行 (will it work or not),
# 没有不满意 (not unhappy).
_NOT_DISSATISFIED = re.compile(
    r"是不是这个|没有?用(?:过|完|掉|到|这么|那么|这个|那个|多少|几|的?(?:流量|话费|套餐|分钟|短信))"
    r"|行还是不行|没有不满意|不是不满意")
_HAN = re.compile(r"[\u4e00-\u9fff]")


def _normalised(text: str) -> str:
    """Lower-case NFKC text with straight apostrophes; Traditional Chinese as Simplified."""
    t = unicodedata.normalize("NFKC", text).lower().replace("\u2019", "'").replace("`", "'")
    if _HAN.search(t):
        from ivr.understanding.chinese_text import to_simplified

        t = to_simplified(t)
    return t


def _has(cue: str, t: str, han: str) -> bool:
    """Chinese cues inside the characters (spaces ignored); English cues as whole words."""
    if _HAN.search(cue):
        return cue in han
    return re.search(rf"(?<![a-z]){re.escape(cue)}(?![a-z])", t) is not None


def dissatisfaction_cues(text: str) -> list[str]:
    """Dissatisfaction cue phrases in the words of a turn (empty: none)."""
    t = _NOT_DISSATISFIED.sub(" ", _normalised(text))
    han = re.sub(r"\s+", "", t)
    return [cue for cue in DISSATISFACTION_CUES if _has(cue, t, han)]


# Ordinary words that contain an anger cue, removed before matching: a trash bin or sorting
# (垃圾箱, 垃圾分类) and spam as a topic (垃圾短信 "I want to report spam texts" is a request;
# its 举报 still counts). A bare 靠 is not a cue: 依靠, 靠近, 靠谱, "靠小猴子挣钱" (AISHELL read
# news) mean "rely on, near"; the expletive is kept as 我靠.
_NOT_ANGRY = re.compile(r"垃圾(?:箱|桶|袋|站|车|场|堆|分类|处理|回收|短信|电话|邮件)")


def text_cues(text: str) -> tuple[float, float, list[str]]:
    """(anger, distress, cue words found) from the words of a turn."""
    t = _NOT_ANGRY.sub(" ", _normalised(text))
    han = re.sub(r"\s+", "", t)
    found: list[str] = []
    anger = distress = 0.0
    for table, which in ((ANGER_CUES, "anger"), (DISTRESS_CUES, "distress")):
        for cue, weight in table.items():
            if _has(cue, t, han):
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
    cues: tuple[str, ...] = ()  # anger, distress and dissatisfaction cue words
    dissatisfied: bool = False  # dissatisfaction said in words, or an angry turn

    def as_dict(self) -> dict[str, Any]:
        return {"anger": round(self.anger, 3), "distress": round(self.distress, 3),
                "arousal": round(self.arousal, 3), "label": self.label,
                "prosody_anger": None if self.prosody_anger is None
                else round(self.prosody_anger, 3),
                "text_anger": round(self.text_anger, 3), "cues": list(self.cues),
                "dissatisfied": self.dissatisfied}


@dataclass
class EmotionPolicy:
    """Thresholds (from settings, scaled by the dialplan's sensitivity)."""

    angry: float = 0.6  # a turn at or above this counts as angry
    soothing: float = 0.5  # soothing mode from this anger (or distress) on
    escalate_turns: int = 2  # angry turns in a row that hand the call to a person
    dissatisfied_turns: int = 3  # dissatisfied turns in the call that do too (0: never)
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
    _dissatisfied: int = 0  # over the whole call, not necessarily in a row

    def add(self, prosody: dict[str, float] | None, text: str) -> TurnEmotion:
        """Fuse one turn: `prosody` has anger, distress, arousal (0..1) and label, or is
        None for a turn without usable audio."""
        t_anger, t_distress, cues = text_cues(text)
        unhappy = dissatisfaction_cues(text)
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
        angry = anger >= p.angry
        turn = TurnEmotion(anger, distress, arousal, str(label),
                           None if prosody is None else prosody["anger"], t_anger,
                           tuple(dict.fromkeys(cues + unhappy)), bool(unhappy) or angry)
        self.turns.append(turn)
        self._angry_run = self._angry_run + 1 if angry else 0
        self._dissatisfied += turn.dissatisfied
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
    def escalate_why(self) -> Literal["anger", "dissatisfaction"] | None:
        """Why the call should go to a person now: anger (angry turns in a row) wins over
        dissatisfaction (dissatisfied turns in the call); None: it should not."""
        p = self.policy
        if self._angry_run >= p.escalate_turns:
            return "anger"
        if p.dissatisfied_turns > 0 and self._dissatisfied >= p.dissatisfied_turns:
            return "dissatisfaction"
        return None

    @property
    def escalate(self) -> bool:
        return self.escalate_why is not None

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
            "dissatisfied_turns": self._dissatisfied,
            "soothing": self.soothing,
            "escalate": self.escalate,
            "escalate_why": self.escalate_why,
        }
