"""pjsua2 subclasses. Each callback forwards to the owning `SipEndpoint` and never raises:
a Python exception escaping a SWIG director callback would abort the process."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

if TYPE_CHECKING:
    from telephony.endpoint import SipEndpoint

log = logging.getLogger("telephony.endpoint")
pjlog = logging.getLogger("telephony.pjsua")

_PJ_TO_PY = {0: logging.CRITICAL, 1: logging.ERROR, 2: logging.WARNING, 3: logging.INFO}


def _guard(what: str, fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:  # noqa: BLE001 - must not propagate into C++
        log.exception("error in %s callback", what)


class LogWriter(pj.LogWriter):
    """Forwards pjsua log lines to the `telephony.pjsua` Python logger."""

    def write(self, entry: pj.LogEntry) -> None:
        with contextlib.suppress(Exception):
            pjlog.log(_PJ_TO_PY.get(entry.level, logging.DEBUG), "%s", entry.msg.rstrip())


class Endpoint(pj.Endpoint):
    """Reports INVITEs pjsua refused by itself (e.g. 486 at the wheel's 4-call hard cap)."""

    def __init__(self, owner: SipEndpoint) -> None:
        super().__init__()
        self._owner = owner

    def onRejectedIncomingCall(self, prm: pj.OnRejectedIncomingCallParam) -> None:  # noqa: N802
        _guard(
            "onRejectedIncomingCall",
            self._owner._on_pjsua_rejected,
            prm.remoteInfo,
            prm.statusCode,
            prm.reason,
        )


class Account(pj.Account):
    """The single local account; hands incoming calls to the endpoint."""

    def __init__(self, owner: SipEndpoint) -> None:
        super().__init__()
        self._owner = owner

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802
        try:
            call = Call(self, prm.callId, self._owner)
        except Exception:  # noqa: BLE001
            log.exception("error handling incoming call")
            return
        try:
            whole = prm.rdata.wholeMsg
        except Exception:  # noqa: BLE001 - bytes the binding cannot decode
            whole = ""
        try:
            self._owner._on_incoming(call, whole)
        except Exception:  # noqa: BLE001
            log.exception("error handling incoming call")

    def onIncomingSubscribe(self, prm: pj.OnIncomingSubscribeParam) -> None:  # noqa: N802
        """Presence subscriptions are not a service of ours: refused."""
        prm.code = 403


class Call(pj.Call):
    """One SIP call; all callbacks arrive on the SIP thread."""

    def __init__(self, acc: pj.Account, call_id: int, owner: SipEndpoint) -> None:
        super().__init__(acc, call_id)
        self._owner = owner

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802
        _guard("onCallState", self._owner._on_call_state, self)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802
        _guard("onCallMediaState", self._owner._on_media_state, self)

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:  # noqa: N802
        _guard("onDtmfDigit", self._owner._on_dtmf, self, prm.digit)

    def onCallTransferRequest(self, prm: pj.OnCallTransferRequestParam) -> None:  # noqa: N802
        """A REFER from the caller: always refused (403), whatever happens in between."""
        prm.statusCode = 403
        _guard("onCallTransferRequest", self._owner._on_transfer_request, self, prm.dstUri)

    def onCallReplaceRequest(self, prm: pj.OnCallReplaceRequestParam) -> None:  # noqa: N802
        """An INVITE with Replaces (take over this call): refused."""
        prm.statusCode = 403
        prm.reason = "Replaces not allowed"

    def onCallRedirected(self, prm: pj.OnCallRedirectedParam) -> int:  # noqa: N802
        """A 3xx to one of our outbound legs: not followed (the far end would choose whom
        we dial)."""
        return pj.PJSIP_REDIRECT_REJECT

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:  # noqa: N802
        _guard(
            "onCallTransferStatus",
            self._owner._on_transfer_status,
            self,
            prm.statusCode,
            prm.reason,
            prm.finalNotify,
        )


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """pjlib prints its start-up log to fd 1 before our LogWriter is installed; keep stdout
    clean (CLIs and the smoke script print JSON there) by pointing fd 1 at fd 2 meanwhile."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def call_op(code: int = 0, reason: str = "", headers: dict[str, str] | None = None) -> Any:
    """A `pj.CallOpParam` with status code, reason phrase and extra headers."""
    op = pj.CallOpParam(True)
    if code:
        op.statusCode = code
    if reason:
        op.reason = reason
    for name, value in (headers or {}).items():
        h = pj.SipHeader()
        h.hName, h.hValue = name, value
        op.txOption.headers.append(h)
    return op


def error_text(exc: BaseException) -> str:
    """`str(pj.Error)` is empty; use its info()."""
    if isinstance(exc, pj.Error):
        try:
            return exc.info()
        except Exception:  # noqa: BLE001
            return f"{exc.reason} (status {exc.status})"
    return str(exc) or type(exc).__name__
