"""The call-back dialler (ivr/escalation/callback_dialler.py, callback_call.py) over the real
store and agent directory, with fake call control and media: who is called when, what each
leg carries, what is stored after each kind of attempt, and the back-off."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ivr.call.protocols import DialFailed
from ivr.dialplan.models import Calendar
from ivr.escalation.agents import AgentConfig, AgentDirectory
from ivr.escalation.callback_call import Attempt, CallbackCall, dialable
from ivr.escalation.callback_dialler import (
    CallbackDialler,
    booking_whisper,
    event_writer,
    next_attempt,
)
from ivr.escalation.callback_settings import CallbackSettings
from ivr.storage import callback_queue as queue
from ivr.storage.call_store import CallStore, open_store
from tests.unit.fakes import FakeControl, FakeLeg, FakeMedia, FakePrompts

AGENT_URI = "sip:8001@127.0.0.1:5070"
CUSTOMER_URI = "sip:13800138000@127.0.0.1:5090"
SETTINGS = CallbackSettings(customer_uri="sip:{number}@127.0.0.1:5090", caller_id="4008001234",
                            retry_after_min=10, max_attempts=3, agent_retry_s=60)


class World:
    def __init__(self, tmp_path: Path, settings: CallbackSettings = SETTINGS,
                 store: CallStore | None = None) -> None:
        self.store = store or open_store(None, tmp_path / "ivr.sqlite")
        self.agents = AgentDirectory(self.store)
        self.agents.sync([AgentConfig(id="8001", uri=AGENT_URI, queues=["general"])])
        self.control = FakeControl()
        self.prompts = FakePrompts(seconds_per_char=0.001)
        self.call = CallbackCall(
            self.control, self.prompts, settings, agent_ring_s=0.2,
            languages=["zh-CN", "en-US"], summary_url="http://127.0.0.1:8080",
            whisper=lambda cid, lang: booking_whisper(self.store, cid, lang),
            emit=event_writer(self.store))
        self.open = True
        self.dialler = CallbackDialler(settings, self.store, self.agents, self.call,
                                       worker="w0", can_dial=lambda: self.open)

    def book(self, number: str = "13800138000", language: str = "en-US") -> int:
        self.store.call_started("c1", caller=number)
        self.store.add_event("c1", "escalation_summary",
                             {"whisper": "Broadband fault, caller upset."})
        self.store.flush()
        now = 1_800_000_000.0
        return self.store.add_callback(
            "c1", kind="callback", caller=number, number=number, language=language,
            queue="general", reason="caller_request", not_before=now,
            not_after=now + 86400)

    def events(self) -> list[dict[str, Any]]:
        self.store.flush()
        return [{"type": e["type"], **json.loads(e["data"])} for e in self.store.db.query(
            "select type, data from events where call_id = 'c1' and type like 'callback%' "
            "order by id")]


NOW = 1_800_000_100.0


def on_a_loop(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test on its own event loop (fixtures are passed through)."""
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))
    return run


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def answer_both(world: World, talk_s: float = 0.1) -> tuple[FakeLeg, FakeLeg]:
    customer = FakeLeg("customer-leg", FakeMedia(speed=0.001))
    agent = FakeLeg("agent-leg", FakeMedia(speed=0.001))
    world.control.answers = {CUSTOMER_URI: customer, AGENT_URI: agent}

    async def bridged(a: str, b: str) -> bool:
        world.control.bridges.append((a, b))
        asyncio.get_running_loop().call_later(talk_s, customer.hang_up)
        return True

    world.control.bridge = bridged  # type: ignore[method-assign]
    return customer, agent


