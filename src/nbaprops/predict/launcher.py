"""Start prediction batches in a background thread while deciding a conflict (HTTP 409) synchronously.

    POST /start -> [lock] in-process job of the date alive?  -> 409 (unless force)
                          live batch row of the date?         -> 409 (unless force)
                          thread: coordinator.start_batch(cursor, ...)
                          wait until the batch row is claimed, or the thread fails first
                   [unlock] -> 202 {batch_id}  |  the thread's error (409 / 503 ...)

Holding the lock until the coordinator has *claimed* the batch (inserted its ``running`` row) means two
concurrent requests for one date can never both pass the check: the second one sees the first one's
job (and row) and gets a 409. The coordinator's own claim (under its own lock) stays the last word, so
a conflict it finds is reported as a 409 too.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from nbaprops.config import Settings
from nbaprops.errors import BatchConflictError, NbapropsError
from nbaprops.leases import BATCH_STALE_AFTER_S, is_stale, owner_id
from nbaprops.predict.coordinator import BatchResult, start_batch

__all__ = ["CLAIM_ATTEMPTS", "BatchLauncher", "Launched", "live_batch"]

log = logging.getLogger("nbaprops.api")

#: How often POST /start claims again when the claim meets a concurrent write of the same row.
CLAIM_ATTEMPTS = 3


def live_batch(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> tuple[str, str | None] | None:
    """The newest live (running, consolidating or waiting for a worker; not stale) batch of a date.

    Args:
        con: A warehouse cursor.
        game_date: The slate date.

    Returns:
        ``(batch_id, owner)`` or None.
    """
    rows = con.execute("""SELECT batch_id, owner, heartbeat_at FROM prediction_batches
                          WHERE game_date = ? AND (status IN ('running', 'consolidating')
                                OR (status = 'stalled' AND finished_at IS NULL))
                          ORDER BY started_at DESC""", [game_date]).fetchall()
    for batch_id, owner, heartbeat in rows:
        if not is_stale(owner, heartbeat, after=BATCH_STALE_AFTER_S):
            return str(batch_id), owner
    return None


@dataclass
class Launched:
    """What POST /start answers: the claimed batch (or None if it had not registered in time)."""

    batch_id: str | None
    game_date: dt.date
    status: str
    forced: bool
    min_minutes: float


@dataclass
class _Job:
    game_date: dt.date
    min_minutes: float
    force: bool
    done: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    batch_id: str | None = None
    result: BatchResult | None = None
    error: BaseException | None = None

    def alive(self) -> bool:
        return not self.done.is_set()


class BatchLauncher:
    """Runs :func:`nbaprops.predict.coordinator.start_batch` in background threads, one cursor each.

    Args:
        connection: Returns the app's single warehouse connection (a cursor is taken per job).
        settings: Passed to ``start_batch``.
        claim_timeout_s: How long a request waits for the coordinator to register its batch row
            (model files are verified first, which takes a moment on a large model set).
        workers: ``start_batch`` workers per batch.
        poll_s: How often the waiting request looks for the new batch row.
    """

    def __init__(self, connection: Callable[[], duckdb.DuckDBPyConnection], settings: Settings, *,
                 claim_timeout_s: float = 30.0, workers: int = 1, poll_s: float = 0.02) -> None:
        self._connection = connection
        self._settings = settings
        self._claim_timeout_s = claim_timeout_s
        self._workers = workers
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._jobs: list[_Job] = []

    def launch(self, game_date: dt.date, *, min_minutes: float = 15.0, force: bool = False) -> Launched:
        """Start a batch for ``game_date`` in the background and return once it is claimed.

        Args:
            game_date: The slate date.
            min_minutes: Passed to ``start_batch``.
            force: Supersede a live batch of the date instead of refusing.

        Returns:
            The claimed batch.

        Raises:
            BatchConflictError: A batch of the date is live and ``force`` is false, or the claim kept
                meeting concurrent writes of a running batch of the date.
            NbapropsError: ``start_batch`` failed before claiming (e.g. ModelError: no usable model).
        """
        with self._lock:
            self._jobs = [j for j in self._jobs if j.alive()]
            for attempt in range(1, CLAIM_ATTEMPTS + 1):
                job, claimed = self._start(game_date, min_minutes, force)
                if claimed is not None or job.error is None:
                    break
                self._jobs.remove(job)
                if not isinstance(job.error, duckdb.TransactionException):
                    raise job.error
                # the claim's UPDATE met a concurrent write of the same batch row (a running batch's
                # heartbeat while force supersedes it): DuckDB refuses one of the two; claim again
                log.info("claim for %s met a concurrent write (attempt %d of %d): %s", game_date, attempt,
                         CLAIM_ATTEMPTS, job.error)
                if attempt == CLAIM_ATTEMPTS:
                    raise BatchConflictError(f"a batch of {game_date} kept writing while this one tried to claim "
                                             "the date; retry in a moment") from job.error
                time.sleep(0.05 * attempt)
            if claimed is None:
                if job.result is not None:  # finished without a visible row (a stubbed coordinator)
                    claimed = (job.result.batch_id, job.result.status)
                else:
                    log.warning("batch for %s not registered after %.0f s; still starting in the background",
                                game_date, self._claim_timeout_s)
                    claimed = (None, "starting")
            batch_id, status = claimed
            job.batch_id = batch_id
            return Launched(batch_id, game_date, status, force, min_minutes)

    def _start(self, game_date: dt.date, min_minutes: float,
               force: bool) -> tuple[_Job, tuple[str | None, str] | None]:
        """Start one job thread and wait for its claim (caller holds the lock)."""
        cur = self._connection().cursor()
        try:
            if not force:
                self._refuse_if_live(cur, game_date)
            known = {r[0] for r in cur.execute("SELECT batch_id FROM prediction_batches WHERE game_date = ?",
                                               [game_date]).fetchall()}
            job = _Job(game_date, min_minutes, force)
            job_cur = self._connection().cursor()
            job.thread = threading.Thread(target=self._run, args=(job, job_cur), daemon=True,
                                          name=f"nbaprops-batch-{game_date}")
            self._jobs.append(job)
            job.thread.start()
            claimed: tuple[str | None, str] | None = self._wait_for_claim(cur, job, known)
        finally:
            cur.close()
        return job, claimed

    def _refuse_if_live(self, cur: duckdb.DuckDBPyConnection, game_date: dt.date) -> None:
        for job in self._jobs:
            if job.game_date == game_date and job.alive():
                which = f"batch {job.batch_id}" if job.batch_id else "a batch"
                raise BatchConflictError(f"{which} for {game_date} is still running in this server; "
                                         "wait for it or start with force=true")
        live = live_batch(cur, game_date)
        if live is not None:
            raise BatchConflictError(f"prediction batch {live[0]} for {game_date} is already running "
                                     f"(owner {live[1]}); wait for it or start with force=true")

    def _wait_for_claim(self, cur: duckdb.DuckDBPyConnection, job: _Job,
                        known: set[str]) -> tuple[str, str] | None:
        deadline = time.monotonic() + self._claim_timeout_s
        while True:
            finished = job.done.wait(self._poll_s)
            rows = cur.execute("""SELECT batch_id, status FROM prediction_batches
                                  WHERE game_date = ? AND owner = ? ORDER BY started_at DESC""",
                               [job.game_date, owner_id()]).fetchall()
            new = [(str(b), str(s)) for b, s in rows if b not in known]
            if new:
                return new[0]
            if finished or time.monotonic() >= deadline:
                return None

    def _run(self, job: _Job, cur: duckdb.DuckDBPyConnection) -> None:
        try:
            job.result = start_batch(cur, self._settings, job.game_date, min_minutes=job.min_minutes,
                                     force=job.force, workers=self._workers)
            log.info("batch %s for %s: %s, %s rows in %.1f s", job.result.batch_id, job.game_date,
                     job.result.status, job.result.rows, job.result.seconds)
        except NbapropsError as exc:
            job.error = exc
            log.warning("batch for %s failed: %s", job.game_date, exc)
        except Exception as exc:
            job.error = exc
            log.exception("batch for %s failed unexpectedly", job.game_date)
        finally:
            try:
                cur.close()
            finally:
                job.done.set()

    def running(self) -> list[dt.date]:
        """Dates with a batch thread still running in this process."""
        with self._lock:
            return [j.game_date for j in self._jobs if j.alive()]

    def join(self, timeout_s: float) -> bool:
        """Wait for every background batch to finish.

        Args:
            timeout_s: Total time to wait.

        Returns:
            True when none is left running.
        """
        deadline = time.monotonic() + timeout_s
        for job in list(self._jobs):
            job.done.wait(max(0.0, deadline - time.monotonic()))
        return not any(j.alive() for j in self._jobs)
