"""Escalation summary: what a human agent reads (and hears, as a whisper) before taking a call
the IVR hands over.

`summarise(call, history, plan)` is deterministic and extractive: it only reorganises what the
call store recorded (turns, events, earlier calls of the same number) and the dialplan's intent
labels; nothing is invented and nothing is masked (redaction is a separate feature).
`render_text(summary, language)` writes the agent-screen paragraph in Mandarin or English;
`render_text(..., whisper=True)` the one-breath version spoken to the agent before connecting.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ivr.dialplan.models import Dialplan

# Intents that steer the dialog rather than say what the caller wants.
CONTROL_INTENTS = frozenset({"affirm", "deny", "english", "chinese", "repeat",
                             "emotion_escalation"})
AGENT_INTENTS = frozenset({"agent", "callback"})
CRISIS_INTENTS = frozenset({"chest_pain", "breathing", "stroke", "self_harm"})
MAX_KEY_UTTERANCES = 5
SAID_CHARS = 60  # an IVR prompt is shortened to about this many characters
UPSET = 0.5  # anger (or distress) from which a turn counts as emotional
_VAR = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]*\}")  # a `{name}` in a dialplan prompt

# Human names of intents a dialplan did not label (en, zh).
_INTENT_NAMES: dict[str, tuple[str, str]] = {
    "bill_enquiry": ("check the bill", "查询话费"),
    "broadband_fault": ("report a broadband fault", "报修宽带故障"),
    "top_up": ("top up the phone", "充值话费"),
    "agent": ("speak to an agent", "转人工服务"),
    "callback": ("a call back", "预约回电"),
    "lost_card": ("report a lost card", "挂失银行卡"),
    "fraud": ("report fraud on the card", "举报盗刷"),
    "balance": ("check the balance", "查询余额"),
    "card_specialist": ("speak to a card specialist", "咨询卡务专员"),
    "chest_pain": ("chest pain", "胸痛"),
    "breathing": ("difficulty breathing", "呼吸困难"),
    "stroke": ("possible stroke", "疑似中风"),
    "self_harm": ("risk of self-harm", "有自伤风险"),
    "book": ("book an appointment", "预约挂号"),
    "cancel": ("cancel an appointment", "取消预约"),
    "hours_info": ("opening hours", "咨询门诊时间"),
}

# Human names of slots (en, zh); others show their variable name.
_SLOT_NAMES: dict[str, tuple[str, str]] = {
    "account": ("broadband account", "宽带账号"),
    "amount": ("amount", "金额"),
    "id_number": ("ID number", "身份证号"),
    "card_last4": ("card last 4 digits", "卡号后四位"),
    "phone": ("phone", "手机号"),
    "cancel_phone": ("phone", "手机号"),
    "appointment_date": ("date", "预约日期"),
    "appointment_time": ("time", "预约时间"),
    "cancel_date": ("appointment date", "预约日期"),
    "department": ("department", "科室"),
}

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

# The dialplans' own transfer reasons in plain words (en, zh); others show as written.
_DETAILS: dict[str, tuple[str, str]] = {
    "freeze_unavailable": ("card freeze system unavailable", "冻结系统不可用"),
    "fraud_report": ("fraud report", "盗刷举报"),
    "specialist_request": ("card specialist requested", "要求卡务专员"),
    "his_unavailable": ("booking system unavailable", "预约系统不可用"),
    "verification_failed": ("identity check failed", "身份核验未通过"),
    "verification_unavailable": ("identity check unavailable", "身份核验系统不可用"),
}

# Suggested next action by intent: (en, zh) when nothing is missing, and variants.
_ACTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "bill_enquiry": {"": ("Read out the balance and check the bill", "告知余额并核对账单")},
    "broadband_fault": {
        "": ("Check the line for account {account} and book an engineer",
             "检查账号{account}的线路并安排维修"),
        "account": ("Take the broadband account number, then check the line",
                    "先问宽带账号，再检查线路"),
    },
    "top_up": {"": ("Complete the top-up of {amount} yuan", "为来电者完成{amount}元充值"),
               "amount": ("Ask the amount and complete the top-up", "询问金额并完成充值"),
               "done": ("The IVR already topped up {amount} yuan: do not repeat it; ask what "
                        "else the caller needs", "系统已充值{amount}元，请勿重复充值；询问来电者"
                        "还需要什么帮助")},
    "lost_card": {"": ("Identity verified: freeze the card now", "身份已核实，立即冻结银行卡"),
                  "identity": ("Confirm identity then freeze the card",
                               "先核实身份，再冻结银行卡")},
    "fraud": {"": ("Identity verified: freeze the card and take the disputed transactions",
                   "身份已核实，冻结银行卡并登记可疑交易"),
              "identity": ("Confirm identity then freeze the card and take the disputed "
                           "transactions", "先核实身份，再冻结银行卡并登记可疑交易")},
    "balance": {"": ("Identity verified: read out the balance", "身份已核实，告知账户余额"),
                "identity": ("Confirm identity then read out the balance",
                             "先核实身份，再告知余额")},
    "card_specialist": {"": ("Answer the card question (limit, fees) as a card specialist",
                             "以卡务专员身份解答卡片问题（额度、费用）")},
    "chest_pain": {"": ("Medical emergency: tell the caller to call 120 now and stay on the "
                        "line", "紧急医疗情况：请来电者立即拨打120，并保持通话")},
    "breathing": {"": ("Medical emergency: tell the caller to call 120 now and stay on the "
                       "line", "紧急医疗情况：请来电者立即拨打120，并保持通话")},
    "stroke": {"": ("Possible stroke: tell the caller to call 120 now and note the time "
                    "symptoms started", "疑似中风：请来电者立即拨打120，并记下发病时间")},
    "self_harm": {"": ("Stay with the caller, follow the crisis protocol and offer the crisis "
                       "line", "陪伴来电者，按危机干预流程处理并提供心理援助热线")},
    "book": {"": ("Confirm the booking details and finish the appointment",
                  "核对预约信息并完成挂号"),
             "slots": ("Finish the booking: ask the {missing}", "继续挂号：询问{missing}")},
    "cancel": {"": ("Find the appointment and cancel it", "查找并取消该预约"),
               "slots": ("Ask the {missing}, then cancel the appointment",
                         "询问{missing}后取消预约")},
    "hours_info": {"": ("Give the opening hours", "告知门诊时间")},
}
_GENERIC_ACTION = ("Greet the caller and ask how you can help", "问候来电者并询问需要什么帮助")
_BOOK_SLOTS = ("department", "appointment_date", "appointment_time", "phone")
_CANCEL_SLOTS = ("cancel_phone", "cancel_date")


@dataclass(frozen=True)
class EarlierCalls:
    count: int = 0
    last_date: str | None = None  # YYYY-MM-DD in the hotline's time zone
    last_end_reason: str | None = None
    last_intent: str | None = None


@dataclass(frozen=True)
class SlotValue:
    name: str
    value: Any
    verified: bool  # confirmed by a read-back "yes", or keyed on the keypad
    node: str | None = None


@dataclass(frozen=True)
class Step:
    seq: int
    node: str | None
    caller: str | None  # what the caller said, or "[keys 123]"
    outcome: str | None
    intent: str | None
    said: str | None  # what the IVR answered, shortened


@dataclass(frozen=True)
class EmotionPoint:
    seq: int
    anger: float
    distress: float
    label: str


@dataclass
class CallSummary:
    call_id: str
    caller: str | None
    dialplan: str | None
    earlier_calls: EarlierCalls
    language: str
    profile: str | None
    dialect: str | None
    intent: str | None
    intent_label: str | None  # in the call's language
    intent_labels: dict[str, str]  # "zh" and "en" labels, for rendering in either language
    slots: list[SlotValue]
    identity_verified: bool | None  # `verified` variable of the dialplan; None: never asked
    steps: list[Step]
    path: list[str]
    answers: list[str]  # what the IVR already told the caller (not questions), shortened
    emotion: list[EmotionPoint]
    peak_anger: float
    peak_distress: float
    escalation_reason: str  # caller_request, repeated_failure, caller_upset, dissatisfaction,
    # crisis, dialplan, none
    escalation_detail: str | None  # the dialplan's own reason or the transfer node
    escalation_text: str  # plain words, in the call's language
    transfer_target: str | None
    failures: int  # no-match and no-input turns
    next_action: str  # in the call's language
    key_utterances: list[str] = field(default_factory=list)
    dissatisfied_turns: int = 0  # turns where the caller was dissatisfied (words or anger)
    completed: bool = False  # the IVR itself finished what the caller wanted

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def chinese(self) -> bool:
        return _is_zh(self.language)


def _is_zh(language: str | None) -> bool:
    return bool(language) and language.lower().startswith(("zh", "yue", "cmn"))  # type: ignore[union-attr]


def _pick(pair: tuple[str, str], language: str | None) -> str:
    return pair[1] if _is_zh(language) else pair[0]


def shorten(text: str | None, limit: int = SAID_CHARS) -> str | None:
    """First sentences of a prompt, cut at about `limit` characters."""
    if not text:
        return None
    first = next((line for line in text.splitlines() if line.strip()), "")
    text = " ".join(first.split())  # the first prompt is the answer; menus follow
    if len(text) <= limit:
        return text
    cut = text[:limit]
    ends = [m.end() for m in re.finditer(r"[。！？!?；;]|[.](?=\s)", cut)]
    if ends and ends[-1] >= limit // 3:
        return cut[: ends[-1]].strip()
    return cut.rstrip(" ,，、") + "…"


def intent_label(intent: str | None, language: str | None, plan: Dialplan | None) -> str | None:
    """The dialplan's label for the intent in this language, else a built-in name, else the
    intent's name in words."""
    if not intent:
        return None
    spec = plan.intents.get(intent) if plan is not None else None
    label = spec.label if spec is not None else None
    if isinstance(label, str):
        return label
    if isinstance(label, dict) and label:
        lang = language or ""
        if lang in label:
            return label[lang]
        base = lang.split("-")[0]
        for key, text in label.items():
            if key.split("-")[0] == base or (_is_zh(key) and _is_zh(lang)):
                return text
    if intent in _INTENT_NAMES:
        return _pick(_INTENT_NAMES[intent], language)
    return intent.replace("_", " ")