@on_a_loop
async def test_a_call_back_rings_the_customer_then_bridges_the_agent(world: World) -> None:
    cb = world.book()
    answer_both(world)
    assert await world.dialler.tick(NOW) == "done"
    (cust_uri, cust_headers), (agent_uri, agent_headers) = world.control.dialled
    assert (cust_uri, agent_uri) == (CUSTOMER_URI, AGENT_URI)
    # the customer's leg leaves our network: the presented number, nothing internal
    assert cust_headers == {"P-Asserted-Identity": "<tel:4008001234>"}
    assert agent_headers == {
        "X-IVR-Call-ID": "c1", "X-IVR-Summary-URL": "http://127.0.0.1:8080/api/calls/c1/summary",
        "X-IVR-Queue": "general", "X-IVR-Reason": "caller_request", "X-IVR-Callback-ID": str(cb)}
    assert world.control.bridges == [("customer-leg", "agent-leg")]
    said = [text for text, _ in world.prompts.requests]
    # who is calling, in the request's language first, then the dialplan's other one
    assert said[0] == SETTINGS.announcement["en"] and said[1] == SETTINGS.announcement["zh"]
    assert ("Call back. Broadband fault, caller upset.", "en-US") in world.prompts.private
    row = queue.get(world.store.db, cb)
    assert (row["status"], row["attempts"], row["last_result"], row["agent_id"]) == (
        "done", 1, "completed", "8001")
    assert world.agents.get("8001").status == "available"  # released after the call
    assert sorted(world.control.released_legs) == ["agent-leg", "customer-leg"]
    assert [e["type"] for e in world.events()] == [
        "callback_dialling", "callback_answered", "callback_agent_ringing",
        "callback_connected", "callback_attempt"]
    last = world.events()[-1]
    assert (last["result"], last["status"], last["attempts"]) == ("completed", "done", 1)
    assert all("13800138000" not in json.dumps(e) for e in world.events())
    assert world.store.call_counters()["callback:completed"] == 1


@on_a_loop
async def test_no_answer_backs_off_then_fails(world: World) -> None:
    cb = world.book()
    world.control.answers = {CUSTOMER_URI: DialFailed(480, "Temporarily Unavailable")}
    assert await world.dialler.tick(NOW) == "pending"
    row = queue.get(world.store.db, cb)
    assert (row["attempts"], row["last_result"]) == (1, "no_answer")
    assert row["next_attempt_at"] == pytest.approx(NOW + 600, abs=5)
    assert world.agents.get("8001").status == "available"  # not the agent's fault
    assert await world.dialler.tick(NOW + 300) is None  # not due yet
    world.control.answers = {CUSTOMER_URI: DialFailed(486, "Busy Here")}
    assert await world.dialler.tick(NOW + 610) == "pending"
    again = queue.get(world.store.db, cb)["next_attempt_at"]
    assert again == pytest.approx(NOW + 610 + 1200, abs=5)  # doubled
    assert await world.dialler.tick(NOW + 1820) == "failed"
    row = queue.get(world.store.db, cb)
    assert (row["status"], row["attempts"], row["last_result"]) == ("failed", 3, "busy")
    assert [uri for uri, _ in world.control.dialled] == [CUSTOMER_URI] * 3  # agent never rung
    assert world.store.call_counters()["callback:failed"] == 1
    assert await world.dialler.tick(NOW + 99999) is None


@on_a_loop
async def test_agent_not_answering_puts_it_back_and_apologises(world: World) -> None:
    cb = world.book(language="zh-CN")
    customer = FakeLeg("customer-leg", FakeMedia(speed=0.001))
    world.control.answers = {CUSTOMER_URI: customer, AGENT_URI: DialFailed(408, "Timeout")}
    assert await world.dialler.tick(NOW) == "pending"
    row = queue.get(world.store.db, cb)
    assert (row["last_result"], row["attempts"]) == ("agent_no_answer", 1)
    assert row["next_attempt_at"] == pytest.approx(NOW + 60, abs=5)
    assert world.agents.get("8001").status == "offline"  # redirect on no answer
    assert world.prompts.requests[-1] == (SETTINGS.apology["zh"], "zh-CN")
    assert world.control.bridges == []


@on_a_loop
async def test_customer_hanging_up_during_the_announcement(world: World) -> None:
    cb = world.book()
    customer = FakeLeg("customer-leg", FakeMedia(speed=0.001))
    customer.ended.set()
    world.control.answers = {CUSTOMER_URI: customer}
    assert await world.dialler.tick(NOW) == "pending"
    assert queue.get(world.store.db, cb)["last_result"] == "customer_hangup"
    assert world.control.bridges == []
    assert world.agents.get("8001").status == "available"  # released, not set offline


