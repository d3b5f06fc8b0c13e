"""CLI: ``nbaprops worker`` - consume prediction units from a Redis broker (the distributed backend).

Start any number on any machines that can reach the broker and read the model registry; a
coordinator (``nbaprops predict --queue redis``) on another machine puts a slate's units on the
stream. ``redis`` is imported only when the command runs (optional extra ``nbaprops[redis]``), so the core
install and every other command work without it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register", "worker"]


def worker(
    redis_url: Annotated[str, typer.Option("--redis-url", envvar="NBAPROPS_REDIS_URL",
                                           help="broker, e.g. redis://host:6379/0")],
    model_dir: Annotated[Path | None, typer.Option("--model-dir", envvar="NBAPROPS_MODEL_DIR",
                                                   help="this machine's model registry (default: the "
                                                        "coordinator's path)")] = None,
    stream: Annotated[str, typer.Option("--stream", envvar="NBAPROPS_REDIS_STREAM",
                                        help="unit stream")] = "nbaprops:units",
    group: Annotated[str, typer.Option("--group", envvar="NBAPROPS_REDIS_GROUP",
                                       help="consumer group")] = "workers",
    visibility: Annotated[float, typer.Option("--visibility-timeout", envvar="NBAPROPS_REDIS_VISIBILITY_S",
                                              min=0.5, help="seconds before a dead worker's unit is "
                                                            "taken over")] = 10.0,
    max_deliveries: Annotated[int, typer.Option("--max-deliveries", min=1,
                                                help="deliveries before a unit that keeps killing "
                                                     "workers fails")] = 5,
    once: Annotated[bool, typer.Option("--once", help="exit as soon as there is nothing to do")] = False,
    idle_exit: Annotated[float | None, typer.Option("--idle-exit", min=0,
                                                    help="exit after this many seconds without a unit")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary on exit")] = False,
) -> None:
    """Run prediction units from the Redis stream until stopped (SIGTERM finishes the current unit)."""
    from nbaprops.predict.redis_worker import StreamWorker

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)   # plain lines: worker logs are grepped, not read in a TTY

    w = StreamWorker(redis_url, stream=stream, group=group, model_dir=str(model_dir) if model_dir else None,
                     visibility_s=visibility, max_deliveries=max_deliveries, log=log)
    w.install_signal_handlers()
    stats = w.run(once=once, idle_exit_s=idle_exit)
    if as_json:
        print(json.dumps(stats.as_dict()), flush=True)
    else:
        log(f"worker {stats.worker} done: {stats.units} units, {stats.rows} rows, {stats.failed_units} failed, "
            f"{stats.reclaimed} reclaimed, {stats.dropped} dropped in {stats.seconds:.1f}s")


def register(app: typer.Typer) -> None:
    """Add ``worker`` to the ``nbaprops`` app.

    Args:
        app: The root typer app.
    """
    app.command("worker")(worker)