def _labels(intent: str | None, plan: Dialplan | None) -> dict[str, str]:
    if not intent:
        return {}
    return {"zh": intent_label(intent, "zh-CN", plan) or intent,
            "en": intent_label(intent, "en-US", plan) or intent}


def slot_name(name: str, language: str | None) -> str:
    return _pick(_SLOT_NAMES[name], language) if name in _SLOT_NAMES else name


def reason_text(code: str, language: str | None) -> str:
    return _pick(_REASONS.get(code, _REASONS["dialplan"]), language)


def escalation_text(code: str, detail: str | None, failures: int, peak_anger: float,
                    language: str | None, dissatisfied: int = 0) -> str:
    """Why the machine handed over, in plain words."""
    zh = _is_zh(language)
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
        words = detail_text(detail, language)
        text += f"：{words}" if zh else f": {words}"
    return text


def end_reason_text(reason: str | None, language: str | None) -> str | None:
    if not reason:
        return None
    if reason.startswith(("transfer:", "transferred:")):
        return _pick(("transferred to an agent", "已转人工"), language)
    words = {"completed": ("completed", "已办结"),
             "caller_hangup": ("caller hung up", "来电者挂断"),
             "hangup_before_agent": ("hung up before reaching an agent", "未接通人工即挂断"),
             "max_attempts": ("not understood", "未能识别")}
    return _pick(words[reason], language) if reason in words else reason


