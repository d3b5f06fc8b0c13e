"""The body of each phase of the daily run, one function per phase (declared in
:mod:`nbaprops.pipeline.registry`).

Every function takes a :class:`PhaseContext`, checks its gate, does the work and sets the run's rows
and detail. A gate that refuses raises :class:`~nbaprops.errors.PhaseBlockedError`; a phase with
nothing to do raises :class:`~nbaprops.errors.PhaseSkipped`; any other error is a failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nbaprops.errors import PhaseBlockedError, PhaseSkipped, SettingsError
from nbaprops.ops.alerts import Alert
from nbaprops.ops.checks import Check, failed
from nbaprops.pipeline import gates

if TYPE_CHECKING:
    import duckdb

    from nbaprops.config import Settings
    from nbaprops.ingest.live import LiveSources
    from nbaprops.pipeline.gates import PhaseRun
    from nbaprops.pipeline.registry import Phase

__all__ = ["PhaseContext", "analytics", "grade", "ingest", "precompute", "predict", "run_records_check", "verify",
           "verify_checks", "watch"]


@dataclass
class PhaseContext:
    """What a phase body gets: the warehouse, settings, the dates, the run record and the options."""

    con: duckdb.DuckDBPyConnection
    settings: Settings
    game_date: dt.date
    #: the date the phase records (``game_date``, or the previous game date for grade)
    record_date: dt.date
    #: first date of the rebuild window (game_date - lookback)
    date_from: dt.date
    run: PhaseRun
    warn: Callable[[str], None]
    fire: Callable[[Alert], None]
    data_dir: Path | None = None
    sources: LiveSources | None = None
    allow_incomplete: bool = False
    workers: int = 1
    #: the registry's phases (verify checks each has a run record)
    phases: Sequence[Phase] = ()
    #: set by ingest: the scoreboard lists no game on the date
    no_slate: bool = False
    detail: str = ""
    checks: list[Check] = field(default_factory=list)
    #: set by verify when a check failed (the phase then fails)
    failed_checks: list[Check] = field(default_factory=list)


def ingest(ctx: PhaseContext) -> None:
    """Bulk files from ``data_dir``, or the live (or replay) sources."""
    if ctx.data_dir is not None:
        from nbaprops.pipeline.backfill import BackfillReport, load_files

        bf = BackfillReport()
        load_files(ctx.con, ctx.data_dir, bf)
        ctx.run.rows = sum(bf.loaded.values()) + sum(int(v.get("snapshots", 0)) for v in bf.lines.values())
        n = bf.files
        ctx.detail = (f"{len(bf.loaded) + len(bf.lines)} file group(s) from {ctx.data_dir}: {n.get('read', 0)} file(s) "
                      f"read, {n.get('unchanged', 0)} unchanged, {len(bf.quarantined)} with quarantined rows, "
                      f"{len(bf.skipped)} skipped")
        for problem in bf.problems():
            ctx.warn(f"ingest: {problem}")
        return
    if ctx.sources is None:
        raise SettingsError("ingest needs live sources, --replay DIR or --data DIR")
    from nbaprops.ingest.live import ingest_live

    d = ctx.game_date
    live = ingest_live(ctx.con, d, ctx.sources, landing_dir=Path(ctx.settings.db).parent / "landing")
    ctx.run.rows = live.rows
    ctx.no_slate = live.slate_games == 0
    ctx.detail = (f"{live.payloads} payloads, {live.games} games, {live.boxscores_written} box-score rows "
                  f"({live.boxscores_kept} kept from bulk files), {live.event_odds}/{live.events} events' "
                  f"odds, {live.lines.get('snapshots', 0)} new line snapshots"
                  + (f", injury report of {live.injury_report['report_time']}" if live.injury_report else ""))
    for w in live.warnings:
        ctx.warn(f"ingest: {w}")
        what = "the injury report was" if w.startswith("injury report") else "some odds were"
        ctx.fire(Alert(kind="ingest_incomplete", title=f"ingest of {d}: {what} not fetched", detail=w,
                       severity="warning", game_date=d))


def watch(ctx: PhaseContext) -> None:
    """One pass of the line watcher for D: the Odds API pulls due now (none after the last tip-off)."""
    from nbaprops.ingest.watch import WatchPlan, run_watch

    plan = WatchPlan.from_settings(ctx.settings)
    rep = run_watch(ctx.con, ctx.settings, ctx.game_date, plan, once=True,
                    landing_dir=Path(ctx.settings.db).parent / "landing" / "watch" / str(ctx.game_date))
    ctx.run.rows = len(rep.pulls)
    info = rep.as_dict()
    ctx.detail = (f"{info['pulls']} pull(s) of {info['events']} event(s), {info['requests_spent']} request(s) spent, "
                  f"{info['snapshots']} snapshots for the slate, quota remaining {info['quota_remaining']}")
    for s in rep.skipped:
        ctx.warn(f"watch: skipped {s}")


def _build(ctx: PhaseContext, names: tuple[str, ...]) -> None:
    from nbaprops.pipeline.builds import run_phases

    counts = run_phases(ctx.con, ctx.settings, ctx.date_from, ctx.game_date, phases=names)
    ctx.run.rows = sum(counts.values())
    ctx.detail = f"{ctx.date_from}..{ctx.game_date}: " + ", ".join(f"{k}={v}" for k, v in counts.items())


def analytics(ctx: PhaseContext) -> None:
    """Gate: games for D and box scores of D-7..D-1; then the analytics build over the window."""
    d = ctx.game_date
    sched = gates.schedule_gate(ctx.con, d)
    if not sched.ok:
        raise PhaseBlockedError(sched.message())
    box = gates.boxscore_gate(ctx.con, d)
    if not box.ok:
        if not ctx.allow_incomplete:
            raise PhaseBlockedError(box.message() + "; load them (re-run ingest) or pass --allow-incomplete")
        ctx.warn(box.message())
        ctx.fire(Alert(kind="boxscores_incomplete", title=f"analytics for {d} ran with missing box scores",
                       detail=box.message(), severity="warning", game_date=d))
    _build(ctx, ("analytics",))


def precompute(ctx: PhaseContext) -> None:
    """The precompute, feature-store and market-feature builds over the window (each checks its inputs
    per date)."""
    _build(ctx, ("precompute", "feature_store", "market_features"))


def predict(ctx: PhaseContext) -> None:
    """Gate: feature rows of the served version for D; then one prediction batch."""
    from nbaprops.features.definitions import FEATURE_VERSION
    from nbaprops.ops.verify import batch_alerts
    from nbaprops.predict.coordinator import start_batch

    d = ctx.game_date
    feats = gates.features_gate(ctx.con, d, FEATURE_VERSION)
    if not feats.ok:
        raise PhaseBlockedError(feats.message())
    lines = gates.lines_gate(ctx.con, d)
    for w in lines.warnings:
        ctx.warn(f"predict: {w}")
        ctx.fire(Alert(kind="no_lines", title=f"no lines for {d}", detail=w, severity="warning", game_date=d))
    res = start_batch(ctx.con, ctx.settings, d, min_minutes=ctx.settings.rotation_min_minutes, workers=ctx.workers)
    ctx.run.rows = res.rows
    ctx.detail = (f"batch {res.batch_id} {res.status}: {res.expected_players} players, {res.rows} rows, "
                  f"{res.quarantined_lines} quarantined lines, model set {res.model_set}")
    if res.failed_players:
        ctx.fire(Alert(kind="batch_failed_players",
                       title=f"prediction batch {res.batch_id} failed for {res.failed_players} player(s)",
                       detail="see table prediction_skips", severity="error", game_date=d))
    for sid, err in res.system_failures.items():
        ctx.fire(Alert(kind="system_stopped", title=f"system {sid} stopped by its circuit breaker", detail=err,
                       severity="warning", game_date=d))
    for alert in batch_alerts(ctx.con, d):
        ctx.fire(alert)


def grade(ctx: PhaseContext) -> None:
    """Gate: the previous game date has predictions and final games with box scores; then grade it."""
    from nbaprops.evaluate.grade import grade_dates

    day = ctx.record_date
    gate = gates.grade_gate(ctx.con, day)
    if not gate.ok:
        if gate.missing and gate.missing[0].startswith("no predictions"):
            raise PhaseSkipped(f"no predictions for {day} to grade")
        raise PhaseBlockedError(gate.message())
    n = grade_dates(ctx.con, day, day)
    ctx.run.rows = n
    ctx.detail = f"graded {n} predictions of {day}"


def run_records_check(con: duckdb.DuckDBPyConnection, game_date: dt.date, phases: Sequence[Phase]) -> Check:
    """Whether every phase of the registry before ``verify`` has a successful run record for the date.

    A warning, never a failure: phases run one by one (``nbaprops predict``) leave no daily-run record,
    and ``verify`` judges the data itself.
    """
    prev = gates.previous_game_date(con, game_date)
    missing = []
    for p in phases:
        if p.name == "verify" or p.optional:
            continue
        day = prev if p.target == "previous" else game_date
        if day is not None and not gates.phase_done(con, p.name, day):
            missing.append(f"{p.name} ({day})")
    if missing:
        return Check.warning("run_records", "no successful run record for " + ", ".join(missing)
                             + " (phases run outside `nbaprops run`, or not yet run)")
    return Check.passed("run_records", "every phase of the date has a successful run record")


def verify_checks(con: duckdb.DuckDBPyConnection, settings: Settings, game_date: dt.date,
                  phases: Sequence[Phase] = ()) -> list[Check]:
    """The post-run checks of a date, the run records of its phases and data freshness as of that date."""
    from nbaprops.features.definitions import FEATURE_VERSION
    from nbaprops.ops.doctor import freshness_checks
    from nbaprops.ops.verify import verify_date

    checks = verify_date(con, settings, game_date)
    if phases:
        checks.append(run_records_check(con, game_date, phases))
    checks += freshness_checks(con, game_date, feature_version=FEATURE_VERSION)
    return checks


def verify(ctx: PhaseContext) -> None:
    """Post-run checks; failing checks fail the phase (and each is alerted)."""
    from nbaprops.ops.verify import alerts_from_checks

    d = ctx.game_date
    checks = verify_checks(ctx.con, ctx.settings, d, ctx.phases)
    ctx.checks = checks
    ctx.run.rows = len(checks)
    for alert in alerts_from_checks(checks, d):
        ctx.fire(alert)
    for c in checks:
        if c.ok and c.level == "warn":
            ctx.warn(f"verify: {c.name}: {c.detail}")
    bad = failed(checks)
    ctx.failed_checks = bad
    if bad:
        ctx.run.status = "failed"
        ctx.run.error = "; ".join(f"{c.name}: {c.detail}" for c in bad)
        ctx.detail = f"{len(bad)} of {len(checks)} checks failed: {ctx.run.error}"
    else:
        ctx.detail = f"{len(checks)} checks passed"
