"""What every CLI command shares: the consoles, the root options, dates, JSON output and progress bars.

The root options (``--db``, ``--threads``) live on the typer context (``ctx.obj``), not in module
state: each invocation builds its own :class:`~nbaprops.project.Project`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import duckdb
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from nbaprops.config import Settings, load_settings
from nbaprops.errors import InputError, ServedElsewhere
from nbaprops.leases import live_server
from nbaprops.project import Project, to_date

__all__ = ["RootOptions", "capture", "console", "date_option", "emit", "out", "progress_bar", "project", "settings"]


@dataclass
class Consoles:
    """Where a command writes: ``out`` (results) and ``err`` (progress, warnings, errors)."""

    out: Console
    err: Console


#: Width of result tables written to a pipe or a file (a terminal's own width is used otherwise): the
#: backtest's headline table needs about 150 columns, and 80 cut every figure of it short.
PIPE_WIDTH = 160


def _out_console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=PIPE_WIDTH)


_TERMINAL = Consoles(out=_out_console(), err=Console(stderr=True, soft_wrap=True))
_consoles: ContextVar[Consoles] = ContextVar("nbaprops_consoles", default=_TERMINAL)


class _ConsoleProxy:
    """A console that writes wherever the current context says: the terminal, or a server job's
    captured output (:func:`capture`)."""

    def __init__(self, which: str) -> None:
        self._which = which

    def __getattr__(self, name: str) -> Any:
        return getattr(getattr(_consoles.get(), self._which), name)


console: Console = cast(Console, _ConsoleProxy("err"))
out: Console = cast(Console, _ConsoleProxy("out"))


@contextmanager
def capture() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """Capture what commands print in this thread (a job run by the server) as plain text."""
    stdout, stderr = io.StringIO(), io.StringIO()
    token = _consoles.set(Consoles(out=Console(file=stdout, width=120, no_color=True),
                                   err=Console(file=stderr, width=120, no_color=True, soft_wrap=True)))
    try:
        yield stdout, stderr
    finally:
        _consoles.reset(token)


@dataclass
class RootOptions:
    """``nbaprops --db PATH --threads N``: where the warehouse is."""

    db: Path | None = None
    threads: int | None = None
    #: a connection to use instead of opening the file (a job run inside ``nbaprops serve``)
    connection: duckdb.DuckDBPyConnection | None = None


def _options(ctx: typer.Context) -> RootOptions:
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, RootOptions) else RootOptions()


def settings(ctx: typer.Context) -> Settings:
    """Settings from the environment with the root options applied (SettingsError lists bad values)."""
    opts = _options(ctx)
    return load_settings(db=opts.db, threads=opts.threads)


def project(ctx: typer.Context, *, wait_s: float = 0.0) -> Project:
    """The project of this invocation (its connection opens on first use; closed when the command ends).

    Raises:
        ServedElsewhere: a running ``nbaprops serve`` owns the warehouse; :func:`nbaprops.cli.main`
            then hands the whole command to it.
    """
    opts = _options(ctx)
    s = settings(ctx)
    if opts.connection is None and (server := live_server(s.db)) is not None:
        raise ServedElsewhere(f"warehouse {s.db} is served by {server['url']}", server["url"])
    p = Project(s, connection=opts.connection, wait_s=wait_s)
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
