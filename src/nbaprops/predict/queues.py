"""Pick a :class:`~nbaprops.predict.queue.TaskQueue` backend by name.

The factory lives apart from the port (``predict.queue``) and the Redis backend
(``predict.redis_queue``) so that neither of them imports the other: the Redis backend implements
the port, and only this module knows every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from nbaprops.errors import NbapropsError
from nbaprops.executors import Executor
from nbaprops.predict.queue import InlineQueue, ProcessPoolQueue, TaskQueue

__all__ = ["BACKENDS", "ExecutorQueue", "make_queue"]


class ExecutorQueue:
    """Units as tasks of an executor (``nbaprops.executors``: Ray tasks, retried when their worker
    dies). An executor passed in outlives the queue (:meth:`close` forgets the units); with ``owns`` (``make_queue(n,
    "ray")``) closing the queue closes the executor too.
    Each worker process loads a model set once (``predict.worker``) and verifies it against its
    manifest; staging files are written under the coordinator's staging path (shared on a cluster)."""

    def __init__(self, executor: Executor, *, owns: bool = False) -> None:
        self._ex = executor
        self._owns = owns
        self._handles: list[Any] = []

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> None:
        self._handles.append(self._ex.submit(fn, unit))

    def results(self) -> Iterator[Any]:
        for _, result in self._ex.as_completed(self._handles):
            yield result
        self._handles = []

    def close(self) -> None:
        self._handles = []
        if self._owns:
            self._ex.close()   # a local Ray started for this batch stops with it

BACKENDS = ("auto", "inline", "process", "redis", "ray")


def make_queue(workers: int, backend: str = "auto", *, redis_url: str | None = None,
               **redis_options: Any) -> TaskQueue:
    """A queue for one batch.

    Args:
        workers: local worker processes (``auto``: inline for 1, a process pool otherwise).
        backend: ``auto``, ``inline``, ``process``, ``redis`` (``nbaprops worker`` processes consume it;
            ``workers`` is then ignored) or ``ray`` (units as Ray tasks: a local Ray on ``workers`` CPUs
            for the batch, or the cluster at ``NBAPROPS_RAY_ADDRESS``; optional extra ``nbaprops[ray]``).
        redis_url: the broker for ``redis`` (default ``NBAPROPS_REDIS_URL``).
        **redis_options: keyword arguments of ``RedisStreamQueue`` (stream, group, stall_after_s, ...);
            unset ones come from ``NBAPROPS_REDIS_*`` (see ``RedisStreamQueue.from_env``).

    Raises:
        NbapropsError: unknown backend, or ``redis`` without a URL or without the ``redis`` extra.
    """
    if backend == "redis":
        from nbaprops.predict.redis_queue import RedisStreamQueue

        return RedisStreamQueue.from_env(redis_url, **redis_options)
    if backend == "ray":
        from nbaprops.executors import make_executor

        return ExecutorQueue(make_executor("ray", workers), owns=True)
    if backend not in BACKENDS:
        raise NbapropsError(f"unknown queue backend {backend!r}: use one of {', '.join(BACKENDS)}")
    if backend == "inline" or (backend == "auto" and workers <= 1):
        return InlineQueue()
    return ProcessPoolQueue(max(workers, 1))