def detail_text(detail: str, language: str | None) -> str:
    return _pick(_DETAILS[detail], language) if detail in _DETAILS else detail.replace("_", " ")


# ---------------------------------------------------------------------------- summarise
def summarise(call: dict[str, Any], history: list[dict[str, Any]],
              plan: Dialplan | None) -> CallSummary:
    """Summary of a call row from `CallStore.get_call` (with turns and events); `history` are
    rows of `CallStore.list_calls(caller=...)` (this call among them is ignored)."""
    turns = sorted(call.get("turns") or [], key=lambda t: t.get("seq") or 0)
    events = call.get("events") or []
    language, profile, dialect = _language(call, turns, events, plan)
    variables = _variables(events)

    steps = [_step(t) for t in turns]
    path = _path(turns, events)
    slots = _slots(turns, plan)
    intent = _main_intent(turns)
    emotion = [_point(t) for t in turns if isinstance(t.get("emotion"), dict)]
    peak_anger = max([p.anger for p in emotion] + [float(call.get("peak_anger") or 0.0)])
    peak_distress = max((p.distress for p in emotion), default=0.0)
    failures = sum(1 for t in turns if t.get("outcome") in ("no_match", "no_input"))
    dissatisfied = sum(1 for t in turns if isinstance(t.get("emotion"), dict)
                       and t["emotion"].get("dissatisfied"))
    verified = variables.get("verified")
    identity = None if verified is None else verified is True or str(verified).lower() == "true"

    code, detail, target = _escalation(call, turns, events, plan)
    if code == "crisis" and intent not in CRISIS_INTENTS:
        crisis = [t.get("intent") for t in turns if t.get("intent") in CRISIS_INTENTS]
        intent = crisis[-1] if crisis else intent
    text = escalation_text(code, detail, failures, peak_anger, language, dissatisfied)
    upset = _upset(peak_anger, code)
    answers = _answers_given(turns, plan)
    completed = _completed(intent, slots, answers)

    return CallSummary(
        call_id=str(call.get("id")), caller=call.get("caller"), dialplan=call.get("dialplan"),
        earlier_calls=_earlier(call, history, plan), language=language, profile=profile,
        dialect=dialect, intent=intent, intent_label=intent_label(intent, language, plan),
        intent_labels=_labels(intent, plan),
        slots=slots, identity_verified=identity, steps=steps, path=path,
        answers=answers, emotion=emotion,
        peak_anger=round(peak_anger, 3), peak_distress=round(peak_distress, 3),
        escalation_reason=code, escalation_detail=detail, escalation_text=text,
        transfer_target=target, failures=failures,
        next_action=next_action(intent, slots, identity, language, upset, completed),
        key_utterances=_key_utterances(turns), dissatisfied_turns=dissatisfied,
        completed=completed,
    )


