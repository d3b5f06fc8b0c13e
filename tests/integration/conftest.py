"""Integration fixtures: ONE real backfill of ../shared/data per session, through the CLI.

``warehouse`` runs ``nbaprops --db <tmp> backfill --data <shared> --json`` in-process (typer's
CliRunner on ``nbaprops.cli.app``) into a session tmp dir and yields the DuckDB path. The backfill
report is kept next to it (``backfill_report`` fixture). Nothing is written under ../shared: the
fixture records size and mtime of every shared file before and after (``shared_files_before`` /
``shared_files_after``) so a test can prove it.

Tests that modify data work on a copy (``warehouse_copy``), so the session warehouse stays clean.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import Result
from typer.testing import CliRunner

from nbaprops import cli
from nbaprops.warehouse import connect

# Columns whose value is the wall-clock time of a load or build: excluded from content checksums.
VOLATILE_COLUMNS = frozenset({"loaded_at", "built_at", "quarantined_at", "applied_at"})


def run_cli(args: list[str]) -> Result:
    """Invoke the CLI in-process and fail with its output when it does not exit 0."""
    result = CliRunner().invoke(cli.app, args)
    if result.exit_code != 0:
        detail = repr(result.exception) if result.exception else ""
        raise AssertionError(f"nbaprops {' '.join(args)} exited {result.exit_code}: {detail}\n"
                             f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}")
    return result


def cli_json(args: list[str]) -> Any:
    """Run a ``--json`` CLI command and parse its stdout."""
    return json.loads(run_cli(args).stdout)


def open_db(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection to a warehouse file (same configuration as the CLI's, so both can be open)."""
    return connect(path)


def table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int]:
    """(row count, order-independent content checksum) of a table.

    Wall-clock columns are left out; doubles are rounded to 6 decimals because DuckDB's parallel
    sums may differ in the last bit between runs (a real change moves far more than 1e-6).
    """
    cols = con.execute("""SELECT column_name, data_type FROM information_schema.columns
                          WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position""",
                       [table]).fetchall()
    exprs = []
    for name, dtype in cols:
        if name in VOLATILE_COLUMNS:
            continue
        q = f'"{name}"'
        if dtype in ("DOUBLE", "FLOAT", "REAL"):
            exprs.append(f"round({q}, 6)")
        elif dtype in ("DOUBLE[]", "FLOAT[]"):
            exprs.append(f"list_transform({q}, lambda x: round(x, 6))")
        else:
            exprs.append(q)
    assert exprs, f"table {table} has no columns"
    row = con.execute(f"SELECT count(*), coalesce(sum(hash({', '.join(exprs)})::HUGEINT), 0) FROM {table}").fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _file_stats(root: Path) -> dict[str, list[int]]:
    return {str(p.relative_to(root)): [p.stat().st_size, p.stat().st_mtime_ns]
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def warehouse(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shared data backfilled once into a tmp DuckDB file, via the CLI; yields the db path."""
    work = tmp_path_factory.mktemp("warehouse")
    db = work / "nbaprops.duckdb"
    (work / "shared_files_before.json").write_text(json.dumps(_file_stats(shared_data)))
    result = run_cli(["--db", str(db), "backfill", "--data", str(shared_data), "--json"])
    (work / "backfill_report.json").write_text(result.stdout)
    (work / "shared_files_after.json").write_text(json.dumps(_file_stats(shared_data)))
    return db


@pytest.fixture(scope="session")
def backfill_report(warehouse: Path) -> dict[str, Any]:
    """The ``--json`` report of the session backfill."""
    report: dict[str, Any] = json.loads((warehouse.parent / "backfill_report.json").read_text())
    return report


@pytest.fixture(scope="session")
def run_nbaprops() -> Callable[[list[str]], Result]:
    """The in-process CLI runner (fails on a non-zero exit)."""
    return run_cli


@pytest.fixture(scope="session")
def nbaprops_json() -> Callable[[list[str]], Any]:
    """Run a ``--json`` CLI command and return the parsed output."""
    return cli_json


@pytest.fixture(scope="session")
def db_connect() -> Callable[[Path], duckdb.DuckDBPyConnection]:
    return open_db


@pytest.fixture(scope="session")
def fingerprint() -> Callable[[duckdb.DuckDBPyConnection, str], tuple[int, int]]:
    return table_fingerprint


@pytest.fixture(scope="module")
def warehouse_copy(warehouse: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private copy of the session warehouse for tests that change data (one per module)."""
    con = open_db(warehouse)
    try:
        con.execute("CHECKPOINT")  # everything in the main file, so a file copy is complete
    finally:
        con.close()
    dst = tmp_path_factory.mktemp("warehouse_copy") / "nbaprops.duckdb"
    shutil.copyfile(warehouse, dst)
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, dst.with_name(dst.name + ".wal"))
    return dst


@contextmanager
def open_thresholds() -> Iterator[None]:
    """Recommend a side whenever P(side) > 0.5 (NBAPROPS_MIN_EV=-1, NBAPROPS_MIN_EDGE=0).

    With the default thresholds the shared data gives no bets at all (P(over) defers to the market:
    no demonstrated edge), which would leave the tests about *which* rows may carry a bet with
    nothing to check. Modules that test those invariants open the thresholds for their whole run.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NBAPROPS_MIN_EV", "-1")
        mp.setenv("NBAPROPS_MIN_EDGE", "0")
        yield


@pytest.fixture(scope="module")
def opened_thresholds() -> Iterator[None]:
    """Module-wide :func:`open_thresholds`."""
    with open_thresholds():
        yield
