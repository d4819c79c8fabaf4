"""The `ivr` command line: serve, call, lint, users and tokens, version."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import faulthandler
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ivr import __version__
from ivr.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from ivr.logs import LogFormat


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="YAML settings file (see config/default.yaml)")
    p.add_argument("--dialplan", type=Path, help="dialplan YAML to serve")
    p.add_argument("--sip-host", help="address SIP/RTP binds to (default 127.0.0.1)")
    p.add_argument("--sip-port", type=int, help="UDP SIP port (default 5060)")
    p.add_argument("--http-host", help="address the HTTP API binds to (default 127.0.0.1)")
    p.add_argument("--http-port", type=int, help="HTTP API port (default 8080, 0 = off)")
    p.add_argument("--data-dir", type=Path, help="database, recordings and caches (default var)")
    p.add_argument("--database-url", help="sqlite:///ABS/PATH or postgresql://... (default: "
                   "SQLite in the data dir)")
    p.add_argument("--asr-model", help='"base", "tiny.en" or a CTranslate2 Whisper directory')
    p.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    p.add_argument("--log-format", choices=["text", "json"],
                   help="log lines on stderr: text (default) or json, one object per line")


def settings_from_args(args: argparse.Namespace) -> Settings:
    flags: dict[str, Any] = {
        "dialplan": args.dialplan, "sip.host": args.sip_host, "sip.port": args.sip_port,
        "http.port": args.http_port, "data_dir": args.data_dir, "asr.model": args.asr_model,
        "log_level": args.log_level, "database_url": args.database_url,
        "http.host": args.http_host, "log_format": args.log_format,
    }
    return load_settings(args.config, flags)


def setup_logging(level: str, fmt: LogFormat = "text") -> None:
    """Dated (ISO-8601 UTC) text or JSON lines on stderr, with call ids (`ivr.logs`)."""
    from ivr.logs import setup_logging as configure

    configure(level, fmt)


def cmd_serve(args: argparse.Namespace) -> int:
    from ivr.server import run_service  # heavy imports only when serving

    settings = settings_from_args(args)
    setup_logging(settings.log_level, settings.log_format)
    # A crash in native code (pjsua, CTranslate2, onnxruntime) prints every thread's Python
    # stack to the log instead of ending the process without a word.
    faulthandler.enable(sys.stderr, all_threads=True)
    if args.workers > 1:
        return _serve_cluster(args, settings)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_service(settings))
    return 0


def _serve_cluster(args: argparse.Namespace, settings: Settings) -> int:
    """`ivr serve --workers N`: the workers share the command's settings, data directory and
    database; the supervisor gives each its own SIP and HTTP port. The front's SIP edge
    (allow-list, digest users, pike, TCP/TLS) comes from the `front` settings."""
    from ivr.cluster.front_settings import sip_edge
    from ivr.cluster.supervisor import serve_cluster

    os.environ.pop("NOTIFY_SOCKET", None)  # a worker's READY=1 is not the unit's readiness
    forwarded = [x for flag, value in (("--config", args.config), ("--dialplan", args.dialplan),
                                       ("--asr-model", args.asr_model),
                                       ("--log-level", args.log_level),
                                       ("--http-host", args.http_host),
                                       ("--log-format", settings.log_format)) if value
                 for x in (flag, str(value))]
    try:
        edge = sip_edge(settings.front)
    except (OSError, ValueError) as e:
        print(f"ivr serve: front: {e}", file=sys.stderr)
        return 2
    return serve_cluster(forwarded, args.workers, settings.sip.port,
                         public_host=settings.sip.host, data_dir=Path(settings.data_dir),
                         http_base_port=(settings.http.port or 8080) + 1,
                         database_url=settings.database_url, edge=edge)


def cmd_call(args: argparse.Namespace) -> int:
    from ivr.testcall import run_test_call

    setup_logging("WARNING" if not args.verbose else "INFO")
    return run_test_call(args)


def cmd_config(args: argparse.Namespace) -> int:
    from ivr.config import render_defaults

    if args.defaults:
        sys.stdout.write(render_defaults())
        return 0
    settings = settings_from_args(args)
    sys.stdout.write(settings.model_dump_json(indent=2, exclude={"api_token"}) + "\n")
    return 0


def cmd_dialplan_schema(_: argparse.Namespace) -> int:
    import json

    from ivr.dialplan.models import dialplan_json_schema

    print(json.dumps(dialplan_json_schema(), ensure_ascii=False, indent=2))
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from ivr.dialplan.lint import run_lint

    return run_lint(args)


def cmd_simulate(args: argparse.Namespace) -> int:
    from ivr.dialplan.simulate import run_simulate

    return run_simulate(args)


def cmd_test(args: argparse.Namespace) -> int:
    from ivr.dialplan.testing import run_tests

    return run_tests(args)


def cmd_passwd(args: argparse.Namespace) -> int:
    """Print the argon2id hash of a password for an agent's `password_hash` setting."""
    import getpass

    from ivr.web.auth import hash_password

    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("ivr: the passwords differ", file=sys.stderr)
            return 2
    if not password:
        print("ivr: empty password", file=sys.stderr)
        return 2
    print(hash_password(password))
    return 0