def _upset(peak_anger: float, code: str) -> bool:
    """Should the agent apologise first: the caller was angry, or handed over dissatisfied."""
    return peak_anger >= UPSET or code == "dissatisfaction"


def _language(call: dict[str, Any], turns: list[dict[str, Any]], events: list[dict[str, Any]],
              plan: Dialplan | None) -> tuple[str, str | None, str | None]:
    language = call.get("language")
    profile = call.get("profile")
    dialect = None
    for e in events:
        data = e.get("data") if isinstance(e.get("data"), dict) else {}
        if e.get("type") == "language" and data.get("language"):
            language = language or data["language"]
            profile = data.get("profile") or profile
        elif e.get("type") == "dialect_detected" and data.get("profile"):
            dialect = data["profile"]
    if not language and turns:
        language = turns[-1].get("language")
    if not language:
        language = plan.default_language if plan is not None else "zh-CN"
    if dialect is None and profile and profile != language:
        dialect = profile
    return str(language), profile, dialect


def _variables(events: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for e in events:
        if e.get("type") == "variables" and isinstance(e.get("data"), dict):
            out.update(e["data"])
    return out


def _caller_input(t: dict[str, Any]) -> str | None:
    if t.get("caller_text"):
        return str(t["caller_text"])
    if t.get("dtmf"):
        return f"[keys {t['dtmf']}]"
    if t.get("input_mode") == "none" or t.get("outcome") == "no_input":
        return "[silence]"
    return None


def _step(t: dict[str, Any]) -> Step:
    return Step(seq=int(t.get("seq") or 0), node=t.get("node"), caller=_caller_input(t),
                outcome=t.get("outcome"), intent=t.get("intent"), said=shorten(t.get("prompt")))


def _texts(prompt: Any) -> list[str]:
    if isinstance(prompt, str):
        return [prompt]
    return list(prompt.values()) if isinstance(prompt, dict) else []


def _answers_given(turns: list[dict[str, Any]], plan: Dialplan | None,
                   most: int = 3) -> list[str]:
    """Lines the IVR said after understood input that are not questions, menus, retries or
    hand-over announcements (from the dialplan when known), shortened; the last `most`."""
    skip: set[str] = set()
    if plan is not None:
        for node in plan.nodes.values():
            for listener in (node.menu, node.gather):
                if listener is not None:
                    skip.update(_texts(listener.prompt))
            if node.transfer is not None and node.transfer.say is not None:
                skip.update(_texts(node.transfer.say))
        if plan.emotion.apology is not None:
            skip.update(_texts(plan.emotion.apology))
    templates = [re.compile(".+?".join(re.escape(part) for part in _VAR.split(text)))
                 for text in skip if _VAR.search(text)]  # "您要充值{amount}元…" as said
    out: list[str] = []
    for t in turns:
        if t.get("outcome") != "match" or not t.get("prompt"):
            continue
        for line in str(t["prompt"]).splitlines():
            line = line.strip()
            if (not line or line in skip or "?" in line or "？" in line
                    or any(x.fullmatch(line) for x in templates)):
                continue
            short = shorten(line)
            if short and short not in out:
                out.append(short)
    return out[-most:]


def _path(turns: list[dict[str, Any]], events: list[dict[str, Any]]) -> list[str]:
    nodes = [t["node"] for t in turns if t.get("node")]
    last_next = [e["data"].get("next") for e in events
                 if e.get("type") == "turn" and isinstance(e.get("data"), dict)]
    if last_next and last_next[-1]:
        nodes.append(last_next[-1])
    path: list[str] = []
    for n in nodes:
        if not path or path[-1] != n:
            path.append(n)
    return path


def _slots(turns: list[dict[str, Any]], plan: Dialplan | None = None) -> list[SlotValue]:
    """Each slot's last value; verified when keyed, or when a read-back was answered yes: the
    engine's own (the heard value on one turn and, once confirmed, the same value again on
    the next turn of the same node), or a confirmation menu right after the value was taken
    whose prompt reads the slot back (`您要充值{amount}元，确认请说是…`)."""
    found: dict[str, SlotValue] = {}
    prev: dict[str, Any] | None = None
    for t in turns:
        slots = t.get("slots") if isinstance(t.get("slots"), dict) else {}
        if prev is not None and t.get("intent") == "affirm" and t.get("outcome") == "match":
            for name in _read_back(plan, t.get("node"), prev):
                if name in found:
                    found[name] = replace(found[name], verified=True)
        for name, value in slots.items():
            keyed = t.get("input_mode") == "dtmf" and t.get("intent") is None and bool(
                t.get("dtmf"))
            read_back_yes = (prev is not None and prev.get("node") == t.get("node")
                             and isinstance(prev.get("slots"), dict)
                             and prev["slots"].get(name) == value
                             and t.get("outcome") == "match")
            old = found.get(name)
            verified = keyed or read_back_yes or bool(
                old and old.value == value and old.verified)
            found[name] = SlotValue(name, value, verified, t.get("node"))
        if t.get("intent") == "deny" and prev is not None:  # "no" to a read-back
            for name in (prev.get("slots") or {}) if isinstance(prev.get("slots"), dict) else ():
                if name in found and not found[name].verified:
                    del found[name]
        prev = t
    return list(found.values())


def _read_back(plan: Dialplan | None, node_id: str | None,
               prev: dict[str, Any]) -> list[str]:
    """Slots taken on turn `prev` that the menu at `node_id` reads back in its prompt."""
    taken = prev.get("slots") if isinstance(prev.get("slots"), dict) else {}
    node = plan.nodes.get(node_id or "") if plan is not None else None
    if not taken or node is None or node.menu is None:
        return []
    prompt = " ".join(_texts(node.menu.prompt))
    return [name for name in taken if "{" + name + "}" in prompt]


def _main_intent(turns: list[dict[str, Any]]) -> str | None:
    """The last recognised service intent; else the last agent request."""
    service = [t["intent"] for t in turns if t.get("intent") and t.get("outcome") == "match"
               and t["intent"] not in CONTROL_INTENTS | AGENT_INTENTS]
    if service:
        return service[-1]
    agent = [t["intent"] for t in turns if t.get("intent") in AGENT_INTENTS
             and t.get("outcome") == "match"]
    return agent[-1] if agent else None


def _point(t: dict[str, Any]) -> EmotionPoint:
    e = t["emotion"]
    return EmotionPoint(int(t.get("seq") or 0), round(float(e.get("anger") or 0.0), 3),
                        round(float(e.get("distress") or 0.0), 3), str(e.get("label") or ""))


def _escalation(call: dict[str, Any], turns: list[dict[str, Any]],
                events: list[dict[str, Any]], plan: Dialplan | None
                ) -> tuple[str, str | None, str | None]:
    """(reason code, the dialplan's own reason, transfer target)."""
    transfers = [e["data"] for e in events
                 if e.get("type") == "transfer" and isinstance(e.get("data"), dict)]
    target = transfers[-1].get("target") if transfers else call.get("transfer_target")
    raw = transfers[-1].get("reason") if transfers else None
    intents = {t.get("intent") for t in turns if t.get("outcome") == "match"}
    emotional = any(e.get("type") == "emotion_escalation" for e in events) or (
        "emotion_escalation" in intents)
    if emotional and raw in (None, "caller_upset") and _emotion_why(events) == (
            "dissatisfaction"):
        return "dissatisfaction", None, target
    if raw in ("caller_request", "repeated_failure", "caller_upset", "crisis"):
        return raw, None, target
    if raw is None and not target:
        return ("caller_upset", None, None) if emotional else ("none", None, None)
    if emotional:
        return "caller_upset", raw, target
    if intents & CRISIS_INTENTS:
        return "crisis", raw, target
    return "dialplan", raw, target


def _emotion_why(events: list[dict[str, Any]]) -> str | None:
    """Why the emotion policy handed over: the engine's `escalation_reason` variable
    (dissatisfaction or emotion), or the reason on the service's escalation event."""
    why = _variables(events).get("escalation_reason")
    for e in events:
        data = e.get("data") if isinstance(e.get("data"), dict) else {}
        if e.get("type") == "emotion_escalation" and data.get("why"):
            why = why or data["why"]
    return str(why) if why else None


def _earlier(call: dict[str, Any], history: list[dict[str, Any]],
             plan: Dialplan | None) -> EarlierCalls:
    started = call.get("started_at")
    same = [h for h in history if h.get("id") != call.get("id")
            and (not call.get("dialplan") or not h.get("dialplan")
                 or h["dialplan"] == call["dialplan"])
            and (started is None or (h.get("started_at") or 0) < started)]
    if not same:
        return EarlierCalls()
    last = max(same, key=lambda h: h.get("started_at") or 0)
    date = None
    if last.get("started_at"):
        from zoneinfo import ZoneInfo

        tz = ZoneInfo(plan.timezone if plan is not None else "Asia/Shanghai")
        date = dt.datetime.fromtimestamp(float(last["started_at"]), tz).date().isoformat()
    intent = last.get("intent") or _main_intent(last.get("turns") or [])
    end = last.get("end_reason")
    if end == "caller_hangup" and last.get("escalated") and not last.get("agent_id"):
        end = "hangup_before_agent"  # handed over, but hung up before an agent answered
    return EarlierCalls(len(same), date, end, intent)


def next_action(intent: str | None, slots: list[SlotValue], identity: bool | None,
                language: str | None, upset: bool = False, completed: bool = False) -> str:
    """What the agent should do first: from the intent, what is still missing, and whether
    the IVR already did it (`completed`)."""
    values = {s.name: s.value for s in slots}
    table = _ACTIONS.get(intent or "")
    zh = _is_zh(language)
    missing_names: list[str] = []
    if table is None:
        pair = _GENERIC_ACTION
    elif completed and "done" in table:
        pair = table["done"]
    elif "identity" in table and identity is not True:
        pair = table["identity"]
    elif intent in ("book", "cancel") and "slots" in table:
        wanted = _BOOK_SLOTS if intent == "book" else _CANCEL_SLOTS
        missing_names = [n for n in wanted if n not in values]
        pair = table["slots"] if missing_names else table[""]
    else:
        absent = [k for k in table if k and k not in ("identity", "slots", "done")
                  and k not in values]
        pair = table[absent[0]] if absent else table[""]
    missing = ("、" if zh else ", ").join(slot_name(n, language) for n in missing_names)
    text = _pick(pair, language).format_map(_Default({**values, "missing": missing}))
    if upset and intent not in CRISIS_INTENTS:
        text = ("先向来电者道歉，" if zh else "Apologise first, then ") + (
            text if zh else text[:1].lower() + text[1:])
    return text


def _completed(intent: str | None, slots: list[SlotValue], answers: list[str]) -> bool:
    """Did the IVR itself finish the task: every slot the task needs was verified and one of
    its answers names them all ("充值成功，2000元已到账")."""
    table = _ACTIONS.get(intent or "")
    if table is None or "done" not in table:
        return False
    needed = _VAR.findall(table[""][0])
    verified = {s.name: s.value for s in slots if s.verified}
    names = [n[1:-1] for n in needed]
    return bool(names) and all(n in verified for n in names) and any(
        all(str(verified[n]) in a for n in names) for a in answers)


class _Default(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "?"


def _key_utterances(turns: list[dict[str, Any]]) -> list[str]:
    """Caller utterances (verbatim) that carried an intent or emotion, or that the IVR could
    not understand (the agent must), at most five, in call order; when there are more, the
    most emotional and the intent-bearing ones win."""
    scored: list[tuple[float, int, str]] = []
    for i, t in enumerate(turns):
        text = t.get("caller_text")
        if not text:
            continue
        e = t.get("emotion") if isinstance(t.get("emotion"), dict) else {}
        feeling = max(float(e.get("anger") or 0), float(e.get("distress") or 0))
        has_intent = (t.get("outcome") == "match" and t.get("intent")
                      and t["intent"] not in CONTROL_INTENTS)
        crisis = t.get("intent") in CRISIS_INTENTS
        missed = t.get("outcome") in ("no_match", "unintelligible")
        if not (has_intent or missed or feeling >= UPSET or e.get("cues")):
            continue
        scored.append((2.0 * crisis + feeling + 0.5 * bool(has_intent) + 0.25 * missed, i,
                       str(text)))
    best = sorted(scored, key=lambda s: (-s[0], s[1]))[:MAX_KEY_UTTERANCES]
    return [text for _, _, text in sorted(best, key=lambda s: s[1])]


# ---------------------------------------------------------------------------- render
def render_text(summary: CallSummary, language: str | None = None, *,
                whisper: bool = False) -> str:
    """The agent-screen paragraph (or, with `whisper`, <= ~25 words / ~60 characters to be
    spoken to the agent before the caller is connected), in Mandarin or English."""
    language = language or summary.language
    if whisper:
        return _whisper_zh(summary) if _is_zh(language) else _whisper_en(summary)
    return _screen_zh(summary) if _is_zh(language) else _screen_en(summary)


def render_whisper(summary: CallSummary, language: str | None = None) -> str:
    return render_text(summary, language, whisper=True)


_LANG_NAMES = {"zh": ("Mandarin", "普通话"), "yue": ("Cantonese", "粤语"),
               "en": ("English", "英语")}


def _lang_name(code: str, language: str) -> str:
    base = code.split("-")[0].lower()
    return _pick(_LANG_NAMES[base], language) if base in _LANG_NAMES else code


def _mood(s: CallSummary, zh: bool) -> str:
    if max(s.peak_anger, s.peak_distress) <= 0.3:
        if s.dissatisfied_turns:
            return "多次表示不满" if zh else "dissatisfied"
        return "情绪平稳" if zh else "calm"
    if s.peak_distress > s.peak_anger:
        return "情绪紧张不安" if zh else "distressed"
    return ("情绪激动" if s.peak_anger >= UPSET else "有些不满") if zh else (
        "angry" if s.peak_anger >= UPSET else "a little annoyed")


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
            f"{slot_name(x.name, lang)}{x.value}（{'已核实' if x.verified else '未核实'}）"
            for x in s.slots))
    if s.identity_verified is not None:
        parts.append("身份已核实" if s.identity_verified else "身份未核实")
    done = s.answers[-2:]
    if done:
        parts.append("系统已答复：" + "；".join(a.rstrip("。.") for a in done))
    parts.append(f"{_mood(s, True)}（愤怒峰值{s.peak_anger:.2f}）")
    parts.append("转人工原因：" + escalation_text(s.escalation_reason, s.escalation_detail,
                                               s.failures, s.peak_anger, lang,
                                               s.dissatisfied_turns))
    upset = _upset(s.peak_anger, s.escalation_reason)
    action = next_action(s.intent, s.slots, s.identity_verified, lang, upset, s.completed)
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
            f"{slot_name(x.name, lang)} {x.value} ({'verified' if x.verified else 'unverified'})"
            for x in s.slots))
    if s.identity_verified is not None:
        parts.append("Identity verified" if s.identity_verified else "Identity NOT verified")
    done = s.answers[-2:]
    if done:
        parts.append("IVR already said: " + " / ".join(done))
    parts.append(f"Mood: {_mood(s, False)} (peak anger {s.peak_anger:.2f})")
    parts.append("Escalated: " + escalation_text(s.escalation_reason, s.escalation_detail,
                                                 s.failures, s.peak_anger, lang,
                                                 s.dissatisfied_turns))
    upset = _upset(s.peak_anger, s.escalation_reason)
    action = next_action(s.intent, s.slots, s.identity_verified, lang, upset, s.completed)
    parts.append(f"Next: {action}")
    if s.key_utterances:
        parts.append("Said: " + " / ".join(f'"{u}"' for u in s.key_utterances[:3]))
    return ". ".join(p.rstrip(".") for p in parts) + "."


