"""The test harness follows a cluster's call on the worker that holds it
(`testkit.harness.ClusterProcess.call_api`): the events long poll waits on that worker's
write notifier instead of making worker 0 re-read the shared database for it."""

from __future__ import annotations

from typing import Any

from testkit.harness import ClusterProcess


def _cluster(tmp_path, workers: int, worker_of_call: str | None,
             on_worker: int | None = None) -> tuple[ClusterProcess, list[int]]:
    """A cluster (not started) whose workers' API is faked; the call's row names
    `worker_of_call`, or worker `on_worker`'s SIP address."""
    cluster = ClusterProcess(tmp_path, workers)
    if on_worker is not None:
        worker_of_call = f"127.0.0.1:{cluster.sip_port + 10 + on_worker}"
    asked: list[int] = []

    def worker_api(index: int, path: str, token: str | None = None) -> Any:
        asked.append(index)
        if path.endswith("/events?after=0&wait=1"):
            return {"events": []}
        return {"id": "c1", "worker": worker_of_call}

    cluster.worker_api = worker_api  # type: ignore[method-assign]
    return cluster, asked


def test_the_events_of_a_call_are_asked_of_its_worker(tmp_path) -> None:
    cluster, asked = _cluster(tmp_path, 3, None, on_worker=2)
    cluster.call_api("c1", "/api/calls/c1/events?after=0&wait=1")
    cluster.call_api("c1", "/api/calls/c1/events?after=0&wait=1")
    assert asked == [0, 2, 2]  # looked up once on worker 0, then always worker 2


def test_a_call_without_a_known_worker_is_asked_of_worker_0_until_it_has_one(tmp_path) -> None:
    for worker in (None, "", "garbage", "127.0.0.1:notaport", "127.0.0.1:1"):
        cluster, asked = _cluster(tmp_path, 2, worker)
        cluster.call_api("c1", "/api/calls/c1/events?after=0&wait=1")
        assert asked == [0, 0], worker
        assert "c1" not in cluster._holders