def _user_store(args: argparse.Namespace) -> Any:
    """The `UserStore` over the database of the settings (`--config`, `--data-dir`)."""
    from ivr.storage.call_store import open_store
    from ivr.web.users import UserStore

    settings = load_settings(args.config, {"data_dir": args.data_dir})
    return UserStore(open_store(settings.database_url, settings.db_path))


def _new_password(args: argparse.Namespace) -> str | None:
    """A new password from stdin (`--password-stdin`) or asked twice; None if they differ."""
    import getpass

    if getattr(args, "password_stdin", False):
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        print("ivr: the passwords differ", file=sys.stderr)
        return None
    return password


def cmd_user(args: argparse.Namespace) -> int:
    """`ivr user add|list|passwd|disable`: users of the web pages."""
    users = _user_store(args)
    try:
        if args.user_command == "list":
            for u in users.list():
                state = " (disabled)" if u["disabled"] else ""
                agent = f" agent {u['agent_id']}" if u["agent_id"] else ""
                print(f"{u['username']}\t{u['role']}{agent}{state}")
            return 0
        if args.user_command == "disable":
            users.disable(args.name)
            print(f"user {args.name} disabled")
            return 0
        if args.user_command == "passwd" and users.get(args.name) is None:
            raise ValueError(f"no user {args.name!r}")
        password = _new_password(args)
        if password is None:
            return 2
        if args.user_command == "add":
            user = users.add(args.name, args.role, password, args.agent_id)
            print(f"user {user.username} added ({user.role})")
        else:
            users.set_password(args.name, password)
            print(f"password of {args.name} changed")
        return 0
    except ValueError as e:
        print(f"ivr: {e}", file=sys.stderr)
        return 2
    finally:
        users.store.close()


def cmd_token(args: argparse.Namespace) -> int:
    """`ivr token add|list|revoke`: API tokens with a role."""
    users = _user_store(args)
    try:
        if args.token_command == "add":
            print(users.add_token(args.name, args.role, args.agent_id))
            print("shown once: keep it now", file=sys.stderr)
        elif args.token_command == "list":
            for t in users.tokens():
                agent = f" agent {t['agent_id']}" if t["agent_id"] else ""
                print(f"{t['name']}\t{t['role']}{agent}")
        elif not users.revoke_token(args.name):
            raise ValueError(f"no token {args.name!r}")
        else:
            print(f"token {args.name} revoked")
        return 0
    except ValueError as e:
        print(f"ivr: {e}", file=sys.stderr)
        return 2
    finally:
        users.store.close()


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="YAML settings file (see config/default.yaml)")
    p.add_argument("--data-dir", type=Path, help="where the database is (default var)")


def _add_user_parsers(sub: Any) -> None:
    from ivr.web.auth import ROLES

    user = sub.add_parser("user", help="users of the web pages (roles admin/supervisor/agent)")
    usub = user.add_subparsers(dest="user_command", required=True)
    add = usub.add_parser("add", help="add a user (asks the password twice)")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    add.add_argument("--agent-id", help="the agent id (SIP agent) of an agent user")
    add.add_argument("--password-stdin", action="store_true",
                     help="read the password from the first line of standard input")
    lst = usub.add_parser("list", help="list users")
    pw = usub.add_parser("passwd", help="change a user's password")
    pw.add_argument("name")
    pw.add_argument("--password-stdin", action="store_true",
                    help="read the password from the first line of standard input")
    dis = usub.add_parser("disable", help="stop a user from signing in")
    dis.add_argument("name")
    for p in (add, lst, pw, dis):
        _store_args(p)
    user.set_defaults(func=cmd_user)

    token = sub.add_parser("token", help="API tokens with a role")
    tsub = token.add_subparsers(dest="token_command", required=True)
    tadd = tsub.add_parser("add", help="make a token (printed once)")
    tadd.add_argument("name")
    tadd.add_argument("--role", choices=ROLES, required=True)
    tadd.add_argument("--agent-id", help="the agent whose calls an agent token sees")
    tlst = tsub.add_parser("list", help="list tokens")
    trev = tsub.add_parser("revoke", help="delete a token")
    trev.add_argument("name")
    for p in (tadd, tlst, trev):
        _store_args(p)
    token.set_defaults(func=cmd_token)


