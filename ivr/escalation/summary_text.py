"""The words of an escalation summary, in Mandarin or English: the agent-screen paragraph,
the one-breath whisper spoken to the agent before connecting, why the IVR handed over and
what the agent should do first.

The dialplan's own words (intent names, slot names, its transfer reasons, next actions) come
from the summary's phrasebook (`summary_phrasebook`); the words here hold for every
dialplan: escalation reasons, end reasons, moods, languages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ivr.escalation.summary_facts import UPSET, SlotValue, needs_apology
from ivr.escalation.summary_phrasebook import (
    GENERIC,
    GENERIC_ACTION,
    Phrasebook,
    is_zh,
    pick,
    pick_pair,
)

if TYPE_CHECKING:
    from ivr.escalation.summary import CallSummary

# Escalation reasons in plain words (en, zh).
_REASONS: dict[str, tuple[str, str]] = {
    "caller_request": ("caller asked for a person", "来电者要求转人工"),
    "repeated_failure": ("repeated failures: the IVR could not understand the caller",
                         "多次未能识别来电者的需求"),
    "caller_upset": ("caller upset", "来电者情绪激动"),
    "dissatisfaction": ("caller repeatedly dissatisfied", "来电者多次表示不满"),
    "crisis": ("crisis: urgent help needed", "紧急情况，需要立即处理"),
    "dialplan": ("dialplan transfer", "流程转接"),
    "none": ("not escalated", "未转人工"),
}
_END_REASONS: dict[str, tuple[str, str]] = {
    "completed": ("completed", "已办结"),
    "caller_hangup": ("caller hung up", "来电者挂断"),
    "hangup_before_agent": ("hung up before reaching an agent", "未接通人工即挂断"),
    "max_attempts": ("not understood", "未能识别"),
}
_LANG_NAMES = {"zh": ("Mandarin", "普通话"), "yue": ("Cantonese", "粤语"),
               "en": ("English", "英语")}
_WHISPER_REASON_ZH = {"caller_request": "要求人工", "repeated_failure": "多次未识别",
                      "caller_upset": "情绪激动", "dissatisfaction": "多次表示不满",
                      "crisis": "紧急", "dialplan": "流程转接", "none": ""}
_WHISPER_REASON_EN = {"caller_request": "asked for a person",
                      "repeated_failure": "not understood", "caller_upset": "upset caller",
                      "dissatisfaction": "dissatisfied caller", "crisis": "URGENT",
                      "dialplan": "transferred", "none": ""}


def reason_text(code: str, language: str | None) -> str:
    return pick_pair(_REASONS.get(code, _REASONS["dialplan"]), language)


def escalation_text(code: str, detail: str | None, failures: int, peak_anger: float,
                    language: str | None, dissatisfied: int = 0,
                    book: Phrasebook = GENERIC) -> str:
    """Why the machine handed over, in plain words (`detail`: the dialplan's own reason)."""
    zh = is_zh(language)
    text = reason_text(code, language)
    if code == "dissatisfaction" and dissatisfied:
        text = (f"{text}（{dissatisfied}次）" if zh
                else f"caller dissatisfied {dissatisfied} time{'s' if dissatisfied > 1 else ''}")
    elif code == "caller_request" and failures:
        text += (f"（此前{failures}次未能识别）" if zh
                 else f" after {failures} failed attempt{'s' if failures > 1 else ''}")
    elif code == "caller_upset" and peak_anger:
        text += f"（愤怒峰值{peak_anger:.2f}）" if zh else f" (peak anger {peak_anger:.2f})"
    elif code == "dialplan" and detail:
        words = book.reason_words(detail, language)
        text += f"：{words}" if zh else f": {words}"
    return text


def end_reason_text(reason: str | None, language: str | None) -> str | None:
    if not reason:
        return None
    if reason.startswith(("transfer:", "transferred:")):
        return pick_pair(("transferred to an agent", "已转人工"), language)
    return pick_pair(_END_REASONS[reason], language) if reason in _END_REASONS else reason


def next_action(intent: str | None, slots: list[SlotValue], identity: bool | None,
                language: str | None, upset: bool = False, completed: bool = False,
                book: Phrasebook = GENERIC) -> str:
    """What the agent should do first, from the dialplan's words for the intent: done
    (`completed`), else identity first, else the slots still missing, else the task itself;
    an upset caller gets an apology first (not in an emergency)."""
    values = {s.name: s.value for s in slots}
    phrases = book.intent(intent)
    zh = is_zh(language)
    missing_names: list[str] = []
    if phrases is None or phrases.next_action is None:
        texts = pick_pair(GENERIC_ACTION, language)
    elif completed and phrases.next_action_done is not None:
        texts = phrases.next_action_done
    elif phrases.next_action_unverified is not None and identity is not True:
        texts = phrases.next_action_unverified
    else:
        missing_names = [n for n in phrases.needs if n not in values]
        texts = (phrases.next_action_missing if missing_names
                 and phrases.next_action_missing is not None else phrases.next_action)
    missing = ("、" if zh else ", ").join(book.slot_name(n, language) for n in missing_names)
    text = pick(texts, language).format_map(_Unknown({**values, "missing": missing}))
    if upset and not (phrases is not None and phrases.crisis):
        text = ("先向来电者道歉，" if zh else "Apologise first, then ") + (
            text if zh else text[:1].lower() + text[1:])
    return text


class _Unknown(dict):  # type: ignore[type-arg]
    """A `{name}` the call did not collect shows as "?"."""

    def __missing__(self, key: str) -> str:
        return "?"


# ---------------------------------------------------------------------------- render
def render_text(summary: CallSummary, language: str | None = None, *,
                whisper: bool = False) -> str:
    """The agent-screen paragraph (or, with `whisper`, <= ~25 words / ~60 characters to be
    spoken to the agent before the caller is connected), in Mandarin or English."""
    language = language or summary.language
    if whisper:
        return _whisper_zh(summary) if is_zh(language) else _whisper_en(summary)
    return _screen_zh(summary) if is_zh(language) else _screen_en(summary)


def render_whisper(summary: CallSummary, language: str | None = None) -> str:
    return render_text(summary, language, whisper=True)


def _lang_name(code: str, language: str) -> str:
    base = code.split("-")[0].lower()
    return pick_pair(_LANG_NAMES[base], language) if base in _LANG_NAMES else code


def _mood(s: CallSummary, zh: bool) -> str:
    if max(s.peak_anger, s.peak_distress) <= 0.3:
        if s.dissatisfied_turns:
            return "多次表示不满" if zh else "dissatisfied"
        return "情绪平稳" if zh else "calm"
    if s.peak_distress > s.peak_anger:
        return "情绪紧张不安" if zh else "distressed"
    return ("情绪激动" if s.peak_anger >= UPSET else "有些不满") if zh else (
        "angry" if s.peak_anger >= UPSET else "a little annoyed")


def _why_and_next(s: CallSummary, lang: str) -> tuple[str, str]:
    """(why it was handed over, what to do first) in `lang`."""
    why = escalation_text(s.escalation_reason, s.escalation_detail, s.failures, s.peak_anger,
                          lang, s.dissatisfied_turns, s.phrasebook)
    action = next_action(s.intent, s.slots, s.identity_verified, lang,
                         needs_apology(s.peak_anger, s.escalation_reason), s.completed,
                         s.phrasebook)
    return why, action


def _screen_zh(s: CallSummary) -> str:
    lang = "zh-CN"
    parts = [f"来电{s.caller or '未知号码'}"]
    e = s.earlier_calls
    last = end_reason_text(e.last_end_reason, lang)
    parts[0] += (f"，此前来电{e.count}次（最近{e.last_date or '日期未知'}"
                 f"{'，' + last if last else ''}）" if e.count else "，首次来电")
    label = s.intent_labels.get("zh")
    parts.append(f"语言：{_lang_name(s.language, lang)}"
                 + (f"（{s.dialect}）" if s.dialect else ""))
    parts.append(f"诉求：{label or '未识别'}")
    if s.slots:
        parts.append("已收集：" + "，".join(
            f"{s.phrasebook.slot_name(x.name, lang)}{x.value}"
            f"（{'已核实' if x.verified else '未核实'}）" for x in s.slots))
    if s.identity_verified is not None:
        parts.append("身份已核实" if s.identity_verified else "身份未核实")
    done = s.answers[-2:]
    if done:
        parts.append("系统已答复：" + "；".join(a.rstrip("。.") for a in done))
    parts.append(f"{_mood(s, True)}（愤怒峰值{s.peak_anger:.2f}）")
    why, action = _why_and_next(s, lang)
    parts.append("转人工原因：" + why)
    parts.append(f"建议：{action}")
    if s.key_utterances:
        parts.append("原话：" + "".join(f"“{u}”" for u in s.key_utterances[:3]))
    return "。".join(p.rstrip("。") for p in parts) + "。"


def _screen_en(s: CallSummary) -> str:
    lang = "en-US"
    e = s.earlier_calls
    last = end_reason_text(e.last_end_reason, lang)
    head = f"Caller {s.caller or 'unknown'}" + (
        f", {e.count} earlier call{'s' if e.count > 1 else ''} (last {e.last_date or '?'}"
        f"{', ' + last if last else ''})" if e.count else ", first call")
    parts = [head, f"Language: {_lang_name(s.language, lang)}"
             + (f" ({s.dialect})" if s.dialect else "")]
    label = s.intent_labels.get("en")
    parts.append(f"Wants: {label or 'not recognised'}")
    if s.slots:
        parts.append("Collected: " + ", ".join(
            f"{s.phrasebook.slot_name(x.name, lang)} {x.value} "
            f"({'verified' if x.verified else 'unverified'})" for x in s.slots))
    if s.identity_verified is not None:
        parts.append("Identity verified" if s.identity_verified else "Identity NOT verified")
    done = s.answers[-2:]
    if done:
        parts.append("IVR already said: " + " / ".join(done))
    parts.append(f"Mood: {_mood(s, False)} (peak anger {s.peak_anger:.2f})")
    why, action = _why_and_next(s, lang)
    parts.append("Escalated: " + why)
    parts.append(f"Next: {action}")
    if s.key_utterances:
        parts.append("Said: " + " / ".join(f'"{u}"' for u in s.key_utterances[:3]))
    return ". ".join(p.rstrip(".") for p in parts) + "."


def _whisper_zh(s: CallSummary) -> str:
    label = s.intent_labels.get("zh") or "需求未明"
    bits = [label, _WHISPER_REASON_ZH.get(s.escalation_reason, "")]
    if s.escalation_reason == "caller_request" and s.failures:
        bits[-1] = f"{s.failures}次未识别后要求人工"
    if s.escalation_reason == "crisis":
        bits = ["紧急", label]
    if s.escalation_reason == "dialplan" and s.escalation_detail:
        bits[-1] = s.phrasebook.reason_words(s.escalation_detail, "zh-CN")
    if s.escalation_reason != "caller_upset" and s.peak_anger >= UPSET:
        bits.append("情绪激动")
    if s.identity_verified is not None:
        bits.append("身份已核实" if s.identity_verified else "身份未核实")
    if s.earlier_calls.count:
        bits.append(f"第{s.earlier_calls.count + 1}次来电")
    text = "，".join(b for b in bits if b)
    return text[:60]


def _whisper_en(s: CallSummary) -> str:
    label = s.intent_labels.get("en") or "unclear request"
    bits = [label[:1].upper() + label[1:], _WHISPER_REASON_EN.get(s.escalation_reason, "")]
    if s.escalation_reason == "caller_request" and s.failures:
        bits[-1] = f"asked for a person after {s.failures} failures"
    if s.escalation_reason == "crisis":
        bits = ["URGENT", label]
    if s.escalation_reason == "dialplan" and s.escalation_detail:
        bits[-1] = s.phrasebook.reason_words(s.escalation_detail, "en-US")
    if s.escalation_reason != "caller_upset" and s.peak_anger >= UPSET:
        bits.append("caller angry")
    if s.identity_verified is not None:
        bits.append("identity verified" if s.identity_verified else "identity not verified")
    if s.earlier_calls.count:
        bits.append(f"called {s.earlier_calls.count} time"
                    f"{'s' if s.earlier_calls.count > 1 else ''} before")
    words = ", ".join(b for b in bits if b).split()
    return " ".join(words[:25]) + "."
