"""CLI: ``nbaprops views``, ``nbaprops remediate`` and ``nbaprops restore`` (monitoring and remediation).

``nbaprops.cli`` is imported inside the commands, not at module level: the CLI imports this module
while it is itself being imported (``register_all``), and importing this module first must not
register a half-initialised module.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

__all__ = ["register"]


def views(as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False) -> None:
    """Row count of each monitoring view, and the placeholder alerts if there are any."""
    from nbaprops.cli import root as cli
    from nbaprops.ops.views import placeholder_alerts, view_counts

    con = cli._connect()
    counts = view_counts(con)
    alerts = placeholder_alerts(con) if counts.get("placeholder_alerts") else []
    if as_json:
        cli._emit({"views": counts, "placeholder_alerts": alerts})
        return
    t = Table(title="monitoring views")
    t.add_column("view")
    t.add_column("rows", justify="right")
    for name, n in counts.items():
        t.add_row(name, f"{n:,}")
    cli.out.print(t)
    if not alerts:
        cli.out.print("placeholder_alerts: none")
        return
    a = Table(title=f"{len(alerts)} placeholder alerts")
    cols = ("game_date", "alert", "source", "sportsbook", "n_lines", "modal_line", "modal_share")
    for c in cols:
        a.add_column(c)
    for rec in alerts:
        a.add_row(*["-" if rec.get(c) is None else str(rec[c]) for c in cols])
    cli.console.print(a)


def remediate(
    date_from: Annotated[str, typer.Option("--from", help="first game date")],
    date_to: Annotated[str, typer.Option("--to", help="last game date")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="list the failing rows, move nothing")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Move stored predictions whose line fails today's validation rules into prediction_archive."""
    from nbaprops.cli import root as cli
    from nbaprops.ops.remediate import archive_invalid, archive_summary, find_invalid

    lo, hi = cli._date(date_from), cli._date(date_to)
    if hi < lo:
        raise typer.BadParameter("--to is before --from")
    con = cli._connect()
    report: dict[str, Any] = {"date_from": str(lo), "date_to": str(hi), "dry_run": dry_run}
    if dry_run:
        bad = find_invalid(con, lo, hi)
        report["would_archive"] = len(bad)
        report["by_reason"] = {str(k): int(v) for k, v in bad["reason"].value_counts().sort_index().items()}
    else:
        report["archived"] = archive_invalid(con, lo, hi)
        report["archive_by_reason"] = archive_summary(con, lo, hi)
    if as_json:
        cli._emit(report)
        return
    if dry_run:
        cli.out.print(f"{report['would_archive']:,} stored predictions {lo}..{hi} fail the line gate "
                      f"(nothing moved): {report['by_reason'] or '-'}")
    else:
        cli.out.print(f"archived {report['archived']:,} predictions {lo}..{hi}; archive now holds "
                      f"{report['archive_by_reason'] or '-'} (undo: nbaprops restore --from {lo} --to {hi})")


def restore(
    date_from: Annotated[str, typer.Option("--from", help="first game date")],
    date_to: Annotated[str, typer.Option("--to", help="last game date")],
    reason: Annotated[str | None, typer.Option("--reason", help="only rows archived for this reason")] = None,
    regrade: Annotated[bool, typer.Option("--regrade/--no-regrade",
                                          help="re-grade the range after restoring")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Move archived predictions back into player_prop_predictions, unchanged, and re-grade them."""
    from nbaprops.cli import root as cli
    from nbaprops.evaluate.grade import grade_dates
    from nbaprops.ops.remediate import archive_summary, restore_archived

    lo, hi = cli._date(date_from), cli._date(date_to)
    if hi < lo:
        raise typer.BadParameter("--to is before --from")
    con = cli._connect()
    n = restore_archived(con, lo, hi, reason=reason)
    graded = grade_dates(con, lo, hi) if n and regrade else 0
    report = {"date_from": str(lo), "date_to": str(hi), "reason": reason, "restored": n,
              "regraded_rows": graded, "still_archived": archive_summary(con, lo, hi)}
    if as_json:
        cli._emit(report)
        return
    cli.out.print(f"restored {n:,} predictions {lo}..{hi}" + (f", re-graded {graded:,} rows" if graded else "")
                  + (f"; still archived: {report['still_archived']}" if report["still_archived"] else ""))


def register(app: typer.Typer) -> None:
    """Add ``views``, ``remediate`` and ``restore`` to the ``nbaprops`` app.

    Args:
        app: The root typer app.
    """
    app.command("views")(views)
    app.command("remediate")(remediate)
    app.command("restore")(restore)
