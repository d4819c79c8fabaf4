"""Call event handling for `SipEndpoint` (runs on the SIP thread only)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from telephony import _pj
from telephony.media import CallMedia
from telephony.sip_types import Admission, CallInfo, parse_sip_message, uri_user

if TYPE_CHECKING:
    from telephony.sip_types import CallListener, SipConfig

log = logging.getLogger("telephony.endpoint")


@dataclass(eq=False)
class Entry:
    """Book-keeping for one call; holds the pj.Call so Python's GC cannot free it elsewhere."""

    call: Any
    info: CallInfo
    admitted: bool = False
    media: CallMedia | None = None
    local_hangup: bool = False
    hangup_after_transfer: bool = True


class CallEvents:
    """Mixin: pjsua callbacks and queued commands. Every method runs on the SIP thread."""

    config: SipConfig
    listener: CallListener
    _calls: dict[str, Entry]
    _graveyard: list[Entry]
    _active: int

    # ---- listener plumbing ----------------------------------------------------------------
    def _notify(self, name: str, *args: Any) -> Any:
        fn = getattr(self.listener, name, None)
        if fn is None:
            return None
        try:
            return fn(*args)
        except Exception:  # noqa: BLE001 - a listener bug must not kill the SIP thread
            log.exception("listener.%s failed", name)
            return None

    def _entry(self, call: Any) -> Entry | None:
        for entry in self._calls.values():
            if entry.call is call:
                return entry
        return None

    # ---- pjsua callbacks ------------------------------------------------------------------
    def _on_incoming(self, call: Any, whole_msg: str) -> None:
        ci = call.getInfo()
        request_uri, core, extra = parse_sip_message(whole_msg)
        info = CallInfo(
            call_id=ci.callIdString or core.get("call-id", f"pj-{ci.id}"),
            remote_uri=ci.remoteUri,
            caller=uri_user(ci.remoteUri),
            callee=uri_user(request_uri) or uri_user(ci.localUri),
            remote_contact=ci.remoteContact,
            started_at=time.monotonic(),
            headers=extra,
        )
        entry = Entry(call, info)
        self._calls[info.call_id] = entry
        if self._active >= self.config.max_calls:
            verdict = Admission.rejected(503, "IVR at capacity", self.config.retry_after)
        else:
            verdict = self._notify("on_incoming", info)
            if not isinstance(verdict, Admission):
                log.error("on_incoming returned %r; rejecting with 500", verdict)
                verdict = Admission.rejected(500, "IVR error")
        if verdict.accept:
            entry.admitted = True
            self._active += 1
            log.info("call %s from %s to %s accepted", info.call_id, info.caller, info.callee)
            try:
                call.answer(_pj.call_op(180))
                call.answer(_pj.call_op(200, "", verdict.headers))
            except pj.Error as exc:
                log.error("answering %s failed: %s", info.call_id, _pj.error_text(exc))
            return
        log.warning(
            "call %s from %s rejected: %d %s",
            info.call_id,
            info.remote_uri,
            verdict.code,
            verdict.reason,
        )
        try:  # answer(), not hangup(): a deferred hangup would drop our extra headers
            call.answer(_pj.call_op(verdict.code, verdict.reason, verdict.headers))
        except pj.Error as exc:
            log.error("rejecting %s failed: %s", info.call_id, _pj.error_text(exc))
        self._notify("on_rejected", info.remote_uri, verdict.code, verdict.reason)

    def _on_pjsua_rejected(self, remote_uri: str, code: int, reason: str) -> None:
        log.warning(
            "pjsua itself rejected an INVITE from %s: %d %s (the wheel allows %d concurrent "
            "calls per process; add SIP workers for more)",
            remote_uri,
            code,
            reason,
            4,
        )
        self._notify("on_rejected", remote_uri, code, reason)

    def _on_call_state(self, call: Any) -> None:
        entry = self._entry(call)
        if entry is None:
            return
        ci = call.getInfo()
        if ci.state != pj.PJSIP_INV_STATE_DISCONNECTED:
            return
        self._calls.pop(entry.info.call_id, None)
        self._forget(entry)
        self._graveyard.append(entry)  # deleted after libHandleEvents returns
        if entry.admitted:
            self._active -= 1
            by_remote = not entry.local_hangup
            log.info(
                "call %s ended: %d %s (%s)",
                entry.info.call_id,
                ci.lastStatusCode,
                ci.lastReason,
                "by caller" if by_remote else "by IVR",
            )
            self._notify("on_disconnected", entry.info, ci.lastStatusCode, ci.lastReason, by_remote)

    def _on_media_state(self, call: Any) -> None:
        entry = self._entry(call)
        if entry is None or not entry.admitted:
            return
        ci = call.getInfo()
        for mi in ci.media:
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                break
        else:
            return
        if entry.media is not None:  # fires again on re-INVITEs: connect once, follow slot moves
            entry.media.attach(call.getAudioMedia(mi.index))
            return
        media = CallMedia(self.config.clock_rate, name=f"ivr{ci.id}")
        media.attach(call.getAudioMedia(mi.index))
        entry.media = media
        self._notify("on_media_ready", entry.info, media)

    def _on_dtmf(self, call: Any, digit: str) -> None:
        entry = self._entry(call)
        if entry is not None and entry.admitted:
            self._notify("on_dtmf", entry.info, digit, time.monotonic())

    def _on_transfer_status(self, call: Any, code: int, reason: str, final: bool) -> None:
        entry = self._entry(call)
        if entry is None:
            return
        log.info(
            "transfer of %s: %d %s%s", entry.info.call_id, code, reason, " (final)" if final else ""
        )
        self._notify("on_transfer_status", entry.info, code, final)
        if final and 200 <= code < 300 and entry.hangup_after_transfer:
            entry.local_hangup = True
            call.hangup(_pj.call_op())

    def _forget(self, entry: Entry) -> None:
        if entry.media is not None:
            entry.media.close()

    # ---- commands -------------------------------------------------------------------------
    def _cmd_hangup(self, call_id: str, code: int) -> bool:
        entry = self._calls.get(call_id)
        if entry is None:
            return False
        entry.local_hangup = True
        entry.call.hangup(_pj.call_op(code))
        return True

    def _cmd_transfer(self, call_id: str, uri: str, hangup_on_success: bool) -> bool:
        entry = self._calls.get(call_id)
        if entry is None:
            return False
        entry.hangup_after_transfer = hangup_on_success
        entry.call.xfer(uri, _pj.call_op())
        return True

    def _cmd_dtmf(self, call_id: str, digits: str) -> bool:
        entry = self._calls.get(call_id)
        if entry is None:
            return False
        entry.call.dialDtmf(digits)
        return True
