"""Every SQL file shipped with the package is DuckDB SQL that sqlglot transpiles to BigQuery and
Spark without an unsupported construct (ErrorLevel.RAISE), and the output parses back in the
target dialect. No data needed."""

from __future__ import annotations

from importlib import resources

import pytest
import sqlglot
from sqlglot import exp

from nbaprops.warehouse import read_sql, sql_files

DIALECTS = ("bigquery", "spark")
FILES = sql_files()


def _statements(sql: str) -> list[exp.Expression]:
    """Parsed DuckDB statements, without the empty one a trailing comment leaves."""
    return [s for s in sqlglot.parse(sql, read="duckdb") if s is not None and not isinstance(s, exp.Semicolon)]


def test_every_shipped_sql_file_is_listed() -> None:
    root = resources.files("nbaprops.warehouse") / "sql"
    on_disk = sorted(f"{d.name}/{f.name}" for d in root.iterdir() if d.is_dir()
                     for f in d.iterdir() if f.name.endswith(".sql"))
    assert on_disk == FILES
    assert any(f.startswith("schema/") for f in FILES) and any(f.startswith("phases/") for f in FILES)


@pytest.mark.parametrize("name", FILES)
def test_parses_as_duckdb(name: str) -> None:
    statements = _statements(read_sql(name))
    assert statements, f"{name}: no SQL statement"
    for s in statements:
        assert not isinstance(s, exp.Command), f"{name}: not understood, kept as an opaque command: {s.sql()[:80]}"


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", FILES)
def test_transpiles(name: str, dialect: str) -> None:
    sql = read_sql(name)
    out = sqlglot.transpile(sql, read="duckdb", write=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)
    n_in = len(_statements(sql))
    # the output parses back in the target dialect (a trailing comment comes out as a comment-only text)
    back = [s for o in out for s in sqlglot.parse(o, read=dialect) if s is not None]
    assert len(back) == n_in > 0, f"{name} -> {dialect}: {n_in} statements in, {len(back)} out"
