"""An automatic call back, end to end: the real `ivr serve` on loopback, two real baresip
phones in auto-answer (the customer, and the agent of the request's queue), and a callback
request booked through the real storage API, as the hand-over books it.

The IVR calls the customer (presenting `callbacks.caller_id`), says who is calling in both
languages, dials the agent with the booking call's context in SIP headers and its summary
whispered, bridges the two; the request is then done, with its attempt stored and counted.
What each phone heard is checked by transcribing its own recording with whisper-base.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from telephony.softphone import Baresip, prepare_caller_wav
from testkit.harness import IvrProcess, event_is
from tests.audio_data import shared_file
from tests.integration.conftest import _require_tools, heard, heard_text, serve_checked

pytestmark = pytest.mark.integration

NUMBER = "13800138000"
CALLER_ID = "4008001234"
BOOKING = "booked-call-1"
AGENT_SAYS = ("asr_en_misc", "audio", "ljspeech", "LJ001-0013.flac")
# "than in the same operations with ugly ones."
ANNOUNCEMENT = {"en": "Hello, this is the hotline calling you back. This is an automated call.",
                "zh": "您好，这里是热线的回电。"}


def _book(data_dir: Path) -> int:
    """A call that ended with a callback booked, as `ivr.escalation.callbacks` stores it."""
    from ivr.storage.call_store import open_store

    store = open_store(None, data_dir / "ivr.sqlite")
    try:
        store.call_started(BOOKING, caller=NUMBER, callee="hotline", language="en-US")
        store.add_event(BOOKING, "escalation_summary",
                        {"intent": "broadband_fault", "whisper": "Broadband fault, second call."})
        store.flush()
        now = time.time()
        row = store.add_callback(
            BOOKING, kind="callback", caller=NUMBER, number=NUMBER, language="en-US",
            intent="broadband_fault", queue="general", reason="caller_request",
            not_before=now, not_after=now + 3600)
        store.call_ended(BOOKING, "callback_requested")
        return row
    finally:
        store.close()


@pytest.fixture(scope="module")
def callback(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    _require_tools()
    work = tmp_path_factory.mktemp("callback")
    customer = Baresip(auto_answer=True, user=NUMBER, record_dir=work / "customer-rec",
                       sip_trace=True)
    agent = Baresip(auto_answer=True, user="8001", record_dir=work / "agent-rec",
                    sip_trace=True)
    customer.start()
    agent.start()
    config = work / "ivr.yaml"
    config.write_text(json.dumps({
        "agents": [{"id": "8001", "name": "Li", "uri": agent.uri, "queues": ["general"]}],
        "escalation": {"ring_timeout_s": 10},
        "callbacks": {"customer_uri": f"sip:{{number}}@127.0.0.1:{customer.sip_port}",
                      "caller_id": CALLER_ID, "poll_s": 0.5, "ring_timeout_s": 10,
                      "announcement": ANNOUNCEMENT},
    }))
    try:
        for ivr in serve_checked(IvrProcess(work / "data", "--config", str(config))):
            t0 = time.monotonic()
            callback_id = _book(ivr.data_dir)
            customer.wait_event("CALL_ESTABLISHED", 20)
            answered_s = time.monotonic() - t0
            ivr.wait_call_event(BOOKING, event_is("callback_connected"), timeout=40)
            agent.wait_event("CALL_ESTABLISHED", 5)
            time.sleep(0.5)
            agent.switch_source(prepare_caller_wav(shared_file(*AGENT_SAYS),
                                                   work / "agent-says.wav", 0.2, 120))
            time.sleep(4.5)
            customer.hangup()
            customer.wait_event("CALL_CLOSED", 10)
            agent.wait_event("CALL_CLOSED", 10)
            attempt = ivr.wait_call_event(BOOKING, event_is("callback_attempt"), timeout=10)
            yield {"ivr": ivr, "id": callback_id, "answered_s": answered_s,
                   "attempt": attempt["data"],
                   "row": next(cb for cb in ivr.api("/api/callbacks")["callbacks"]
                               if cb["id"] == callback_id),
                   "events": [e["type"] for e in ivr.call(BOOKING)["events"]],
                   "customer_log": customer.log_text(), "agent_log": agent.log_text(),
                   "customer_heard": customer.recordings()[0],
                   "agent_heard": agent.recordings()[0]}
    finally:
        customer.stop()
        agent.stop()


def test_the_request_is_called_back_and_marked_done(callback: dict[str, Any]) -> None:
    assert callback["answered_s"] < 15  # polled every 0.5 s; the agent was free
    row = callback["row"]
    assert (row["status"], row["attempts"], row["last_result"], row["agent_id"]) == (
        "done", 1, "completed", "8001")
    assert row["completed_at"] and row["claimed_by"] is None
    assert callback["attempt"]["talk_s"] > 3
    assert callback["events"][-5:] == ["callback_dialling", "callback_answered",
                                       "callback_agent_ringing", "callback_connected",
                                       "callback_attempt"]
    from ivr.storage.call_store import open_store

    store = open_store(None, callback["ivr"].data_dir / "ivr.sqlite")
    try:
        counters = store.call_counters()
    finally:
        store.close()
    assert (counters["callback:completed"], counters["callback:attempts"]) == (1, 1)


def test_the_customer_sees_the_hotline_number_and_nothing_internal(
        callback: dict[str, Any]) -> None:
    log = callback["customer_log"]
    assert f"P-Asserted-Identity: <tel:{CALLER_ID}>" in log
    assert f"INVITE sip:{NUMBER}@127.0.0.1" in log
    assert "X-IVR-" not in log


def test_the_agent_leg_carries_the_booking_calls_context(callback: dict[str, Any]) -> None:
    log, port = callback["agent_log"], callback["ivr"].http_port
    assert f"X-IVR-Call-ID: {BOOKING}" in log
    assert (f"X-IVR-Summary-URL: http://127.0.0.1:{port}/api/calls/{BOOKING}/summary") in log
    assert f"X-IVR-Callback-ID: {callback['id']}" in log
    assert "X-IVR-Queue: general" in log and "X-IVR-Reason: caller_request" in log


def test_customer_hears_who_is_calling_then_the_agent(callback: dict[str, Any],
                                                      listener_asr) -> None:
    text = heard_text(listener_asr, callback["customer_heard"])
    assert heard(text, "calling you back"), text
    assert heard(text, "automated call"), text
    assert heard(text, "the same operations with"), text
    assert text.find("automated") < text.find("operations"), text


def test_agent_hears_the_booking_calls_summary(callback: dict[str, Any],
                                                     listener_asr) -> None:
    text = heard_text(listener_asr, callback["agent_heard"])
    # "Call back. Broadband fault, second call." (whisper-base once heard "broadband fault"
    # as "we're up in full": the two plain phrases say the whisper was played)
    assert heard(text, "call back"), text
    assert heard(text, "second call"), text