@on_a_loop
async def test_customer_hanging_up_while_the_agent_hears_the_summary(world: World) -> None:
    world.book()
    customer, agent = answer_both(world)
    world.prompts.seconds_per_char = 0.05  # a long whisper: the customer gives up meanwhile
    agent.media.speed = 1.0
    asyncio.get_running_loop().call_later(0.3, customer.hang_up)
    assert await world.dialler.tick(NOW) == "pending"
    assert world.control.bridges == []
    assert "agent-leg" in world.control.released_legs  # the agent's phone is hung up
    assert world.agents.get("8001").status == "available"


@on_a_loop
async def test_nothing_is_dialled_without_a_free_agent_room_or_opening_hours(
        world: World) -> None:
    cb = world.book()
    world.agents.set_status("8001", "offline")
    assert await world.dialler.tick(NOW) is None
    world.agents.set_status("8001", "available")
    world.open = False  # no room for two legs, or draining
    assert await world.dialler.tick(NOW) is None
    world.open = True
    closed = Calendar(timezone="UTC", weekly={"mon-fri": "09:00-17:00"})
    world.dialler.calendar = lambda: closed
    sunday = dt.datetime(2027, 1, 3, 12, tzinfo=dt.UTC).timestamp()
    assert not world.dialler.is_open(sunday)
    assert world.dialler.is_open(dt.datetime(2027, 1, 4, 12, tzinfo=dt.UTC).timestamp())
    world.store.db.execute("update callbacks set not_after = ?", [sunday + 3600])
    assert await world.dialler.tick(sunday) is None
    assert world.control.dialled == []
    assert queue.get(world.store.db, cb)["status"] == "pending"


@on_a_loop
async def test_two_workers_never_dial_the_same_request(tmp_path: Path) -> None:
    one = World(tmp_path)
    two = World(tmp_path, store=open_store(None, tmp_path / "ivr.sqlite"))
    two.dialler.worker = "w1"
    one.book()
    for w in (one, two):
        answer_both(w, talk_s=0.3)
    results = await asyncio.gather(one.dialler.tick(NOW), two.dialler.tick(NOW))
    assert sorted(results, key=str) == [None, "done"]
    assert len(one.control.dialled) + len(two.control.dialled) == 2  # one customer, one agent


@on_a_loop
async def test_an_unusable_number_fails_without_a_call(world: World) -> None:
    cb = world.book(number="12;x=<sip:evil>")
    assert await world.dialler.tick(NOW) == "failed"
    assert queue.get(world.store.db, cb)["last_result"] == "bad_number"
    assert world.control.dialled == []
    assert dialable("+8613800138000") == "+8613800138000" and dialable("12") is None


def test_back_off_doubles_and_stops_at_max_attempts() -> None:
    s = SETTINGS
    assert next_attempt(Attempt("no_answer"), 1, s, 0) == 600
    assert next_attempt(Attempt("busy"), 2, s, 0) == 1200
    assert next_attempt(Attempt("busy"), 3, s, 0) is None
    assert next_attempt(Attempt("agent_no_answer"), 1, s, 0) == 60
    assert next_attempt(Attempt("completed"), 1, s, 0) is None
    assert next_attempt(Attempt("bad_number"), 1, s, 0) is None


def test_settings_are_checked() -> None:
    assert CallbackSettings().enabled and CallbackSettings().max_attempts == 3
    assert CallbackSettings(customer_uri="{number}").customer_uri == "{number}"  # via a trunk
    assert CallbackSettings(customer_uri="tel:{number}").customer_uri == "tel:{number}"
    for bad in ("sip:agent@127.0.0.1", "http://x/{number}"):
        with pytest.raises(ValidationError):
            CallbackSettings(customer_uri=bad)
    with pytest.raises(ValidationError):
        CallbackSettings(caller_id="400<sip:x>")
    with pytest.raises(ValidationError):
        CallbackSettings(max_attempts=0)
    with pytest.raises(ValidationError):
        CallbackSettings(retry_interval=3)  # a typo is an error, not ignored