def cmd_version(_: argparse.Namespace) -> int:
    print(f"ivr {__version__}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ivr", description="Voice contact-center IVR")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="answer SIP calls with the dialplan")
    _serve_args(serve)
    serve.add_argument("--workers", type=int, default=1,
                       help="N > 1: N SIP worker processes behind a Kamailio front on the SIP "
                       "port (workers on SIP port+1.., HTTP port+1..)")
    serve.set_defaults(func=cmd_serve)

    call = sub.add_parser("call", help="dial the hotline from a real softphone (baresip)")
    call.add_argument("uri", help="SIP URI to dial, e.g. sip:hotline@127.0.0.1:5060")
    call.add_argument("--play", type=Path, required=True,
                      help="audio the caller plays (WAV/FLAC, any rate; converted to 8 kHz)")
    call.add_argument("--dtmf", action="append", default=[], metavar="DIGITS[@SECONDS]",
                      help="keys to press, optionally at SECONDS after answer (default 1 s);"
                      " repeatable")
    call.add_argument("--record", type=Path, help="write what the caller heard to this WAV")
    call.add_argument("--lead-silence", type=float, default=0.0,
                      help="seconds of silence before --play starts")
    call.add_argument("--tail-silence", type=float, default=8.0,
                      help="seconds of silence after --play (baresip hangs up at its end)")
    call.add_argument("--timeout", type=float, default=120.0, help="give up after SECONDS")
    call.add_argument("--hangup-after", type=float, help="hang up SECONDS after answer")
    call.add_argument("--transcribe", action="store_true",
                      help="transcribe what was heard with the local ASR model")
    call.add_argument("--json", action="store_true", help="print the report as JSON")
    call.add_argument("-v", "--verbose", action="store_true")
    call.set_defaults(func=cmd_call)

    config = sub.add_parser("config", help="print the effective settings (or the defaults)")
    _serve_args(config)
    config.add_argument("--defaults", action="store_true",
                        help="print config/default.yaml: every setting, documented")
    config.set_defaults(func=cmd_config)

    dialplan = sub.add_parser("dialplan", help="dialplan tools")
    dsub = dialplan.add_subparsers(dest="dialplan_command", required=True)
    schema = dsub.add_parser("schema", help="print the dialplan JSON Schema")
    schema.set_defaults(func=cmd_dialplan_schema)

    lint = sub.add_parser("lint", help="check dialplans: errors with file:line:column")
    lint.add_argument("paths", nargs="+", type=Path, help="dialplan files or directories")
    lint.add_argument("--strict", action="store_true", help="warnings fail too")
    lint.add_argument("--format", choices=["text", "json"], default="text")
    lint.set_defaults(func=cmd_lint)

    simulate = sub.add_parser("simulate", help="talk to a dialplan in the terminal")
    simulate.add_argument("path", type=Path, help="dialplan file")
    simulate.add_argument("--audio", type=Path, nargs="+",
                          help="recordings fed one per turn through the real ASR")
    simulate.add_argument("--mic", action="store_true",
                          help="speak through the local microphone, hear the speakers (pyaudio)")
    simulate.add_argument("--language", help="start in this language")
    simulate.add_argument("--caller", default="13800138000", help="caller number")
    simulate.add_argument("--time", help="pretend it is this ISO time (for hours)")
    simulate.add_argument("--asr-model", default="base", help="ASR model for --audio/--mic")
    simulate.add_argument("--no-agents", action="store_true",
                          help="no agent takes a queue transfer (its on_unavailable node goes on)")
    simulate.set_defaults(func=cmd_simulate)

    test = sub.add_parser("test", help="run dialplan conversation tests (*.test.yaml)")
    test.add_argument("paths", nargs="+", type=Path, help="test files or directories")
    test.add_argument("-k", dest="keyword", help="only tests whose name contains this")
    test.add_argument("-v", "--verbose", action="store_true", help="show every step")
    test.add_argument("--asr-model", default="base", help="ASR model for `audio:` steps")
    test.set_defaults(func=cmd_test)

    passwd = sub.add_parser("passwd", help="hash an agent desktop password (password_hash)")
    passwd.add_argument("--stdin", action="store_true",
                        help="read the password from the first line of standard input")
    passwd.set_defaults(func=cmd_passwd)
    _add_user_parsers(sub)
    from ivr.privacy.commands import add_privacy_parsers

    add_privacy_parsers(sub, _store_args)  # purge, forget, audit verify, recording decrypt

    from ivr.backup import add_backup_parser

    add_backup_parser(sub, _store_args)  # ivr backup DEST

    version = sub.add_parser("version", help="print the version")
    version.set_defaults(func=cmd_version)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as e:
        print(f"ivr: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # noqa: BLE001 - top level: a clear one-line error, not a traceback
        from audio_models.protocols import ModelError
        from ivr.dialplan.loader import DialplanError

        if isinstance(e, (ModelError, DialplanError)) or type(e).__name__ in (
            "SipEndpointError", "StartupError", "SoftphoneError"
        ):
            print(f"ivr: {e}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
