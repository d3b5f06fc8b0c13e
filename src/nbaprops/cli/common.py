"""What every CLI command shares: the consoles, the root options, dates, JSON output and progress bars.

The root options (``--db``, ``--threads``) live on the typer context (``ctx.obj``), not in module
state: each invocation builds its own :class:`~nbaprops.project.Project`.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from nbaprops.config import Settings, load_settings
from nbaprops.errors import InputError
from nbaprops.project import Project, to_date

__all__ = ["RootOptions", "console", "date_option", "emit", "out", "progress_bar", "project", "settings"]

console = Console(stderr=True, soft_wrap=True)
out = Console()


@dataclass
class RootOptions:
    """``nbaprops --db PATH --threads N``: where the warehouse is."""

    db: Path | None = None
    threads: int | None = None


def _options(ctx: typer.Context) -> RootOptions:
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, RootOptions) else RootOptions()


def settings(ctx: typer.Context) -> Settings:
    """Settings from the environment with the root options applied (SettingsError lists bad values)."""
    opts = _options(ctx)
    return load_settings(db=opts.db, threads=opts.threads)


def project(ctx: typer.Context, *, wait_s: float = 0.0) -> Project:
    """The project of this invocation (its connection opens on first use; closed when the command ends)."""
    p = Project(settings(ctx), wait_s=wait_s)
    ctx.call_on_close(p.close)
    return p


def date_option(value: str) -> dt.date:
    """A ``--date`` value: YYYY-MM-DD, today, yesterday or tomorrow."""
    try:
        return to_date(value)
    except InputError as exc:
        raise typer.BadParameter(str(exc)) from None


def progress_bar() -> Progress:
    """A rich progress bar on stderr (silent when stderr is not a terminal)."""
    return Progress(TextColumn("[bold]{task.description:<48}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=console, transient=False, disable=not console.is_terminal)


def emit(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (dates and other values as strings)."""
    out.print_json(json.dumps(obj, default=str))
