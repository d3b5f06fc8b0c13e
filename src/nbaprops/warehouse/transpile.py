"""The phase SQL (DuckDB dialect) for another engine: sqlglot transpiles it to ``spark`` or
``bigquery`` with the run's parameters inlined as typed literals, so the text runs as it is in
``spark.sql(...)`` or a BigQuery job (docs/scale-out.md).

    sql = phase_sql("player_daily_cache", "spark", date_from=dt.date(2024, 3, 1), date_to=dt.date(2024, 4, 15))
    inputs = phase_inputs("player_daily_cache")      # the tables it reads (load them first)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlglot
from sqlglot import exp

from nbaprops.errors import NbapropsError
from nbaprops.warehouse.connection import DEFAULT_PARAMS, DERIVED_TABLES, read_sql

__all__ = ["PHASE_TABLES", "phase_inputs", "phase_sql"]

#: dialects whose unsuffixed 1.5 is an exact DECIMAL with scale-rounding arithmetic (see phase_sql)
_DECIMAL_LITERAL_DIALECTS = frozenset({"spark", "spark2", "databricks", "hive"})

#: The tables built by phase SQL, in build order.
PHASE_TABLES: tuple[str, ...] = tuple(DERIVED_TABLES)


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.build("timestamp"))
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.build("date"))
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, float):
        return exp.cast(exp.Literal.number(value), exp.DataType.build("double"))
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise NbapropsError(f"cannot inline a phase parameter of type {type(value).__name__}")


def _parse(table: str) -> exp.Expression:
    if table not in DERIVED_TABLES:
        raise NbapropsError(f"{table!r} is not built by phase SQL; one of {', '.join(PHASE_TABLES)}")
    tree: Any = sqlglot.parse_one(read_sql(DERIVED_TABLES[table][0]), read="duckdb")
    assert tree is not None
    return tree


def _inline_named_windows(tree: exp.Expression) -> None:
    """``OVER (w ROWS BETWEEN ...)`` (a named window plus a frame) is standard SQL and DuckDB's, but
    Spark cannot parse it: copy the named window's PARTITION BY / ORDER BY into each such use."""
    for select in tree.find_all(exp.Select):
        named = {w.name: w for w in select.args.get("windows") or []}
        if not named:
            continue
        for win in select.find_all(exp.Window):
            alias = win.args.get("alias")
            if win.parent_select is not select or alias is None or win.args.get("spec") is None:
                continue
            base = named.get(alias.name)
            if base is None:
                continue
            win.set("alias", None)
            if base.args.get("partition_by"):
                win.set("partition_by", [e.copy() for e in base.args["partition_by"]])
            if base.args.get("order") is not None:
                win.set("order", base.args["order"].copy())


def phase_inputs(table: str) -> list[str]:
    """The tables the phase SQL of ``table`` reads (its CTEs left out)."""
    tree = _parse(table)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    return sorted({t.name for t in tree.find_all(exp.Table) if t.name and t.name not in ctes})


def phase_sql(table: str, dialect: str, params: Mapping[str, Any] | None = None, **kw: Any) -> str:
    """The SELECT that builds ``table`` for [date_from, date_to], in ``dialect`` (``spark``,
    ``bigquery``, ``duckdb``...), its ``$parameters`` replaced by literals (defaults as in the
    warehouse: rotation_min_minutes, as_of)."""
    values = {**DEFAULT_PARAMS, **(params or {}), **kw}
    tree = _parse(table)

    exact_decimals = dialect in _DECIMAL_LITERAL_DIALECTS

    def inline(node: exp.Expression) -> exp.Expression:
        if exact_decimals and isinstance(node, exp.Literal) and not node.is_string \
                and any(ch in node.this for ch in ".eE") and not isinstance(node.parent, exp.Cast):
            # Spark types 1.0 as DECIMAL(2,1) and rounds AVG / division of decimals to a few digits
            # (AVG(CASE WHEN won THEN 1.0 ELSE 0.0 END) came out as 0.79310 for 0.793103...); DuckDB
            # averages decimals as DOUBLE. A DOUBLE literal gives DuckDB's numbers (within 1e-15).
            return exp.cast(node.copy(), exp.DataType.build("double"))
        if isinstance(node, exp.Parameter | exp.Placeholder):
            name = node.name
            if name not in values:
                raise NbapropsError(f"phase SQL of {table} needs the parameter ${name}")
            return _literal(values[name])
        return node

    tree = tree.transform(inline)
    if dialect in _DECIMAL_LITERAL_DIALECTS:
        _inline_named_windows(tree)
    return tree.sql(dialect=dialect, unsupported_level=sqlglot.ErrorLevel.RAISE)
