"""What the bench scripts share: open the benchmark warehouse, building it from the shared data first
when the file does not exist (the backfill's load and phases, without the CLI)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from nbaprops.config import Settings
from nbaprops.pipeline.backfill import BackfillReport, buildable_range, load_files
from nbaprops.pipeline.builds import run_phases
from nbaprops.warehouse import connect


def open_or_build(db: Path, data: Path, settings: Settings) -> duckdb.DuckDBPyConnection:
    """A connection to ``db``; a missing file is first built from ``data`` (every date with games)."""
    fresh = not db.exists()
    con = connect(db, threads=settings.threads)
    if fresh:
        load_files(con, data, BackfillReport())
        span = buildable_range(con)
        if span is None:
            raise SystemExit(f"no games in {data}")
        run_phases(con, settings, span[0], span[1])
    return con
