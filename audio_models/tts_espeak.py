"""Mandarin and Cantonese TTS through Debian's espeak-ng (robotic but intelligible, ~20 ms).

`-v cmn` reads Chinese characters wrongly, so Mandarin text is first turned into
tone-numbered pinyin (pypinyin TONE3, "v" for u-umlaut) and read with `-v cmn-latn-pinyin`;
IVR words pypinyin reads wrongly (还款 huan2, 重听 chong2) come from `pinyin_phrases.py`.
Numbers of up to four digits are read as quantities (100 -> 一百), longer ones and years digit
by digit (phone and account numbers). Latin words are left alone: espeak switches to English
for them. Cantonese (`-v yue`) reads characters and digits itself.
"""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import numpy as np
import soundfile as sf

from audio_models.chinese_numbers import DIGITS as _DIGITS
from audio_models.chinese_numbers import cardinal
from audio_models.frames import AudioFrame
from audio_models.languages import language_key
from audio_models.pinyin_phrases import phrase_chunks
from audio_models.protocols import ModelError, TTSCapabilities

_VOICES = {"zh": "cmn-latn-pinyin", "yue": "yue"}
_NUMBER = re.compile(r"(\d+)(?:\.(\d+))?(年)?")
_PUNCT = {
    "，": ",", "、": ",", "；": ",", "：": ",", ",": ",", ";": ",", ":": ",",
    "。": ".", ".": ".", "！": "!", "!": "!", "？": "?", "?": "?", "…": ".",
}  # fmt: skip


def _read_number(match: re.Match[str]) -> str:
    whole, frac, year = match.group(1), match.group(2), match.group(3)
    spell = "".join(_DIGITS[int(c)] for c in whole)
    if year or len(whole) > 4 or (len(whole) > 1 and whole.startswith("0")):
        text = spell
    else:
        text = cardinal(int(whole))
    if frac:
        text += "点" + "".join(_DIGITS[int(c)] for c in frac)
    return text + (year or "")


def mandarin_to_pinyin(text: str) -> str:
    """Text for `espeak-ng -v cmn-latn-pinyin`: "请按1号键。" -> "qing3 an4 yi1 hao4 jian4 ."."""
    from pypinyin import Style, lazy_pinyin

    text = _NUMBER.sub(_read_number, text)
    items: list[str] = []
    for piece, reading in phrase_chunks(text):
        items += reading.split() if reading else lazy_pinyin(
            piece, style=Style.TONE3, neutral_tone_with_five=True)
    words: list[str] = []
    for item in items:
        for piece in re.findall(r"[a-zA-Z]+\d?|\S", item):
            if piece in _PUNCT:
                words.append(_PUNCT[piece])
            elif piece[0].isascii() and piece[0].isalpha():
                words.append(piece)
            # other symbols (quotes, brackets, emoji) are dropped
    return re.sub(r" ([,.!?])", r"\1", " ".join(words)).strip()


class EspeakTTS:
    """espeak-ng for one Chinese language: voice "zh" (Mandarin) or "yue" (Cantonese).

    Output is lowered by `gain_db` (default -3 dB) because espeak's peaks reach full scale
    and clip after resampling to 8 kHz.
    """

    def __init__(
        self,
        voice: str = "zh",
        *,
        speed: int = 150,
        gain_db: float = -3.0,
        executable: str = "espeak-ng",
        timeout: float = 10.0,
    ) -> None:
        key = language_key(voice)
        if key not in _VOICES:
            raise ValueError(f"EspeakTTS speaks {sorted(_VOICES)}, not '{voice}'")
        path = shutil.which(executable)
        if path is None:
            raise ModelError(f"'{executable}' not found on PATH: apt-get install espeak-ng")
        self.language = key
        self.espeak_voice = _VOICES[key]
        self._cmd = [path, "-v", self.espeak_voice, "-s", str(speed), "--stdout", "--stdin"]
        self._gain = 10 ** (gain_db / 20)
        self._timeout = timeout
        self.voice_id = f"espeak-ng:{self.espeak_voice}:s{speed}:g{gain_db:g}"
        self.capabilities = TTSCapabilities(languages=(key,), sample_rate=22050)
        if key == "zh":
            mandarin_to_pinyin("你好")  # load pypinyin's dictionaries now (~0.3 s), not mid-call

    def prepare_text(self, text: str) -> str:
        """What espeak-ng is given for `text` (pinyin for Mandarin)."""
        return mandarin_to_pinyin(text) if self.language == "zh" else text.strip()

    def synthesize_sync(self, text: str, language: str | None = None) -> AudioFrame:
        """Render `text`. Blocking (one espeak-ng process, ~20 ms for a prompt)."""
        if language is not None and language_key(language) != self.language:
            raise ValueError(f"this espeak voice speaks '{self.language}', not '{language}'")
        prepared = self.prepare_text(text)
        if not any(c.isalnum() for c in prepared):
            raise ValueError(f"nothing to say in {text!r}")
        try:
            proc = subprocess.run(
                self._cmd,
                input=prepared.encode("utf-8"),
                capture_output=True,
                timeout=self._timeout,
                check=True,
            )
            samples, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
        except subprocess.CalledProcessError as exc:
            err = exc.stderr.decode(errors="replace").strip()
            raise ModelError(f"espeak-ng failed ({exc.returncode}): {err}", retryable=True) from exc
        except (subprocess.TimeoutExpired, OSError, sf.LibsndfileError) as exc:
            raise ModelError(f"espeak-ng failed: {exc}", retryable=True) from exc
        if rate != self.capabilities.sample_rate:
            raise ModelError(f"espeak-ng produced {rate} Hz, expected 22050")
        mono = samples.mean(axis=1) * self._gain
        if mono.size == 0:
            raise ModelError(f"espeak-ng produced no audio for {text!r}")
        return AudioFrame.from_float32(mono.astype(np.float32), rate)
