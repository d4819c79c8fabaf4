"""Refusing INVITEs on the SIP thread: who may not call (the allow-list), error answers sent
after pjsua's callback, and pjsua's own refusals at its call cap, each reported without
turning a flood into a flood of log lines. Also the trunks' registration callbacks and
their snapshots for other threads.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import pjsua2 as pj

from telephony import _pj
from telephony._callevents import Entry
from telephony.sip_sources import AllowList, RefusalLog
from telephony.sip_types import CallInfo, clean_text, new_call_id
from telephony.trunks import TrunkConfig, Trunks, TrunkStatus

log = logging.getLogger("telephony.endpoint")


class Refusals:
    """Mixin of `SipEndpoint`: every method but the two snapshots runs on the SIP thread."""

    _calls: dict[str, Entry]
    _notify: Any

    def _init_refusals(self, trunks: Sequence[TrunkConfig], allow_from: Sequence[str]) -> None:
        self._trunks = Trunks(list(trunks))
        self._allow = AllowList(allow_from)
        self._allow.extra = self._trunks.registrar_addresses  # one set, grown at run time
        self._refusals = RefusalLog()
        self._refusals_due: list[tuple[Entry, int, str, dict[str, str]]] = []
        self._cap_rejections: tuple[float | None, int] = (None, 0)  # last logged, since

    def trunk_statuses(self) -> tuple[TrunkStatus, ...]:
        """Registration state of every configured trunk (immutable snapshot, any thread)."""
        return self._trunks.statuses()

    def refused_invites(self) -> int:
        """INVITEs refused because of their source address since start (any thread)."""
        return self._refusals.total

    def _on_reg_state(self, name: str, code: int, reason: str, expiration: int,
                      source: str) -> None:
        self._trunks.on_reg_state(name, code, reason, expiration, source)

    def _refuse_source(self, call: Any, source: str) -> None:
        """403 to an INVITE from a source not in the allow-list; logged once per source per
        minute (`RefusalLog`), never per packet."""
        refused = Entry(call, CallInfo(new_call_id(), "", "", "", "", time.monotonic()))
        self._calls[refused.info.call_id] = refused  # freed when pjsua says it ended
        self._refusals.refused(source, 403, "Forbidden", time.monotonic())
        self._refuse_later(refused, 403, "Forbidden")

    def _refuse_later(self, entry: Entry, code: int, reason: str,
                      headers: dict[str, str] | None = None) -> None:
        """Queue a final error answer for after the incoming-call callback returns.

        pjsua aborts the process (`pjsip_rx_data_free_cloned: Assertion 'rdata' failed`)
        when an INVITE without SDP (a late offer) gets a non-2xx final answer from inside
        onIncomingCall: one such INVITE from anyone, at capacity or from a refused source,
        was enough. Answered from the poll loop instead, it is an ordinary rejection.
        """
        self._refusals_due.append((entry, code, reason, dict(headers or {})))

    def _send_refusals(self) -> None:
        """Send the queued error answers (SIP thread, after each poll)."""
        due, self._refusals_due = self._refusals_due, []
        for entry, code, reason, headers in due:
            if entry.call is None:  # cancelled and gone meanwhile
                continue
            try:  # answer(), not hangup(): a deferred hangup would drop our extra headers
                entry.call.answer(_pj.call_op(code, reason, headers))
            except pj.Error as exc:
                log.error("rejecting %s failed: %s", entry.info.call_id, _pj.error_text(exc))

    def _on_pjsua_rejected(self, remote_uri: str, code: int, reason: str) -> None:
        """pjsua's own 486 at its 4-call cap: reported once a minute, with the count of the
        ones in between (a burst of INVITEs must not become a burst of log lines)."""
        now = time.monotonic()
        last, unlogged = self._cap_rejections
        if last is not None and now - last < 60.0:
            self._cap_rejections = (last, unlogged + 1)
            return
        self._cap_rejections = (now, 0)
        log.warning(
            "pjsua itself rejected an INVITE from %s: %d %s (the wheel allows %d concurrent "
            "calls per process; add SIP workers for more)%s",
            clean_text(remote_uri, 128), code, reason, 4,
            f"; {unlogged} more since the last line" if unlogged else "",
        )
        self._notify("on_rejected", remote_uri, code, reason)
