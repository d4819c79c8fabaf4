"""The endpoint's INVITE handling with the allow-list, on fakes of pjsua's Call (the real
SIP path is in tests/integration/test_trunk.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from telephony._callevents import CallEvents
from telephony._refusals import Refusals
from telephony.sip_types import Admission, CallInfo, SipConfig

INVITE = ("INVITE sip:hotline@127.0.0.1:5060 SIP/2.0\r\nFrom: <sip:1001@pbx>;tag=1\r\n"
          "To: <sip:hotline@127.0.0.1>\r\nCall-ID: abc\r\n\r\n")


class FakeCall:
    def __init__(self) -> None:
        self.answers: list[int] = []

    def getInfo(self) -> Any:  # noqa: N802 - pjsua2's name
        return SimpleNamespace(remoteUri="<sip:1001@pbx>", localUri="<sip:hotline@127.0.0.1>",
                               remoteContact="<sip:1001@10.0.0.9>", callIdString="abc", id=0)

    def answer(self, op: Any) -> None:
        self.answers.append(int(op.statusCode))


class Listener:
    def __init__(self) -> None:
        self.offered: list[CallInfo] = []

    def on_incoming(self, call: CallInfo) -> Admission:
        self.offered.append(call)
        return Admission.accepted()


class Edge(CallEvents, Refusals):
    """`SipEndpoint`'s two SIP-thread mixins without the SIP stack."""

    def __init__(self, allow: list[str]) -> None:
        self.config = SipConfig()
        self.listener = Listener()  # type: ignore[assignment]
        self._calls = {}
        self._graveyard = []
        self._init_refusals([], allow)


def test_source_outside_the_list_gets_403_and_never_reaches_the_listener() -> None:
    edge = Edge(["10.0.0.0/8"])
    call = FakeCall()
    edge._on_incoming(call, INVITE, "192.0.2.9:5060")
    assert call.answers == []  # never from inside pjsua's callback (late offers abort pjsip)
    edge._send_refusals()
    assert call.answers == [403]
    assert edge.listener.offered == []  # type: ignore[attr-defined]
    assert edge.admitted_calls() == 0 and edge._refusals.total == 1
    assert len(edge._calls) == 1  # kept until pjsua reports the refused call ended


def test_allowed_and_registrar_sources_are_answered() -> None:
    edge = Edge(["10.0.0.0/8"])
    edge._allow.extra.add("127.0.0.1")  # a trunk's registrar
    for source in ("10.1.2.3:5060", "127.0.0.1:5070"):
        call = FakeCall()
        edge._on_incoming(call, INVITE, source)
        assert call.answers == [180, 200]
    assert len(edge.listener.offered) == 2  # type: ignore[attr-defined]
    assert edge._refusals.total == 0


def test_no_list_keeps_the_old_behaviour_even_without_a_source() -> None:
    edge = Edge([])
    call = FakeCall()
    edge._on_incoming(call, INVITE, "")
    assert call.answers == [180, 200]


def test_listener_rejection_is_also_sent_after_the_callback() -> None:
    edge = Edge([])
    edge.listener.on_incoming = lambda call: Admission.rejected(503, "busy", 30)  # type: ignore[method-assign]
    call = FakeCall()
    edge._on_incoming(call, INVITE, "10.0.0.1:5060")
    assert call.answers == []
    edge._send_refusals()
    assert call.answers == [503]


def test_pjsua_cap_rejections_are_reported_once_a_minute() -> None:
    edge = Edge([])
    seen: list[int] = []
    edge.listener.on_rejected = lambda uri, code, reason: seen.append(code)  # type: ignore[attr-defined]
    for _ in range(50):
        edge._on_pjsua_rejected("sip:flood@192.0.2.1", 486, "Busy Here")
    assert seen == [486]
    assert edge._cap_rejections[1] == 49
