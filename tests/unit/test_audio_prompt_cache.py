"""PromptCache: memory and disk hits, resampling once, recorded files, async face."""

from __future__ import annotations

import asyncio
import os
import time

import numpy as np
import pytest

from audio_models.frames import AudioFrame
from audio_models.prompt_cache import PromptCache
from audio_models.protocols import TTSCapabilities, TTSEngine
from audio_models.tts import TTSRouter
from tests.audio_data import FIXTURES


class CountingTTS:
    """A fake engine implementing TTSEngine: a tone whose length follows the text."""

    def __init__(self, languages=("en",), rate=22050, voice_id="counting:1") -> None:
        self.capabilities = TTSCapabilities(languages=languages, sample_rate=rate)
        self.voice_id = voice_id
        self.calls: list[tuple[str, str]] = []

    def synthesize_sync(self, text: str, language: str) -> AudioFrame:
        self.calls.append((text, language))
        rate = self.capabilities.sample_rate
        t = np.arange(int(0.05 * len(text) * rate)) / rate
        return AudioFrame.from_float32((0.3 * np.sin(2 * np.pi * 440 * t)).astype("f4"), rate)


SECRET = b"prompt-cache-test-secret"


def _cache(engine, tmp_path, **kw) -> PromptCache:
    assert isinstance(engine, TTSEngine)
    return PromptCache(TTSRouter([engine]), 8000, tmp_path / "prompts", secret=SECRET, **kw)


def test_memory_hit_is_fast_and_resampled_once(tmp_path):
    engine = CountingTTS()
    cache = _cache(engine, tmp_path)
    first = cache.get_sync("Welcome to the bank.", "en-US")
    assert first.sample_rate == 8000
    assert first.duration == pytest.approx(0.05 * 20, abs=0.01)
    t0 = time.perf_counter()
    for _ in range(1000):
        again = cache.get_sync("Welcome to the bank.", "en-US")
    per_hit = (time.perf_counter() - t0) / 1000
    print(f"\nPromptCache memory hit: {per_hit * 1e6:.2f} us")
    assert again is first
    assert per_hit < 1e-4, f"memory hit took {per_hit * 1e6:.1f} us"
    assert engine.calls == [("Welcome to the bank.", "en-US")]
    assert (cache.stats.misses, cache.stats.memory_hits, cache.stats.disk_hits) == (1, 1000, 0)


def test_second_instance_reads_disk_without_the_engine(tmp_path):
    engine = CountingTTS()
    rendered = _cache(engine, tmp_path).get_sync("Press one for sales.", "en")
    fresh_engine = CountingTTS()
    cache2 = _cache(fresh_engine, tmp_path)
    from_disk = cache2.get_sync("Press one for sales.", "en")
    assert fresh_engine.calls == []
    assert from_disk.pcm == rendered.pcm and from_disk.sample_rate == 8000
    assert cache2.stats.disk_hits == 1 and cache2.stats.misses == 0
    assert not [p for p in (tmp_path / "prompts" / "keyed").iterdir() if p.suffix != ".wav"]


def test_key_depends_on_voice_language_text_and_rate(tmp_path):
    cache = _cache(CountingTTS(languages=("en", "zh")), tmp_path)
    keys = {
        cache.key("Hello", "en"),
        cache.key("Hello.", "en"),
        cache.key("Hello", "zh"),
        _cache(CountingTTS(voice_id="counting:2"), tmp_path).key("Hello", "en"),
        PromptCache(cache.router, 16000).key("Hello", "en"),
    }
    assert len(keys) == 5
    assert cache.key("Hello", "en-US") == cache.key("Hello", "en")


def test_corrupt_disk_entry_is_rendered_again(tmp_path):
    engine = CountingTTS()
    cache = _cache(engine, tmp_path)
    cache.get_sync("Goodbye.", "en")
    path = tmp_path / "prompts" / "keyed" / f"{cache.key('Goodbye.', 'en')}.wav"
    path.write_bytes(path.read_bytes()[:100])
    engine2 = CountingTTS()
    again = _cache(engine2, tmp_path).get_sync("Goodbye.", "en")
    assert len(engine2.calls) == 1 and again.duration == pytest.approx(0.4, abs=0.01)


