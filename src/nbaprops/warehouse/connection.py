"""Open the warehouse, apply migrations, and write date partitions atomically."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from nbaprops.errors import LockError, WarehouseError
from nbaprops.markets import BOX_SCORE_COLUMNS, MARKETS

__all__ = ["SCHEMA_VERSION", "connect", "market_rows", "migrate", "read_sql", "replace_partition", "schema_version",
           "sql_files", "sync_markets", "transaction"]

_SQL = resources.files("nbaprops.warehouse") / "sql"

# Derived tables built by phase SQL (a SELECT with $date_from/$date_to): table -> (file, date column).
DERIVED_TABLES: dict[str, tuple[str, str]] = {
    "player_game_summary": ("phases/player_game_summary.sql", "game_date"),
    "team_game_summary": ("phases/team_game_summary.sql", "game_date"),
    "upcoming_player_game_context": ("phases/upcoming_player_game_context.sql", "game_date"),
    "team_defense": ("phases/team_defense.sql", "analysis_date"),
    "player_scoring_profile": ("phases/player_scoring_profile.sql", "analysis_date"),
    "player_daily_cache": ("phases/player_daily_cache.sql", "cache_date"),
    "composite_factors": ("phases/composite_factors.sql", "game_date"),
    "player_availability": ("phases/player_availability.sql", "game_date"),
    "line_movement": ("phases/line_movement.sql", "game_date"),
    "feature_values": ("phases/feature_values.sql", "game_date"),
    "market_feature_values": ("phases/market_feature_values.sql", "game_date"),
}


# Values for phase parameters when a caller does not give one (table creation, ad-hoc runs).
DEFAULT_PARAMS: dict[str, Any] = {
    "rotation_min_minutes": 15.0,
    "as_of": dt.datetime(9999, 12, 31, tzinfo=dt.UTC),
}


def _bind(body: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters a SQL text uses, from ``params`` or the defaults."""
    merged = {**DEFAULT_PARAMS, **params}
    return {k: v for k, v in merged.items() if f"${k}" in body}


def _schema_files() -> list[tuple[int, str, str]]:
    out = []
    for entry in (_SQL / "schema").iterdir():
        name = entry.name
        if name.endswith(".sql"):
            out.append((int(name.split("_", 1)[0]), name, entry.read_text()))
    return sorted(out)


SCHEMA_VERSION = max(v for v, _, _ in _schema_files())


def read_sql(name: str) -> str:
    """Return the text of ``warehouse/sql/<name>``."""
    return (_SQL / name).read_text()


def sql_files() -> list[str]:
    """Every SQL file shipped with the package, relative to ``warehouse/sql``."""
    names = []
    for sub in ("schema", "phases", "views"):
        d = _SQL / sub
        if d.is_dir():
            names += [f"{sub}/{e.name}" for e in d.iterdir() if e.name.endswith(".sql")]
    return sorted(names)


def connect(path: Path | str, *, read_only: bool = False, threads: int = 2,
            migrate_schema: bool = True) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the DuckDB warehouse and bring its schema up to date."""
    p = Path(path)
    try:
        if str(path) != ":memory:" and not read_only:
            p.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            # DuckDB allows one writing process per file: say so instead of a raw IO error
            holder = re.search(r"\(PID (\d+)\)", str(exc))
            who = f" (PID {holder.group(1)})" if holder else ""
            raise LockError(f"warehouse {path} is in use by another process{who}: wait for it to finish "
                            "or stop it, then retry") from exc
        raise WarehouseError(f"cannot open warehouse {path}: {exc}") from exc
    except (duckdb.Error, OSError) as exc:
        raise WarehouseError(f"cannot open warehouse {path}: {exc}") from exc
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET TimeZone = 'UTC'")
    if migrate_schema and not read_only:
        migrate(con)
    return con


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest migration applied to this warehouse (0 if none)."""
    try:
        row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    except duckdb.CatalogException:
        return 0
    return int(row[0]) if row and row[0] is not None else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply pending schema files and create derived tables; returns the schema version."""
    con.execute("""CREATE TABLE IF NOT EXISTS schema_version (
        version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)""")
    current = schema_version(con)
    for version, name, text in _schema_files():
        if version <= current:
            continue
        try:
            with transaction(con) as tx:
                tx.execute(text)
                tx.execute("INSERT INTO schema_version VALUES (?, ?, now())", [version, name])
        except duckdb.Error as exc:
            raise WarehouseError(f"migration {name} failed: {exc}") from exc
    _create_derived(con)
    sync_markets(con)
    return schema_version(con)


def market_rows() -> list[tuple[Any, ...]]:
    """The ``markets`` table's rows, from the registry (:data:`nbaprops.markets.MARKETS`)."""
    return [(m.key, m.name, m.label, m.expression, *(int(c in m.columns) for c in BOX_SCORE_COLUMNS),
             ",".join(m.odds_api_keys), ",".join(str(i) for i in m.bettingpros_ids), m.count_like,
             float(m.max_line), float(m.min_tolerance), m.placeholder_check, i)
            for i, m in enumerate(MARKETS)]


