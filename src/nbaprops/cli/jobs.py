"""Run a CLI command inside ``nbaprops serve`` on the server's own warehouse connection.

The server owns the DuckDB file (one writing process per file), so while it runs, a CLI invocation
hands its arguments to it (:mod:`nbaprops.cli.remote`) and the server runs them here, in a job thread,
with a cursor of its connection: readers of the API keep answering from their own cursors and see
the last committed state (a phase's partition or a batch's consolidation commits in one transaction,
so a reader sees the old rows or the new ones, never a mix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import click
import typer

from nbaprops.cli.common import RootOptions, capture
from nbaprops.errors import NbapropsError

if TYPE_CHECKING:
    import duckdb

    from nbaprops.config import Settings

__all__ = ["NOT_DELEGATED", "JobOutput", "run_argv"]

#: Commands a server does not run for a client (they start servers or workers of their own).
NOT_DELEGATED = frozenset({"serve", "worker"})


@dataclass(frozen=True)
class JobOutput:
    """What a command printed and how it exited."""

    exit_code: int
    stdout: str
    stderr: str


def run_argv(app: typer.Typer, argv: list[str], connection: duckdb.DuckDBPyConnection, settings: Settings
             ) -> JobOutput:
    """Run ``nbaprops ARGV`` in this thread on ``connection``; never raises for the command's errors.

    Args:
        app: the ``nbaprops`` typer app.
        argv: the arguments after ``nbaprops`` (the client's ``--db``/``--threads`` are ignored: the
            command runs on the server's warehouse with the server's settings).
        connection: the connection (a cursor of the server's) the command's Project uses.
        settings: the server's settings.
    """
    words = [a for a in argv if not a.startswith("-")]
    if words and words[0] in NOT_DELEGATED:
        return JobOutput(2, "", f"error: `nbaprops {words[0]}` is not run by a server; stop the server first\n")
    command = typer.main.get_command(app)
    with capture() as (stdout, stderr):
        code = 0
        try:
            command.main(args=list(argv), prog_name="nbaprops", obj=RootOptions(db=settings.db, threads=settings.threads, connection=connection),
                         standalone_mode=False)
        except click.exceptions.Exit as exc:
            code = int(exc.exit_code)
        except click.ClickException as exc:
            stderr.write(f"error: {exc.format_message()}\n")
            code = exc.exit_code
        except click.exceptions.Abort:
            stderr.write("error: aborted\n")
            code = 1
        except NbapropsError as exc:
            stderr.write(f"error: {exc}\n")
            code = 1
    return JobOutput(code, stdout.getvalue(), stderr.getvalue())
