"""CLI verbs of operations: ``run`` (the gated daily job), ``doctor`` and ``verify``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from nbaprops.errors import LockError, SettingsError
from nbaprops.ops.checks import Check, failed
from nbaprops.pipeline.runner import PHASES, run_daily

if TYPE_CHECKING:
    import duckdb

__all__ = ["register"]


# --------------------------------------------------------------------------- CLI


def _open(wait_s: float) -> duckdb.DuckDBPyConnection:
    """The CLI's warehouse connection, retried while another process holds the file (``--wait``)."""
    from nbaprops.cli import root as cli

    deadline = time.monotonic() + max(0.0, wait_s)
    while True:
        try:
            return cast("duckdb.DuckDBPyConnection", cli._connect())
        except LockError as exc:
            if time.monotonic() >= deadline:
                hint = f" (waited {wait_s:.0f} s)" if wait_s else "; or pass --wait SECONDS to wait for it"
                raise LockError(f"{exc}{hint}") from None
            time.sleep(1.0)


def _parse_only(only: str | None) -> tuple[str, ...] | None:
    if not only:
        return None
    names = tuple(p.strip().lower() for p in only.split(",") if p.strip())
    unknown = [p for p in names if p not in PHASES]
    if unknown:
        raise typer.BadParameter(f"unknown phase(s) {unknown}; phases: {', '.join(PHASES)}")
    return names


def _print_checks(title: str, checks: list[Check]) -> None:
    from rich.table import Table

    from nbaprops.cli import root as cli

    t = Table(title=title)
    for col in ("check", "", "detail"):
        t.add_column(col)
    for c in checks:
        mark = {"ok": "[green]ok[/]", "warn": "[yellow]warn[/]", "fail": "[red]FAIL[/]"}[c.level]
        t.add_row(c.name, mark, c.detail)
    cli.out.print(t)


def register(app: typer.Typer) -> None:
    """Add ``run``, ``doctor`` and ``verify`` to the CLI."""

    @app.command("run")
    def run_cmd(
        date: Annotated[str, typer.Option("--date", help="game date: YYYY-MM-DD, today, yesterday")],
        force: Annotated[bool, typer.Option("--force", help="re-run phases already done for the date")] = False,
        data: Annotated[Path | None, typer.Option("--data", envvar="NBAPROPS_RUN_DATA",
                                                  help="ingest bulk files from DIR instead of the live sources")] = None,
        replay: Annotated[Path | None, typer.Option("--replay", envvar="NBAPROPS_REPLAY",
                                                    help="ingest saved payloads from DIR (a day saved by a live run "
                                                         "under <db dir>/landing/payloads/DATE)")] = None,
        only: Annotated[str | None, typer.Option("--only", help=f"comma-separated phases of {', '.join(PHASES)}")
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
        from nbaprops.cli import root as cli
        from nbaprops.ingest.live import make_sources, missing_live_settings
        from nbaprops.ops.alerts import make_sink

        d = cli._date(date)
        phases = _parse_only(only)
        s = cli.settings()
        if data is not None and replay is not None:
            raise typer.BadParameter("give --data or --replay, not both")
        needs_ingest = phases is None or "ingest" in phases
        if needs_ingest and data is None and replay is None and (missing := missing_live_settings(s)):
            raise SettingsError(
                "`nbaprops run` without --data fetches live data and needs settings that are missing:\n"
                + "\n".join(f"  - {m}" for m in missing)
                + "\nSet them in the environment (export NBAPROPS_ODDS_API_KEY=...) or in a .env file in the "
                  "working directory, or run with --data DIR to ingest bulk files instead.")
        if data is not None and not data.is_dir():
            raise typer.BadParameter(f"--data {data}: not a directory")
        if replay is not None and not replay.is_dir():
            raise typer.BadParameter(f"--replay {replay}: not a directory")
        con = _open(wait)
        sources = None
        try:
            if needs_ingest and data is None:
                sources = make_sources(s, replay=replay,
                                       store_dir=Path(s.db).parent / "landing" / "payloads" / str(d))
            cli.console.print(f"run {d}: phases {', '.join(phases or PHASES)}")
            report = run_daily(con, s, d, data_dir=data, sources=sources, only=phases, force=force,
                               allow_incomplete=allow_incomplete, workers=workers, wait_s=wait,
                               sink=make_sink(s), progress=lambda line: cli.console.print(f"run {d}: {line}"))
        finally:
            if sources is not None:
                sources.close()
            con.close()
        if as_json:
            cli._emit(report.as_dict())
        else:
            from rich.table import Table

            t = Table(title=f"run {d}: {report.status} in {report.seconds:.1f}s")
            for c in ("phase", "date", "status", "rows", "seconds", "detail"):
                t.add_column(c)
            for p in report.phases:
                t.add_row(p.phase, str(p.game_date), p.status, "" if p.rows is None else f"{p.rows:,}",
                          f"{p.seconds:.1f}", p.detail)
            cli.out.print(t)
            for w in report.warnings:
                cli.console.print(f"[yellow]warning:[/] {w}")
        if report.status != "ok":
            cli.console.print(f"[red]error:[/] {report.problem}")
            raise typer.Exit(1)

    @app.command("doctor")
    def doctor_cmd(
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
        alert: Annotated[bool, typer.Option("--alert", help="send failures to the alert sink too")] = False,
    ) -> None:
        """Check settings, warehouse and schema, models, data freshness, API keys and disk space."""
        from nbaprops.cli import root as cli
        from nbaprops.ops.alerts import make_sink
        from nbaprops.ops.doctor import run_doctor
        from nbaprops.ops.verify import alerts_from_checks

        checks = run_doctor(cli.settings)
        if alert and failed(checks) and cli.state.settings is not None:
            sink = make_sink(cli.state.settings)
            for a in alerts_from_checks(checks, None, source="doctor"):
                sink.send(a)
        if as_json:
            cli._emit([c.as_dict() for c in checks])
        else:
            bad = failed(checks)
            _print_checks(f"nbaprops doctor: {'all checks pass' if not bad else f'{len(bad)} failing'}", checks)
        if failed(checks):
            raise typer.Exit(1)

    @app.command("verify")
    def verify_cmd(
        date: Annotated[str, typer.Option("--date", help="game date to verify")],
        as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
    ) -> None:
        """Post-run checks of a date's predictions (exit 1 and an alert on any failure)."""
        from nbaprops.cli import root as cli
        from nbaprops.ops.alerts import make_sink

        d = cli._date(date)
        s = cli.settings()
        con = _open(0.0)
        try:
            report = run_daily(con, s, d, only=("verify",), sink=make_sink(s))
        finally:
            con.close()
        checks = report.checks
        if as_json:
            cli._emit([c.as_dict() for c in checks])
        else:
            _print_checks(f"verify {d}: {'ok' if not failed(checks) else f'{len(failed(checks))} failing'}", checks)
        if report.status != "ok":
            if not checks:
                cli.console.print(f"[red]error:[/] {report.problem}")
            raise typer.Exit(1)
