"""The daily run: every phase of :mod:`nbaprops.pipeline.registry` for one date, in registry order,
each behind its gate, its lock and its run record (``phase_runs``).

A phase that already completed for the date is skipped unless ``force`` (or unless a phase before it
ran in this invocation, since its inputs changed). A blocked or failed phase stops the run with a
message naming what is missing, records it and raises an alert; a failed grade does not stop
``verify``, which then reports the grading gap.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaprops.errors import NbapropsError, PhaseGateError, PhaseSkipped
from nbaprops.ops.alerts import Alert, AlertSink, LogSink
from nbaprops.ops.checks import Check
from nbaprops.pipeline import registry
from nbaprops.pipeline.gates import phase_done, phase_run, previous_game_date, release_all_abandoned
from nbaprops.pipeline.phases import PhaseContext
from nbaprops.progress import Progress, no_progress

if TYPE_CHECKING:
    import duckdb

    from nbaprops.config import Settings
    from nbaprops.ingest.live import LiveSources

__all__ = ["PHASES", "PhaseOutcome", "RunReport", "parse_phases", "run_daily"]

log = logging.getLogger(__name__)

#: The phase names in order (read from the registry).
PHASES = registry.PHASE_NAMES


@dataclass
class PhaseOutcome:
    """How one phase of a run ended."""

    phase: str
    game_date: dt.date
    status: str                 # ok | skipped | blocked | failed
    rows: int | None = None
    seconds: float = 0.0
    detail: str = ""
    run_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"phase": self.phase, "game_date": str(self.game_date), "status": self.status, "rows": self.rows,
                "seconds": self.seconds, "detail": self.detail, "run_id": self.run_id}


@dataclass
class RunReport:
    """Everything a daily run did, warned about and alerted on."""

    game_date: dt.date
    phases: list[PhaseOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0
    #: the ingested scoreboard lists no game on the date (an off day): nothing to build or predict
    no_slate: bool = False

    @property
    def status(self) -> str:
        """``ok``, or the first ``blocked``/``failed`` phase status."""
        bad = [p.status for p in self.phases if p.status in ("blocked", "failed")]
        return bad[0] if bad else "ok"

    @property
    def problem(self) -> str | None:
        """The first blocked/failed phase's message."""
        bad = [p for p in self.phases if p.status in ("blocked", "failed")]
        return f"{bad[0].phase} for {bad[0].game_date} {bad[0].status}: {bad[0].detail}" if bad else None

    def as_dict(self) -> dict[str, Any]:
        return {"game_date": str(self.game_date), "status": self.status, "problem": self.problem,
                "phases": [p.as_dict() for p in self.phases], "warnings": self.warnings,
                "alerts": [a.as_dict() for a in self.alerts], "checks": [c.as_dict() for c in self.checks],
                "seconds": round(self.seconds, 2)}


def parse_phases(only: str | None) -> tuple[str, ...] | None:
    """``"analytics,precompute"`` -> the names; None for all.

    Raises:
        KeyError: an unknown phase (the message lists the phases).
    """
    if not only:
        return None
    names = tuple(p.strip().lower() for p in only.split(",") if p.strip())
    for n in names:
        registry.phase(n)
    return names