_WHISPER_REASON_ZH = {"caller_request": "要求人工", "repeated_failure": "多次未识别",
                      "caller_upset": "情绪激动", "dissatisfaction": "多次表示不满",
                      "crisis": "紧急", "dialplan": "流程转接", "none": ""}
_WHISPER_REASON_EN = {"caller_request": "asked for a person",
                      "repeated_failure": "not understood", "caller_upset": "upset caller",
                      "dissatisfaction": "dissatisfied caller", "crisis": "URGENT",
                      "dialplan": "transferred", "none": ""}


def _whisper_zh(s: CallSummary) -> str:
    label = s.intent_labels.get("zh") or "需求未明"
    bits = [label, _WHISPER_REASON_ZH.get(s.escalation_reason, "")]
    if s.escalation_reason == "caller_request" and s.failures:
        bits[-1] = f"{s.failures}次未识别后要求人工"
    if s.escalation_reason == "crisis":
        bits = ["紧急", label]
    if s.escalation_reason == "dialplan" and s.escalation_detail:
        bits[-1] = detail_text(s.escalation_detail, "zh-CN")
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
        bits[-1] = detail_text(s.escalation_detail, "en-US")
    if s.escalation_reason != "caller_upset" and s.peak_anger >= UPSET:
        bits.append("caller angry")
    if s.identity_verified is not None:
        bits.append("identity verified" if s.identity_verified else "identity not verified")
    if s.earlier_calls.count:
        bits.append(f"called {s.earlier_calls.count} time"
                    f"{'s' if s.earlier_calls.count > 1 else ''} before")
    words = ", ".join(b for b in bits if b).split()
    return " ".join(words[:25]) + "."
