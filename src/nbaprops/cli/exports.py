"""``nbaprops export``: the export documents of a date (games, players, predictions, best bets, streaks)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nbaprops.cli.common import date_option, emit, out, project
from nbaprops.errors import InputError

__all__ = ["export_cmd", "register"]


def export_cmd(
    ctx: typer.Context,
    date: Annotated[str, typer.Option("--date", help="game date")],
    out_dir: Annotated[Path, typer.Option("--out", help="directory to write the documents to (created)")],
    fmt: Annotated[str, typer.Option("--format", help="json (one envelope per document) or csv (rows; the "
                                                      "envelopes go to manifest.json)")] = "json",
    system: Annotated[str, typer.Option("--system", help="the system whose recommendations are the best bets")
                      ] = "catboost",
    market: Annotated[str | None, typer.Option("--market", help="only this market's predictions, best bets and "
                                                                "streaks: a name or key (docs/markets.md) or "
                                                                "'all' (the default)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Write tonight's games, players, predictions, best bets and streaks of DATE to OUT (schemas in
    docs/exports/); re-running replaces each file atomically."""
    if fmt not in ("json", "csv"):
        raise typer.BadParameter(f"--format {fmt}: use json or csv")
    try:
        res = project(ctx).export(date_option(date), out_dir, fmt=fmt, system=system, market=market)
    except InputError as e:
        if e.field != "market":
            raise
        raise typer.BadParameter(str(e), param_hint="--market") from e
    if as_json:
        emit(res.as_dict())
        return
    t = Table(title=f"exports of {res.game_date} ({res.format}) in {res.out_dir}")
    t.add_column("document")
    t.add_column("file")
    t.add_column("rows", justify="right")
    for name, path in res.files.items():
        t.add_row(name, path.name, f"{res.rows[name]:,}")
    out.print(t)


def register(app: typer.Typer) -> None:
    """Add ``export`` to the CLI."""
    app.command("export")(export_cmd)
