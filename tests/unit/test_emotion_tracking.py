"""Call-level emotion: word cues, fusion with prosody, trajectory, soothing and escalation
policies (repeated anger, repeated dissatisfaction), and how the dialplan engine acts on
them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.dialplan.actions import CallerInput, Say, SetVariables, Transfer
from ivr.dialplan.conversation import Conversation
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import load_dialplan
from ivr.understanding.emotion import EmotionPolicy, EmotionTracker, dissatisfaction_cues, text_cues

HOTLINE = Path(__file__).resolve().parents[2] / "dialplans" / "hotline.yaml"
CALM = {"anger": 0.02, "distress": 0.01, "arousal": 0.1, "label": "neutral"}
FURIOUS = {"anger": 0.97, "distress": 0.02, "arousal": 1.0, "label": "angry"}


@pytest.mark.parametrize(("text", "anger", "distress"), [
    ("我要投诉，多次联系都没解决", 0.96, 0.0),  # three cues add up
    ("this is ridiculous", 0.7, 0.0),
    ("what the fuck", 0.9, 0.0),
    ("救命，我好害怕", 0.0, 0.96),
    ("我想查一下话费", 0.0, 0.0),
    ("shell company", 0.0, 0.0),  # "hell" only as a word
    ("我要投诉你们", 0.7, 0.0),
    ("你们怎么回事，又乱扣费", 0.84, 0.0),
    ("什么破服务，气死我了", 0.94, 0.0),
    ("太过分了，搞什么", 0.88, 0.0),
    ("凭什么扣我的钱，坑人", 0.85, 0.0),
    ("我靠，又断网了", 0.5, 0.0),
])
def test_text_cues(text: str, anger: float, distress: float) -> None:
    a, d, _cues = text_cues(text)
    assert (round(a, 2), round(d, 2)) == (anger, distress)


@pytest.mark.parametrize("text", [
    "我想查一下话费", "帮我查一下流量还剩多少", "我要办理宽带", "这个套餐靠谱吗",
    "离我家最近的营业厅在哪里", "靠近地铁站的营业厅几点关门", "我想举报垃圾短信",
    "小区门口的垃圾箱被撤走了", "请问这是怎么回事，网络断了", "我要转人工",
    "几个外地人靠小猴子卖萌挣钱",  # AISHELL read news: 靠 is "rely on"
])
def test_calm_mandarin_requests_are_not_anger(text: str) -> None:
    anger, _distress, cues = text_cues(text)
    if "举报" in text:  # reporting spam is a cue of its own (0.6), the spam is not
        assert cues == ["举报"]
    else:
        assert anger == 0.0, cues


def test_voice_or_words_alone_can_carry_a_turn_and_together_add_up() -> None:
    t = EmotionTracker()
    calm = t.add(CALM, "我想查话费")
    loud = t.add(FURIOUS, "我想查话费")
    words = t.add(CALM, "我要投诉，受够了")
    both = t.add(FURIOUS, "我要投诉，受够了")
    assert calm.anger < 0.05
    assert loud.anger == pytest.approx(0.75 * 0.97, abs=1e-6) and loud.label == "angry"
    assert words.anger > 0.6 and words.label == "angry"  # calmly said, still a complaint
    assert both.anger > max(loud.anger, words.anger)


def test_soothing_and_escalation_policy() -> None:
    t = EmotionTracker(EmotionPolicy(escalate_turns=2))
    t.add(CALM, "hello")
    assert not t.soothing and not t.escalate
    t.add(FURIOUS, "")
    assert t.soothing and not t.escalate and t.facts()["angry_turns"] == 1
    t.add(CALM, "ok")  # a calm turn breaks the run
    assert t.facts()["angry_turns"] == 0 and t.soothing  # soothing stays for the call
    t.add(FURIOUS, "")
    t.add(FURIOUS, "")
    assert t.escalate
    f = t.facts()
    assert f["peak_anger"] == pytest.approx(0.7275, abs=1e-3) and f["label"] == "angry"
    assert f["trend"] == pytest.approx(f["anger"] - t.turns[-3].anger, abs=1e-3)


def test_sensitivity_scales_scores() -> None:
    dull, keen = EmotionTracker(EmotionPolicy(sensitivity=0.5)), EmotionTracker(
        EmotionPolicy(sensitivity=1.3))
    assert dull.add(FURIOUS, "").anger < 0.6 <= keen.add(FURIOUS, "").anger


def test_turn_without_audio_uses_words_only() -> None:
    turn = EmotionTracker().add(None, "this is ridiculous")
    assert turn.prosody_anger is None and turn.anger == pytest.approx(0.9 * 0.7)


# ---------------------------------------------------------------- the engine acting on it
@pytest.fixture(scope="module")
def engine() -> DialogEngine:
    return DialogEngine(load_dialplan(HOTLINE).plan)


def test_soothing_apologises_once_and_calms_the_menu(engine: DialogEngine) -> None:
    start = engine.start({"caller": "1"})
    upset = {"emotion": {"soothing": True, "anger": 0.7}}
    step = engine.step(start.state, CallerInput("speech", "啊啊啊"), upset)
    says = [a.text for a in step.actions if isinstance(a, Say)]
    assert says[0].startswith("非常抱歉给您带来不便")
    assert says[-1].startswith("我明白，我们一步一步来")  # the menu's soothing wording
    again = engine.step(step.state, CallerInput("speech", "嗯嗯嗯"), upset)
    texts = [a.text for a in again.actions if isinstance(a, Say)]
    assert not any(t.startswith("非常抱歉给您带来不便") for t in texts)  # apology once
    assert step.state.soothing and again.state.soothing


def test_repeated_anger_escalates_to_the_dialplans_node(engine: DialogEngine) -> None:
    start = engine.start({"caller": "1"})
    step = engine.step(start.state, CallerInput("speech", "查话费"),
                       {"emotion": {"escalate": True}})
    assert step.state.node == "upset_caller"  # (not ended: after_agent, the survey)
    assert step.state.variables["escalation_reason"] == "emotion"
    assert step.understanding.intent == "emotion_escalation"
    assert step.actions[-1] == Transfer("queue:general", "caller_upset", after_agent=True)


# ---------------------------------------------------------------- dissatisfaction
@pytest.mark.parametrize("text", [
    "我对你们的服务很不满意",
    "我听不懂你在说什么",
    "你这答非所问啊",
    "不是这个，我问的是为什么多扣钱",
    "说了半天一点用都没有",
    "你们这什么服务",
    "试了三次还是不行",
    "你们到底解决不了",
    "你們這什麼服務",  # Traditional, as Whisper sometimes writes it
    "我 说了 半天",  # word-segmented
    "That's not helpful at all",
    "that’s not what I asked",  # curly apostrophe
    "You don't understand me",
    "This isn't working",
    "my internet is still not working",
    "you're useless",
    "what a waste of time",
])
def test_dissatisfaction_cues_are_found(text: str) -> None:
    assert dissatisfaction_cues(text), text


@pytest.mark.parametrize("text", [
    "我想查话费", "我想查一下话费", "没有了，谢谢", "没有了谢谢", "转人工", "宽带坏了",
    "是不是这个月的话费多扣了",  # a question, not a complaint
    "我这个月流量没用完", "我没用过国际漫游", "我还没用这个套餐",  # "not used"
    "你们有什么服务", "我听不懂英语", "行还是不行啊", "我没有不满意", "满意",
    "check my bill", "no thanks", "no", "my internet is not working",
    "how many times can I top up", "I don't understand the bill", "helpful, thank you",
    "I'm happy with that",
])
def test_ordinary_sentences_are_not_dissatisfaction(text: str) -> None:
    assert dissatisfaction_cues(text) == [], text


def test_dissatisfied_turns_count_over_the_call_and_escalate_at_three() -> None:
    t = EmotionTracker(EmotionPolicy(escalate_turns=2, dissatisfied_turns=3))
    first = t.add(CALM, "我要查话费")
    assert not first.dissatisfied and t.facts()["dissatisfied_turns"] == 0
    said = t.add(CALM, "你这答非所问")
    assert said.dissatisfied and said.label == "neutral" and "答非所问" in said.cues
    assert said.as_dict()["dissatisfied"] is True
    t.add(CALM, "宽带账号是一二三四五六")  # not in a row: the count stays
    t.add(CALM, "说了半天还是不行")
    f = t.facts()
    assert (f["dissatisfied_turns"], f["escalate"], f["escalate_why"]) == (2, False, None)
    t.add(None, "that's not what I asked")  # a turn without audio counts too
    f = t.facts()
    assert (f["dissatisfied_turns"], f["escalate"], f["escalate_why"]) == (
        3, True, "dissatisfaction")
    assert f["angry_turns"] == 0 and f["peak_anger"] < 0.1


def test_an_angry_turn_counts_as_dissatisfied() -> None:
    t = EmotionTracker(EmotionPolicy(escalate_turns=2, dissatisfied_turns=3))
    t.add(CALM, "not helpful")
    t.add(FURIOUS, "")  # angry by voice alone
    assert t.turns[-1].dissatisfied and t.facts()["dissatisfied_turns"] == 2
    t.add(CALM, "")
    assert not t.escalate
    t.add(CALM, "你们这什么服务")
    assert t.escalate_why == "dissatisfaction"


def test_anger_wins_when_both_trigger_on_one_turn() -> None:
    t = EmotionTracker(EmotionPolicy(escalate_turns=2, dissatisfied_turns=3))
    t.add(CALM, "不满意")
    t.add(FURIOUS, "")
    t.add(FURIOUS, "")
    f = t.facts()
    assert (f["angry_turns"], f["dissatisfied_turns"], f["escalate_why"]) == (2, 3, "anger")


def test_dissatisfied_turns_zero_turns_the_trigger_off() -> None:
    t = EmotionTracker(EmotionPolicy(dissatisfied_turns=0))
    for text in ("不满意", "答非所问", "说了半天", "waste of time"):
        t.add(CALM, text)
    assert t.facts()["dissatisfied_turns"] == 4 and not t.escalate
    assert t.facts()["escalate_why"] is None


def test_dissatisfaction_escalates_with_its_own_reason(engine: DialogEngine) -> None:
    start = engine.start({"caller": "1"})
    step = engine.step(start.state, CallerInput("speech", "说了半天你们这什么服务"),
                       {"emotion": {"escalate": True, "escalate_why": "dissatisfaction"}})
    assert step.state.node == "upset_caller"  # (not ended: after_agent, the survey)
    assert step.state.variables["escalation_reason"] == "dissatisfaction"
    assert SetVariables({"escalation_reason": "dissatisfaction"}) in step.actions
    assert step.understanding.intent == "emotion_escalation"
    assert step.actions[-1] == Transfer("queue:general", "caller_upset", after_agent=True)
    again = engine.step(step.state, CallerInput("speech", "喂"),
                        {"emotion": {"escalate": True, "escalate_why": "dissatisfaction"}})
    assert again.actions == []  # handed over once


def test_dissatisfied_caller_conversation_with_the_real_tracker() -> None:
    """The hotline driven like a call, each utterance first through the emotion tracker (as
    the call session does): three dissatisfied turns, not in a row, reach the upset-caller
    transfer before the IVR's own failure count would."""
    tracker = EmotionTracker(EmotionPolicy(escalate_turns=2, dissatisfied_turns=3))
    with Conversation(HOTLINE, caller="13800138000") as conv:
        conv.start()

        def say(text: str):  # type: ignore[no-untyped-def]
            tracker.add(CALM, text)
            conv.set_emotion(tracker.facts())
            return conv.say_text(text)

        assert say("宽带坏了").node_after == "broadband_account"
        r = say("上个星期就报修过了，还是不行")
        assert r.outcome == "no_match" and not r.ended
        r = say("幺二三四五六七八")
        assert r.slots == {"account": "12345678"} and r.node_after == "anything_else"
        r = say("你们每次都这么说，根本解决不了")
        assert r.outcome == "no_match" and tracker.facts()["dissatisfied_turns"] == 2
        r = say("说了半天一点用都没有")
        assert r.ended and r.node_after == "upset_caller"
        assert r.transfer is not None and r.transfer.reason == "caller_upset"
        assert r.variables["escalation_reason"] == "dissatisfaction"
        assert any(s.startswith("非常抱歉让您不满意") for s in r.said)