def run_daily(con: duckdb.DuckDBPyConnection, settings: Settings, game_date: dt.date, *,
              data_dir: Path | None = None, sources: LiveSources | None = None,
              only: tuple[str, ...] | None = None, force: bool = False, allow_incomplete: bool = False,
              workers: int = 1, wait_s: float = 0.0, sink: AlertSink | None = None,
              progress: Progress = no_progress) -> RunReport:
    """Run the registry's phases for one date.

    Args:
        con: warehouse connection.
        settings: settings.
        game_date: the US/Eastern date to run.
        data_dir: ingest bulk files from this directory instead of the live sources.
        sources: live (or replay) sources for ingest when ``data_dir`` is None.
        only: run only these phases (in registry order).
        force: re-run phases that already completed for the date.
        allow_incomplete: missing box scores warn instead of blocking analytics.
        workers: prediction worker processes.
        wait_s: how long to wait for a phase another thread of this process is running.
        sink: where alerts go (default: the log).
        progress: called before each phase with ``("<phase> <date>", phases done, phases to run)``.

    Returns:
        The report; ``status`` is ``ok`` only when no phase was blocked or failed and verify passed.

    Raises:
        LockError: the phase is held by another live run for the date (after ``wait_s``); a phase's own
            failure never raises, it is in the report.
    """
    t0 = time.perf_counter()
    sink = sink or LogSink()
    report = RunReport(game_date)
    release_all_abandoned(con)     # records a dead run left 'running', whatever their phase or date
    upstream_ran = False

    def fire(alert: Alert) -> None:
        report.alerts.append(alert)
        sink.send(alert)

    wanted = [ph for ph in registry.PHASES if (ph.name in only if only is not None else not ph.optional)]
    for i, ph in enumerate(wanted):
        if ph.target == "previous":
            prev = previous_game_date(con, game_date)
            if prev is None:
                report.phases.append(PhaseOutcome(ph.name, game_date, "skipped", detail="no earlier game date"))
                continue
            record_date = prev
        else:
            record_date = game_date
        if report.no_slate and ph.target == "date":
            report.phases.append(PhaseOutcome(ph.name, record_date, "skipped",
                                              detail=f"no games on {game_date} (the scoreboard lists none)"))
            continue
        if ph.skip_when_done and not force and not upstream_ran and phase_done(con, ph.name, record_date):
            report.phases.append(PhaseOutcome(ph.name, record_date, "skipped",
                                              detail="already done for this date (--force re-runs it)"))
            continue
        progress(f"{ph.name} {record_date}", i, len(wanted))
        outcome = PhaseOutcome(ph.name, record_date, "ok")
        with phase_run(con, ph.name, record_date, wait_s=wait_s) as run:
            outcome.run_id = run.run_id
            ctx = PhaseContext(con=con, settings=settings, game_date=game_date, record_date=record_date,
                               date_from=game_date - dt.timedelta(days=ph.lookback_days), run=run,
                               warn=report.warnings.append, fire=fire, data_dir=data_dir, sources=sources,
                               allow_incomplete=allow_incomplete, workers=workers,
                               phases=registry.PHASES)
            try:
                ph.run(ctx)
                outcome.detail = ctx.detail
                report.no_slate = report.no_slate or ctx.no_slate
                report.checks = ctx.checks or report.checks
                if ctx.failed_checks:
                    outcome.status = "failed"
            except PhaseGateError as exc:
                run.status, run.error, outcome.status, outcome.detail = "blocked", str(exc), "blocked", str(exc)
            except PhaseSkipped as exc:
                run.status, run.error, outcome.status, outcome.detail = "skipped", str(exc), "skipped", str(exc)
            except Exception as exc:     # incl. a coordinator BatchConflictError: the phase failed
                # recorded and alerted like any failure; the traceback goes to the log for debugging
                if not isinstance(exc, NbapropsError):
                    log.exception("%s for %s failed", ph.name, record_date)
                run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
                outcome.status = "failed"
                outcome.detail = str(exc) if isinstance(exc, NbapropsError) else run.error
            outcome.rows = run.rows
            outcome.seconds = run.seconds
        report.phases.append(outcome)
        if outcome.status == "blocked":
            fire(Alert(kind="gate_blocked", title=f"{ph.name} for {record_date} blocked by its gate",
                       detail=outcome.detail, severity="error", game_date=record_date))
        elif outcome.status == "failed" and ph.name != "verify":     # verify alerted per failed check
            fire(Alert(kind="phase_failed", title=f"{ph.name} for {record_date} failed", detail=outcome.detail,
                       severity="error", game_date=record_date))
        if outcome.status in ("ok", "skipped"):
            upstream_ran = upstream_ran or outcome.status == "ok"
            continue
        if ph.target == "previous":
            continue    # verify still checks the slate (its coverage check reports the grading gap)
        break
    report.seconds = time.perf_counter() - t0
    return report
