"""Commands queued to `SipEndpoint`'s SIP thread (hang up, transfer, dial, bridge, DTMF);
every method runs on that thread."""

from __future__ import annotations

import contextlib
import logging
import time
from concurrent.futures import Future
from typing import Any

import pjsua2 as pj

from telephony import _pj
from telephony._callevents import CallEvents, Entry
from telephony.sip_types import CallInfo, new_call_id, refer_to_uri, uri_user
from telephony.trunks import Trunks

log = logging.getLogger("telephony.endpoint")


class CallCommands(CallEvents):
    """Mixin: what other threads ask of the SIP thread, on top of the call events."""

    _acc: Any
    _trunks: Trunks

    def _cmd_hangup(self, call_id: str, code: int) -> bool:
        entry = self._calls.get(call_id)
        if entry is None:
            return False
        entry.local_hangup = True
        entry.call.hangup(_pj.call_op(code))
        return True

    def _cmd_transfer(
        self,
        call_id: str,
        uri: str,
        hangup_on_success: bool,
        headers: dict[str, str] | None = None,
    ) -> bool:
        entry = self._calls.get(call_id)
        if entry is None:
            return False
        entry.hangup_after_transfer = hangup_on_success
        entry.call.xfer(refer_to_uri(uri, headers), _pj.call_op())
        return True

    def _cmd_make_call(
        self,
        uri: str,
        headers: dict[str, str] | None,
        timeout: float,
        fut: Future[CallInfo],
        trunk: str | None = None,
    ) -> CallInfo:
        acc, caller, via = self._acc, self.config.account_user, ""
        routed = self._trunks.account(trunk) if trunk != "" else None
        if routed is not None:  # through the trunk: its number, its registrar, its credentials
            acc, config = routed
            uri, caller, via = config.target(uri), config.aor_user, config.name
        call = _pj.Call(acc, pj.PJSUA_INVALID_ID, self)
        try:
            call.makeCall(uri, _pj.call_op(headers=headers))
        except pj.Error as exc:
            err = _pj.error_text(exc)
            self._graveyard.append(call)  # freed on this thread, not by whoever holds the error
            del call
            raise ValueError(f"cannot call {uri}: {err}") from None
        ci = call.getInfo()
        now = time.monotonic()
        info = CallInfo(
            call_id=new_call_id(),
            sip_call_id=ci.callIdString,
            remote_uri=ci.remoteUri or uri,
            caller=caller,
            callee=uri_user(uri),
            remote_contact="",
            started_at=now,
            headers=dict(headers or {}),
            direction="outbound",
        )
        entry = Entry(call, info, admitted=True, future=fut, answer_deadline=now + timeout)
        self._calls[info.call_id] = entry
        log.info("calling %s%s (call %s, headers %s)", uri, f" via trunk {via}" if via else "",
                 info.call_id, sorted(info.headers))
        return info

    def _cmd_bridge(self, call_a: str, call_b: str, hangup_together: bool) -> bool:
        a, b = self._calls.get(call_a), self._calls.get(call_b)
        if a is None or b is None or a is b or a.audio is None or b.audio is None:
            return False
        a.bridges[call_b] = hangup_together
        b.bridges[call_a] = hangup_together
        self._connect_pair(a, b)
        log.info("bridged %s <-> %s", call_a, call_b)
        return True

    def _cmd_unbridge(self, call_a: str, call_b: str) -> bool:
        a, b = self._calls.get(call_a), self._calls.get(call_b)
        if a is None or b is None or call_b not in a.bridges:
            return False
        a.bridges.pop(call_b, None)
        b.bridges.pop(call_a, None)
        for src, dst in ((a.audio, b.audio), (b.audio, a.audio)):
            if src is not None and dst is not None:
                with contextlib.suppress(pj.Error):
                    src.stopTransmit(dst)
        log.info("unbridged %s <-> %s", call_a, call_b)
        return True

    def _cmd_dtmf(self, call_id: str, digits: str) -> bool:
        entry = self._calls.get(call_id)
        if entry is None:
            return False
        entry.call.dialDtmf(digits)
        return True
