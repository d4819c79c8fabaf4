"""Service logs (`ivr.logs`): dated ISO-8601 UTC lines, JSON on demand, call ids attached."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from ivr.cli import build_parser, settings_from_args
from ivr.config import load_settings
from ivr.logs import call_scope, call_task, current_call, iso_utc, setup_logging

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def root_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for h in list(root.handlers):
        root.removeHandler(h)
    for h in handlers:
        root.addHandler(h)
    root.setLevel(level)


def _lines(fmt: str, emit) -> list[str]:
    out = io.StringIO()
    setup_logging("INFO", fmt, stream=out)  # type: ignore[arg-type]
    emit(logging.getLogger("ivr.test"))
    return out.getvalue().splitlines()


def test_iso_utc_is_utc_with_milliseconds() -> None:
    assert iso_utc(1_700_000_000.1234) == "2023-11-14T22:13:20.123Z"


def test_json_lines_have_time_level_logger_message_and_call_id(root_restored) -> None:
    def emit(log: logging.Logger) -> None:
        log.info("plain %s", "line")
        log.warning("call=c-42 incoming from %s", "sip:1000@127.0.0.1")
        with call_scope("c-7"):
            log.info("a stage of the call")
        log.info("with extra", extra={"call_id": "c-9"})
        logging.getLogger("telephony.endpoint").info("call %s ended: %d", "c-3", 200)
        log.info("calling %s (call %s)", "sip:a", "c-4")  # not the convention: no id
        log.debug("below the level")

    docs = [json.loads(line) for line in _lines("json", emit)]
    assert [d["message"] for d in docs] == [
        "plain line", "call=c-42 incoming from sip:1000@127.0.0.1", "a stage of the call",
        "with extra", "call c-3 ended: 200", "calling sip:a (call c-4)"]
    assert all(ISO_UTC.match(d["time"]) for d in docs)
    assert [d["level"] for d in docs] == ["INFO", "WARNING", "INFO", "INFO", "INFO", "INFO"]
    assert {d["logger"] for d in docs} == {"ivr.test", "telephony.endpoint"}
    assert [d.get("call_id") for d in docs] == [None, "c-42", "c-7", "c-9", "c-3", None]
    assert current_call.get() is None  # the scope ended


def test_json_traceback_stays_on_one_line(root_restored) -> None:
    def emit(log: logging.Logger) -> None:
        try:
            raise ValueError("bad\nframe")
        except ValueError:
            log.exception("call=c-1 audio loop failed")

    lines = _lines("json", emit)
    assert len(lines) == 1
    doc = json.loads(lines[0])
    assert doc["call_id"] == "c-1" and "ValueError: bad\nframe" in doc["exc"]


def test_text_lines_are_dated_and_name_the_call(root_restored) -> None:
    def emit(log: logging.Logger) -> None:
        with call_scope("c-5"):
            log.info("turn %d", 3)
            log.info("call=c-5 already says it")
        logging.getLogger("telephony.endpoint").info("call %s ended", "c-6")

    first, second, third = _lines("text", emit)
    stamp, level, rest = first.split(" ", 2)
    assert ISO_UTC.match(stamp) and level == "INFO"
    assert rest.strip() == "ivr.test: [call=c-5] turn 3"
    assert second.endswith("ivr.test: call=c-5 already says it")
    assert third.endswith("telephony.endpoint: call c-6 ended")


def test_tasks_started_in_a_call_context_inherit_the_call(root_restored) -> None:
    """`call_task`, as `IvrService._start_session` starts a call."""
    out = io.StringIO()
    setup_logging("INFO", "json", stream=out)

    async def stage() -> None:
        logging.getLogger("ivr.call").info("inner")
        await asyncio.get_running_loop().create_task(child())

    async def child() -> None:
        logging.getLogger("ivr.call").info("child task")

    async def main() -> None:
        task = call_task(asyncio.get_running_loop(), stage(), "c-11")
        assert task.get_name() == "call:c-11"
        await task
        logging.getLogger("ivr.server").info("service line")

    asyncio.run(main())
    docs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(d["message"], d.get("call_id")) for d in docs] == [
        ("inner", "c-11"), ("child task", "c-11"), ("service line", None)]


def test_unknown_format_is_refused(root_restored) -> None:
    with pytest.raises(ValueError, match="text, json"):
        setup_logging("INFO", "xml")  # type: ignore[arg-type]


def test_log_format_setting_flag_and_env(tmp_path) -> None:
    assert load_settings(None, {}, environ={}).log_format == "text"
    assert load_settings(None, {}, environ={"IVR_LOG_FORMAT": "json"}).log_format == "json"
    args = build_parser().parse_args(["serve", "--log-format", "json", "--http-host", "0.0.0.0"])
    settings = settings_from_args(args)
    assert (settings.log_format, settings.http.host) == ("json", "0.0.0.0")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["serve", "--log-format", "xml"])


def test_cluster_forwards_the_log_format_to_workers(monkeypatch, root_restored) -> None:
    import ivr.cluster.__main__ as cluster_main

    seen: dict[str, list[str]] = {}

    def fake_serve(serve_args: list[str], *_a, **_k) -> int:
        seen["args"] = serve_args
        return 0

    monkeypatch.setattr(cluster_main, "serve_cluster", fake_serve)
    assert cluster_main.main(["--workers", "2", "--log-format", "json", "--asr-model",
                              "tiny.en"]) == 0
    assert seen["args"][-2:] == ["--log-format", "json"]
    assert "--asr-model" in seen["args"]
