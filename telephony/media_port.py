"""The pjsua2 side of `CallMedia`: one conference-bridge port per call (SIP thread only)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import pjsua2 as pj

__all__ = ["ConferencePort"]

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
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, clock_rate, 1, frame_ms * 1000, 16)
        self.name = name
        self._port: _Port | None = _Port(rx, tx)
        self._port.createPort(name, fmt)
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
        """Disconnect and destroy the port (removes it from the conference bridge)."""
        port, self._port = self._port, None
        if port is not None:
            self._disconnect(port, self._call_audio)
        self._call_audio = None
        del port

    @staticmethod
    def _disconnect(port: Any, call_audio: Any) -> None:
        if call_audio is None:
            return
        for src, dst in ((call_audio, port), (port, call_audio)):
            with contextlib.suppress(pj.Error):  # the call's media may be gone already
                src.stopTransmit(dst)
