"""Phase gates, run records and the per-(phase, date) lock of the daily run.

Gates answer "are this phase's inputs for the date complete?" and name what is missing:

    schedule   games for D exist                                   (analytics)
    boxscores  every final game of the 7 days before D has box-score rows, named when not
                                                                    (analytics, grade)
    features   feature-store rows of the served version for D        (predict)
    lines      at least one resolved points line for D: a WARNING   (predict still runs: NO_LINE)

Run records live in ``phase_runs`` (one row per phase and date and attempt: start, end, rows,
status, error). A ``running`` row is also the lock: a second claim of the same phase and date
waits or refuses while the holder is alive. DuckDB admits one writing process per file, so across
processes the warehouse file itself is the outer lock (the second process cannot even connect);
inside one process a threading lock makes check-and-claim atomic. The holder's host and pid are
part of the ``run_id``, so a row left ``running`` by a process that died (kill -9) is recognised as
abandoned and does not block the re-run.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb

from nbaprops import leases
from nbaprops.errors import LockError
from nbaprops.warehouse.calendar import previous_game_date

__all__ = ["BOX_SCORE_DAYS", "GateResult", "PhaseRun", "boxscore_gate", "claim_phase", "features_gate",
           "finish_phase", "finish_record", "grade_gate", "lines_gate", "phase_done", "phase_run", "previous_game_date",
           "release_abandoned", "release_all_abandoned", "schedule_gate", "start_record"]

BOX_SCORE_DAYS = 7
#: A ``running`` record older than this is abandoned even when its pid looks alive (pid reuse).
STALE_AFTER = dt.timedelta(hours=6)
_claim_lock = threading.Lock()
_held: set[str] = set()


@dataclass
class GateResult:
    """What a gate found: ``ok`` False blocks the phase; warnings never block."""

    gate: str
    game_date: dt.date
    ok: bool = True
    missing: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def message(self) -> str:
        """One message naming everything missing (or the warnings)."""
        parts = self.missing if not self.ok else self.warnings
        return f"{self.gate} gate for {self.game_date}: " + "; ".join(parts) if parts else f"{self.gate}: ok"


def _list(items: list[str], limit: int = 12) -> str:
    return ", ".join(items[:limit]) + (f" ... (+{len(items) - limit} more)" if len(items) > limit else "")


def schedule_gate(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> GateResult:
    """Games for the date exist in ``games``."""
    res = GateResult("schedule", game_date)
    row = con.execute("SELECT count(*) FROM games WHERE game_date = ?", [game_date]).fetchone()
    if not row or not row[0]:
        res.ok = False
        res.missing.append(f"no games for {game_date} in table games (ingest the schedule first: "
                           "`nbaprops run` fetches the scoreboard, or --data DIR loads team game logs)")
    return res


def boxscore_gate(con: duckdb.DuckDBPyConnection, game_date: dt.date, days: int = BOX_SCORE_DAYS,
                  *, include_date: bool = False) -> GateResult:
    """Every final game of the ``days`` days before ``game_date`` has player box-score rows.

    Args:
        con: warehouse connection.
        game_date: the date being run.
        days: how many days back to check.
        include_date: check ``game_date`` itself instead of the days before it (grading a date).

    Returns:
        The result; ``missing`` names each game id and date without box scores.
    """
    lo, hi = (game_date, game_date) if include_date else (game_date - dt.timedelta(days=days),
                                                         game_date - dt.timedelta(days=1))
    res = GateResult("boxscores", game_date)
    rows = con.execute("""SELECT g.game_id, g.game_date, g.away_abbr || '@' || g.home_abbr FROM games g
        WHERE g.game_date BETWEEN ? AND ? AND g.status = 'final'
          AND NOT EXISTS (SELECT 1 FROM player_boxscores b WHERE b.game_id = g.game_id)
        ORDER BY g.game_date, g.game_id""", [lo, hi]).fetchall()
    if rows:
        res.ok = False
        named = [f"{gid} ({d}, {m})" for gid, d, m in rows]
        res.missing.append(f"player box scores missing for {len(rows)} final game(s) of {lo}..{hi}: {_list(named)}")
    if include_date:
        pending = con.execute("""SELECT count(*) FROM games WHERE game_date = ? AND coalesce(status, '') <> 'final'""",
                              [game_date]).fetchone()
        if pending and pending[0]:
            res.ok = False
            res.missing.append(f"{pending[0]} game(s) of {game_date} are not final yet")
    return res


def features_gate(con: duckdb.DuckDBPyConnection, game_date: dt.date, version: str) -> GateResult:
    """Feature-store rows of ``version`` for the expected players of the date exist."""
    res = GateResult("features", game_date)
    row = con.execute("""SELECT count(*) FROM feature_store WHERE game_date = ? AND feature_version = ?
                         AND is_expected""", [game_date, version]).fetchone()
    if not row or not row[0]:
        res.ok = False
        res.missing.append(f"no feature_store rows ({version}) for {game_date}: run the precompute phase first")
    return res


def lines_gate(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> GateResult:
    """At least one points line resolved to a player for the date; otherwise a warning (NO_LINE)."""
    res = GateResult("lines", game_date)
    row = con.execute("""SELECT count(*), count(DISTINCT player_id) FROM prop_line_snapshots
                         WHERE game_date = ? AND market = 'player_points' AND player_id IS NOT NULL""",
                      [game_date]).fetchone()
    if not row or not row[0]:
        res.warnings.append(f"no lines: no player_points line for {game_date} in prop_line_snapshots, so every "
                            "prediction is NO_LINE (check the Odds API key, budget and events)")
    return res


def grade_gate(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> GateResult:
    """A date can be graded: it has predictions, every game is final and has box scores."""
    res = boxscore_gate(con, game_date, include_date=True)
    res.gate = "grade"
    row = con.execute("SELECT count(*) FROM player_prop_predictions WHERE game_date = ?", [game_date]).fetchone()
    if not row or not row[0]:
        res.ok = False
        res.missing.insert(0, f"no predictions for {game_date}")
    return res


# --------------------------------------------------------------------------- run records and locks


def _new_run_id() -> str:
    return f"{uuid.uuid4().hex[:16]}@{leases.owner_id()}"


def _alive(run_id: str, started_at: dt.datetime | None) -> bool:
    """Whether the process that wrote a ``running`` record may still be running it."""
    if started_at is not None and dt.datetime.now(dt.UTC).replace(tzinfo=None) - started_at > STALE_AFTER:
        return False
    holder = leases.run_holder(run_id)
    if holder is None:
        return False
    if holder.this_process:
        return run_id in _held
    return leases.is_alive(str(holder))     # a dead pid here: no; another machine: yes (age rule above)


def release_abandoned(con: duckdb.DuckDBPyConnection, phase: str, game_date: dt.date) -> int:
    """Mark ``running`` records of dead processes for this phase and date ``abandoned``.

    The per-table records ``run_phases`` writes (``analytics:<table>`` ...) that a dead run left
    ``running`` are closed the same way. Returns the number of records released.
    """
    rows = con.execute("""SELECT run_id, started_at FROM phase_runs WHERE status = 'running' AND phase = ?
                          AND date_from = ? AND date_to = ?""", [phase, game_date, game_date]).fetchall()
    released = 0
    for run_id, started in rows:
        if _alive(run_id, started):
            continue
        con.execute("""UPDATE phase_runs SET status = 'abandoned', finished_at = now(), error = ?
                       WHERE run_id = ?""", [ABANDONED_ERROR, run_id])
        con.execute("""UPDATE phase_runs SET status = 'abandoned', finished_at = now(),
                       error = 'left running by a process that died'
                       WHERE status = 'running' AND phase LIKE ? AND started_at >= ?
                         AND ? BETWEEN date_from AND date_to""", [f"{phase}:%", started, game_date])
        released += 1
    return released


ABANDONED_ERROR = "the process running it died (crash or kill -9); re-run replaces its partial work"


def release_all_abandoned(con: duckdb.DuckDBPyConnection) -> int:
    """Mark every ``running`` record whose holder is dead ``abandoned``, whatever its phase and dates.

    This covers what :func:`release_abandoned` (one phase and date) cannot reach: the per-table build
    records of a backfill (``analytics:<table>``, ``precompute:<table>``, ``feature_store:feature_store``
    over the backfill's whole range), a daily phase of another date, any phase name. Called when a
    backfill, a daily run or a build starts, and before ``status`` lists run records. The holder of
    each record is judged alone (its ``@host:pid``, then the age rule), so a live run elsewhere on the
    machine keeps its records. Returns the number of records released.
    """
    with _claim_lock:
        rows = con.execute("SELECT run_id, started_at FROM phase_runs WHERE status = 'running'").fetchall()
        dead = [run_id for run_id, started in rows if not _alive(run_id, started)]
        for run_id in dead:
            con.execute("""UPDATE phase_runs SET status = 'abandoned', finished_at = now(), error = ?
                           WHERE run_id = ? AND status = 'running'""", [ABANDONED_ERROR, run_id])
    return len(dead)


@dataclass
class PhaseRun:
    """A claimed run of one phase for one date (``phase_runs`` row ``run_id``)."""

    run_id: str
    phase: str
    game_date: dt.date
    started: float = field(default_factory=time.perf_counter)
    status: str = "running"
    rows: int | None = None
    error: str | None = None
    detail: str = ""

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.started, 3)


def start_record(con: duckdb.DuckDBPyConnection, phase: str, date_from: dt.date, date_to: dt.date) -> str:
    """Insert a ``running`` record for ``phase`` over [date_from, date_to]; returns its ``run_id``.

    The one place ``phase_runs`` rows are created (daily phases through :func:`claim_phase`, the
    builds of a backfill through :func:`nbaprops.pipeline.backfill.run_phases`).
    """
    run_id = _new_run_id()
    con.execute("INSERT INTO phase_runs VALUES (?, ?, ?, ?, now(), NULL, NULL, 'running', NULL)",
                [run_id, phase, date_from, date_to])
    _held.add(run_id)
    return run_id


def finish_record(con: duckdb.DuckDBPyConnection, run_id: str, status: str, rows: int | None = None,
                  error: str | None = None) -> None:
    """Close a run record with its status (ok | failed | blocked | skipped | abandoned), rows and error."""
    try:
        con.execute("""UPDATE phase_runs SET finished_at = now(), status = ?, n_rows = ?, error = ?
                       WHERE run_id = ?""", [status, rows, (error or None) and str(error)[:2000], run_id])
    finally:
        _held.discard(run_id)


def claim_phase(con: duckdb.DuckDBPyConnection, phase: str, game_date: dt.date, *,
                wait_s: float = 0.0, poll_s: float = 0.5) -> PhaseRun:
    """Insert a ``running`` record for (phase, date), refusing (or waiting) while a live one exists.

    Args:
        con: warehouse connection.
        phase: ``ingest``, ``analytics``, ``precompute``, ``predict``, ``grade`` or ``verify``.
        game_date: the date.
        wait_s: how long to wait for a running holder before refusing.
        poll_s: how often to look again while waiting.

    Returns:
        The claimed run.

    Raises:
        LockError: another live run holds the phase for the date (names it, its process and start).
    """
    deadline = time.monotonic() + max(0.0, wait_s)
    while True:
        with _claim_lock:
            release_abandoned(con, phase, game_date)
            live = con.execute("""SELECT run_id, started_at FROM phase_runs WHERE status = 'running'
                                  AND phase = ? AND date_from = ? AND date_to = ? ORDER BY started_at""",
                               [phase, game_date, game_date]).fetchall()
            if not live:
                return PhaseRun(start_record(con, phase, game_date, game_date), phase, game_date)
        if time.monotonic() >= deadline:
            holder_id, started = live[0]
            holder = leases.run_holder(holder_id)
            who = f"{holder[0]} pid {holder[1]}" if holder else "unknown process"
            raise LockError(f"{phase} for {game_date} is already running (run {holder_id}, {who}, started "
                            f"{started:%Y-%m-%d %H:%M:%S} UTC); wait for it to finish or retry with --wait SECONDS")
        time.sleep(poll_s)


def finish_phase(con: duckdb.DuckDBPyConnection, run: PhaseRun, status: str, rows: int | None = None,
                 error: str | None = None) -> PhaseRun:
    """Close a run record with its status (ok | failed | blocked | skipped), rows and error."""
    run.status, run.rows, run.error = status, rows, error
    finish_record(con, run.run_id, status, rows, error)
    return run


@contextmanager
def phase_run(con: duckdb.DuckDBPyConnection, phase: str, game_date: dt.date, *,
              wait_s: float = 0.0) -> Iterator[PhaseRun]:
    """Claim, run and record a phase: ``ok`` on success (unless the body set another status),
    ``failed`` with the error on an exception (which is re-raised)."""
    run = claim_phase(con, phase, game_date, wait_s=wait_s)
    try:
        yield run
    except BaseException as exc:
        finish_phase(con, run, "failed", run.rows, f"{type(exc).__name__}: {exc}")
        raise
    finish_phase(con, run, run.status if run.status != "running" else "ok", run.rows, run.error)


def phase_done(con: duckdb.DuckDBPyConnection, phase: str, game_date: dt.date) -> bool:
    """Whether the phase completed ``ok`` for the date (and was not re-attempted since)."""
    row = con.execute("""SELECT status FROM phase_runs WHERE phase = ? AND date_from = ? AND date_to = ?
                         AND status IN ('ok', 'failed', 'blocked')
                         ORDER BY started_at DESC LIMIT 1""", [phase, game_date, game_date]).fetchone()
    return row is not None and row[0] == "ok"
