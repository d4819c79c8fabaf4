"""Call event handling for `SipEndpoint` (runs on the SIP thread only)."""

from __future__ import annotations

import contextlib
import logging
import time
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pjsua2 as pj

from telephony import _pj
from telephony.media import CallMedia
from telephony.sip_types import (
    Admission,
    CallFailed,
    CallInfo,
    clean_text,
    new_call_id,
    parse_sip_message,
    uri_user,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from telephony.sip_sources import AllowList
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
    audio: Any = None  # the call's pj.AudioMedia (conference slot) while media is active
    bridges: dict[str, bool] = field(default_factory=dict)  # peer call_id -> hang up together
    # outbound legs only
    future: Future[CallInfo] | None = None
    answer_deadline: float | None = None
    connected: bool = False
    failed: bool = False
    ready_sent: bool = False  # on_media_ready delivered
    media_deadline: float | None = None  # an admitted inbound call with no media by then ends



def _resolve(fut: Future[Any] | None, result: Any = None, exc: BaseException | None = None) -> None:
    if fut is None:
        return
    with contextlib.suppress(InvalidStateError):  # cancelled or already settled
        if exc is not None:
            fut.set_exception(exc)
        else:
            fut.set_result(result)


class CallEvents:
    """Mixin: pjsua callbacks and queued commands. Every method runs on the SIP thread."""

    config: SipConfig
    listener: CallListener
    _calls: dict[str, Entry]
    _graveyard: list[Any]
    _allow: AllowList
    _refuse_source: Callable[[Any, str], None]  # `Refusals` (telephony/_refusals.py)
    _refuse_later: Callable[..., None]

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
    def _on_incoming(self, call: Any, whole_msg: str, source: str = "") -> None:
        if not self._allow.allows(source):
            self._refuse_source(call, source)
            return
        try:
            ci = call.getInfo()
            request_uri, core, extra = parse_sip_message(whole_msg)
            remote_uri = clean_text(ci.remoteUri)
            info = CallInfo(
                call_id=new_call_id(),
                remote_uri=remote_uri,
                caller=uri_user(remote_uri),
                callee=uri_user(clean_text(request_uri)) or uri_user(clean_text(ci.localUri)),
                remote_contact=clean_text(ci.remoteContact),
                started_at=time.monotonic(),
                headers=extra,
                sip_call_id=clean_text(ci.callIdString or core.get("call-id", "")),
            )
        except Exception:  # noqa: BLE001 - whatever a caller sent, the INVITE gets an answer
            log.exception("undecodable INVITE: refusing it with 400")
            refused = Entry(call, CallInfo(new_call_id(), "", "", "", "", time.monotonic()))
            self._calls[refused.info.call_id] = refused  # freed when pjsua says it ended
            self._refuse_later(refused, 400, "Bad Request")
            return
        entry = Entry(call, info)
        self._calls[info.call_id] = entry
        if self.admitted_calls() >= self.config.max_calls:
            verdict = Admission.rejected(503, "IVR at capacity", self.config.retry_after)
        else:
            verdict = self._notify("on_incoming", info)
            if not isinstance(verdict, Admission):
                log.error("on_incoming returned %r; rejecting with 500", verdict)
                verdict = Admission.rejected(500, "IVR error")
        if verdict.accept:
            entry.admitted = True
            entry.media_deadline = info.started_at + self.config.media_timeout_s
            log.info("call %s (slot %d, SIP Call-ID %r) from %s to %s accepted", info.call_id,
                     ci.id, info.sip_call_id, info.caller, info.callee)
            try:
                call.answer(_pj.call_op(180))
                call.answer(_pj.call_op(200, "", verdict.headers))
            except pj.Error as exc:
                log.error("answering %s failed: %s", info.call_id, _pj.error_text(exc))
                self._hangup_entry(entry, 500)
            return
        log.warning(
            "call %s from %s rejected: %d %s",
            info.call_id,
            info.remote_uri,
            verdict.code,
            verdict.reason,
        )
        self._refuse_later(entry, verdict.code, verdict.reason, verdict.headers)
        self._notify("on_rejected", info.remote_uri, verdict.code, verdict.reason)

    def admitted_calls(self) -> int:
        """Calls holding a pjsua slot that we admitted or dialled and that pjsua has not yet
        reported disconnected: derived from the call table, never a separate counter."""
        return sum(1 for e in self._calls.values() if e.admitted)

    def _hangup_entry(self, entry: Entry, code: int = 0) -> None:
        entry.local_hangup = True
        try:
            entry.call.hangup(_pj.call_op(code))
        except pj.Error as exc:
            log.warning("hangup of %s: %s", entry.info.call_id, _pj.error_text(exc))

    def _on_transfer_request(self, call: Any, target: str) -> int:
        """A REFER from the far end: refused. The IVR dials only its own transfers (toll
        fraud and SSRF otherwise: the caller would choose whom we call)."""
        entry = self._entry(call)
        log.warning("call %s: refused the caller's REFER to %r",
                    entry.info.call_id if entry else "?", clean_text(target, 128))
        return 403

    def _on_call_state(self, call: Any) -> None:
        entry = self._entry(call)
        if entry is None:
            return
        ci = call.getInfo()
        if ci.state == pj.PJSIP_INV_STATE_CONFIRMED and not entry.connected:
            entry.connected = True
            entry.answer_deadline = None
            if entry.failed:  # answered after we gave up on it (timeout raced the 200 OK)
                entry.local_hangup = True
                call.hangup(_pj.call_op())
            elif entry.info.direction == "outbound":
                log.info(
                    "outbound call %s to %s answered", entry.info.call_id, entry.info.remote_uri
                )
                fut, entry.future = entry.future, None
                _resolve(fut, entry.info)
                self._media_ready(entry)  # media that came up before the 200 OK was confirmed
            return
        if ci.state != pj.PJSIP_INV_STATE_DISCONNECTED:
            return
        self._calls.pop(entry.info.call_id, None)
        self._forget(entry)
        # The pj.Call is freed as this callback returns (pjsua2's documented place for it),
        # never later: its C++ destructor clears the user data of its pjsua slot and hangs up
        # whatever call is active there. Freed after the poll, it did so to a new call that
        # had taken the slot meanwhile, whose hang-up then never reached us (issue 15).
        entry.call = None
        self._drop_bridges(entry)
        if entry.info.direction == "outbound" and (not entry.connected or entry.failed):
            self._fail_outbound(entry, ci.lastStatusCode, ci.lastReason)
            return
        if entry.admitted:
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
        audio = call.getAudioMedia(mi.index)
        entry.audio = audio
        if entry.media is not None:  # fires again on re-INVITEs: connect once, follow slot moves
            entry.media.attach(audio)
        else:
            entry.media = CallMedia(self.config.clock_rate, name=f"ivr{ci.id}")
            entry.media.attach(audio)
        for peer_id in entry.bridges:  # a re-INVITE may have recreated the stream
            peer = self._calls.get(peer_id)
            if peer is not None and peer.audio is not None:
                self._connect_pair(entry, peer)
        # Outbound legs: early media (183) is not "ready"; report once the call is answered.
        if entry.info.direction == "inbound" or (entry.connected and not entry.failed):
            self._media_ready(entry)

    def _media_ready(self, entry: Entry) -> None:
        if entry.ready_sent or entry.media is None:
            return
        entry.ready_sent = True
        self._notify("on_media_ready", entry.info, entry.media)

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
        entry.audio = None

    def _fail_outbound(self, entry: Entry, code: int, reason: str) -> None:
        if entry.failed and entry.future is None:
            return
        entry.failed = True
        entry.answer_deadline = None
        fut, entry.future = entry.future, None
        log.warning(
            "outbound call %s to %s failed: %d %s",
            entry.info.call_id,
            entry.info.remote_uri,
            code,
            reason,
        )
        self._notify("on_call_failed", entry.info, code, reason)
        _resolve(fut, exc=CallFailed(entry.info, code, reason))

    def _check_timeouts(self, now: float) -> None:
        """Give up on outbound calls not answered in time, and hang up inbound calls that
        never got media (no ACK, no usable SDP): nothing may hold a slot with no session."""
        for entry in list(self._calls.values()):
            if entry.media_deadline is not None and not entry.ready_sent and (
                    now >= entry.media_deadline):
                entry.media_deadline = None
                log.warning("call %s has no media %.0f s after it was answered: hanging up",
                            entry.info.call_id, self.config.media_timeout_s)
                self._hangup_entry(entry)
                continue
            if entry.answer_deadline is None or now < entry.answer_deadline:
                continue
            entry.answer_deadline = None
            entry.local_hangup = True
            # Reported now: without any provisional response pjsip cannot CANCEL yet and
            # keeps the INVITE transaction (and the pjsua call slot) until Timer B, ~32 s.
            self._fail_outbound(entry, 408, "No answer")
            try:
                entry.call.hangup(_pj.call_op())
            except pj.Error as exc:
                log.warning("cancelling %s: %s", entry.info.call_id, _pj.error_text(exc))

    @staticmethod
    def _connect_pair(a: Entry, b: Entry) -> None:
        a.audio.startTransmit(b.audio)  # no-op if already connected
        b.audio.startTransmit(a.audio)

    def _drop_bridges(self, entry: Entry) -> None:
        """A bridged call ended: unbridge, and hang up peers bridged with hangup_together."""
        bridges, entry.bridges = entry.bridges, {}
        for peer_id, together in bridges.items():
            peer = self._calls.get(peer_id)
            if peer is None:
                continue
            peer.bridges.pop(entry.info.call_id, None)
            if together:
                log.info("call %s ended: hanging up bridged %s", entry.info.call_id, peer_id)
                peer.local_hangup = True
                try:
                    peer.call.hangup(_pj.call_op())
                except pj.Error as exc:
                    log.warning("hangup of %s: %s", peer_id, _pj.error_text(exc))
