"""Issue 15 item 5: personal data must not stay on disk as files nobody deletes.

- A read-back ("account 12345678", a balance, the caller's number) is rendered for the call
  and stored nowhere: no prompt cache file, no memory entry.
- Prompts fixed in the dialplan are cached under a keyed name (not the SHA-256 of the text,
  which gave 4 digits back in 4,822 guesses), owner-only whatever the umask.
- Files of the old, unsalted layout are deleted when the cache starts.
- `ivr forget` and the retention purge delete every file of a call (recording, voicemail, an
  orphan voicemail whose row never got its path) and nothing outside the data directory.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.unit.call_runner as session_harness
from audio_models.frames import AudioFrame
from audio_models.prompt_cache import CACHE_FORMAT, KEYED_DIR, PromptCache
from audio_models.tts import TTSRouter, engine_id
from ivr.config import REPO_ROOT, Settings
from ivr.dialplan.actions import CallerInput, Say
from ivr.dialplan.engine import DialogEngine
from ivr.dialplan.loader import load_dialplan
from ivr.privacy.retention import DAY_S, forget, purge
from ivr.storage.call_store import CallStore
from tests.unit.call_runner import Call, run_call
from tests.unit.test_audio_prompt_cache import CountingTTS

SECRET = b"0123456789abcdef-installation"
READ_BACK = "I have logged a broadband fault for account 12345678."
STATIC = "Thank you for calling. Goodbye."
MENU = "Press 1 for sales."
HOTLINE = REPO_ROOT / "dialplans" / "hotline.yaml"


class GatedTTS(CountingTTS):
    """Renders only once `release` is set, so a test can ask again while a render runs."""

    def __init__(self) -> None:
        super().__init__()
        self.started = threading.Event()
        self.release = threading.Event()

    def synthesize_sync(self, text: str, language: str) -> AudioFrame:
        self.started.set()
        assert self.release.wait(5), "the test never released the render"
        return super().synthesize_sync(text, language)


def _cache(tmp_path: Path, engine: CountingTTS | None = None, rate: int = 8000,
           secret: bytes = SECRET) -> PromptCache:
    return PromptCache(TTSRouter([engine or CountingTTS(languages=("en", "zh"))]), rate,
                       tmp_path / "prompts", secret=secret)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _old_name(cache: PromptCache, text: str, language: str) -> str:
    """The name older versions gave: SHA-256 of the same blob, no key."""
    engine = cache.router.engine_for(language)
    blob = json.dumps([CACHE_FORMAT, engine_id(engine), language.split("-")[0], text,
                       cache.target_rate])
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- prompt cache
def test_private_read_back_leaves_no_file_and_no_memory_entry(tmp_path: Path) -> None:
    """A private request renders and forgets; for a text fixed in the dialplan ('Press 1 for
    sales' has a digit, so the session asks for it privately) it plays the stored copy."""
    _cache(tmp_path).warm([(MENU, "en")])
    (menu_file,) = _files(tmp_path)
    engine = GatedTTS()
    cache = _cache(tmp_path, engine)
    assert cache.get_sync(MENU, "en", private=True).sample_rate == 8000
    assert engine.calls == [] and cache.stats.disk_hits == 1

    async def main() -> None:
        prerender = asyncio.create_task(cache.get(READ_BACK, "en", private=True))
        await asyncio.to_thread(engine.started.wait, 5)
        reply = asyncio.create_task(cache.get(READ_BACK, "en", private=True))
        await asyncio.sleep(0.05)
        prerender.cancel()  # the caller spoke again: the reply still gets its audio
        engine.release.set()
        assert (await reply).duration > 0
        assert (await cache.get(READ_BACK, "en", private=True)).duration > 0

    asyncio.run(main())
    cache.close()
    assert len(engine.calls) == 2  # the reply joined the pre-render; nothing kept for the third
    assert _files(tmp_path) == [menu_file]
    assert cache.lookup(READ_BACK, "en") is None


def test_the_engine_marks_filled_in_prompts() -> None:
    """`Say.dynamic` comes from the template, so a read-back without a digit (a name, an
    amount in words) is private too; a fixed prompt is not."""
    engine = DialogEngine(load_dialplan(HOTLINE).plan)
    at_account = engine.step(engine.start().state, CallerInput("dtmf", "2"))
    assert [a.private for a in at_account.actions if isinstance(a, Say)] == [False]
    step = engine.step(at_account.state, CallerInput("dtmf", "12345678#"))
    read_back = next(a for a in step.actions if isinstance(a, Say))
    assert "幺二三四五六七八" in read_back.text and read_back.dynamic  # (say-as digits)
    assert Say("Your name is Ann Lee.", "en", dynamic=True).private
    assert not Say("Welcome to the bank.", "en").private


def test_static_prompt_has_a_keyed_owner_only_file(tmp_path: Path) -> None:
    old_umask = os.umask(0)  # the worst umask: the cache must not rely on it
    try:
        cache = _cache(tmp_path)
        assert cache.warm([(STATIC, "en")]) == 1
    finally:
        os.umask(old_umask)
    (path,) = _files(tmp_path)
    assert path.name == f"{cache.key(STATIC, 'en')}.wav"
    forbidden = {_old_name(cache, STATIC, "en"), hashlib.sha256(STATIC.encode()).hexdigest()}
    assert path.stem not in forbidden
    assert _cache(tmp_path / "other", secret=b"another-installation!").key(STATIC, "en") \
        != path.stem  # the name depends on the secret
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for d in (tmp_path / "prompts", tmp_path / "prompts" / KEYED_DIR):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    fresh = CountingTTS()
    again = _cache(tmp_path, fresh).get_sync(STATIC, "en")  # the same secret finds it
    assert fresh.calls == [] and again.sample_rate == 8000


def test_old_unsalted_files_are_deleted_at_start(tmp_path: Path) -> None:
    cache_dir = tmp_path / "prompts"
    cache_dir.mkdir()
    old = [cache_dir / f"{hashlib.sha256(t.encode()).hexdigest()}.wav"
           for t in ("your card ending 4821", "13912345678")]
    for p in old:
        p.write_bytes(b"RIFF old read-back")
    tmp = cache_dir / ".0123456789abcdef.x1y2.tmp"  # a write interrupted by a crash
    tmp.write_bytes(b"RIFF")
    other = cache_dir / "README.txt"  # not ours: kept
    other.write_text("notes")
    cache = _cache(tmp_path)
    assert not any(p.exists() for p in [*old, tmp])
    assert other.exists()
    cache.warm([(STATIC, "en")])
    _cache(tmp_path)  # a restart keeps the new layout
    assert len(list((cache_dir / KEYED_DIR).iterdir())) == 1


def test_a_disk_cache_needs_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="secret"):
        PromptCache(TTSRouter([CountingTTS()]), 8000, tmp_path / "prompts")


