"""The TaskQueue port: where work units go and where their results come back.

Built in: :class:`InlineQueue` (runs each unit in the calling process) and
:class:`ProcessPoolQueue` (a local pool of worker processes). A durable or distributed backend
implements the same three methods: ``nbaprops.predict.redis_queue.RedisStreamQueue`` (Redis streams,
optional extra ``nbaprops[redis]``, workers started with ``nbaprops worker``). This module knows no
backend beyond its own two; :func:`nbaprops.predict.queues.make_queue` picks one by name.

A backend that can tell a stalled batch (work queued, nobody consuming it) from a slow one also
implements :class:`ReportsStatus`; the coordinator then records ``stalled`` on the batch.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = ["InlineQueue", "ProcessPoolQueue", "ReportsStatus", "StatusHook", "TaskQueue"]

T = TypeVar("T")

#: ``hook(status, detail)``: ``status`` is ``"stalled"`` (detail says why) or ``"running"`` (detail None).
StatusHook = Callable[[str, str | None], None]


class TaskQueue(Protocol):
    """Submit units to consumers and collect their results (in completion order)."""

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> None: ...

    def results(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


@runtime_checkable
class ReportsStatus(Protocol):
    """A queue that reports ``stalled`` / ``running`` while its results are being iterated."""

    def set_status_hook(self, hook: StatusHook) -> None: ...


class InlineQueue:
    """Runs every unit synchronously in this process: the consumer is the caller itself."""

    def __init__(self) -> None:
        self._pending: list[tuple[Callable[[Any], Any], Any]] = []

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> None:
        self._pending.append((fn, unit))

    def results(self) -> Iterator[Any]:
        while self._pending:
            fn, unit = self._pending.pop(0)
            yield fn(unit)

    def close(self) -> None:
        self._pending.clear()


def _worker_context() -> multiprocessing.context.BaseContext:
    """Workers start from a clean, single-threaded process.

    A plain fork() copies a coordinator that holds DuckDB and OpenMP (xgboost, catboost) threads and
    their locks; the child then waits forever on a lock no thread will release (``--workers 2`` hung).
    The fork server is started once per coordinator and preloads the worker module, so a pool starts fast.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["nbaprops.predict.worker"])
        return ctx
    return multiprocessing.get_context("spawn")


class ProcessPoolQueue:
    """A local pool of ``workers`` processes; the pool exists before anything is submitted, so
    no unit is ever enqueued without a consumer."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context())
        self._futures: list[Future[Any]] = []

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> None:
        self._futures.append(self._pool.submit(fn, unit))

    def results(self) -> Iterator[Any]:
        for fut in as_completed(self._futures):
            yield fut.result()
        self._futures.clear()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
