"""The call brain, in the order a call meets it: `ivr.call` (the call, its driver, stages
and events), `ivr.dialplan` (YAML dialplans and the dialogue engine), `ivr.understanding`
(recognisers, intents, slots, dialect profiles, emotion), `ivr.escalation` (live agents, the
hand-over and the agent's summary), `ivr.storage` (calls in SQLite or PostgreSQL),
`ivr.privacy` (redaction, encryption, retention, audit), `ivr.web` (HTTP API, desk and
dashboards) and `ivr.cluster` (several workers behind Kamailio). At the top: the service and
its settings (`server`, `cli`, `config`, `workers`, `reload`, ...)."""

__version__ = "0.1.0"
