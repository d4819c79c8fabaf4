"""Recording or changing an outcome from My calls (issue 21), and the fix for "after signing
in again, a call's pending outcome can no longer be recorded": a call the agent picked up but
that was never bridged (no `agent_id` on the call) stays theirs after the agent row lets go
of it and the agent signs out and in again; a missed call and another agent's stay out."""

from __future__ import annotations

import time
from typing import Any

from aiohttp.test_utils import TestClient

from ivr.escalation.agents import AgentDirectory
from ivr.storage.call_store import CallStore
from ivr.web.desk_calls import my_calls
from tests.unit.desk_app import ONLY_8001, add_call, run, sign_in

NOW = time.time()


def _picked_up_never_bridged(worker: CallStore, call_id: str, agent: str,
                             answered: bool = True) -> None:
    """The IVR's side: the call is escalated, rings `agent`, who answers (the whisper), then
    the caller hangs up before the bridge: the call row never gets an `agent_id`."""
    add_call(worker, call_id, caller="13700000000", started=NOW - 600)
    worker.update_call(call_id, escalated=1, transfer_target="queue:general")
    worker.add_event(call_id, "agent_ringing", {"agent_id": agent, "uri": "sip:x",
                                                "queue": "general"})
    if answered:
        worker.add_event(call_id, "agent_answered", {"agent_id": agent, "leg": "leg-1"})
    worker.call_ended(call_id, "caller_hangup")


def test_a_pending_outcome_is_recorded_after_signing_in_again(
        desk_store: CallStore, desk_worker: CallStore) -> None:
    directory = AgentDirectory(desk_worker)
    directory.claim(ONLY_8001, "call-9")
    _picked_up_never_bridged(desk_worker, "call-9", "8001")

    async def body(client: TestClient) -> Any:
        await sign_in(client)
        card = (await client.get("/desk/api/calls/call-9")).status  # on screen while current
        directory.release("8001")  # the call is over: the agent row lets go of it
        await client.post("/desk/logout", json={})
        await sign_in(client)
        listed = await (await client.get("/desk/api/history")).json()
        reopened = (await client.get("/desk/api/calls/call-9")).status
        first = await client.post("/desk/api/calls/call-9/outcome",
                                  json={"outcome": "unresolved", "note": "挂断了"})
        changed = await client.post("/desk/api/calls/call-9/outcome",
                                    json={"outcome": "callback_needed", "note": "回电"})
        again = await (await client.get("/desk/api/history")).json()
        return card, listed, reopened, first.status, changed.status, again

    card, listed, reopened, first, changed, again = run(desk_store, body)
    assert (card, reopened, first, changed) == (200, 200, 200, 200)
    assert [(c["id"], c["agent_outcome"]) for c in listed["calls"]][0] == ("call-9", None)
    assert [(c["id"], c["agent_outcome"]) for c in again["calls"]][0] == (
        "call-9", "callback_needed")
    call = desk_store.get_call("call-9")
    assert call is not None
    assert (call["agent_outcome"], call["agent_note"], call["agent_id"]) == (
        "callback_needed", "回电", "8001")
    assert [e["data"]["outcome"] for e in call["events"] if e["type"] == "agent_outcome"] == [
        "unresolved", "callback_needed"]


def test_an_outcome_is_changed_from_my_calls(desk_store: CallStore,
                                             desk_worker: CallStore) -> None:
    desk_worker.update_call("call-1", agent_id="8001", outcome=None)

    async def body(client: TestClient) -> Any:
        await sign_in(client)
        for outcome in ("resolved", "other"):
            resp = await client.post("/desk/api/calls/call-1/outcome", json={"outcome": outcome})
            assert resp.status == 200
        return await (await client.get("/desk/api/history")).json()

    history = run(desk_store, body)
    assert [(c["id"], c["agent_outcome"]) for c in history["calls"]] == [("call-1", "other")]


def test_missed_and_other_agents_calls_stay_out(desk_store: CallStore,
                                               desk_worker: CallStore) -> None:
    _picked_up_never_bridged(desk_worker, "call-8", "8002")  # Wang's
    _picked_up_never_bridged(desk_worker, "call-7", "8001", answered=False)  # missed

    async def body(client: TestClient) -> Any:
        await sign_in(client)
        out = [(await client.get(f"/desk/api/calls/{c}")).status for c in ("call-8", "call-7")]
        out += [(await client.post(f"/desk/api/calls/{c}/outcome",
                                   json={"outcome": "resolved"})).status
                for c in ("call-8", "call-7")]
        return out, await (await client.get("/desk/api/history")).json()

    statuses, history = run(desk_store, body)
    assert statuses == [403, 403, 403, 403]
    assert history["calls"] == []
    assert [c["id"] for c in my_calls(desk_store, "8002", 10)] == ["call-8"]
