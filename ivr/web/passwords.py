"""One password scheme for everyone who signs in: argon2id (`argon2-cffi`).

`hash_password` makes the hash that `ivr passwd` prints (an agent's `password_hash` setting)
and that `ivr user add` stores; `verify_password` checks one in constant time. Hashes of the
scrypt format earlier versions printed (``scrypt$N$r$p$salt_b64$hash_b64``) still verify, with
bounded parameters, and `needs_rehash` says to replace them (users are upgraded at sign-in;
an agent's configured hash is replaced by running `ivr passwd` again). Anything malformed is
simply False.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["dummy_hash", "hash_password", "needs_rehash", "verify_password"]

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile: ~50 ms, 64 MiB
_SCRYPT_MAX_N, _SCRYPT_MAX_R, _SCRYPT_MAX_P = 2**20, 32, 16  # refuse costs that exhaust memory


def hash_password(password: str) -> str:
    """A salted argon2id hash (``$argon2id$v=19$m=...``)."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored` (argon2, or an old scrypt hash); False for an empty
    or malformed `stored`."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    if not stored.startswith("$argon2"):
        return False
    try:
        return _HASHER.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash that verified should be replaced (old scheme or weaker parameters)."""
    if not stored.startswith("$argon2"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@functools.cache
def dummy_hash() -> str:
    """A hash to check unknown names against, so that a wrong name costs as long as a wrong
    password (no timing oracle for which names exist)."""
    return hash_password(secrets.token_urlsafe(16))


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify_scrypt(password: str, stored: str) -> bool:
    parts = stored.split("$")
    if len(parts) != 6:
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except (ValueError, binascii.Error):
        return False
    if not (1 < n <= _SCRYPT_MAX_N and n & (n - 1) == 0 and 0 < r <= _SCRYPT_MAX_R
            and 0 < p <= _SCRYPT_MAX_P and salt and 16 <= len(expected) <= 64):
        return False
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                            maxmem=128 * r * (n + p + 2) + (1 << 20), dklen=len(expected))
    return hmac.compare_digest(digest, expected)
