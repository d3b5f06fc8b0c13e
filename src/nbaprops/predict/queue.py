"""The TaskQueue port: where work units go and where their results come back.

Built in: :class:`InlineQueue` (runs each unit in the calling process) and
:class:`ProcessPoolQueue` (a local pool of worker processes). A durable or distributed backend
implements the same three methods.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import Any, Protocol, TypeVar

__all__ = ["InlineQueue", "ProcessPoolQueue", "TaskQueue", "make_queue"]

T = TypeVar("T")


class TaskQueue(Protocol):
    """Submit units to consumers and collect their results (in completion order)."""

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> None: ...

    def results(self) -> Iterator[Any]: ...

    def close(self) -> None: ...


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


class ProcessPoolQueue:
    """A local pool of ``workers`` processes; the pool exists before anything is submitted, so
    no unit is ever enqueued without a consumer."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self._pool = ProcessPoolExecutor(max_workers=workers)
        self._futures: list[Future[Any]] = []

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> None:
        self._futures.append(self._pool.submit(fn, unit))

    def results(self) -> Iterator[Any]:
        for fut in as_completed(self._futures):
            yield fut.result()
        self._futures.clear()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_queue(workers: int) -> TaskQueue:
    """Inline for one worker, a process pool otherwise."""
    return InlineQueue() if workers <= 1 else ProcessPoolQueue(workers)
