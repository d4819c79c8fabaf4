"""Small files several processes may create at once (workers sharing one data directory)."""

from __future__ import annotations

import contextlib
import os
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
