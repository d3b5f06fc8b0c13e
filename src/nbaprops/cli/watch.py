"""CLI verb ``watch``: capture a slate's lines on a schedule (docs/market-watch.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nbaprops.cli.common import console, date_option, emit, out, project
from nbaprops.errors import BudgetExceededError, SourceError

__all__ = ["register"]

#: exit code when a budget or the quota stopped the watch (1: any other error, e.g. a rejected key)
EXIT_BUDGET = 3


def _split(value: str | None) -> list[str] | None:
    return [x.strip().lower() for x in value.split(",") if x.strip()] if value else None


def watch_cmd(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="game date: YYYY-MM-DD or today")],
    markets: Annotated[str | None, typer.Option("--markets", help="comma-separated market keys "
                                                                  "(default player_points)")] = None,
    books: Annotated[str | None, typer.Option("--books", help="comma-separated bookmaker keys "
                                                              "(default: every book of the us region)")] = None,
    replay: Annotated[Path | None, typer.Option("--replay", help="run against a local replay of The Odds API "
                                                                 "serving this recorded file (simulated clock)")
                      ] = None,
    once: Annotated[bool, typer.Option("--once", help="one pass of the pulls due now, then exit")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Poll The Odds API event odds of the date's events at the cadence and before each tip-off, until the
    last tip-off; every payload is stored with its fetch time, within the daily and monthly budgets."""
    d = date_option(date)
    p = project(ctx)
    console.print(f"watch {d}: {'replay of ' + str(replay) if replay else 'The Odds API'}")
    try:
        report = p.watch(d, markets=_split(markets), books=_split(books), replay=replay, once=once,
                         progress=lambda line, _done, _total: console.print(f"watch {d}: {escape(line)}"))
    except BudgetExceededError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(EXIT_BUDGET) from None
    except SourceError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    if as_json:
        emit(report.as_dict())
        return
    info = report.as_dict()
    t = Table(title=f"watch {d}: {info['pulls']} pull(s) of {info['events']} event(s)")
    for c in ("event", "slot", "fetched at", "outcomes", "snapshots", "cost"):
        t.add_column(c)
    for r in report.pulls:
        t.add_row(r.event_id, r.slot_kind, f"{r.fetched_at:%Y-%m-%d %H:%M:%S}Z", str(r.outcome_rows),
                  str(r.snapshots), "" if r.cost is None else str(r.cost))
    out.print(t)
    out.print(f"{info['snapshots']} line snapshots stored for the slate; {info['requests_spent']} request(s) spent, "
              f"quota remaining {info['quota_remaining']}")
    for s in report.skipped:
        console.print(f"[yellow]skipped:[/] {escape(s)}")


def register(app: typer.Typer) -> None:
    """Add ``watch`` to the CLI."""
    app.command("watch")(watch_cmd)
