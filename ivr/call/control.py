"""Call control handed to sessions: commands queued to the SIP thread, and the outbound legs
(agents' phones) whose media arrives from it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ivr.call.protocols import DialFailed
from telephony import CallFailed, SipEndpoint


@dataclass(eq=False)
class SipAgentLeg:
    """An outbound leg (an agent's phone), the `ivr.call.protocols.AgentLeg` of a SIP call: its
    media arrives from the SIP thread."""

    call_id: str
    media: Any = None
    media_ready: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    by_remote: bool = False  # the agent hung up (not the IVR, e.g. after the caller did)


class SipCallControl:
    """Call control handed to sessions; commands are queued to the SIP thread."""

    def __init__(self, endpoint: SipEndpoint, legs: dict[str, SipAgentLeg]) -> None:
        self.endpoint = endpoint
        self.legs = legs

    def hangup(self, call_id: str) -> None:
        self.endpoint.hangup(call_id)

    def transfer(self, call_id: str, uri: str, headers: dict[str, str] | None = None) -> None:
        self.endpoint.transfer(call_id, uri, headers=headers)

    async def dial(self, uri: str, headers: dict[str, str], ring_s: float) -> SipAgentLeg:
        future = self.endpoint.make_call(uri, headers, ring_s)
        try:
            info = await asyncio.wrap_future(future)
        except CallFailed as e:
            raise DialFailed(e.code, e.reason) from None
        except ValueError as e:  # a malformed URI
            raise DialFailed(400, str(e)) from None
        except asyncio.CancelledError:
            # nobody wants this leg any more: hang it up if it is answered after all
            def drop(f: Any) -> None:
                if not f.cancelled() and f.exception() is None:
                    self.endpoint.hangup(f.result().call_id)
            future.add_done_callback(drop)
            raise
        leg = self.legs.setdefault(info.call_id, SipAgentLeg(info.call_id))
        try:
            async with asyncio.timeout(5):
                await leg.media_ready.wait()
        except TimeoutError:
            self.release_leg(info.call_id)
            raise DialFailed(488, "agent leg has no audio") from None
        return leg

    async def bridge(self, call_a: str, call_b: str, hangup_together: bool = True) -> bool:
        return bool(await asyncio.wrap_future(
            self.endpoint.bridge(call_a, call_b, hangup_together)))

    def release_leg(self, call_id: str) -> None:
        leg = self.legs.pop(call_id, None)
        if leg is not None and not leg.ended.is_set():
            self.endpoint.hangup(call_id)
