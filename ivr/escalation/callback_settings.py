"""Settings of the automatic call back (`callbacks:` in the configuration; issue 21).

Kept next to the dialler they drive (`ivr.escalation.callback_dialler`); `ivr.config.Settings`
includes them as its `callbacks` section.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from ivr.config_sections import Section

__all__ = ["CallbackSettings"]

DEFAULT_ANNOUNCEMENT = {
    "zh": "您好，这里是客服热线的回电，您之前请求我们给您回电。这是一通由智能语音助手拨出的电话，"
          "正在为您接通人工客服，请稍候。",
    "en": "Hello, this is the customer hotline calling you back, as you asked us to. This call "
          "was placed by an automated assistant; please hold while we connect you to an agent.",
}
DEFAULT_APOLOGY = {
    "zh": "抱歉，现在没有客服可以接听，我们稍后会再给您回电。再见。",
    "en": "Sorry, no agent can take your call right now. We will call you again later. "
          "Goodbye.",
}


class CallbackSettings(Section):
    enabled: bool = Field(
        True, description="Call booked callbacks back automatically: when an agent of the "
        "request's queue is free and the caller's window is open, the IVR dials the caller, "
        "says who is calling, then dials the agent and connects them (false: the requests "
        "wait in GET /api/callbacks for someone to act on them)."
    )
    poll_s: float = Field(
        5.0, gt=0, le=300, description="How often each worker looks for a callback it can make."
    )
    window_h: float = Field(
        24.0, gt=0, le=24 * 30, description="A booked callback may be made within this many "
        "hours of its booking (the caller's window, stored with the request); after that it "
        "fails as window_passed."
    )
    calendar: str = Field(
        "", description="Name of a calendar of the dialplan (`calendars:`): callbacks are "
        "only made within its opening hours. Empty: at any time of the window."
    )
    customer_uri: str = Field(
        "sip:{number}@127.0.0.1", description="Where to call the customer: {number} is the "
        "number the caller confirmed (digits only). With a SIP trunk configured the call goes "
        "out through it, and a bare {number} or tel:{number} is addressed to its registrar."
    )
    caller_id: str = Field(
        "", description="The number presented to the customer, sent as P-Asserted-Identity "
        "(trunks use it for the calling line identity). Empty: none."
    )
    ring_timeout_s: float = Field(
        30.0, gt=0, le=120, description="A customer who does not answer within this is "
        "retried later (no_answer)."
    )
    retry_after_min: float = Field(
        10.0, ge=0, le=24 * 60, description="Wait before calling a customer again after no "
        "answer, busy or a dropped call; doubled after each further attempt "
        "(back-off: 10, 20, 40 minutes...)."
    )
    max_attempts: int = Field(
        3, ge=1, le=20, description="Calls to the customer at most; then the request fails."
    )
    agent_retry_s: float = Field(
        60.0, ge=0, le=3600, description="When the customer answered but the agent did not, "
        "the request is put back and tried again after this (it still counts as an attempt, "
        "so a customer is never called more than max_attempts times)."
    )
    announcement: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ANNOUNCEMENT),
        description="What the customer hears on answering (who is calling, that an automated "
        "assistant placed the call), by language (zh, en or a dialplan language such as "
        "zh-CN): said in the request's language first, then in the others.",
    )
    apology: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_APOLOGY),
        description="Said to the customer, in the request's language, when the agent did not "
        "answer (the call back is tried again later).",
    )

    @field_validator("customer_uri")
    @classmethod
    def _uri(cls, v: str) -> str:
        if "{number}" not in v or not (v.startswith(("sip:", "sips:", "tel:"))
                                       or v == "{number}"):
            raise ValueError("customer_uri must be a sip: or tel: URI containing {number}, "
                             "or {number} alone (through a trunk)")
        return v

    @field_validator("caller_id")
    @classmethod
    def _caller_id(cls, v: str) -> str:
        if v and not all(c.isdigit() or c == "+" for c in v):
            raise ValueError("caller_id must be digits (an optional leading +)")
        return v
