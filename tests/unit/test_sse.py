"""`ivr.web.sse`: the event-stream wire format the live board and the agent desk share."""

from __future__ import annotations

import datetime as dt

from ivr.web.sse import HEADERS, KEEPALIVE, message


def test_event_is_one_line_of_compact_utf8_json() -> None:
    assert message("status", {"status": "busy", "who": "张"}) == (
        'event: status\ndata: {"status":"busy","who":"张"}\n\n'.encode())
    assert message("t", {"at": dt.date(2026, 12, 7)}) == b'event: t\ndata: {"at":"2026-12-07"}\n\n'


def test_never_cached_nor_buffered_and_a_comment_keeps_it_open() -> None:
    assert HEADERS["Cache-Control"] == "no-store" and HEADERS["X-Accel-Buffering"] == "no"
    assert HEADERS["Content-Type"].startswith("text/event-stream")
    assert KEEPALIVE.startswith(b":") and KEEPALIVE.endswith(b"\n\n")
