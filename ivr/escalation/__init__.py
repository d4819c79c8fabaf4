"""Escalation to a live agent: the agent directory and routing (`agents`), the hand-over
itself (`handover`: queue, ringing, whisper, bridge; `handover_words`: what the caller hears
meanwhile; `callbacks`: the call back or voicemail a caller leaves when nobody answers) and
the agent's summary of the call (`summary`, built from `summary_facts`, worded by
`summary_text` and the dialplan's `summary_phrasebook`, optionally by an LLM: `summary_llm`).

Nothing is re-exported here: import the module that holds what you need."""

__all__: list[str] = []
