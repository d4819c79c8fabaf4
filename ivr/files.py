"""Small files several processes may create at once (workers sharing one data directory)."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], bytes], *, valid: Callable[[bytes], bool],
                   mode: int = 0o600) -> bytes:
    """The content of `path`; when missing or not `valid`, `make()` it first.

    Creation is atomic and first-wins: the new content is written to a private temporary file
    and hard-linked into place, so two workers starting together agree on one value (the
    loser reads the winner's) and nobody ever reads a half-written file.
    """
    path = Path(path)
    with contextlib.suppress(FileNotFoundError):
        data = path.read_bytes()
        if valid(data):
            return data
        path.unlink(missing_ok=True)  # unusable (empty, truncated): replace it
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(make())
        os.chmod(tmp, mode)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path.read_bytes()


_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def file_in(directory: Path, name: str) -> Path:
    """`directory / name`, for a `name` made by us (an internal call id and a suffix): one
    plain path component, never `..`, a separator or anything a caller could have sent.
    Raises ValueError otherwise, so a bug can never write outside `directory`."""
    if not _SAFE_NAME.fullmatch(name) or ".." in name:
        raise ValueError(f"unsafe file name {name!r}")
    return Path(directory) / name


def private_files(*directories: Path) -> None:
    """Everything this process creates from now on is owner-only (umask 077: files 0600,
    directories 0700), and `directories` exist with mode 0700, so recordings, the database,
    caches and keys made before this version are no longer readable by other users either."""
    os.umask(0o077)
    for d in directories:
        d = Path(d)
        d.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # not ours to change (e.g. a mount point)
            d.chmod(0o700)
