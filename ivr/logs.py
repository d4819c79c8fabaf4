"""The service's log lines: text or JSON, dated in ISO-8601 UTC, each with its call id.

Operators feed logs to journald, Loki or Elasticsearch, and a line they cannot date or tie to
a call is little use there. So every line carries the UTC time to the millisecond (a
machine's local time zone and NTP steps are not the reader's problem) and, when it belongs to
a call, that call's id:

- `call_scope(call_id)` binds the id in a context variable; `asyncio` copies the context
  into every task created inside it (`IvrService` starts each call's task with `call_task`),
  so whatever the call's stages log carries the id without passing it around;
- lines logged elsewhere (the SIP thread, executors) that follow the project's conventions,
  ``log.info("call=%s ...", call_id)`` or telephony's ``log.info("call %s ...", call_id)``,
  get it from their first argument (or a literal ``call=<id>`` prefix);
- ``extra={"call_id": ...}`` wins over both.

`--log-format json` writes one JSON object per line (`time`, `level`, `logger`, `message`,
`call_id` when known, `pid`, `exc` with the traceback); `text` (the default) stays readable
in a terminal. Both go to stderr: under systemd, journald stores and rotates them (see
README "Running as a service").
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import re
import sys
from collections.abc import Coroutine, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import IO, Any, Literal

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")

current_call: ContextVar[str | None] = ContextVar("ivr_call_id", default=None)
_CALL_PREFIX = re.compile(r"call=([\w.:@-]{1,128})")
QUIET_LOGGERS = {"aiohttp.access": logging.WARNING, "faster_whisper": logging.WARNING}


@contextlib.contextmanager
def call_scope(call_id: str) -> Iterator[None]:
    """Lines logged inside (and in tasks created inside) belong to `call_id`."""
    token = current_call.set(call_id)
    try:
        yield
    finally:
        current_call.reset(token)


def call_task(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None],
              call_id: str) -> asyncio.Task[None]:
    """The call's task (named ``call:<id>``), run in a context where `current_call` is
    `call_id`: it and every task it creates log with the call's id."""
    context = contextvars.copy_context()
    context.run(current_call.set, call_id)
    return loop.create_task(coro, name=f"call:{call_id}", context=context)


def iso_utc(created: float) -> str:
    """``2026-12-07T01:33:28.123Z``: a record's time, UTC, milliseconds."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


class CallIdFilter(logging.Filter):
    """Puts `record.call_id` on every record (None when it belongs to no call). A handler
    filter runs in the thread that logged, so the context variable is the caller's."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "call_id", None) is None:
            record.call_id = current_call.get() or _named_call(record)
        return True


def _named_call(record: logging.LogRecord) -> str | None:
    """The call a line names first: ``"call=%s ..."`` / ``"call %s ..."`` with the id as the
    first argument, or a literal ``call=<id>`` prefix."""
    msg = record.msg
    if not isinstance(msg, str) or not msg.startswith("call"):
        return None
    if msg.startswith(("call=%s", "call %s")) and isinstance(record.args, tuple) and record.args:
        return str(record.args[0])[:128]
    m = _CALL_PREFIX.match(msg)
    return m.group(1) if m else None


class TextFormatter(logging.Formatter):
    """``2026-12-07T01:33:28.123Z INFO    ivr.server: message``; ``[call=ID]`` is added when
    the record belongs to a call the message does not already start by naming."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        call = getattr(record, "call_id", None)
        if call and not message.startswith((f"call={call}", f"call {call}")):
            message = f"[call={call}] {message}"
        line = f"{iso_utc(record.created)} {record.levelname:<7} {record.name}: {message}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line; newlines inside messages and tracebacks are escaped, so a
    line is always one record."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, object] = {
            "time": iso_utc(record.created), "level": record.levelname,
            "logger": record.name, "message": record.getMessage(), "pid": record.process,
        }
        if call := getattr(record, "call_id", None):
            doc["call_id"] = call
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            doc["stack"] = self.formatStack(record.stack_info)
        return json.dumps(doc, ensure_ascii=False, default=str)


def make_handler(fmt: LogFormat, stream: IO[str] | None = None) -> logging.Handler:
    """A stderr handler (or `stream`) writing `fmt` lines, with call ids."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(CallIdFilter())
    return handler


def setup_logging(level: str | int, fmt: LogFormat = "text",
                  stream: IO[str] | None = None) -> None:
    """Configure the root logger of a process (replaces handlers set before)."""
    if fmt not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(make_handler(fmt, stream))
    root.setLevel(level)
    for name, quiet in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(quiet)
