"""Real-speech closed-set answers for recognition by grammar (issue 19): yes/no and menu
choices, with the choices a `ChoiceGrammar` would offer for each question.

What exists (no speech is synthesized; all 8 kHz recordings):
- English yes/no: no real spoken "yes" is in the shared data or the installed Asterisk prompts
  (all 401 prompts of up to 2.5 s were recognised with tiny.en to look for one). The "no"s:
  Allison's `vm-no.wav` ("No."), and "no" cut by forced alignment from Allison's
  `vm-nomore.wav` ("No more messages.") and from LJSpeech LJ001-0012 ("especially as no more
  time ...", `testkit.bench.aligned_cuts`): 3 clips, all "no" (a yes/no figure on it says
  little: it cannot show a "yes" heard as "no").
- Mandarin yes/no: words of the AISHELL word segmentation (是 对 好 可以 / 不 没有 不是 不用)
  cut by forced alignment (`aligned_cuts`); one speaker; read news, so 是 is the copula and
  对 often "towards": the syllables, not answers said as answers. As built: 38 yes, 13 no.
- English menu choices, Allison (a professional voice, Asterisk core sounds, CC BY-SA 3.0),
  each file names what it says (checked by recognising it): the 7 weekdays
  (`digits/day-0..6`), the 12 months (`digits/mon-0..11`), the voicemail folders (`vm-INBOX`
  "new", `vm-Old`, `vm-Work`, `vm-Family`, `vm-Friends`, `vm-Urgent`), "press or say N" for
  1-9 (Allison `digits/1..9` and FSDD test takes of 1-9).
- Mandarin menu "按几/说几": the Mandarin digit cuts (0-9 present ones) as a 10-way choice.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from testkit.bench.aligned_cuts import ZH_DIGITS, zh_digit_pool, zh_yes_no_clips
from testkit.bench.digit_sets import (
    DATA,
    EN_WORDS,
    Clip,
    Utterance,
    clip_audio,
    fsdd_clips,
    join_clips,
)

Choices = tuple[tuple[str, tuple[str, ...]], ...]

YES_NO: dict[str, Choices] = {
    "en-US": (("yes", ("yes", "yeah", "yep", "correct", "that's right", "sure")),
              ("no", ("no", "nope", "no thanks", "wrong", "not"))),
    "zh-CN": (("yes", ("是", "是的", "对", "对的", "好的", "好", "可以", "没错")),
              ("no", ("不是", "不对", "不", "没有", "不用", "不要"))),
}
WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
FOLDERS = {"new": "vm-INBOX.wav", "old": "vm-Old.wav", "work": "vm-Work.wav",
           "family": "vm-Family.wav", "friends": "vm-Friends.wav", "urgent": "vm-Urgent.wav"}
FOLDER_PHRASES = {"new": ("new", "new messages", "inbox"), "old": ("old", "old messages")}


@dataclass
class ChoiceSet:
    """One closed question: its utterances (ref = choice id) and the grammar's choices."""

    name: str
    language: str
    choices: Choices
    utterances: list[Utterance]
    source: str  # where the speech comes from, for the report


def _utterances(clips: Sequence[Clip], language: str, prefix: str, seed: int
                ) -> list[Utterance]:
    rng = random.Random(seed)
    out = []
    for i, c in enumerate(clips):
        audio, _ = join_clips([clip_audio(c)], rng)
        name = Path(c.source.split(":", 1)[-1]).stem
        out.append(Utterance(f"{prefix}/{i:03d}-{name}", c.ref, language, c.speaker, audio,
                             [c.source]))
    return out


def _digit_choices(language: str) -> Choices:
    if language.startswith("zh"):
        words = {v: k for k, v in ZH_DIGITS.items()}
        return tuple((d, (words[d], d, f"按{words[d]}")) for d in "0123456789")
    return tuple((str(i), (EN_WORDS[i], str(i), f"press {EN_WORDS[i]}")) for i in range(1, 10))


def yes_no_sets(cuts: dict[str, Any]) -> list[ChoiceSet]:
    """English and Mandarin yes/no (see the module docstring for what exists)."""
    en = [Clip("allison:vm-no.wav", "no", "allison")] + zh_yes_no_clips(cuts, "en-US")
    zh = zh_yes_no_clips(cuts, "zh-CN")
    return [
        ChoiceSet("yesno_en", "en-US", YES_NO["en-US"], _utterances(en, "en-US", "yn_en", 31),
                  "Allison vm-no.wav + 'no' aligned in vm-nomore.wav and LJ001-0012"),
        ChoiceSet("yesno_zh", "zh-CN", YES_NO["zh-CN"], _utterances(zh, "zh-CN", "yn_zh", 32),
                  "AISHELL S0150 words cut by forced alignment"),
    ]


def menu_sets(cuts: dict[str, Any], fsdd_per_digit: int = 4, data: Path = DATA
              ) -> list[ChoiceSet]:
    """English menus from Allison (+ FSDD "say N"), the Mandarin digit menu from the cuts."""
    days = [Clip(f"allison:digits/day-{i}.wav", d, "allison") for i, d in enumerate(WEEKDAYS)]
    months = [Clip(f"allison:digits/mon-{i}.wav", m, "allison") for i, m in enumerate(MONTHS)]
    folders = [Clip(f"allison:{f}", k, "allison") for k, f in FOLDERS.items()]
    say_n = [Clip(f"allison:digits/{i}.wav", str(i), "allison") for i in range(1, 10)]
    per_cell: dict[tuple[str, str], int] = {}
    for c in fsdd_clips("test", data):
        if c.ref != "0" and per_cell.get((c.ref, c.speaker), 0) < max(fsdd_per_digit // 4, 1):
            per_cell[(c.ref, c.speaker)] = per_cell.get((c.ref, c.speaker), 0) + 1
            say_n.append(c)
    zh = [c for spk in zh_digit_pool(cuts).values() for clips in spk.values() for c in clips]
    zh.sort(key=lambda c: (c.source, c.start_s))
    return [
        ChoiceSet("menu_days_en", "en-US", tuple((d, (d,)) for d in WEEKDAYS),
                  _utterances(days, "en-US", "days", 41), "Allison digits/day-0..6"),
        ChoiceSet("menu_months_en", "en-US", tuple((m, (m,)) for m in MONTHS),
                  _utterances(months, "en-US", "months", 42), "Allison digits/mon-0..11"),
        ChoiceSet("menu_folders_en", "en-US",
                  tuple((k, FOLDER_PHRASES.get(k, (k,))) for k in FOLDERS),
                  _utterances(folders, "en-US", "folders", 43), "Allison vm-<folder>.wav"),
        ChoiceSet("menu_say_n_en", "en-US", _digit_choices("en-US"),
                  _utterances(say_n, "en-US", "say_n", 44),
                  "Allison digits/1..9 + FSDD test takes of 1-9"),
        ChoiceSet("menu_digit_zh", "zh-CN", _digit_choices("zh-CN"),
                  _utterances(zh, "zh-CN", "zh_menu", 45),
                  "AISHELL S0150 digit syllables cut by forced alignment"),
    ]
