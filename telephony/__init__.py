"""Telephony layer: SIP endpoint (pjsua2), per-call media ports, test softphone drivers.

Knows nothing of dialplans or models; the only shared type is `audio_models.frames.AudioFrame`.
"""

from telephony.endpoint import SipEndpoint, SipEndpointError
from telephony.media import CallMedia, Playback, PlayoutOverflow
from telephony.sip_types import Admission, CallFailed, CallInfo, CallListener, SipConfig

__all__ = [
    "Admission",
    "CallFailed",
    "CallInfo",
    "CallListener",
    "CallMedia",
    "Playback",
    "PlayoutOverflow",
    "SipConfig",
    "SipEndpoint",
    "SipEndpointError",
]
