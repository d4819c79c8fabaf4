"""Understanding what the caller said: speech recognisers per language profile
(`recognizers`), dialect profiles (`profiles`), text normalisation, intent matching and
yes/no, digit and number extraction (`intents`), slot values (`slots`), pinyin sound
matching (`pinyin`), Traditional -> Simplified (`chinese_text`), when input is complete
(`input_rules`) and the caller's emotion per turn (`emotion`).

Nothing is re-exported here: import the module that holds what you need."""

__all__: list[str] = []
