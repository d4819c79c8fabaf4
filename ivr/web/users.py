"""Users and API tokens of the web pages and the JSON API, kept in the call database.

- Users (`users` table) sign in with a password hashed with argon2id (`argon2-cffi`); a
  disabled user cannot sign in and their sessions stop working at once.
- API tokens (`api_tokens` table) carry a role like users; only their SHA-256 is stored, the
  plaintext is shown once by `add_token`. A token is revoked by deleting it.

Token callers are `User`s too: `id` is minus the token's row id and `username` its name.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from typing import Any

from ivr.storage.call_store import CallStore
from ivr.web.auth import ROLES, User
from ivr.web.passwords import dummy_hash, hash_password, needs_rehash, verify_password

MIN_PASSWORD_CHARS = 8
TOKEN_PREFIX = "ivr_"
_TOKEN_TOUCH_S = 60.0  # last_used_at is written at most once a minute per token


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")


def token_hash(token: str) -> str:
    """The stored form of an API token: SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class UserStore:
    """Users and API tokens over a `CallStore`'s database."""

    def __init__(self, store: CallStore) -> None:
        self.store = store
        self.db = store.db

    # ------------------------------------------------------------ users
    def _user(self, row: dict[str, Any]) -> User:
        return User(int(row["id"]), row["username"], row["role"], row["agent_id"])

    def _row(self, where: str, arg: Any) -> dict[str, Any] | None:
        rows = list(self.db.query(f"select * from users where {where} = ?", [arg]))
        return rows[0] if rows else None

    def hash(self, password: str) -> str:
        """An argon2id hash of `password`."""
        return hash_password(password)

    def _check_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD_CHARS:
            raise ValueError(f"the password must have at least {MIN_PASSWORD_CHARS} characters")

    def add(self, username: str, role: str, password: str,
            agent_id: str | None = None) -> User:
        """A new user; ValueError for a bad role, an empty or taken name, a short password."""
        username = username.strip()
        if not username:
            raise ValueError("the user name must not be empty")
        _check_role(role)
        self._check_password(password)
        if self._row("username", username) is not None:
            raise ValueError(f"user {username!r} exists already")
        row = {"username": username, "role": role, "password_hash": self.hash(password),
               "agent_id": agent_id or None, "created_at": time.time(), "disabled": 0}
        with self.db.conn:
            row["id"] = self.db["users"].insert(row).last_pk
        return self._user(row)

    def get(self, username: str) -> User | None:
        """The user named `username` (disabled or not), else None."""
        row = self._row("username", username)
        return self._user(row) if row else None

    def active_row(self, user_id: int) -> dict[str, Any] | None:
        """The row of an enabled user by id (sessions name users by id)."""
        row = self._row("id", user_id)
        return row if row and not row["disabled"] else None

    def check(self, stored: str, password: str) -> tuple[bool, str | None]:
        """Whether `password` matches `stored` (an empty `stored` is checked against a dummy
        hash so that it costs the same), and the new hash to store when `stored` is of an
        older scheme or weaker parameters. Pure CPU work: safe in an executor thread."""
        ok = verify_password(password, stored or dummy_hash())
        if not ok or not stored:
            return False, None
        return True, self.hash(password) if needs_rehash(stored) else None

    def _verified(self, row: dict[str, Any] | None, result: tuple[bool, str | None]
                  ) -> User | None:
        ok, new_hash = result
        if not ok or row is None or row["disabled"]:
            return None
        if new_hash is not None:
            with self.db.conn:
                self.db["users"].update(row["id"], {"password_hash": new_hash})
        return self._user(row)

    def verify(self, username: str, password: str) -> User | None:
        """The enabled user whose password this is, else None. Unknown names cost one hash
        check too (no timing oracle); an old scrypt hash is accepted and upgraded."""
        row = self._row("username", username)
        return self._verified(row, self.check(row["password_hash"] if row else "", password))

    async def verify_async(self, username: str, password: str) -> User | None:
        """`verify` with the hash check in an executor thread (storage stays on the loop)."""
        row = self._row("username", username)
        result = await asyncio.get_running_loop().run_in_executor(
            None, self.check, row["password_hash"] if row else "", password)
        return self._verified(row, result)

    def list(self) -> list[dict[str, Any]]:
        """Every user without the password hash, by name."""
        return list(self.db.query(
            "select id, username, role, agent_id, created_at, disabled from users "
            "order by username"))

    def set_password(self, username: str, password: str) -> None:
        """Replace a user's password (their open sessions end); ValueError if unknown/short."""
        self._check_password(password)
        row = self._row("username", username)
        if row is None:
            raise ValueError(f"no user {username!r}")
        with self.db.conn:
            self.db["users"].update(row["id"], {"password_hash": self.hash(password)})

    def disable(self, username: str) -> None:
        """Stop a user from signing in; their open sessions end. ValueError if unknown."""
        row = self._row("username", username)
        if row is None:
            raise ValueError(f"no user {username!r}")
        with self.db.conn:
            self.db["users"].update(row["id"], {"disabled": 1})

    # ------------------------------------------------------------ tokens
    def add_token(self, name: str, role: str, agent_id: str | None = None) -> str:
        """A new API token; returns the plaintext, which is not stored (only its SHA-256)."""
        name = name.strip()
        if not name:
            raise ValueError("the token name must not be empty")
        _check_role(role)
        if list(self.db.query("select id from api_tokens where name = ?", [name])):
            raise ValueError(f"token {name!r} exists already")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.conn:
            self.db["api_tokens"].insert({
                "name": name, "role": role, "token_hash": token_hash(token),
                "agent_id": agent_id or None, "created_at": time.time(), "last_used_at": None})
        return token

    def revoke_token(self, name: str) -> bool:
        """Delete the token called `name`; whether there was one."""
        with self.db.conn:
            cur = self.db.execute("delete from api_tokens where name = ?", [name])
        return cur.rowcount > 0

    def tokens(self) -> list[dict[str, Any]]:
        """Every token without its hash, by name."""
        return list(self.db.query(
            "select id, name, role, agent_id, created_at, last_used_at from api_tokens "
            "order by name"))

    def user_for_token(self, token: str) -> User | None:
        """The caller an API token stands for, else None."""
        if not token:
            return None
        digest = token_hash(token)
        rows = list(self.db.query("select * from api_tokens where token_hash = ?", [digest]))
        if not rows or not hmac.compare_digest(rows[0]["token_hash"], digest):
            return None
        row = rows[0]
        now = time.time()
        if row["last_used_at"] is None or now - row["last_used_at"] > _TOKEN_TOUCH_S:
            with self.db.conn:
                self.db["api_tokens"].update(row["id"], {"last_used_at": now})
        return User(-int(row["id"]), row["name"], row["role"], row["agent_id"])
