"""One prompt cache for every IVR a test session starts.

Each `ivr serve` renders its dialplan's static prompts at start-up (45 prompts of the shipped
hotline: ~10 s, several times that on a loaded CI machine) into its own data directory, keyed
by that installation's secret. Test IVRs are fresh installations, so each would render them
again. `seed` gives a new data directory the session's secret and the files rendered so far
(hard links, or copies across file systems); `keep` adds what a started IVR rendered. Only
static prompts reach the disk cache (private read-backs never do), so nothing of a call is
shared between tests.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
from pathlib import Path

from ivr.voices import SECRET_FILE

REPO = Path(__file__).resolve().parents[1]
SEED = REPO / "var" / "cache" / "test-prompts"  # gitignored with the rest of var/
KEYED = Path("cache") / "prompts" / "keyed"  # inside a data directory (see ivr.voices)


def _private_dirs(data_dir: Path) -> Path:
    """data_dir/cache/prompts/keyed, each level owner-only as the prompt cache makes them."""
    path = data_dir
    for part in KEYED.parts:
        path = path / part
        path.mkdir(mode=0o700, exist_ok=True)
    return path


def _share(src: Path, dst: Path) -> None:
    """Hard-link (or copy) `src` to `dst` unless it is there; atomic for readers of `dst`."""
    if dst.exists():
        return
    tmp = dst.with_name(f".{dst.name}.{secrets.token_hex(4)}.tmp")
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copy2(src, tmp)
    os.replace(tmp, dst)


def seed(data_dir: Path) -> None:
    """Give a new IVR data directory the session's prompt cache secret and files."""
    SEED.mkdir(parents=True, exist_ok=True)
    os.chmod(SEED, 0o700)
    secret = SEED / SECRET_FILE
    if not secret.exists():  # made once, atomically: parallel test workers share it
        tmp = SEED / f".{SECRET_FILE}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
        with contextlib.suppress(FileExistsError):  # another worker made it first: theirs
            os.link(tmp, secret)
        tmp.unlink()
    data_dir.mkdir(parents=True, exist_ok=True)
    if (data_dir / SECRET_FILE).exists():
        return  # an installation of its own (a restart, or a test that set one up)
    _share(secret, data_dir / SECRET_FILE)
    stored = SEED / "keyed"
    if stored.is_dir():
        target = _private_dirs(data_dir)
        for f in stored.glob("*.wav"):
            _share(f, target / f.name)


def keep(data_dir: Path) -> None:
    """Add the prompts a started IVR rendered to the session's cache (same secret only)."""
    mine, theirs = data_dir / SECRET_FILE, SEED / SECRET_FILE
    if not (mine.exists() and theirs.exists()) or mine.read_bytes() != theirs.read_bytes():
        return
    rendered = data_dir / KEYED
    if not rendered.is_dir():
        return
    stored = SEED / "keyed"
    stored.mkdir(mode=0o700, exist_ok=True)
    for f in rendered.glob("*.wav"):
        _share(f, stored / f.name)
