"""Operations commands: ``run`` (the gated daily job), ``doctor``, ``verify``; and :func:`versions`.

``run --date D`` goes through the phases in order, each behind its gate, its lock and its run record
(``phase_runs``)::

    ingest      live upstreams (or --replay DIR of saved payloads, or --data DIR of bulk files)
    analytics   gate: games for D, box scores of every final game of D-7..D-1;  builds D-7..D
    precompute  gate: analytics rows for every date (pipeline.check_inputs);     builds D-7..D
    predict     gate: feature rows for D; 'no lines' is a warning (NO_LINE predictions)
    grade       the previous game date, once all its games are final with box scores
    verify      post-run checks of D (monitor.verify) and data freshness as of D

A phase that already completed for the date is skipped unless ``--force`` (or unless a phase
before it ran in this invocation, since its inputs changed). A blocked or failed phase stops the
run with a message naming what is missing, records it, and raises an alert.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbaprops.errors import NbapropsError, PhaseGateError, SettingsError
from nbaprops.ops.alerts import Alert, AlertSink, LogSink
from nbaprops.ops.checks import Check, failed
from nbaprops.pipeline.gates import PhaseRun, phase_done, phase_run

if TYPE_CHECKING:
    import duckdb

    from nbaprops.config import Settings
    from nbaprops.ingest.live import LiveSources

__all__ = ["PHASES", "PhaseOutcome", "RunReport", "run_daily", "verify_phase", "versions"]

log = logging.getLogger(__name__)

PHASES = ("ingest", "analytics", "precompute", "predict", "grade", "verify")
Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


# --------------------------------------------------------------------------- versions


def versions(settings: Settings | None = None) -> dict[str, Any]:
    """Package, schema and feature versions, plus the served model set and each system's model version.

    ``model_versions`` are exactly what a prediction row's ``model_version`` holds
    (``<model set>:<system model version>``). Reads the manifest only (no model load).

    Args:
        settings: where the model registry is; None reports no model information.

    Returns:
        ``{"package", "schema", "feature_versions", "feature_version", "model_set",
        "model_feature_version", "model_versions"}`` (+ ``"model_error"`` when the registry is unusable).
    """
    from nbaprops import __version__
    from nbaprops.errors import ModelError
    from nbaprops.features.definitions import FEATURE_VERSIONS
    from nbaprops.features.reader import FEATURE_VERSION
    from nbaprops.models.registry import read_manifest, served_model_set
    from nbaprops.warehouse import SCHEMA_VERSION

    info: dict[str, Any] = {"package": __version__, "schema": SCHEMA_VERSION,
                            "feature_versions": sorted(FEATURE_VERSIONS), "feature_version": FEATURE_VERSION,
                            "model_set": None, "model_feature_version": None, "model_versions": {}}
    if settings is None:
        return info
    try:
        model_set = served_model_set(settings.model_path, required=False)
        if model_set is not None:
            manifest = read_manifest(settings.model_path, model_set)
            info["model_set"] = model_set
            info["model_feature_version"] = manifest.get("feature_version")
            info["model_versions"] = {sid: f"{model_set}:{v}" for sid, v in
                                      dict(manifest.get("model_versions", {})).items()}
    except ModelError as exc:
        info["model_error"] = str(exc)
    return info


# --------------------------------------------------------------------------- the daily run


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


class _Blocked(Exception):
    """A gate refused the phase (message names what is missing)."""


class _Skipped(Exception):
    """Nothing to do for the phase (message says why)."""


def verify_phase(con: duckdb.DuckDBPyConnection, settings: Settings, game_date: dt.date) -> list[Check]:
    """The post-run checks of a date plus data freshness as of that date."""
    from nbaprops.features.reader import FEATURE_VERSION
    from nbaprops.ops.doctor import freshness_checks
    from nbaprops.ops.verify import verify_date

    checks = verify_date(con, settings, game_date)
    checks += freshness_checks(con, game_date, feature_version=FEATURE_VERSION)
    return checks


def run_daily(con: duckdb.DuckDBPyConnection, settings: Settings, game_date: dt.date, *,
              data_dir: Path | None = None, sources: LiveSources | None = None,
              only: tuple[str, ...] | None = None, force: bool = False, allow_incomplete: bool = False,
              workers: int = 1, wait_s: float = 0.0, sink: AlertSink | None = None,
              progress: Progress = _noop) -> RunReport:
    """Run the daily phases for one date (see the module docstring).

    Args:
        con: warehouse connection.
        settings: settings.
        game_date: the US/Eastern date to run.
        data_dir: ingest bulk files from this directory instead of the live sources.
        sources: live (or replay) sources for ingest when ``data_dir`` is None.
        only: run only these phases (in the usual order).
        force: re-run phases that already completed for the date.
        allow_incomplete: missing box scores warn instead of blocking analytics.
        workers: prediction worker processes.
        wait_s: how long to wait for a phase another thread of this process is running.
        sink: where alerts go (default: the log).
        progress: called with a line before each phase.

    Returns:
        The report; ``status`` is ``ok`` only when no phase was blocked or failed and verify passed.

    Raises:
        LockError: the phase is held by another live run for the date (after ``wait_s``); a phase's own
            failure never raises, it is in the report.
    """
    from nbaprops.features.reader import FEATURE_VERSION

    t0 = time.perf_counter()
    sink = sink or LogSink()
    report = RunReport(game_date)
    wanted = tuple(p for p in PHASES if only is None or p in only)
    upstream_ran = False

    def fire(alert: Alert) -> None:
        report.alerts.append(alert)
        sink.send(alert)

    def warn(text: str) -> None:
        report.warnings.append(text)

    lo = game_date - dt.timedelta(days=7)
    for phase in wanted:
        if phase == "grade":
            from nbaprops.pipeline.gates import previous_game_date

            prev = previous_game_date(con, game_date)
            if prev is None:
                report.phases.append(PhaseOutcome(phase, game_date, "skipped", detail="no earlier game date"))
                continue
            record_date = prev
        else:
            record_date = game_date
        if report.no_slate and phase != "grade":
            report.phases.append(PhaseOutcome(phase, record_date, "skipped",
                                              detail=f"no games on {game_date} (the scoreboard lists none)"))
            continue
        if phase != "verify" and not force and not upstream_ran and phase_done(con, phase, record_date):
            report.phases.append(PhaseOutcome(phase, record_date, "skipped",
                                              detail="already done for this date (--force re-runs it)"))
            continue
        progress(f"{phase} {record_date}")
        outcome = PhaseOutcome(phase, record_date, "ok")
        with phase_run(con, phase, record_date, wait_s=wait_s) as run:
            outcome.run_id = run.run_id
            try:
                _run_phase(phase, con, settings, game_date, record_date, lo, run, outcome,
                           data_dir=data_dir, sources=sources, allow_incomplete=allow_incomplete,
                           workers=workers, feature_version=FEATURE_VERSION, warn=warn, fire=fire,
                           report=report)
            except (_Blocked, PhaseGateError) as exc:
                run.status, run.error, outcome.status, outcome.detail = "blocked", str(exc), "blocked", str(exc)
            except _Skipped as exc:
                run.status, run.error, outcome.status, outcome.detail = "skipped", str(exc), "skipped", str(exc)
            except Exception as exc:     # incl. a coordinator BatchConflictError: the predict phase failed
                # recorded and alerted like any failure; the traceback goes to the log for debugging
                if not isinstance(exc, NbapropsError):
                    log.exception("%s for %s failed", phase, record_date)
                run.status, run.error = "failed", f"{type(exc).__name__}: {exc}"
                outcome.status = "failed"
                outcome.detail = str(exc) if isinstance(exc, NbapropsError) else run.error
            outcome.rows = run.rows
            outcome.seconds = run.seconds
        report.phases.append(outcome)
        if outcome.status == "blocked":
            fire(Alert("gate_blocked", f"{phase} for {record_date} blocked by its gate", outcome.detail, "error",
                       record_date))
        elif outcome.status == "failed" and phase != "verify":     # verify alerted per failed check
            fire(Alert("phase_failed", f"{phase} for {record_date} failed", outcome.detail, "error", record_date))
        if outcome.status in ("ok", "skipped"):
            upstream_ran = upstream_ran or outcome.status == "ok"
            continue
        if phase == "grade":
            continue    # verify still checks the slate (its coverage check reports the grading gap)
        break
    report.seconds = time.perf_counter() - t0
    return report


def _run_phase(phase: str, con: duckdb.DuckDBPyConnection, settings: Settings, game_date: dt.date,
               record_date: dt.date, lo: dt.date, run: PhaseRun, outcome: PhaseOutcome, *,
               data_dir: Path | None, sources: LiveSources | None, allow_incomplete: bool, workers: int,
               feature_version: str, warn: Callable[[str], None], fire: Callable[[Alert], None],
               report: RunReport) -> None:
    """One phase's body: gates, work, rows and detail (raises _Blocked / _Skipped / NbapropsError)."""
    from nbaprops.pipeline import gates

    d = game_date
    if phase == "ingest":
        if data_dir is not None:
            from nbaprops.pipeline.backfill import BackfillReport, load_files

            bf = BackfillReport()
            load_files(con, data_dir, bf)
            run.rows = sum(bf.loaded.values()) + sum(int(v.get("snapshots", 0)) for v in bf.lines.values())
            outcome.detail = (f"{len(bf.loaded) + len(bf.lines)} file group(s) from {data_dir}, "
                              f"{len(bf.skipped)} skipped")
            for f, why in bf.skipped:
                warn(f"ingest: skipped {f}: {why}")
            return
        if sources is None:
            raise SettingsError("ingest needs live sources, --replay DIR or --data DIR")
        from nbaprops.ingest.live import ingest_live

        live = ingest_live(con, d, sources, landing_dir=Path(settings.db).parent / "landing")
        run.rows = live.rows
        report.no_slate = live.slate_games == 0
        outcome.detail = (f"{live.payloads} payloads, {live.games} games, {live.boxscores_written} box-score rows "
                          f"({live.boxscores_kept} kept from bulk files), {live.event_odds}/{live.events} events' "
                          f"odds, {live.lines.get('snapshots', 0)} new line snapshots")
        for w in live.warnings:
            warn(f"ingest: {w}")
            fire(Alert("ingest_incomplete", f"ingest of {d}: some odds were not fetched", w, "warning", d))
        return

    if phase == "analytics":
        from nbaprops.pipeline.backfill import run_phases

        sched = gates.schedule_gate(con, d)
        if not sched.ok:
            raise _Blocked(sched.message())
        box = gates.boxscore_gate(con, d)
        if not box.ok:
            if not allow_incomplete:
                raise _Blocked(box.message() + "; load them (re-run ingest) or pass --allow-incomplete")
            warn(box.message())
            fire(Alert("boxscores_incomplete", f"analytics for {d} ran with missing box scores", box.message(),
                       "warning", d))
        counts = run_phases(con, settings, lo, d, phases=("analytics",))
        run.rows = sum(counts.values())
        outcome.detail = f"{lo}..{d}: " + ", ".join(f"{k}={v}" for k, v in counts.items())
        return

    if phase == "precompute":
        from nbaprops.pipeline.backfill import run_phases

        counts = run_phases(con, settings, lo, d, phases=("precompute", "feature_store"))
        run.rows = sum(counts.values())
        outcome.detail = f"{lo}..{d}: " + ", ".join(f"{k}={v}" for k, v in counts.items())
        return

    if phase == "predict":
        from nbaprops.ops.verify import batch_alerts
        from nbaprops.predict.coordinator import start_batch

        feats = gates.features_gate(con, d, feature_version)
        if not feats.ok:
            raise _Blocked(feats.message())
        lines = gates.lines_gate(con, d)
        for w in lines.warnings:
            warn(f"predict: {w}")
            fire(Alert("no_lines", f"no lines for {d}", w, "warning", d))
        res = start_batch(con, settings, d, min_minutes=settings.rotation_min_minutes, workers=workers)
        run.rows = res.rows
        outcome.detail = (f"batch {res.batch_id} {res.status}: {res.expected_players} players, {res.rows} rows, "
                          f"{res.quarantined_lines} quarantined lines, model set {res.model_set}")
        if res.failed_players:
            fire(Alert("batch_failed_players", f"prediction batch {res.batch_id} failed for "
                                               f"{res.failed_players} player(s)", "see table prediction_skips",
                       "error", d))
        for sid, err in res.system_failures.items():
            fire(Alert("system_stopped", f"system {sid} stopped by its circuit breaker", err, "warning", d))
        for alert in batch_alerts(con, d):
            fire(alert)
        return

    if phase == "grade":
        from nbaprops.evaluate.grade import grade_dates

        gate = gates.grade_gate(con, record_date)
        if not gate.ok:
            if gate.missing and gate.missing[0].startswith("no predictions"):
                raise _Skipped(f"no predictions for {record_date} to grade")
            raise _Blocked(gate.message())
        n = grade_dates(con, record_date, record_date)
        run.rows = n
        outcome.detail = f"graded {n} predictions of {record_date}"
        return

    if phase == "verify":
        from nbaprops.ops.verify import alerts_from_checks

        checks = verify_phase(con, settings, d)
        report.checks = checks
        bad = failed(checks)
        run.rows = len(checks)
        for alert in alerts_from_checks(checks, d):
            fire(alert)
        for c in checks:
            if c.ok and c.level == "warn":
                warn(f"verify: {c.name}: {c.detail}")
        if bad:
            run.status = "failed"
            run.error = "; ".join(f"{c.name}: {c.detail}" for c in bad)
            outcome.status = "failed"
            outcome.detail = f"{len(bad)} of {len(checks)} checks failed: {run.error}"
        else:
            outcome.detail = f"{len(checks)} checks passed"
        return
    raise ValueError(f"unknown phase {phase!r}")
