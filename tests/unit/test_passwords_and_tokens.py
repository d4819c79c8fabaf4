"""The credentials behind the desk and the web pages: argon2 password hashes (and the old
scrypt ones, bounded), signed session tokens that expire, the sign-in limiter's window, the
private secret file and `ivr passwd`."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest

from ivr import cli
from ivr.web.auth import (
    SessionSigner,
    SignInLimiter,
    hash_password,
    load_or_create_secret,
    verify_password,
)
from ivr.web.passwords import needs_rehash
from tests.unit.desk_app import SECRET, T0
from tests.web_helpers import legacy_scrypt_hash


def test_hash_and_verify_round_trip() -> None:
    stored = hash_password("口令 pass-1")
    assert stored.startswith("$argon2id$") and not needs_rehash(stored)
    assert verify_password("口令 pass-1", stored)
    assert not verify_password("口令 pass-2", stored)
    assert hash_password("口令 pass-1") != stored  # salted
    for bad in ("", "plain", "$argon2id$v=19$m=65536,t=3,p=4$bad", "bcrypt$x"):
        assert not verify_password("口令 pass-1", bad)


def test_old_scrypt_hashes_still_verify_within_bounds() -> None:
    """What `ivr passwd` printed before argon2: accepted, bounded, and due for a rehash."""
    stored = legacy_scrypt_hash("口令 pass-1")
    digest = stored.rsplit("$", 1)[1]
    assert verify_password("口令 pass-1", stored) and needs_rehash(stored)
    assert not verify_password("口令 pass-2", stored)
    for bad in ("scrypt$16384$8$1$abc",
                "scrypt$16383$8$1$c2FsdHNhbHRzYWx0c2FsdA$" + digest,  # N not a power of 2
                "scrypt$1073741824$8$1$c2FsdHNhbHRzYWx0c2FsdA$" + digest,  # too costly
                "scrypt$16384$8$1$!!$" + digest):
        assert not verify_password("口令 pass-1", bad)


def test_session_tokens_are_signed_and_expire() -> None:
    now = [T0]
    signer = SessionSigner(SECRET, ttl_s=60, clock=lambda: now[0])
    token = signer.issue("8001:x", "agent")
    principal = signer.verify(token, "agent")
    assert principal is not None and (principal.id, principal.role) == ("8001:x", "agent")
    assert signer.verify(token, "supervisor") is None
    assert SessionSigner(b"another-secret-of-32-bytes------", clock=lambda: now[0]).verify(
        token) is None
    body, sig = token.split(".")
    assert signer.verify(f"{body}.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}") is None
    forged = SessionSigner(b"x" * 32, clock=lambda: now[0]).issue("8002", "agent")
    assert signer.verify(f"{forged.split('.')[0]}.{sig}") is None
    for junk in (None, "", "a.b.c", "!!!.???", "nodot"):
        assert signer.verify(junk) is None
    now[0] += 61
    assert signer.verify(token) is None


def test_sign_in_limiter_window() -> None:
    now = [0.0]
    limiter = SignInLimiter(max_failures=3, window_s=60, clock=lambda: now[0])
    for _ in range(3):
        assert limiter.retry_after("a") == 0
        limiter.failed("a")
    assert limiter.retry_after("a") == pytest.approx(60)
    assert limiter.retry_after("b") == 0
    now[0] = 61
    assert limiter.retry_after("a") == 0
    limiter.failed("a")
    limiter.succeeded("a")
    assert limiter.retry_after("a") == 0


def test_secret_file_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "data" / "web_secret"
    first = load_or_create_secret(path)
    assert len(first) == 32 and load_or_create_secret(path) == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_passwd_cli_reads_stdin(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret 口令\n"))
    assert cli.main(["passwd", "--stdin"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith("$argon2id$") and verify_password("s3cret 口令", out)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert cli.main(["passwd", "--stdin"]) == 2
