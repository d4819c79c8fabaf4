"""Who may call a single worker: the allow-list and its once-per-minute refusal log."""

from __future__ import annotations

import logging

import pytest

from telephony.sip_sources import AllowList, RefusalLog, parse_networks, resolve, source_ip


@pytest.mark.parametrize(("source", "ip"), [
    ("127.0.0.1:5060", "127.0.0.1"),
    ("192.0.2.7", "192.0.2.7"),
    ("[2001:db8::1]:5060", "2001:db8::1"),
    ("2001:db8::1", "2001:db8::1"),
    ("[::ffff:10.1.2.3]:5060", "10.1.2.3"),  # v4-mapped: judged as the IPv4 address
    ("", ""), ("host.example:5060", ""), ("1.2.3.4.5:1", ""), ("[::1", ""),
    ("\x00\xff garbage", ""), ("9" * 10_000, ""), ("999.1.1.1:5060", ""),
])
def test_source_ip_is_parsed_defensively(source: str, ip: str) -> None:
    assert source_ip(source) == ip


def test_empty_list_allows_anyone_even_unparseable_sources() -> None:
    allow = AllowList([])
    assert allow.open
    assert allow.allows("203.0.113.9:5060") and allow.allows("")


def test_networks_and_single_addresses() -> None:
    allow = AllowList(["10.0.0.0/8", "192.0.2.7", "2001:db8::/32"])
    assert allow.allows("10.200.3.4:5060")
    assert allow.allows("192.0.2.7:5070")
    assert not allow.allows("192.0.2.8:5060")
    assert allow.allows("[2001:db8::5]:5060")
    assert not allow.allows("[2001:db9::5]:5060")
    assert not allow.allows("")  # a source we cannot read is refused once a list is set
    assert not allow.allows("not-an-address")


def test_registrar_addresses_added_at_run_time_are_allowed() -> None:
    allow = AllowList(["127.0.0.5"])
    assert not allow.allows("127.0.0.1:5060")
    allow.extra.add("127.0.0.1")
    assert allow.allows("127.0.0.1:40000")


def test_bad_entries_name_themselves() -> None:
    with pytest.raises(ValueError, match="nonsense"):
        parse_networks(["10.0.0.0/8", "nonsense"])
    with pytest.raises(ValueError, match="10.0.0.0/33"):
        AllowList(["10.0.0.0/33"])


def test_refusals_are_logged_once_per_source_per_minute(caplog: pytest.LogCaptureFixture) -> None:
    refusals = RefusalLog(interval_s=60)
    caplog.set_level(logging.WARNING, "telephony.endpoint")
    logged = [refusals.refused("198.51.100.1:5060", 403, "Forbidden", t) for t in range(50)]
    assert logged == [True] + [False] * 49
    assert refusals.refused("198.51.100.2:5060", 403, "Forbidden", 10)  # another source
    assert refusals.refused("198.51.100.1:6000", 403, "Forbidden", 61)  # a minute later
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "49 more refused" in lines[2] and "198.51.100.1" in lines[2]
    assert refusals.total == 52


def test_refusal_table_is_bounded() -> None:
    refusals = RefusalLog(interval_s=60, max_sources=100)
    for i in range(1000):  # a flood from many spoofed sources
        refusals.refused(f"10.0.{i // 256}.{i % 256}:5060", 403, "Forbidden", 1.0)
    assert len(refusals._last) <= 100
    assert refusals.total == 1000


def test_resolve_ip_literal_without_dns() -> None:
    assert resolve("127.0.0.1") == {"127.0.0.1"}
    assert resolve("[::1]") == {"::1"}


def test_a_trunks_carrier_addresses_are_allowed_besides_the_global_list() -> None:
    from ivr.config import Settings
    from ivr.sip_edge import allowed_sources

    trunk = {"name": "carrier", "registrar": "sip:127.0.0.1:5070", "username": "u",
             "password": "p", "allow_from": ["198.51.100.10", "198.51.100.0/28"]}
    s = Settings.model_validate({"sip": {"allow_from": ["10.0.0.0/8"], "trunks": [trunk]}}).sip
    assert allowed_sources(s) == ["10.0.0.0/8", "198.51.100.10", "198.51.100.0/28"]
    allow = AllowList(allowed_sources(s))
    assert allow.allows("198.51.100.10:5060") and allow.allows("10.1.2.3:5060")
    assert not allow.allows("203.0.113.9:5060")
    # a trunk's list alone closes the worker to everyone else too
    alone = Settings.model_validate({"sip": {"trunks": [trunk]}}).sip
    assert not AllowList(allowed_sources(alone)).allows("203.0.113.9:5060")
    assert allowed_sources(Settings().sip) == []  # nothing listed: anyone
    with pytest.raises(ValueError, match="not-an-ip"):
        Settings.model_validate({"sip": {"trunks": [{**trunk, "allow_from": ["not-an-ip"]}]}})
