"""Commands the server runs for the CLI (``POST /jobs``), one at a time, in a worker thread.

DuckDB admits one writing process per file, so the process that serves the API is also the one that
writes: a CLI command for a served warehouse is sent here and run on a cursor of the server's
connection (see :mod:`nbaprops.cli.jobs`). Each job gets its own cursor, so its transactions are its
own and the API's readers keep seeing the last committed state while it runs.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from fastapi import HTTPException

from nbaprops.api.models import JobResponse

if TYPE_CHECKING:
    import duckdb

    from nbaprops.config import Settings

__all__ = ["JobQueue", "JobRunner"]

log = logging.getLogger("nbaprops.api.jobs")

#: Finished jobs kept for polling (the oldest are dropped first).
KEEP_DONE = 200


class _Output(Protocol):
    @property
    def exit_code(self) -> int: ...
    @property
    def stdout(self) -> str: ...
    @property
    def stderr(self) -> str: ...


#: ``runner(argv, connection, settings)``: run ``nbaprops ARGV`` on the connection.
JobRunner = Callable[[list[str], "duckdb.DuckDBPyConnection", "Settings"], _Output]


class JobQueue:
    """Runs submitted commands in order on one thread; keeps their output for ``GET /jobs/{id}``."""

    def __init__(self, state: Any, runner: JobRunner | None) -> None:
        self._state = state
        self._runner = runner
        self._lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._jobs: OrderedDict[str, JobResponse] = OrderedDict()

    def submit(self, argv: list[str]) -> str:
        """Queue ``nbaprops ARGV``; returns the job id.

        Raises:
            HTTPException: 503 when this app runs no jobs.
        """
        if self._runner is None:
            raise HTTPException(503, "this server runs no commands (start it with `nbaprops serve`)")
        job_id = uuid.uuid4().hex[:16]
        with self._lock:
            self._jobs[job_id] = JobResponse(job_id=job_id, argv=list(argv), status="queued")
            done = [k for k, j in self._jobs.items() if j.status == "done"]
            for k in done[:max(0, len(done) - KEEP_DONE)]:
                del self._jobs[k]
        threading.Thread(target=self._run, args=(job_id, list(argv)), name=f"nbaprops-job-{job_id}",
                         daemon=True).start()
        return job_id

    def get(self, job_id: str) -> JobResponse | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else job.model_copy()

    def _set(self, job_id: str, **fields: Any) -> None:
        with self._lock:
            self._jobs[job_id] = self._jobs[job_id].model_copy(update=fields)

    def _run(self, job_id: str, argv: list[str]) -> None:
        assert self._runner is not None
        with self._run_lock:                       # one command at a time, in submission order
            self._set(job_id, status="running")
            cur = None
            try:
                cur = self._state.cursor()
                res = self._runner(argv, cur, self._state.settings)
                self._set(job_id, status="done", exit_code=res.exit_code, stdout=res.stdout,
                          stderr=self._state.scrub(res.stderr))
            except Exception as exc:               # the runner reports command errors; this is a bug
                log.exception("job %s (%s) failed", job_id, argv)
                self._set(job_id, status="done", exit_code=1, stderr=f"error: internal error ({type(exc).__name__})\n")
            finally:
                if cur is not None:
                    cur.close()
                # a command may have written a new batch: cached responses must look again
                cache = getattr(self._state, "cache", None)
                if cache is not None:
                    cache.invalidate()
