"""Where independent tasks run: ``serial`` (in this process, one after the other) or ``ray`` (Ray
tasks on a local Ray started on demand, or on the cluster at ``NBAPROPS_RAY_ADDRESS``).

Both executors have the same four methods, so a caller writes its loop once::

    ex = make_executor("ray", workers=2)
    ref = ex.put(frame)                      # once: shared by every task that reads it
    handles = [ex.submit(fit, ref, d) for d in dates]
    for i, value in ex.as_completed(handles): ...   # i: the index in handles
    ex.close()

A Ray task whose worker process dies (killed, OOM) is retried by Ray (``max_retries``); a task
that raises is not retried (the error is the answer). Ray is the optional extra ``nbaprops[ray]``
and is imported only here, only when ``ray`` is asked for.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from nbaprops.errors import NbapropsError

__all__ = ["EXECUTORS", "Executor", "RayExecutor", "SerialExecutor", "make_executor", "worker_stats"]

EXECUTORS = ("serial", "ray")
#: retries of a Ray task whose worker process died (a task that raises is not retried)
TASK_RETRIES = 3


def worker_stats() -> dict[str, Any]:
    """The pid and peak resident memory (MB) of the process running a task."""
    return {"pid": os.getpid(), "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}


class Executor(Protocol):
    name: str
    workers: int

    def put(self, value: Any) -> Any: ...

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    def as_completed(self, handles: Sequence[Any]) -> Iterator[tuple[int, Any]]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Runs each task when it is submitted, in this process."""

    name = "serial"

    def __init__(self) -> None:
        self.workers = 1

    def put(self, value: Any) -> Any:
        return value

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return fn(*args)

    def as_completed(self, handles: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """(index in ``handles``, result), in completion order."""
        yield from enumerate(handles)

    def close(self) -> None:
        return None


class RayExecutor:
    """Ray tasks, one CPU each. Connects to ``address`` (default ``NBAPROPS_RAY_ADDRESS``), else starts
    a local Ray with ``workers`` CPUs, and stops it again on :meth:`close` (a cluster it joined is left
    running). Arguments that are object refs (from :meth:`put`) reach the task as their values."""

    name = "ray"

    def __init__(self, workers: int | None = None, *, address: str | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise NbapropsError("the ray executor needs the optional extra: pip install 'nbaprops[ray]'") from exc
        self._ray = ray
        address = address or os.environ.get("NBAPROPS_RAY_ADDRESS") or None
        self._started = False
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(address="local", num_cpus=workers or os.cpu_count() or 1, include_dashboard=False,
                         log_to_driver=False, configure_logging=False)
                self._started = True
        self.workers = int(workers or ray.cluster_resources().get("CPU", 1))
        self._remote: dict[Callable[..., Any], Any] = {}

    def put(self, value: Any) -> Any:
        return self._ray.put(value)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._ray.remote(num_cpus=1, max_retries=TASK_RETRIES, retry_exceptions=False)(fn)
            self._remote[fn] = remote
        return remote.remote(*args)

    def as_completed(self, handles: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """(index in ``handles``, result), in completion order."""
        index = {h: i for i, h in enumerate(handles)}
        pending = list(handles)
        while pending:
            done, pending = self._ray.wait(pending, num_returns=1)
            for h in done:
                yield index[h], self._ray.get(h)

    def close(self) -> None:
        self._remote.clear()
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
            self._started = False


def make_executor(name: str, workers: int = 1, *, address: str | None = None) -> Executor:
    """``serial`` or ``ray`` (``workers``: CPUs of a local Ray; ignored when joining a cluster)."""
    if name == "serial":
        return SerialExecutor()
    if name == "ray":
        return RayExecutor(workers, address=address)
    raise NbapropsError(f"unknown executor {name!r}: use one of {', '.join(EXECUTORS)}")
