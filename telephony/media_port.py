"""The pjsua2 side of `CallMedia`: one conference-bridge port per call (SIP thread only).

Ports are never destroyed while the service runs. Since pjsua 2.15.1 the conference bridge
adds, connects and removes ports asynchronously, on its clock thread: destroying an
`AudioMediaPort` right after its removal was queued lets that thread touch the freed C++ and
Python objects one tick later (pjproject #3928 and #4200; here it crashed `ivr serve` in
libpython when a caller hung up). So a call's port is disconnected and kept, idle, for the
next call (`_idle`: at most as many ports as calls were ever up at once); `destroy_idle_ports`
destroys them at shutdown, once the bridge has processed the disconnections.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

__all__ = ["ConferencePort", "destroy_idle_ports", "idle_ports", "ports_created"]

log = logging.getLogger("telephony.media")


class _Port(pj.AudioMediaPort):
    """Forwards pjmedia clock-thread callbacks; never lets an exception reach C++ (that
    would abort the process), only counts it."""

    errors = 0

    def __init__(
        self, rx: Callable[[pj.MediaFrame], None], tx: Callable[[pj.MediaFrame], None]
    ) -> None:
        super().__init__()
        self._rx, self._tx = rx, tx

    def rebind(
        self, rx: Callable[[pj.MediaFrame], None], tx: Callable[[pj.MediaFrame], None]
    ) -> None:
        """Point the callbacks at another call (one attribute store each: atomic)."""
        self._rx, self._tx = rx, tx

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (pjsua2 API)
        try:
            self._rx(frame)
        except BaseException:  # noqa: BLE001
            _Port.errors += 1

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (pjsua2 API)
        try:
            self._tx(frame)
        except BaseException:  # noqa: BLE001
            _Port.errors += 1


def _ignore(frame: pj.MediaFrame) -> None:
    """Callback of an idle port: the bridge may call it once more after a disconnection."""


# Idle ports by (clock rate, frame ms), disconnected, kept for the next call (SIP thread only).
_idle: dict[tuple[int, int], list[_Port]] = {}
_created = 0  # ports this process created


def _take_port(
    clock_rate: int, frame_ms: int,
    rx: Callable[[pj.MediaFrame], None], tx: Callable[[pj.MediaFrame], None],
) -> _Port:
    idle = _idle.get((clock_rate, frame_ms))
    if idle:
        port = idle.pop()
        port.rebind(rx, tx)
        return port
    global _created
    _created += 1
    fmt = pj.MediaFormatAudio()
    fmt.init(pj.PJMEDIA_FORMAT_PCM, clock_rate, 1, frame_ms * 1000, 16)
    port = _Port(rx, tx)
    port.createPort(f"pcm{_created}", fmt)
    return port


def ports_created() -> int:
    """How many ports this process created (the most calls that were ever up at once)."""
    return _created


def idle_ports() -> int:
    """How many disconnected ports wait for the next call."""
    return sum(len(v) for v in _idle.values())


def destroy_idle_ports() -> int:
    """Destroy the idle ports (SIP thread, at shutdown, before `libDestroy`; pump events
    for a few clock ticks first so the bridge has processed their disconnections)."""
    n = idle_ports()
    _idle.clear()  # the last references: each port's destructor removes it from the bridge
    return n


class ConferencePort:
    """A PCM port (mono, 16-bit, `frame_ms`) wired both ways to a call's conference slot."""

    def __init__(
        self,
        name: str,
        clock_rate: int,
        frame_ms: int,
        rx: Callable[[pj.MediaFrame], None],
        tx: Callable[[pj.MediaFrame], None],
    ) -> None:
        self.name = name
        self._key = (clock_rate, frame_ms)
        self._port: _Port | None = _take_port(clock_rate, frame_ms, rx, tx)
        self._call_audio: Any = None

    def connect(self, call_audio: Any) -> None:
        """Make whichever of the two connections is missing; follow a moved slot."""
        port, old = self._port, self._call_audio
        if port is None:
            return
        slot, mine = call_audio.getPortId(), port.getPortId()
        if old is not None and old.getPortId() != slot:
            self._disconnect(port, old)
        self._call_audio = call_audio
        made = []
        if mine not in pj.AudioMedia.getPortInfoFromId(slot).listeners:
            call_audio.startTransmit(port)
            made.append("in")
        if slot not in pj.AudioMedia.getPortInfoFromId(mine).listeners:
            port.startTransmit(call_audio)
            made.append("out")
        if made and old is not None:
            log.info(
                "media %s re-connected (%s) to conference slot %d after a media update",
                self.name,
                "+".join(made),
                slot,
            )

    def close(self) -> None:
        """Disconnect the port and keep it, idle, for the next call (never destroyed here:
        see the module docstring)."""
        port, self._port = self._port, None
        if port is None:
            return
        self._disconnect(port, self._call_audio)
        self._call_audio = None
        port.rebind(_ignore, _ignore)
        _idle.setdefault(self._key, []).append(port)

    @staticmethod
    def _disconnect(port: Any, call_audio: Any) -> None:
        if call_audio is None:
            return
        for src, dst in ((call_audio, port), (port, call_audio)):
            with contextlib.suppress(pj.Error):  # the call's media may be gone already
                src.stopTransmit(dst)
