"""The files a call leaves on disk, found and deleted safely (retention and `forget`).

A call writes ``recordings/<call_id>.wav`` (``.wav.enc`` under a recording key) and, when the
caller leaves a message, ``recordings/<call_id>-voicemail.wav`` (or ``.wav.enc``). Their paths
are stored in the database (`calls.recording_path`, `callbacks.recording_path`), but a file can
outlive its path: a crash between writing a voicemail and inserting its row, a recording whose
column was cleared. So the names a call id gives are deleted too, not only the stored paths.
(Prompt audio is not among a call's files: read-backs are never written, `PromptCache`.)

A stored path is never trusted: only audio files (``.wav``, ``.wav.enc``) whose directory
resolves inside a data directory are deleted, so an edited row cannot aim a purge at the
database, a key file or anything outside. A symbolic link is removed, never its target.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger("ivr.privacy")

AUDIO_SUFFIXES = (".wav", ".wav.enc")
RECORDINGS = "recordings"  # `Settings.recordings_dir`, relative to a data directory


class CallFiles:
    """The files to delete for some calls, kept to those inside `roots` (data directories)."""

    def __init__(self, roots: Iterable[Path]) -> None:
        self.roots = sorted({Path(r).resolve() for r in roots})
        self.paths: set[Path] = set()

    def add_stored(self, paths: Iterable[str | None]) -> None:
        """Paths read from the database (None and empty values are skipped)."""
        for p in paths:
            if p and (safe := self._safe(Path(p))) is not None:
                self.paths.add(safe)

    def add_calls(self, call_ids: Iterable[str], *, recording: bool = True,
                  voicemail: bool = True) -> None:
        """The files the calls' ids name in each data directory's recordings folder."""
        stems = ([""] if recording else []) + (["-voicemail"] if voicemail else [])
        for call_id in call_ids:
            if not call_id:
                continue
            for root in self.roots:
                for stem in stems:
                    for suffix in AUDIO_SUFFIXES:
                        path = self._safe(root / RECORDINGS / f"{call_id}{stem}{suffix}")
                        if path is not None:
                            self.paths.add(path)

    def existing(self) -> list[Path]:
        """The files that are there now (what a dry run reports)."""
        return sorted(p for p in self.paths if os.path.lexists(p))

    def delete(self) -> int:
        """Delete the files; returns how many existed and are gone."""
        n = 0
        for p in sorted(self.paths):
            try:
                p.unlink()
                n += 1
            except FileNotFoundError:
                continue  # already gone (or never written: a name derived from the call id)
            except OSError as e:
                log.warning("cannot delete %s: %s", p, e)
        return n

    def _safe(self, path: Path) -> Path | None:
        """`path` with its directory resolved when it is an audio file inside a root; None
        (and a warning for a stored path that points elsewhere) otherwise."""
        if not path.name.endswith(AUDIO_SUFFIXES):
            log.warning("not deleting %s: not a call's audio file", path)
            return None
        try:
            parent = path.parent.resolve()
        except (OSError, RuntimeError):
            return None
        if not any(parent == root or parent.is_relative_to(root) for root in self.roots):
            log.warning("not deleting %s: outside the data directory", path)
            return None
        return parent / path.name
