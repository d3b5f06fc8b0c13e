"""The monitoring views of the warehouse (defined in ``warehouse/sql/schema/004_monitoring_views.sql``
and, per market, ``016_performance_by_market.sql``).

``line_quality_daily``, ``placeholder_alerts`` (expected empty on real data),
``performance_valid_lines_only``, ``data_quality_summary`` and ``system_daily_performance`` (points),
``performance_by_market`` and ``system_daily_performance_by_market`` (every market, a ``market``
column); this module only reads them.
"""

from __future__ import annotations

from typing import Any

import duckdb

__all__ = ["MONITORING_VIEWS", "placeholder_alerts", "view_counts"]

#: Every monitoring view, in the order ``nbaprops views`` prints them.
MONITORING_VIEWS: tuple[str, ...] = (
    "line_quality_daily",
    "placeholder_alerts",
    "performance_valid_lines_only",
    "data_quality_summary",
    "system_daily_performance",
    "performance_by_market",
    "system_daily_performance_by_market",
)


def view_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every monitoring view.

    Args:
        con: An open warehouse (migrated to schema 4 or later).

    Returns:
        ``{view: rows}`` in :data:`MONITORING_VIEWS` order.
    """
    counts: dict[str, int] = {}
    for view in MONITORING_VIEWS:
        rows = con.execute(f"SELECT count(*) FROM {view}").fetchall()  # fetchall: no half-read result left
        counts[view] = int(rows[0][0]) if rows else 0
    return counts


def placeholder_alerts(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The rows of ``placeholder_alerts`` (an empty list on healthy data), dates as ISO strings.

    Args:
        con: An open warehouse.

    Returns:
        One dict per finding: ``game_date, alert, source, sportsbook, n_lines, modal_line, modal_share``.
    """
    df = con.execute("SELECT * FROM placeholder_alerts ORDER BY game_date, alert, source, sportsbook").df()
    records: list[dict[str, Any]] = []
    for rec in df.astype(object).where(df.notna(), None).to_dict("records"):
        rec["game_date"] = str(rec["game_date"])[:10]
        records.append({str(k): v for k, v in rec.items()})
    return records