_MARKET_COLUMNS = ("market, name, label, expression, "
                   + ", ".join(f"{c}_weight" for c in BOX_SCORE_COLUMNS)
                   + ", odds_api_keys, bettingpros_ids, count_like, max_line, min_tolerance, placeholder_check, position")


def sync_markets(con: duckdb.DuckDBPyConnection) -> bool:
    """Make the ``markets`` table equal to the registry (a no-op when it is); True when rows changed."""
    try:
        stored = con.execute(f"SELECT {_MARKET_COLUMNS} FROM markets ORDER BY position").fetchall()
    except duckdb.CatalogException:
        return False  # a warehouse older than migration 011 (only while migrating)
    wanted = market_rows()
    if [tuple(r) for r in stored] == wanted:
        return False
    with transaction(con) as tx:
        tx.execute("DELETE FROM markets")
        one = "(" + ", ".join("?" * len(wanted[0])) + ")"
        tx.execute(f"INSERT INTO markets ({_MARKET_COLUMNS}) VALUES {', '.join([one] * len(wanted))}",
                   [v for row in wanted for v in row])
    return True


def _create_derived(con: duckdb.DuckDBPyConnection) -> None:
    existing = {r[0] for r in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'").fetchall()}
    con.execute("CREATE TEMP TABLE IF NOT EXISTS book_priority (sportsbook VARCHAR, priority INTEGER)")
    for table, (file, _) in DERIVED_TABLES.items():
        if table in existing:
            continue
        body = read_sql(file)
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM ({body}) AS q WHERE false",
                    _bind(body, {"date_from": dt.date(1900, 1, 1), "date_to": dt.date(1900, 1, 1)}))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN; COMMIT when the block ends, ROLLBACK (and re-raise) when it raises.

    Every multi-statement write of nbaprops goes through here (no module writes its own BEGIN), and
    the block runs its statements on the connection it is given: ``with transaction(con) as tx:
    tx.execute(...)``, never on ``con`` itself (tests/unit/test_transactions.py checks both).
    """
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def replace_partition(con: duckdb.DuckDBPyConnection, table: str, date_from: dt.date, date_to: dt.date,
                      params: Mapping[str, Any] | None = None) -> int:
    """Recompute ``table`` for dates in [date_from, date_to] in one transaction (delete + insert).

    A re-run replaces the partition and never duplicates; a failure leaves the old rows in place.
    """
    file, date_col = DERIVED_TABLES[table]
    body = read_sql(file)
    args = _bind(body, {"date_from": date_from, "date_to": date_to, **(params or {})})
    with transaction(con) as tx:
        tx.execute(f"DELETE FROM {table} WHERE {date_col} BETWEEN $date_from AND $date_to",
                   {"date_from": date_from, "date_to": date_to})
        tx.execute(f"INSERT INTO {table} BY NAME SELECT * FROM ({body}) AS q", args)
        row = tx.execute(f"SELECT count(*) FROM {table} WHERE {date_col} BETWEEN $date_from AND $date_to",
                         {"date_from": date_from, "date_to": date_to}).fetchone()
    return int(row[0]) if row else 0
