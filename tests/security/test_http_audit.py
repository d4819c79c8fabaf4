"""What the audit log records of the web side: the desk's sign-ins (failed, made, ended),
and the callbacks an agent's API token may list, each listing audited.

Everything runs on real sockets on 127.0.0.1 (other loopback addresses stand for other
clients). Each test failed on the code before the fix (issue 15)."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient

from ivr.web.users import UserStore
from tests.security.web_app import PW, audit_rows, run


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_desk_sign_ins_are_audited(web_store):
    async def body(client: TestClient) -> None:
        for agent, password in (("8001", "wrong-password"), ("li", "nope-nope"),
                                ("8001", "li-desk-secret"), ("li", PW)):
            resp = await client.post("/desk/login", json={"agent": agent,
                                                          "password": password})
            resp.release()
        await client.post("/desk/logout", json={})
    run(web_store, body)
    failed = audit_rows(web_store, "sign_in_failed")
    assert [(r["user"], r["ip"], json.loads(r["detail"])["via"]) for r in failed] == [
        ("8001", "127.0.0.1", "desk"), ("li", "127.0.0.1", "desk")]
    signed = audit_rows(web_store, "sign_in")
    assert [(r["user"], r["role"], json.loads(r["detail"])) for r in signed] == [
        ("8001", "agent", {"via": "desk", "agent": "8001"}),
        ("li", "agent", {"via": "desk", "agent": "8001"})]
    assert [r["user"] for r in audit_rows(web_store, "sign_out")] == ["8001"]


def test_an_agent_token_lists_only_its_callbacks_and_listing_is_audited(web_store):
    web_store.add_callback("c-li", caller="13800138000", number="13800138000", queue="billing")
    web_store.add_callback("c-q1", caller="13700137000", number="13700137000", queue="general")
    web_store.add_callback("c-q2", caller="13600136000", number="13600136000", queue="billing")
    web_store.add_callback("c-wang", caller="13900139000", number="13900139000", queue="vip")
    users = UserStore(web_store)
    li = users.add_token("li-crm", "agent", agent_id="8001")
    orphan = users.add_token("no-agent", "agent")
    sup = users.add_token("wallboard", "supervisor")

    async def body(client: TestClient) -> dict[str, list[str]]:
        out = {}
        for name, token in (("li", li), ("orphan", orphan), ("sup", sup)):
            resp = await client.get("/api/callbacks",
                                    headers={"Authorization": f"Bearer {token}"})
            assert resp.status == 200
            out[name] = sorted(c["call_id"] for c in (await resp.json())["callbacks"])
        return out
    assert run(web_store, body) == {"li": ["c-li", "c-q1"], "orphan": [],
                                "sup": ["c-li", "c-q1", "c-q2", "c-wang"]}
    rows = audit_rows(web_store, "list_callbacks")
    assert [(r["user"], r["role"], sorted(json.loads(r["detail"])["call_ids"]))
            for r in rows] == [("li-crm", "agent", ["c-li", "c-q1"]),
                               ("no-agent", "agent", []),
                               ("wallboard", "supervisor", ["c-li", "c-q1", "c-q2", "c-wang"])]
    assert all(r["ip"] == "127.0.0.1" for r in rows)
