"""CLI of the personal-data tools: `ivr purge`, `ivr forget`, `ivr audit verify`,
`ivr recording decrypt`. Each opens the database of the settings (`--config`, `--data-dir`)."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ivr.config import Settings, load_settings


def _open(args: argparse.Namespace) -> tuple[Settings, Any]:
    from ivr.storage.call_store import open_store

    settings = load_settings(args.config, {"data_dir": args.data_dir})
    return settings, open_store(settings.database_url, settings.db_path)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items())


def cmd_purge(args: argparse.Namespace) -> int:
    """Apply the retention periods now."""
    from ivr.privacy.retention import purge

    settings, store = _open(args)
    try:
        counts = purge(store, settings, dry_run=args.dry_run, actor=f"cli:{getpass.getuser()}")
    finally:
        store.close()
    print(("would delete: " if args.dry_run else "deleted: ") + _counts(counts))
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    """Delete everything of one caller number."""
    from ivr.privacy.retention import forget

    settings, store = _open(args)
    try:
        preview = forget(store, args.caller, None, dry_run=True, data_dir=settings.data_dir)
        if not args.yes:
            print(f"will delete for {args.caller}: {_counts(preview)}")
            if input("type yes to delete: ").strip().lower() != "yes":
                print("nothing deleted")
                return 1
        counts = forget(store, args.caller, f"cli:{getpass.getuser()}",
                        data_dir=settings.data_dir)
    finally:
        store.close()
    print("deleted: " + _counts(counts))
    return 0


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """Check the audit log's hash chain; exit 1 at the first break."""
    from ivr.privacy.audit import head, verify

    _, store = _open(args)
    try:
        problems = verify(store.db)
        count, last = head(store.db)
    finally:
        store.close()
    if problems:
        for p in problems:
            print(f"ivr: audit log: {p.message}", file=sys.stderr)
        print(f"ivr: audit log tampered: first bad id {problems[0].id}", file=sys.stderr)
        return 1
    print(f"audit log intact: {count} entries, head {last}")
    return 0


def cmd_recording_decrypt(args: argparse.Namespace) -> int:
    """An encrypted recording as a WAV file, for operators (audited)."""
    from ivr.privacy.audit import append
    from ivr.privacy.crypto import decrypt_to_wav, load_recording_key

    settings, store = _open(args)
    try:
        try:
            key = load_recording_key(settings)
        except ValueError as e:
            print(f"ivr: {e}", file=sys.stderr)
            return 2
        if key is None:
            print("ivr: no recording key: set IVR_RECORDING_KEY or privacy.recording_key_file",
                  file=sys.stderr)
            return 2
        try:
            wav = decrypt_to_wav(args.file, key, allow_truncated=args.allow_truncated)
            args.out.write_bytes(wav)
        except (OSError, ValueError) as e:  # RecordingDecryptError is a ValueError
            print(f"ivr: {args.file}: {e}", file=sys.stderr)
            return 2
        append(store.db, "decrypt_recording", user=f"cli:{getpass.getuser()}",
               detail={"file": args.file.name, "out": str(args.out)})
    finally:
        store.close()
    print(f"{args.out}: {len(wav)} bytes")
    return 0


def add_privacy_parsers(sub: Any, store_args: Callable[[argparse.ArgumentParser], None]
                        ) -> None:
    """The subcommands on the `ivr` parser."""
    p = sub.add_parser("purge", help="delete what is older than the retention periods")
    store_args(p)
    p.add_argument("--dry-run", action="store_true", help="only count what would go")
    p.set_defaults(func=cmd_purge)

    f = sub.add_parser("forget", help="delete every call, recording and callback of a caller")
    store_args(f)
    f.add_argument("--caller", required=True, help="the caller's number as stored")
    f.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    f.set_defaults(func=cmd_forget)

    a = sub.add_parser("audit", help="the hash-chained audit log")
    asub = a.add_subparsers(dest="audit_command", required=True)
    v = asub.add_parser("verify", help="detect edited, removed or reordered entries")
    store_args(v)
    v.set_defaults(func=cmd_audit_verify)

    r = sub.add_parser("recording", help="recordings encrypted at rest")
    rsub = r.add_subparsers(dest="recording_command", required=True)
    d = rsub.add_parser("decrypt", help="write an encrypted recording (.wav.enc) as a WAV")
    store_args(d)
    d.add_argument("file", type=Path, help="the .wav.enc file")
    d.add_argument("--out", type=Path, required=True, help="the WAV file to write")
    d.add_argument("--allow-truncated", action="store_true",
                   help="keep the audio of a recording cut short by a crash")
    d.set_defaults(func=cmd_recording_decrypt)
