"""CLI: ``nbaprops views``, ``nbaprops remediate`` and ``nbaprops restore`` (monitoring and remediation).

``nbaprops.cli`` is imported inside the commands, not at module level: the CLI imports this module
while it is itself being imported (``register_all``), and importing this module first must not
register a half-initialised module.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from nbaprops.cli.common import console, date_option, emit, out, project

__all__ = ["register"]


def views(ctx: typer.Context, as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """Row count of each monitoring view, and the placeholder alerts if there are any."""
    res = project(ctx).views()
    counts, alerts = res["views"], res["placeholder_alerts"]
    if as_json:
        emit(res)
        return
    t = Table(title="monitoring views")
    t.add_column("view")
    t.add_column("rows", justify="right")
    for name, n in counts.items():
        t.add_row(name, f"{n:,}")
    out.print(t)
    if not alerts:
        out.print("placeholder_alerts: none")
        return
    a = Table(title=f"{len(alerts)} placeholder alerts")
    cols = ("game_date", "alert", "source", "sportsbook", "n_lines", "modal_line", "modal_share")
    for c in cols:
        a.add_column(c)
    for rec in alerts:
        a.add_row(*["-" if rec.get(c) is None else str(rec[c]) for c in cols])
    console.print(a)


def remediate(
    ctx: typer.Context,
    date_from: Annotated[str, typer.Option("--from", help="first game date")],
    date_to: Annotated[str, typer.Option("--to", help="last game date")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list the failing rows, move nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Move stored predictions whose line fails today's validation rules into prediction_archive."""
    lo, hi = date_option(date_from), date_option(date_to)
    if hi < lo:
        raise typer.BadParameter("--to is before --from")
    report = project(ctx).remediate(lo, hi, dry_run=dry_run)
    if as_json:
        emit(report)
        return
    if dry_run:
        out.print(f"{report['would_archive']:,} stored predictions {lo}..{hi} fail the line gate "
                      f"(nothing moved): {report['by_reason'] or '-'}")
    else:
        out.print(f"archived {report['archived']:,} predictions {lo}..{hi}; archive now holds "
                      f"{report['archive_by_reason'] or '-'} (undo: nbaprops restore --from {lo} --to {hi})")


def restore(
    ctx: typer.Context,
    date_from: Annotated[str, typer.Option("--from", help="first game date")],
    date_to: Annotated[str, typer.Option("--to", help="last game date")],
    reason: Annotated[str | None, typer.Option("--reason", help="only rows archived for this reason")] = None,
    regrade: Annotated[bool, typer.Option("--regrade/--no-regrade",
                                          help="re-grade the range after restoring")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Move archived predictions back into player_prop_predictions, unchanged, and re-grade them."""
    lo, hi = date_option(date_from), date_option(date_to)
    if hi < lo:
        raise typer.BadParameter("--to is before --from")
    report = project(ctx).restore(lo, hi, reason=reason, regrade=regrade)
    n, graded = report["restored"], report["regraded_rows"]
    if as_json:
        emit(report)
        return
    out.print(f"restored {n:,} predictions {lo}..{hi}" + (f", re-graded {graded:,} rows" if graded else "")
                  + (f"; still archived: {report['still_archived']}" if report["still_archived"] else ""))


def register(app: typer.Typer) -> None:
    """Add ``views``, ``remediate`` and ``restore`` to the ``nbaprops`` app.

    Args:
        app: The root typer app.
    """
    app.command("views")(views)
    app.command("remediate")(remediate)
    app.command("restore")(restore)