def test_memory_only_cache_and_warm(tmp_path):
    engine = CountingTTS()
    cache = PromptCache(TTSRouter([engine]), 8000, None)
    assert cache.warm([("One.", "en"), ("Two.", "en"), ("One.", "en")]) == 3
    assert len(engine.calls) == 2
    assert cache.lookup("Two.", "en") is not None and cache.lookup("Three.", "en") is None


def test_memory_is_bounded(tmp_path):
    cache = PromptCache(TTSRouter([CountingTTS()]), 8000, None, max_memory_bytes=20_000)
    for i in range(10):
        cache.get_sync(f"prompt number {i}", "en")  # ~1.3 s, ~21 kB each at 8 kHz
    assert cache.lookup("prompt number 9", "en") is not None
    assert cache.lookup("prompt number 0", "en") is None


def test_recorded_files_are_cached_by_path_and_mtime(tmp_path):
    src = tmp_path / "hello.flac"
    src.write_bytes((FIXTURES / "ok_LJ001-0002.flac").read_bytes())
    cache = PromptCache(TTSRouter([CountingTTS()]), 16000, None)
    first = cache.get_file_sync(src)
    assert first.sample_rate == 16000 and first.duration == pytest.approx(1.8995, abs=0.01)
    assert cache.get_file_sync(src) is first
    os.utime(src, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert cache.get_file_sync(src) is not first
    assert cache.stats.misses == 2


def test_async_get_uses_the_executor_then_memory(tmp_path):
    engine = CountingTTS()
    cache = _cache(engine, tmp_path)

    async def main():
        a = await cache.get("Please hold.", "en")
        b = await cache.get("Please hold.", "en")
        c = await cache.get_file(FIXTURES / "ok_LJ001-0002.flac")
        return a, b, c

    a, b, c = asyncio.run(main())
    cache.close()
    assert a is b and len(engine.calls) == 1 and c.sample_rate == 8000


def test_a_disk_backed_cache_keeps_little_in_memory_and_the_same_audio_on_disk(tmp_path):
    """Issue 22: files back the prompts, memory keeps `DISK_BACKED_MEMORY`; a prompt dropped
    from memory comes back from its file with the very samples first rendered."""
    from audio_models import prompt_cache

    engine = CountingTTS()
    cache = _cache(engine, tmp_path)
    assert cache._max_bytes == prompt_cache.DISK_BACKED_MEMORY
    assert PromptCache(TTSRouter([engine]), 8000, None)._max_bytes == prompt_cache.MEMORY_ONLY
    texts = [f"Static prompt number {i} of the hotline, long enough to matter." for i in range(60)]
    first = {t: cache.get_sync(t, "en") for t in texts}  # ~3.2 s, ~51 kB each at 8 kHz
    assert cache._mem_bytes <= prompt_cache.DISK_BACKED_MEMORY < sum(
        len(f.pcm) for f in first.values())
    assert cache.lookup(texts[0], "en") is None  # dropped from memory, kept on disk

    async def again():
        return [await cache.get(t, "en") for t in texts]

    back = asyncio.run(again())
    cache.close()
    assert [f.pcm for f in back] == [first[t].pcm for t in texts]
    assert len(engine.calls) == len(texts)  # nothing rendered twice
    assert cache.stats.disk_hits >= 1


def test_a_prompt_read_from_disk_does_not_wait_behind_a_render(tmp_path):
    """A memory miss of a stored prompt is a file read off the loop, not a job queued behind
    another call's render in the cache's one render thread."""
    import threading

    class SlowTTS(CountingTTS):
        def __init__(self) -> None:
            super().__init__()
            self.release = threading.Event()

        def synthesize_sync(self, text: str, language: str) -> AudioFrame:
            if text.startswith("slow"):
                assert self.release.wait(30)
            return super().synthesize_sync(text, language)

    engine = SlowTTS()
    cache = _cache(engine, tmp_path, max_memory_bytes=1)  # every prompt but the last: disk
    stored = cache.get_sync("Press one for sales.", "en")
    cache.get_sync("Press two for support.", "en")

    async def main():
        render = asyncio.ensure_future(cache.get("slow read-back 4821", "en", private=True))
        await asyncio.sleep(0.05)  # the render holds the executor's thread
        audio = await asyncio.wait_for(cache.get("Press one for sales.", "en"), 5)
        done_first = not render.done()
        engine.release.set()
        await render
        return audio, done_first

    audio, before_render = asyncio.run(main())
    cache.close()
    assert audio.pcm == stored.pcm and before_render
