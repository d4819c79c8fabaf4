"""What the handover says (bilingual prompts) and understands (the callback/wait/voicemail
choice), apart from the queueing logic in `ivr.escalation.handover`."""

from __future__ import annotations

from typing import Any

from ivr.dialplan.actions import CallerInput

# Bilingual prompts (zh: Mandarin, en: English); {position} and {number} are filled in.
PROMPTS: dict[str, dict[str, str]] = {
    "hold": {
        "zh": "目前坐席都在忙，您排在第{position}位，请您稍候，我们会尽快为您接通。",
        "en": "All our agents are busy. You are number {position} in the queue. "
              "Please hold, we will be with you shortly.",
    },
    "hold_next": {
        "zh": "您是下一位，请稍候，马上为您接通。",
        "en": "You are next in line. Please hold.",
    },
    "connecting": {
        "zh": "正在为您接通人工客服，请稍候。",
        "en": "Connecting you to an agent now.",
    },
    "offer": {
        "zh": "抱歉让您久等了。需要我们稍后给您回电，请按1；继续等待，请按2；给我们留言，请按3。",
        "en": "Sorry to keep you waiting. For a call back, press 1. To keep waiting, press 2. "
              "To leave a message, press 3.",
    },
    "offer_no_voicemail": {
        "zh": "抱歉让您久等了。需要我们稍后给您回电，请按1；继续等待，请按2。",
        "en": "Sorry to keep you waiting. For a call back, press 1. To keep waiting, press 2.",
    },
    "confirm_number": {
        "zh": "我们将回电到号码{number}。确认请按1；使用其他号码，请输入号码后按井号键。",
        "en": "We will call you back on {number}. To confirm, press 1. For another number, "
              "enter it followed by the hash key.",
    },
    "enter_number": {
        "zh": "请输入您的回电号码，以井号键结束。",
        "en": "Please enter the number we should call you back on, followed by the hash key.",
    },
    "callback_booked": {
        "zh": "好的，已为您登记回电，客服会尽快给您回电。感谢您的来电，再见。",
        "en": "Thank you. An agent will call you back as soon as possible. Goodbye.",
    },
    "voicemail": {
        "zh": "请在提示音后留言，说完请按井号键或直接挂机。",
        "en": "Please leave your message after the tone. Press hash or hang up when you are "
              "done.",
    },
    "voicemail_saved": {
        "zh": "您的留言已收到，我们会尽快处理。再见。",
        "en": "We have your message and will get back to you soon. Goodbye.",
    },
    "closed": {
        "zh": "抱歉，目前没有坐席可以接听您的电话，请稍后再拨。再见。",
        "en": "Sorry, no agent can take your call right now. Please call again later. Goodbye.",
    },
}

# Spoken choices at the callback offer (besides the keys).
_OFFER_WORDS: dict[str, tuple[str, ...]] = {
    "1": ("回电", "回拨", "打回来", "给我打", "call back", "callback", "call me"),
    "2": ("等", "继续", "wait", "hold", "keep"),
    "3": ("留言", "语音", "message", "voicemail", "voice mail"),
}


def prompt(key: str, language: str, **values: Any) -> str:
    """A handover prompt in the call's language (Mandarin for zh-*, else English)."""
    text = PROMPTS[key]["zh" if language.startswith(("zh", "yue")) else "en"]
    return text.format(**values)


def fixed_prompts(languages: list[str]) -> list[tuple[str, str]]:
    """The handover prompts with a digit but no value in them ("press 1 ..."), as (text,
    language) for the dialplan's languages, to render and cache at start-up: a prompt with a
    digit that is not cached then is rendered per call, as read-backs of caller values are."""
    out = []
    for lang in languages:
        for texts in PROMPTS.values():
            text = texts["zh" if lang.startswith(("zh", "yue")) else "en"]
            if "{" not in text and any(ch.isdigit() for ch in text):
                out.append((text, lang))
    return out


def spoken_number(number: str) -> str:
    """Digits one by one, as a phone number is read back."""
    return " ".join(c for c in number if c.isdigit())


def offer_choice(event: Any) -> str | None:
    """'1' callback, '2' keep waiting, '3' voicemail, from keys or words; None: unclear."""
    if not isinstance(event, CallerInput):
        return None
    text = event.text.strip().lower()
    if event.kind == "dtmf":
        return text[:1] if text[:1] in "123" else None
    for choice, words in _OFFER_WORDS.items():
        if any(w in text for w in words):
            return choice
    return None
