"""A phone call's rules while it takes a sensitive answer (a card number, a PIN).

From the question (`Listen.sensitive`) until its answer is taken:
- the recording is silenced: at the first key, or as soon as the prompts queued before the
  question have played (`awaited`); a prompt that itself asks for the secret pauses it when it
  starts (`ivr.call.playout`); it resumes when the answer is taken (`answered`);
- keys are logged as '*' (`key`) and the recognised words as `SECRET_MASK` (`taking`, read by
  the listening stage);
- the answer's turn is stored masked (`last`: the input being handled answered a sensitive
  prompt; `ivr.call.call_record`).

Threads: on the call's event loop.
"""

from __future__ import annotations

from ivr.call.recording import CallRecording
from ivr.dialplan.actions import Listen

__all__ = ["SensitiveInput"]


class SensitiveInput:
    """One call's sensitive answers (see the module docstring)."""

    def __init__(self, recording: CallRecording) -> None:
        self._recording = recording
        self.node: str | None = None  # the node of the sensitive input being taken
        self.last = False  # the input being handled answered a sensitive prompt

    @property
    def taking(self) -> bool:
        """A sensitive answer is being taken."""
        return self.node is not None

    def asked(self, listen: Listen) -> None:
        """The call waits for the answer to `listen`."""
        self.last = listen.sensitive  # the next turn stores its input masked
        self.node = listen.node if listen.sensitive else None

    def answered(self) -> None:
        """The answer was taken (or the caller hung up): the recording resumes."""
        if self.node is not None:
            self.node = None
            self._recording.resume()

    def key(self, digit: str) -> str:
        """A key arrives: during a sensitive answer the recording pauses now (if not yet) and
        the key is logged as '*'. The key as the `dtmf` event shows it."""
        if self.node is not None:
            self._recording.pause(self.node)
            return "*"
        return digit

    def awaited(self, listen: Listen | None, earlier_prompts_played: bool) -> None:
        """The call waits for input on `listen`: a sensitive answer silences the recording once
        the prompts queued before it have played."""
        if listen is not None and listen.sensitive and earlier_prompts_played:
            self._recording.pause(listen.node)
