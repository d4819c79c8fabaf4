"""One call: its driver (`driver`), the phone call that runs it (`session.CallSession`, with
the I/O protocols it implements in `protocols` and its SIP control in `control`), its stages
(listening, hearing, playout, audio pump, recording, transfers, ...), the events it records
(`ivr.call.events`), the stereo recorder and its files (`recorder`), webhooks (`webhooks`)
and the watchdog that accounts for every call of the process (`watchdog`).

Nothing is re-exported here, so that a reader of stored events (the dashboards) can import
`ivr.call.events` without loading the call machinery."""

__all__: list[str] = []
