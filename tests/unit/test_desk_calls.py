"""An agent's calls on the desk: only their own are visible, the outcome they record (stored
with an event, shown in their history), bad outcomes refused, and the call card computed when
the IVR stored no summary."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from ivr.escalation.agents import AgentDirectory
from ivr.storage.call_store import CallStore
from tests.unit.desk_app import ONLY_8001, add_call, run, sign_in


def test_only_own_calls_are_visible(desk_store: CallStore, desk_worker: CallStore) -> None:
    async def body(client: TestClient) -> Any:
        await sign_in(client)
        out = [(await client.get("/desk/api/calls/call-1")).status]
        AgentDirectory(desk_worker).claim(ONLY_8001, "call-1")
        card = await client.get("/desk/api/calls/call-1")
        out.append(card.status)
        out.append((await client.get("/desk/api/calls/call-2")).status)  # someone else's
        desk_worker.update_call("call-2", agent_id="8002")
        out.append((await client.get("/desk/api/calls/call-2")).status)
        out.append((await client.post("/desk/api/calls/call-2/outcome",
                                       json={"outcome": "resolved"})).status)
        out.append((await client.get("/desk/api/calls/nope")).status)
        desk_worker.update_call("call-1", agent_id="8001")
        AgentDirectory(desk_worker).release("8001")
        out.append((await client.get("/desk/api/calls/call-1")).status)  # handled: still mine
        return out, await card.json()

    statuses, card = run(desk_store, body)
    assert statuses == [403, 200, 403, 403, 403, 404, 200]
    assert card["summary"]["intent"] == "broadband_fault"


def test_outcome_is_stored_with_an_event(desk_store: CallStore, desk_worker: CallStore) -> None:
    AgentDirectory(desk_worker).claim(ONLY_8001, "call-1")

    async def body(client: TestClient) -> Any:
        await sign_in(client)
        resp = await client.post("/desk/api/calls/call-1/outcome",
                                 json={"outcome": "callback_needed", "note": "回电确认维修时间"})
        history = await (await client.get("/desk/api/history")).json()
        return resp.status, await resp.json(), history

    status, data, history = run(desk_store, body)
    assert status == 200 and data["outcome"] == "callback_needed"
    call = desk_store.get_call("call-1")
    assert call is not None
    assert (call["agent_outcome"], call["agent_note"], call["agent_id"]) == (
        "callback_needed", "回电确认维修时间", "8001")
    events = [e["data"] for e in call["events"] if e["type"] == "agent_outcome"]
    assert events == [{"agent_id": "8001", "outcome": "callback_needed",
                       "note": "回电确认维修时间"}]
    assert [(c["id"], c["agent_outcome"], c["intent_label"]) for c in history["calls"]] == [
        ("call-1", "callback_needed", "报修宽带故障")]


@pytest.mark.parametrize("payload", [
    {"outcome": "fixed"}, {}, {"outcome": "resolved", "note": "x" * 2001},
    {"outcome": "resolved", "note": 5}, ["resolved"], "not json"])
def test_bad_outcome_is_400(desk_store: CallStore, desk_worker: CallStore, payload: Any) -> None:
    AgentDirectory(desk_worker).claim(ONLY_8001, "call-1")

    async def body(client: TestClient) -> Any:
        await sign_in(client)
        if payload == "not json":
            resp = await client.post("/desk/api/calls/call-1/outcome", data="{oops",
                                     headers={"Content-Type": "application/json"})
        else:
            resp = await client.post("/desk/api/calls/call-1/outcome", json=payload)
        return resp.status

    assert run(desk_store, body) == 400
    call = desk_store.get_call("call-1")
    assert call is not None and call["agent_outcome"] is None


def test_card_is_computed_when_the_ivr_stored_no_summary(desk_store: CallStore,
                                                         desk_worker: CallStore) -> None:
    add_call(desk_worker, "call-3", caller="13700000000", summary=False)
    AgentDirectory(desk_worker).claim(ONLY_8001, "call-3")

    async def body(client: TestClient) -> Any:
        await sign_in(client)
        return await (await client.get("/desk/api/calls/call-3")).json()

    card = run(desk_store, body)
    assert card["summary_source"] == "computed"
    assert card["summary"]["intent_label"] == "报修宽带故障"
    assert card["text"] and card["earlier_calls"] == [] and card["earlier_count"] == 0
