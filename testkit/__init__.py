"""Test and benchmark support, kept out of the shipped `ivr` package: the real service run as
a subprocess and driven by real softphones (`harness`), the load test (`loadtest`), a
throwaway PostgreSQL server (`pg_server`) and benchmark measures (`bench`). Imported by
tests/ and scripts/ from the repository root; not installed with the package."""
