"""The OpenAPI 3.1 description of the JSON API (`/api/...`), served at `/api/openapi.json`.

Written by hand rather than generated from the handlers: the handlers are plain aiohttp
functions, and what a client needs (who may call, which query bounds, what a 401/404 looks
like) is a statement of intent, not something the code can derive. `test_openapi` walks the
app's router and fails when an `/api` route is missing here or a path here has no route, so
the document cannot drift from the code silently.

The web pages (`/login`, `/dash`, `/desk`, their JSON under `/dash/api` and `/desk/api`)
sign in with session cookies and are described in their own modules, not here.
"""

from __future__ import annotations

import copy
from typing import Any

_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _ok(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


_ERRORS = {
    "401": {"description": "Missing or wrong bearer token (header `WWW-Authenticate: Bearer`).",
            "content": {_JSON: {"schema": _ref("Error")}}},
}
_NOT_FOUND = {"404": {"description": "No such call, or not one the caller may see.",
                      "content": {_JSON: {"schema": _ref("Error")}}}}
_CALL_ID = {"name": "call_id", "in": "path", "required": True, "schema": {"type": "string"}}
_PUBLIC: list[dict[str, list[str]]] = []  # `security: []`: no token


def _get(summary: str, ok: dict[str, Any], *, params: list[dict[str, Any]] | None = None,
         more: dict[str, Any] | None = None, public: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {"200": ok, **(more or {})}}
    if params:
        op["parameters"] = params
    if public:
        op["security"] = _PUBLIC
    else:
        op["responses"].update(_ERRORS)
    return {"get": op}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


_OBJECT = {"type": "object", "additionalProperties": True}

_SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"],
              "properties": {"error": {"type": "string"}}},
    "Health": {"type": "object", "required": ["status", "time"], "additionalProperties": True,
               "properties": {
                   "status": {"const": "ok"}, "time": {"type": "number"},
                   "active_calls": {"type": "integer"}, "max_calls": {"type": "integer"},
                   "draining": {"type": "boolean"}, "uptime_s": {"type": "number"},
                   "dialplan": {"type": "string"}, "asr_model": {"type": "string"},
                   "sip": {"type": "string"}, "sip_calls": {"type": "integer"},
                   "recording": _OBJECT}},
    "Ready": {"type": "object", "required": ["ready", "failed", "checks"], "properties": {
        "ready": {"type": "boolean"},
        "failed": {"type": "array", "items": {"type": "string"}},
        "checks": {"type": "object", "additionalProperties": {
            "type": "object", "required": ["ok"],
            "properties": {"ok": {"type": "boolean"}, "detail": {"type": "string"}}}}}},
    "Call": {"type": "object", "additionalProperties": True, "properties": {
        "id": {"type": "string"}, "caller": {"type": ["string", "null"]},
        "status": {"type": "string"}, "started_at": {"type": "number"},
        "ended_at": {"type": ["number", "null"]}, "sip_call_id": {"type": ["string", "null"]},
        "agent_id": {"type": ["string", "null"]}, "worker": {"type": ["string", "null"]}}},
    "CallDetail": {"allOf": [_ref("Call"), {"type": "object", "properties": {
        "turns": {"type": "array", "items": _OBJECT,
                  "description": "Turns in order, each with `timings` (ms)."},
        "events": {"type": "array", "items": _OBJECT},
        "transcript": {"type": "array", "items": _ref("TranscriptLine"),
                       "description": "The complete transcript in time order: every prompt "
                       "played, every caller turn, and the conversation with the agent "
                       "(transcribed from the recording after the call)."},
        "agent_transcript": {"type": ["object", "null"], "description": "The agent leg's "
                             "transcription: `status` (running, done, no_speech, failed), "
                             "`lines`, `detail`, `finished_at`; null when it has not run."}}}]},
    "TranscriptLine": {"type": "object", "required": ["at", "speaker", "text", "kind"],
                       "properties": {
        "at": {"type": "number", "description": "UNIX time the line began"},
        "offset_s": {"type": "number", "description": "seconds from the answer"},
        "speaker": {"type": "string", "enum": ["ivr", "caller", "agent"]},
        "text": {"type": "string", "description": "as stored: personal numbers masked"},
        "kind": {"type": "string", "enum": ["prompt", "stored_prompt", "turn",
                                                     "handover_input", "agent_leg"],
                 "description": "stored_prompt: a turn's prompt, for calls without prompt "
                 "events (its place is known, not when it played)"},
        "node": {"type": ["string", "null"]}, "seq": {"type": ["integer", "null"]},
        "interrupted": {"type": "boolean", "description": "a prompt the caller cut"}}},
    "CallEvents": {"type": "object", "required": ["id", "status", "events"], "properties": {
        "id": {"type": "string"}, "status": {"type": "string"},
        "events": {"type": "array", "items": _OBJECT,
                   "description": "Events with `id` > `after`, in the call's order, at most "
                   "500: ask again with the last `id` for more."}}},
    "CallList": {"type": "object", "required": ["calls", "limit", "offset"], "properties": {
        "calls": {"type": "array", "items": _ref("Call")},
        "limit": {"type": "integer"}, "offset": {"type": "integer"}}},
    "Summary": {"type": "object", "additionalProperties": True, "properties": {
        "text": {"type": "string"}, "whisper": {"type": "string"}}},
    "Callbacks": {"type": "object", "required": ["callbacks"],
                  "properties": {"callbacks": {"type": "array", "items": _OBJECT}}},
    "Workers": {"type": "object", "required": ["workers"], "properties": {"workers": {
        "type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "string"}, "http_url": {"type": ["string", "null"]},
            "host": {"type": "string"}, "pid": {"type": "integer"},
            "started_at": {"type": "number"}, "seen_at": {"type": "number"}}}}}},
}

