"""Storage of calls: the call store its repositories share (`call_store.CallStore`,
`open_store`), the database behind it (`db`: SQLite or PostgreSQL with one interface), its
named migrations (`migrations`), and the one writer thread per process and database
(`writer`) with the connections it and the readers use (`connections`).

Nothing is re-exported here: import the module that holds what you need."""

__all__: list[str] = []
