"""`ivr backup DEST`: a consistent copy of a serving IVR's data, with a manifest.

What is copied, in this order:

1. The SQLite database, through SQLite's online backup API (`sqlite3.Connection.backup`) in
   one step: the copy is the database as one read transaction saw it, while the service goes
   on writing (in WAL mode readers never block the writer). Copying the file with `cp` while
   the service runs gives a torn copy, or one without the committed pages still in
   ``ivr.sqlite-wal``. The copy is switched out of WAL (one self-contained file) and checked
   with ``PRAGMA quick_check``. A PostgreSQL `database_url` is not copied: use `pg_dump`
   (said on stderr and in the manifest).
2. The recordings directory (calls and voicemails, ``.wav`` or encrypted ``.wav.enc``) *after*
   the database, so every recording the copied database names either exists in the copy or
   was deleted by a retention purge meanwhile. Recordings of calls still in progress are
   copied as far as written (an encrypted one then reads as `TruncatedRecording`): the
   manifest lists those calls.
3. The secrets that make the copy usable: the recording key file (without it an encrypted
   recording is noise; leave it out with `include_recording_key=False` when the key lives in
   a secret store), `api_token`, `web_secret` (session cookies), `forget_secret` (the keyed
   hashes of `ivr forget` entries). A key given in env ``IVR_RECORDING_KEY`` is never written
   anywhere; the manifest records its key id so a restore can check it has the right key.

``manifest.json`` lists every file with its size and SHA-256 (of the bytes written to the
copy, so a file growing while it is read still matches), the database's migrations and call
count. `verify_backup` re-checks a copy. DEST is created with mode 0700 and must not exist
yet or be empty. Restore: README "Running as a service".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ivr.config import Settings, load_settings
from ivr.files import private_files
from ivr.logs import iso_utc
from ivr.privacy.crypto import KEY_ENV, key_id, load_recording_key
from ivr.storage.db import is_postgres_url

log = logging.getLogger("ivr.backup")

MANIFEST = "manifest.json"
DB_NAME = "ivr.sqlite"
SECRET_FILES = ("api_token", "web_secret", "forget_secret")
BUSY_TIMEOUT_S = 30.0
_CHUNK = 1 << 20


class BackupError(RuntimeError):
    """The backup cannot be made or does not verify; the message says why."""


@dataclass
class BackupResult:
    dest: Path
    manifest: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def sqlite_path(settings: Settings) -> Path | None:
    """The SQLite file of the settings; None for PostgreSQL."""
    url = settings.database_url
    if not url:
        return Path(settings.db_path)
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite://"))
    if is_postgres_url(url):
        return None
    raise BackupError("database_url: expected sqlite:///ABS/PATH or postgresql://...")


def _copy(src: Path, dst: Path) -> dict[str, Any]:
    """Copy `src` to `dst`, hashing what was written."""
    digest, size = hashlib.sha256(), 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(src, "rb") as fin, open(dst, "xb") as fout:
        while chunk := fin.read(_CHUNK):
            fout.write(chunk)
            digest.update(chunk)
            size += len(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    return {"size": size, "sha256": digest.hexdigest()}


def _hash(path: Path) -> dict[str, Any]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return {"size": size, "sha256": digest.hexdigest()}


def backup_sqlite(src: Path, dst: Path) -> dict[str, Any]:
    """Online backup of `src` into the new file `dst`; returns what the copy holds."""
    if not src.is_file():
        raise BackupError(f"no database at {src}")
    source = sqlite3.connect(src, timeout=BUSY_TIMEOUT_S)  # reads only
    target = sqlite3.connect(dst, isolation_level=None)
    try:
        t0 = time.monotonic()
        source.backup(target, pages=-1)  # one step: one consistent snapshot
        took = time.monotonic() - t0
        target.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
        check = target.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the database copy fails its check: {check}")
        tables = {r[0] for r in target.execute("select name from sqlite_master "
                                               "where type = 'table'")}
        info: dict[str, Any] = {"kind": "sqlite", "included": True, "file": DB_NAME,
                                "seconds": round(took, 3)}
        if "_migrations" in tables:
            info["migrations"] = [r[0] for r in target.execute(
                "select name from _migrations order by name")]
        if "calls" in tables:
            info["calls"] = target.execute("select count(*) from calls").fetchone()[0]
            info["active_calls"] = [r[0] for r in target.execute(
                "select id from calls where status = 'active' order by id")]
        return info
    finally:
        target.close()
        source.close()


def _secrets(settings: Settings, db_file: Path | None) -> dict[str, Path]:
    """The secret files that exist, by their name in the backup."""
    found = {name: settings.data_dir / name for name in SECRET_FILES}
    if db_file is not None:  # `forget_secret` lives next to the database
        found["forget_secret"] = db_file.parent / "forget_secret"
    return {name: path for name, path in found.items() if path.is_file()}


def make_backup(settings: Settings, dest: Path, *, include_recording_key: bool = True,
                environ: dict[str, str] | None = None) -> BackupResult:
    """Copy the database, recordings and secrets of `settings` into `dest` (see module)."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory")
    recordings = Path(settings.recordings_dir)
    if dest.resolve().is_relative_to(recordings.resolve()):
        raise BackupError("the backup cannot go inside the recordings directory")
    private_files(dest)  # umask 077, DEST 0700: the copy holds recordings and keys
    env = os.environ if environ is None else environ
    warnings: list[str] = []
    files: dict[str, dict[str, Any]] = {}
    started = time.time()

    db_file = sqlite_path(settings)
    if db_file is None:
        database: dict[str, Any] = {
            "kind": "postgresql", "included": False,
            "how": "pg_dump --format=custom --file=ivr.pgdump <database_url>; restore with "
                   "pg_restore --clean --dbname=<database_url> ivr.pgdump"}
        warnings.append("the database is PostgreSQL: it is NOT in this backup; back it up "
                        "with pg_dump (" + ("found on this machine" if shutil.which("pg_dump")
                                            else "not installed here") + "), e.g. "
                        "`pg_dump --format=custom --file=DEST/ivr.pgdump $IVR_DATABASE_URL`")
    else:
        database = backup_sqlite(db_file, dest / DB_NAME)
        files[DB_NAME] = _hash(dest / DB_NAME)
        if database.get("active_calls"):
            warnings.append(f"{len(database['active_calls'])} call(s) were in progress: their "
                            "recordings are copied as far as written")

    copied = 0
    if recordings.is_dir():
        for src in sorted(recordings.rglob("*")):
            if not src.is_file() or src.is_symlink():
                continue
            rel = Path("recordings") / src.relative_to(recordings)
            try:
                files[rel.as_posix()] = _copy(src, dest / rel)
                copied += 1
            except FileNotFoundError:  # purged between the listing and the copy
                warnings.append(f"{rel} disappeared while copying (retention purge?)")

    secrets_info: dict[str, Any] = {}
    for name, path in _secrets(settings, db_file).items():
        files[f"secrets/{name}"] = _copy(path, dest / "secrets" / name)
        secrets_info[name] = True
    key = load_recording_key(settings, dict(env))
    if key is not None:
        secrets_info["recording_key_id"] = key_id(key).hex()
        key_file = settings.privacy.recording_key_file
        if env.get(KEY_ENV):
            warnings.append(f"the recording key comes from {KEY_ENV}: it is not in the backup; "
                            "keep it, or the encrypted recordings cannot be read")
        elif key_file is not None and include_recording_key:
            files["secrets/recording_key"] = _copy(Path(key_file),
                                                   dest / "secrets" / "recording_key")
            secrets_info["recording_key"] = True
        else:
            warnings.append("the recording key file is not in the backup (as asked): keep it")

    manifest = {
        "format": 1, "created_at": iso_utc(started), "finished_at": iso_utc(time.time()),
        "data_dir": str(Path(settings.data_dir).resolve()), "database": database,
        "recordings": copied, "secrets": secrets_info, "files": files, "warnings": warnings,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                                 encoding="utf-8")
    log.info("backup in %s: database %s, %d recording(s), %d file(s)", dest,
             "copied" if database["included"] else "NOT copied (PostgreSQL)", copied,
             len(files))
    return BackupResult(dest, manifest, warnings)