_PATHS: dict[str, Any] = {
    "/api/health": _get("Liveness and counters of this worker (no token).",
                        _ok("The process serves.", _ref("Health")), public=True),
    "/api/ready": _get(
        "Readiness (no token): models loaded, SIP bound, not draining, database writable.",
        _ok("Ready for calls.", _ref("Ready")), public=True,
        more={"503": _ok("Not ready; `failed` names the checks that failed.", _ref("Ready"))}),
    "/api/openapi.json": _get("This document (no token).", _ok("OpenAPI 3.1", _OBJECT),
                              public=True),
    "/api/workers": _get("The service's live worker processes.",
                         _ok("Workers seen in the last 30 s.", _ref("Workers"))),
    "/api/calls": _get(
        "Calls, newest first (an agent's token: only the calls that agent took).",
        _ok("A page of calls.", _ref("CallList")),
        params=[_query("limit", "1-500, default 50", {"type": "integer"}),
                _query("offset", "default 0", {"type": "integer"}),
                _query("status", "active, completed, ...", {"type": "string"}),
                _query("caller", "caller number", {"type": "string"}),
                _query("sip_call_id", "SIP Call-ID of the INVITE", {"type": "string"})],
        more={"400": {"description": "limit or offset is not an integer.",
                      "content": {_JSON: {"schema": _ref("Error")}}}}),
    "/api/calls/{call_id}": _get(
        "One call with turns (and their timings), events and its complete `transcript`; "
        "audited as `view_call`.",
        _ok("The call.", _ref("CallDetail")), params=[_CALL_ID], more=_NOT_FOUND),
    "/api/calls/{call_id}/events": _get(
        "Follow a live call: its events after `after` (an event `id`), waiting up to `wait` "
        "seconds for the next one while the call is live (long poll); audited as "
        "`view_call`.",
        _ok("The call's status and its new events.", _ref("CallEvents")),
        params=[_CALL_ID, _query("after", "event id, default 0", {"type": "integer"}),
                _query("wait", "0-25 s, default 0: answer at once", {"type": "number"})],
        more={**_NOT_FOUND, "400": {"description": "after or wait is not a number.",
                                    "content": {_JSON: {"schema": _ref("Error")}}}}),
    "/api/calls/{call_id}/summary": _get(
        "The hand-over summary of a call, as facts and as text; audited.",
        _ok("The summary.", _ref("Summary")), more=_NOT_FOUND,
        params=[_CALL_ID, _query("language", "language of the text (default the call's)",
                                 {"type": "string"})]),
    "/api/callbacks": _get(
        "Callback requests and voicemails, newest first (agents: theirs); audited.",
        _ok("Callbacks.", _ref("Callbacks")),
        params=[_query("status", "e.g. pending, done", {"type": "string"})]),
}


def openapi_document(version: str) -> dict[str, Any]:
    """The document, with the service's `version` (a copy: callers may change it)."""
    return copy.deepcopy({
        "openapi": "3.1.0",
        "info": {"title": "Voice IVR API", "version": version,
                 "description": "JSON API of one IVR worker. Every path needs "
                 "`Authorization: Bearer <token>` (the configured api_token, DATA_DIR/api_token "
                 "or a token of `ivr token add`) unless it says `security: []`."},
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                       "schemas": _SCHEMAS},
        "paths": _PATHS,
    })
