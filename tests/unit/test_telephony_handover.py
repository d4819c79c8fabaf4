"""Pure parts of live-agent handover: Refer-To with embedded headers, CallInfo direction."""

from __future__ import annotations

import pytest

from telephony import CallFailed, CallInfo
from telephony.sip_types import refer_to_uri


def test_refer_to_without_headers_is_unchanged() -> None:
    assert refer_to_uri("sip:agent@127.0.0.1:5070") == "sip:agent@127.0.0.1:5070"


def test_refer_to_embeds_escaped_headers() -> None:
    got = refer_to_uri(
        "<sip:agent@127.0.0.1:5070>",
        {"X-IVR-Call-ID": "abc@h 1", "X-IVR-Summary-URL": "http://h/s?id=1&x=2"},
    )
    assert got == (
        "<sip:agent@127.0.0.1:5070?X-IVR-Call-ID=abc%40h%201"
        "&X-IVR-Summary-URL=http%3A%2F%2Fh%2Fs%3Fid%3D1%26x%3D2>"
    )
    assert refer_to_uri("sip:a@h?X-A=1", {"X-B": "2"}) == "<sip:a@h?X-A=1&X-B=2>"


@pytest.mark.parametrize(
    ("uri", "headers"), [("tel:+15551234", {"X-A": "1"}), ("sip:a@h", {"Bad Name": "1"})]
)
def test_refer_to_rejects_bad_input(uri: str, headers: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        refer_to_uri(uri, headers)


def test_call_info_direction_defaults_to_inbound() -> None:
    info = CallInfo("id", "sip:a@h", "a", "ivr", "", 0.0)
    assert info.direction == "inbound"
    out = CallInfo("id2", "sip:agent@h", "ivr", "agent", "", 0.0, {"X-A": "1"}, "outbound")
    err = CallFailed(out, 486, "Busy Here")
    assert (err.code, err.reason, err.call) == (486, "Busy Here", out)
    assert "486 Busy Here" in str(err)
