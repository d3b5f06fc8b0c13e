"""CLI verbs of operations: ``run`` (the gated daily job), ``doctor`` and ``verify``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nbaprops.cli.common import console, date_option, emit, out, project, settings
from nbaprops.errors import NbapropsError
from nbaprops.ops.checks import Check, failed
from nbaprops.pipeline.registry import DEFAULT_PHASE_NAMES, PHASE_NAMES
from nbaprops.pipeline.runner import parse_phases

__all__ = ["register"]


def _print_checks(title: str, checks: list[Check]) -> None:
    t = Table(title=title)
    for col in ("check", "", "detail"):
        t.add_column(col)
    for c in checks:
        mark = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}[c.level]
        t.add_row(c.name, mark, c.detail)
    out.print(t)


def run_cmd(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="game date: YYYY-MM-DD, today, yesterday")],
    force: Annotated[bool, typer.Option("--force", help="re-run phases already done for the date")] = False,
    data: Annotated[Path | None, typer.Option("--data", envvar="NBAPROPS_RUN_DATA",
                                              help="ingest bulk files from DIR instead of the live sources")] = None,
    replay: Annotated[Path | None, typer.Option("--replay", envvar="NBAPROPS_REPLAY",
                                                help="ingest saved payloads from DIR (a day saved by a live run "
                                                     "under <db dir>/landing/payloads/DATE)")] = None,
    only: Annotated[str | None, typer.Option("--only", help=f"comma-separated phases of {', '.join(PHASE_NAMES)} "
                                                                 "(watch runs only when named)")
                    ] = None,
    allow_incomplete: Annotated[bool, typer.Option("--allow-incomplete",
                                                   help="missing box scores warn instead of blocking")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, envvar="NBAPROPS_WORKERS",
                                         help="prediction worker processes")] = 1,
    wait: Annotated[float, typer.Option("--wait", min=0, envvar="NBAPROPS_WAIT",
                                        help="seconds to wait for another run holding the warehouse")] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """The daily job for a date: ingest -> analytics -> precompute -> predict, grade the previous
    date, verify. Each phase is gated, locked and recorded in phase_runs."""
    d = date_option(date)
    try:
        phases = parse_phases(only)
    except KeyError as exc:
        raise typer.BadParameter(str(exc.args[0])) from None
    if data is not None and replay is not None:
        raise typer.BadParameter("give --data or --replay, not both")
    if data is not None and not data.is_dir():
        raise typer.BadParameter(f"--data {data}: not a directory")
    if replay is not None and not replay.is_dir():
        raise typer.BadParameter(f"--replay {replay}: not a directory")
    p = project(ctx, wait_s=wait)
    console.print(f"run {d}: phases {', '.join(phases or DEFAULT_PHASE_NAMES)}")
    report = p.run(d, data_dir=data, replay=replay, only=phases, force=force, allow_incomplete=allow_incomplete,
                   workers=workers, progress=lambda line, _done, _total: console.print(f"run {d}: {line}"))
    if as_json:
        emit(report.as_dict())
    else:
        t = Table(title=f"run {d}: {report.status} in {report.seconds:.1f}s")
        for c in ("phase", "date", "status", "rows", "seconds", "detail"):
            t.add_column(c)
        for ph in report.phases:
            t.add_row(ph.phase, str(ph.game_date), ph.status, "" if ph.rows is None else f"{ph.rows:,}",
                      f"{ph.seconds:.1f}", ph.detail)
        out.print(t)
        for w in report.warnings:
            console.print(f"[yellow]warning:[/] {w}")
    if report.status != "ok":
        console.print(f"[red]error:[/] {report.problem}")
        raise typer.Exit(1)


def doctor_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    alert: Annotated[bool, typer.Option("--alert", help="send failures to the alert sink too")] = False,
) -> None:
    """Check settings, warehouse and schema, models, data freshness, API keys and disk space."""
    from nbaprops.ops.verify import alerts_from_checks
    from nbaprops.project import Project

    checks = Project.health(lambda: settings(ctx))
    if alert and failed(checks):
        try:
            p = project(ctx)
        except NbapropsError:
            p = None     # invalid settings: the checks already say so, and there is no sink to use
        if p is not None:
            for a in alerts_from_checks(checks, None, source="doctor"):
                p.alert_sink.send(a)
    if as_json:
        emit([c.as_dict() for c in checks])
    else:
        bad = failed(checks)
        _print_checks(f"nbaprops doctor: {'all checks pass' if not bad else f'{len(bad)} failing'}", checks)
    if failed(checks):
        raise typer.Exit(1)


def verify_cmd(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="game date to verify")],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Post-run checks of a date's predictions (exit 1 and an alert on any failure)."""
    d = date_option(date)
    report = project(ctx).verify(d)
    checks = report.checks
    if as_json:
        emit([c.as_dict() for c in checks])
    else:
        _print_checks(f"verify {d}: {'ok' if not failed(checks) else f'{len(failed(checks))} failing'}", checks)
    if report.status != "ok":
        if not checks:
            console.print(f"[red]error:[/] {report.problem}")
        raise typer.Exit(1)


def injuries_cmd(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="game date of the run: YYYY-MM-DD, today, yesterday")] = "today",
    at: Annotated[str | None, typer.Option("--at", help="latest report time to try, HH:MM US/Eastern on --date "
                                                        "(default: now, or the date's end for a past date)")] = None,
    replay: Annotated[Path | None, typer.Option("--replay", help="read saved payloads from DIR")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Fetch the latest official NBA injury report and land it (run it on a schedule, e.g. every 30 min)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    d = date_option(date)
    when = None
    if at is not None:
        try:
            clock = dt.time.fromisoformat(at)
        except ValueError:
            raise typer.BadParameter(f"--at {at!r}: expected HH:MM (US/Eastern)") from None
        when = dt.datetime.combine(d, clock, tzinfo=ZoneInfo("America/New_York"))
    stats = project(ctx).fetch_injury_report(d, at=when, replay=replay)
    if as_json:
        emit(stats)
        return
    out.print(f"injury report of {stats['report_time']} ({stats['url']}): {stats['loaded']} row(s) landed, "
              f"{stats['players']} player(s) ({stats['unmatched']} name(s) unresolved), "
              f"{stats['not_yet_submitted']} team(s) not yet submitted, {stats['quarantined']} quarantined; "
              f"{stats['probes']} time(s) tried")


def register(app: typer.Typer) -> None:
    """Add ``run``, ``injuries``, ``doctor`` and ``verify`` to the CLI."""
    app.command("run")(run_cmd)
    app.command("injuries")(injuries_cmd)
    app.command("doctor")(doctor_cmd)
    app.command("verify")(verify_cmd)
