"""Every multi-statement write goes through ``warehouse.connection.transaction()``, and the crash
injection of the kill -9 tests (tests/crash.py) hooks exactly there."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from crash import CRASH_STATUS, preamble, written_tables
from nbaprops.warehouse.connection import transaction

SRC = Path(__file__).resolve().parents[2] / "src" / "nbaprops"
CONNECTION = SRC / "warehouse" / "connection.py"
#: Transaction control in a SQL text (SQL is upper case in this tree; ``rollback`` the CLI word is not SQL).
_TX_SQL = re.compile(r"(^|;)\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK|ABORT)\b")


def _modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text(), str(p))) for p in sorted(SRC.rglob("*.py"))]


def _is_transaction_call(node: ast.AST) -> bool:
    return (isinstance(node, ast.Call) and
            ((isinstance(node.func, ast.Name) and node.func.id == "transaction") or
             (isinstance(node.func, ast.Attribute) and node.func.attr == "transaction")))


def test_no_module_writes_its_own_begin_commit_or_rollback() -> None:
    found = []
    for path, tree in _modules():
        if path == CONNECTION:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and _TX_SQL.search(node.value):
                found.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.value!r}")
    assert not found, "use nbaprops.warehouse.connection.transaction():\n" + "\n".join(found)


def test_every_transaction_block_writes_through_the_connection_it_yields() -> None:
    """``with transaction(con) as tx:`` and only ``tx`` inside: the crash injection sees every statement."""
    problems, blocks = [], 0
    for path, tree in _modules():
        in_with = set()
        for node in ast.walk(tree):
            if not isinstance(node, ast.With):
                continue
            for item in node.items:
                if not _is_transaction_call(item.context_expr):
                    continue
                blocks += 1
                in_with.add(id(item.context_expr))
                call = item.context_expr
                assert isinstance(call, ast.Call)
                where = f"{path.relative_to(SRC)}:{node.lineno}"
                if not isinstance(item.optional_vars, ast.Name):
                    problems.append(f"{where}: bind the transaction's connection (`as tx`)")
                    continue
                outer = {n.id for a in call.args for n in ast.walk(a) if isinstance(n, ast.Name)}
                used = {n.id for stmt in node.body for n in ast.walk(stmt) if isinstance(n, ast.Name)}
                if outer & used:
                    problems.append(f"{where}: the block uses {sorted(outer & used)}; use "
                                    f"{item.optional_vars.id!r} instead")
        for node in ast.walk(tree):
            if _is_transaction_call(node) and id(node) not in in_with and path != CONNECTION:
                problems.append(f"{path.relative_to(SRC)}:{node.lineno}: transaction() outside a with statement")
    assert blocks >= 12
    assert not problems, "\n".join(problems)


def test_transaction_commits_or_rolls_back_and_reraises() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INTEGER)")
    with transaction(con) as tx:
        tx.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(ZeroDivisionError), transaction(con) as tx:
        tx.execute("INSERT INTO t VALUES (2)")
        raise ZeroDivisionError
    with pytest.raises(duckdb.Error), transaction(con) as tx:
        tx.execute("INSERT INTO t VALUES (3)")
        tx.execute("INSERT INTO missing VALUES (3)")
    assert con.execute("SELECT a FROM t").fetchall() == [(1,)]


@pytest.mark.parametrize(("sql", "tables"), [
    ("INSERT INTO t BY NAME SELECT 1", {"t"}),
    ("insert or ignore into main.T values (1)", {"t"}),
    ("INSERT OR REPLACE INTO u SELECT 1", {"u"}),
    ("DELETE FROM player_boxscores b USING _x l WHERE b.id = l.id", {"player_boxscores"}),
    ("UPDATE prop_line_snapshots AS s SET x = 1", {"prop_line_snapshots"}),
    ("INSERT INTO games SELECT 1 ON CONFLICT (game_id) DO UPDATE SET a = 1", {"games"}),
    ("SELECT count(*) FROM t", set()),
])
def test_the_crash_helper_reads_the_tables_a_statement_writes(sql: str, tables: set[str]) -> None:
    assert written_tables(sql) == tables


def test_the_crash_helper_kills_before_the_commit_of_its_table_only(tmp_path: Path) -> None:
    """Modules imported before and after the helper is installed both get the crashing transaction()."""
    db = tmp_path / "crash.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE victim (a INTEGER); CREATE TABLE other (a INTEGER)")
    con.close()
    script = textwrap.dedent(f"""
        import sys, duckdb
        from nbaprops.ingest import boxscores                 # imported before the helper is installed
        {preamble(crash_in="victim")}
        from nbaprops.features import store                   # and after
        from nbaprops.warehouse.connection import transaction
        con = duckdb.connect(sys.argv[1])
        boxscores._tx(con, [("INSERT INTO other VALUES (1)", [])])
        assert store.transaction is transaction is boxscores.transaction
        with transaction(con) as tx:
            tx.execute("INSERT INTO victim VALUES (1)")
        print("committed")
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(db)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == CRASH_STATUS, proc.stderr
    assert "committed" not in proc.stdout
    con = duckdb.connect(str(db))
    assert con.execute("SELECT count(*) FROM other").fetchone() == (1,)       # its own table committed
    assert con.execute("SELECT count(*) FROM victim").fetchone() == (0,)      # died before this COMMIT
