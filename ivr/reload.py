"""Hot reload of the served dialplan.

`DialplanWatcher` polls the dialplan file and every file it includes. An edit is loaded and
checked off the event loop; if it is valid, its new prompts are rendered and it becomes live
for new calls (calls in progress keep the version they started with); if not, every problem
is logged with file:line:column and the last good version stays live. SIGHUP forces a check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from ivr.dialplan.loader import DialplanError, LoadedDialplan, load_dialplan

log = logging.getLogger("ivr.reload")

Stamp = tuple[tuple[str, int, int], ...]
Apply = Callable[[LoadedDialplan], Awaitable[None]]


def stamp(files: tuple[Path, ...] | list[Path]) -> Stamp:
    """(path, mtime_ns, size) of each file; a missing file counts as changed."""
    out = []
    for f in files:
        try:
            st = f.stat()
            out.append((str(f), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(f), -1, -1))
    return tuple(out)


def check(path: Path) -> LoadedDialplan:
    """Load and lint; raise DialplanError when the edit must be rejected."""
    loaded = load_dialplan(path)
    try:
        from ivr.dialplan.lint import lint_loaded
    except ImportError:  # lint not available: the loader's checks still apply
        return loaded
    errors = [i for i in lint_loaded(loaded) if i.severity == "error"]
    if errors:
        raise DialplanError(errors)
    return loaded


def watched(loaded: LoadedDialplan) -> list[Path]:
    """The dialplan's files plus every YAML file beside or below it (an edit may include a
    file that does not exist yet), at most 500."""
    extra = sorted(p.resolve() for p in loaded.base_dir.rglob("*.yaml")
                   if not p.name.endswith(".test.yaml"))[:500]
    return list(dict.fromkeys([*loaded.files, *extra]))


class DialplanWatcher:
    def __init__(self, current: LoadedDialplan, apply: Apply, interval_s: float) -> None:
        self.current = current
        self._apply = apply
        self.interval_s = interval_s
        self._stamp = stamp(watched(current))
        self._wake = asyncio.Event()
        self.rejected_stamp: Stamp | None = None

    def poke(self) -> None:
        """Check now (SIGHUP)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):  # a poll interval passed, or SIGHUP
                async with asyncio.timeout(self.interval_s):
                    await self._wake.wait()
            self._wake.clear()
            await self.check_once()

    async def check_once(self) -> bool:
        """Reload if the files changed; True when a new version went live."""
        now = stamp(watched(self.current))
        if now == self._stamp or now == self.rejected_stamp:
            return False
        await asyncio.sleep(0.2)  # let an editor finish writing
        now = stamp(watched(self.current))
        try:
            loaded = await asyncio.to_thread(check, self.current.path)
        except DialplanError as e:
            self.rejected_stamp = now
            log.error("dialplan edit rejected, %s@%s stays live:\n%s",
                      self.current.plan.name, self.current.version,
                      "\n".join(f"  {i}" for i in e.issues))
            return False
        except Exception as e:  # never let a reload attempt kill the watcher
            self.rejected_stamp = now
            log.exception("dialplan reload failed: %s", e)
            return False
        if loaded.version == self.current.version:
            self._stamp = now
            self.rejected_stamp = None
            return False
        previous = self.current.version
        await self._apply(loaded)
        self.current = loaded
        self._stamp = stamp(watched(loaded))
        self.rejected_stamp = None
        log.info("dialplan reloaded: %s@%s is live for new calls (was @%s)",
                 loaded.plan.name, loaded.version, previous)
        return True