def verify_backup(dest: Path) -> dict[str, Any]:
    """Check every file of `dest`'s manifest (size, SHA-256) and the database copy; returns
    the manifest, raises `BackupError` naming the first problems."""
    dest = Path(dest)
    try:
        manifest = json.loads((dest / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise BackupError(f"{dest / MANIFEST}: {e}") from None
    problems = []
    for rel, want in manifest.get("files", {}).items():
        path = dest / rel
        if not path.resolve().is_relative_to(dest.resolve()):
            problems.append(f"{rel}: outside the backup")
        elif not path.is_file():
            problems.append(f"{rel}: missing")
        elif _hash(path) != want:
            problems.append(f"{rel}: size or SHA-256 differs")
    if manifest.get("database", {}).get("included") and not problems:
        conn = sqlite3.connect(f"{(dest / DB_NAME).resolve().as_uri()}?mode=ro", uri=True)
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
        if check != "ok":
            problems.append(f"{DB_NAME}: {check}")
    if problems:
        raise BackupError("backup does not verify: " + "; ".join(problems[:10]))
    return manifest


def cmd_backup(args: argparse.Namespace) -> int:
    """`ivr backup DEST` (or `--verify DEST`)."""
    try:
        if args.verify:
            manifest = verify_backup(args.dest)
            print(f"{args.dest}: {len(manifest['files'])} file(s) verified "
                  f"(made {manifest['created_at']})")
            return 0
        settings = load_settings(args.config, {"data_dir": args.data_dir})
        result = make_backup(settings, args.dest,
                             include_recording_key=not args.without_recording_key)
    except BackupError as e:
        print(f"ivr: {e}", file=sys.stderr)
        return 2
    for warning in result.warnings:
        print(f"ivr backup: warning: {warning}", file=sys.stderr)
    included = result.manifest["database"]["included"]
    print(f"backup in {args.dest}: database {'copied' if included else 'NOT copied'}, "
          f"{result.manifest['recordings']} recording(s), {len(result.manifest['files'])} "
          "file(s) in manifest.json")
    return 0


def add_backup_parser(sub: Any, store_args: Callable[[argparse.ArgumentParser], None]) -> None:
    p = sub.add_parser("backup", help="copy database, recordings and keys while serving")
    p.add_argument("dest", type=Path, help="new (or empty) directory for the copy")
    p.add_argument("--without-recording-key", action="store_true",
                   help="leave the recording key file out (keep it elsewhere)")
    p.add_argument("--verify", action="store_true",
                   help="check an existing backup in DEST against its manifest")
    store_args(p)
    p.set_defaults(func=cmd_backup)
