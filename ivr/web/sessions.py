"""Signed-out sessions stay signed out: a revocation list in the shared database.

A session cookie is a signed token that any worker can check without storage, so signing out
by deleting the browser's cookie left every copy of it (a proxy log, a stolen laptop, another
tab's request) valid until it expired, up to 12 hours later (issue 15). `/logout` and
`/desk/logout` now put the SHA-256 of the cookie into `revoked_sessions` with the token's own
expiry; every check of a session looks it up. The table is in the call database, so a
sign-out on one worker process ends the session on all of them, and rows are removed once the
token would have expired anyway, so it stays as small as the number of sign-outs in 12 hours.

Only the hash is kept: the table never holds a usable cookie.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any

TABLE = "revoked_sessions"


def migrate(db: Any) -> None:
    """Migration 011: the revocation list, keyed by the cookie's SHA-256 (hex)."""
    db[TABLE].create({"token_hash": str, "expires_at": float}, pk="token_hash",
                     not_null={"expires_at"})
    db[TABLE].create_index(["expires_at"])


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class SessionRevocations:
    """Revoked session tokens in `db` (an `ivr.storage.db.Database`)."""

    def __init__(self, db: Any, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self._clock = clock

    def revoke(self, token: str, expires_at: float) -> None:
        """End `token` everywhere; forgotten after `expires_at`, when it is dead anyway."""
        now = self._clock()
        with self.db.conn:
            self.db.execute(f"delete from {TABLE} where expires_at < ?", [now])
            if expires_at > now:  # two workers may revoke one token at once: no error
                self.db.execute(f"insert into {TABLE} (token_hash, expires_at) values (?, ?) "
                                "on conflict (token_hash) do nothing",
                                [token_hash(token), expires_at])

    def is_revoked(self, token: str) -> bool:
        return bool(list(self.db.query(f"select 1 from {TABLE} where token_hash = ?",
                                        [token_hash(token)])))
