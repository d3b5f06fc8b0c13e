"""The TaskQueue port: where work units go and where their results come back.

Built in: :class:`InlineQueue` (runs each unit in the calling process) and
:class:`ProcessPoolQueue` (a local pool of worker processes). A durable or distributed backend
implements the same three methods: ``nbaprops.predict.redis_queue.RedisStreamQueue`` (Redis streams,
optional extra ``nbaprops[redis]``, workers started with ``nbaprops worker``). This module knows no
backend beyond its own two; :func:`nbaprops.predict.queues.make_queue` picks one by name.

A backend that can tell a stalled batch (work queued, nobody consuming it) from a slow one also
implements :class:`ReportsStatus`; the coordinator then records ``stalled`` on the batch.

The workers of a :class:`ProcessPoolQueue` die with their coordinator: a ``kill -9`` of ``nbaprops
predict --workers N`` leaves no worker, fork server or resource tracker behind (see
:func:`_die_with_coordinator`).
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import multiprocessing.context
import os
import select
import signal
import sys
import threading
import time
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


#: Exit status of a worker that outlived its coordinator.
ORPHANED_EXIT = 75
_PR_SET_PDEATHSIG = 1


def _die_with_coordinator(coordinator: int) -> None:
    """Pool initializer: make this worker exit as soon as the coordinator process is gone.

    A worker blocks on the pool's call queue, whose write end it holds itself, so it never sees
    its coordinator die; it also holds the fork server's "alive" pipe and the resource tracker's
    pipe, so a ``kill -9`` of the coordinator left the fork server, every worker and the tracker
    running. Here the worker (1) asks Linux to SIGKILL it when its parent (the fork server) dies
    (``PR_SET_PDEATHSIG``) and (2) starts a daemon thread that waits for the coordinator's exit
    (``pidfd_open`` + ``poll``; a 0.5 s ``kill(pid, 0)`` poll where pidfds are missing) and then
    ``os._exit``. Once the workers are gone the fork server reads EOF on its alive pipe and exits, and
    the resource tracker follows when its last writer closes.

    Args:
        coordinator: pid of the process that owns the pool.
    """
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    threading.Thread(target=_exit_when_gone, args=(coordinator,), name="nbaprops-coordinator-watch",
                     daemon=True).start()


def _exit_when_gone(pid: int) -> None:
    fd: int | None = None
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(ORPHANED_EXIT)
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        poller = select.poll()        # a pidfd turns readable when the process exits
        poller.register(fd, select.POLLIN)
        while not poller.poll():
            pass
    else:
        while _exists(pid):
            time.sleep(0.5)
    os._exit(ORPHANED_EXIT)


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ProcessPoolQueue:
    """A local pool of ``workers`` processes; the pool exists before anything is submitted, so
    no unit is ever enqueued without a consumer. Its workers exit when the coordinator dies."""

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise ValueError("workers must be >= 1")
        self._pool = ProcessPoolExecutor(max_workers=workers, mp_context=_worker_context(),
                                         initializer=_die_with_coordinator, initargs=(os.getpid(),))
        self._futures: list[Future[Any]] = []

    def submit(self, fn: Callable[[Any], Any], unit: Any) -> None:
        self._futures.append(self._pool.submit(fn, unit))

    def results(self) -> Iterator[Any]:
        for fut in as_completed(self._futures):
            yield fut.result()
        self._futures.clear()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
