"""The test softphone (a real baresip) refuses a control port that is not its own.

CI once saw every `dial` of a baresip go unanswered for 20 s: its control connection reached
something other than its own ctrl_tcp (a port taken between choosing it and baresip binding
it, or a TCP self-connect). Here a silent listener holds the first control port handed out:
baresip cannot bind it, the client's handshake (`reginfo`) gets no answer, and `start()`
retries on fresh ports instead of returning a phone that never answers.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from telephony import softphone
from telephony.ports import free_tcp_port

pytestmark = pytest.mark.integration


@pytest.fixture
def silent_listener() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)  # accepts (the kernel's backlog) and never answers
        yield int(server.getsockname()[1])


def test_a_control_port_held_by_someone_else_is_refused_and_retried(
        silent_listener: int, monkeypatch: pytest.MonkeyPatch) -> None:
    ports = iter([free_tcp_port(), silent_listener])  # sip, then the taken control port

    def port() -> int:
        return next(ports, None) or free_tcp_port()

    monkeypatch.setattr(softphone, "free_tcp_port", port)
    monkeypatch.setattr(softphone, "HANDSHAKE_S", 1.0)
    phone = softphone.Baresip(user="porttest")
    try:
        phone.start()
        assert phone.ctrl_port != silent_listener
        assert "sip:porttest@" in phone.command("reginfo")["data"]
    finally:
        phone.cleanup()


def test_one_attempt_on_a_taken_control_port_fails_clearly(
        silent_listener: int, monkeypatch: pytest.MonkeyPatch) -> None:
    ports = iter([free_tcp_port(), silent_listener])
    monkeypatch.setattr(softphone, "free_tcp_port", lambda: next(ports))
    monkeypatch.setattr(softphone, "HANDSHAKE_S", 1.0)
    phone = softphone.Baresip()
    try:
        with pytest.raises(softphone.BaresipError, match="not this baresip's control port"):
            phone.start(attempts=1)
    finally:
        phone.cleanup()