def test_a_call_reading_back_an_account_number_stores_no_audio_of_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real session and engine, the real PromptCache on a fake voice: the read-back of the
    account the caller keyed in is heard, and leaves nothing in the cache directory."""
    engine = CountingTTS(languages=("en", "zh"))
    cache = _cache(tmp_path / "cache", engine, rate=16000)
    monkeypatch.setattr(session_harness, "FakePrompts", lambda: cache)

    async def scenario(c: Call) -> None:
        await c.wait_event("listen", node="main_menu")
        c.dtmf("2")
        await c.wait_event("listen", node="broadband_account")
        c.dtmf("12345678#")
        await c.wait_event("listen", node="anything_else")
        c.session.on_hangup("caller_hangup")

    c = run_call(tmp_path, scenario)
    cache.close()
    c.store.close()
    read_backs = [(t, lang) for t, lang in engine.calls if "幺二三四五六七八" in t]
    assert read_backs, engine.calls  # it was said (digit by digit: say-as)
    stored = {p.stem for p in _files(tmp_path / "cache")}
    assert stored == {cache.key(t, lang) for t, lang in engine.calls
                      if not any(ch.isdigit() for ch in t) and (t, lang) not in read_backs}
    assert all(cache.key(t, lang) not in stored and cache.lookup(t, lang) is None
               for t, lang in read_backs)


# ---------------------------------------------------------------- forget and purge
NOW = 1_800_000_000.0
ME = "13912345678"


@pytest.fixture
def data(tmp_path: Path) -> Iterator[tuple[CallStore, Path]]:
    store = CallStore(tmp_path / "ivr.sqlite")
    yield store, tmp_path
    store.close()


def _call_with_files(store: CallStore, data_dir: Path, call_id: str, age_days: float = 100,
                     caller: str = ME) -> list[Path]:
    """An ended call with an encrypted recording, a voicemail, and an orphan voicemail (the
    process died between writing it and inserting its row's path)."""
    rec_dir = data_dir / "recordings"
    rec_dir.mkdir(exist_ok=True)
    recording = rec_dir / f"{call_id}.wav.enc"
    voicemail = rec_dir / f"{call_id}-voicemail.wav.enc"
    orphan = rec_dir / f"{call_id}-voicemail.wav"
    for p in (recording, voicemail, orphan):
        p.write_bytes(b"audio of the caller")
    t = NOW - age_days * DAY_S
    store.db["calls"].insert({"id": call_id, "started_at": t, "status": "ended",
                              "caller": caller, "recording_path": str(recording)})
    store.db["callbacks"].insert({"call_id": call_id, "created_at": t, "number": caller,
                                  "caller": caller, "kind": "voicemail",
                                  "recording_path": str(voicemail)})
    return [recording, voicemail, orphan]


def _planted(store: CallStore, data_dir: Path, outside: Path) -> list[Path]:
    """Rows whose stored paths point at the database and at a file outside the data
    directory (an edited row): neither may ever be deleted."""
    outside.parent.mkdir(parents=True, exist_ok=True)
    outside.write_bytes(b"not ours")
    escape = data_dir / "recordings" / ".." / ".." / outside.parent.name / outside.name
    store.db["calls"].insert({"id": "evil-1", "started_at": NOW - 100 * DAY_S,
                              "status": "ended", "caller": ME,
                              "recording_path": str(data_dir / "ivr.sqlite")})
    store.db["calls"].insert({"id": "evil-2", "started_at": NOW - 100 * DAY_S,
                              "status": "ended", "caller": ME, "recording_path": str(escape)})
    return [data_dir / "ivr.sqlite", outside]


def test_forget_deletes_every_file_of_the_callers_calls(
        data: tuple[CallStore, Path], tmp_path_factory: pytest.TempPathFactory) -> None:
    store, data_dir = data
    mine = _call_with_files(store, data_dir, "mine")
    theirs = _call_with_files(store, data_dir, "theirs", caller="13700000000")
    kept = _planted(store, data_dir, tmp_path_factory.mktemp("elsewhere") / "victim.wav")
    preview = forget(store, ME, "admin", dry_run=True, data_dir=data_dir)
    assert preview["files"] == 3 and all(p.exists() for p in mine)
    counts = forget(store, ME, "admin", data_dir=data_dir)
    assert counts["calls"] == 3 and counts["files"] == 3
    assert not any(p.exists() for p in mine)
    assert all(p.exists() for p in theirs + kept)


def test_purge_deletes_every_file_of_old_calls(
        data: tuple[CallStore, Path], tmp_path_factory: pytest.TempPathFactory) -> None:
    store, data_dir = data
    old = _call_with_files(store, data_dir, "old")
    new = _call_with_files(store, data_dir, "new", age_days=1)
    kept = _planted(store, data_dir, tmp_path_factory.mktemp("elsewhere") / "victim.wav")
    settings = Settings.model_validate({"data_dir": str(data_dir), "privacy": {"retention": {
        "recordings_days": 0, "transcripts_days": 0, "summaries_days": 0,
        "callbacks_days": 0, "calls_days": 30}}})
    counts = purge(store, settings, now=NOW)
    assert counts["calls"] == 3 and counts["files"] == 3
    assert not any(p.exists() for p in old)
    assert all(p.exists() for p in new + kept)


def test_recording_period_deletes_recordings_and_voicemails_by_name(
        data: tuple[CallStore, Path]) -> None:
    store, data_dir = data
    recording, voicemail, orphan = _call_with_files(store, data_dir, "old")
    settings = Settings.model_validate({"data_dir": str(data_dir), "privacy": {"retention": {
        "recordings_days": 90, "transcripts_days": 0, "summaries_days": 0,
        "callbacks_days": 0, "calls_days": 0}}})
    counts = purge(store, settings, now=NOW)
    assert (counts["recordings"], counts["voicemails"], counts["files"]) == (1, 1, 3)
    assert list((data_dir / "recordings").iterdir()) == []
