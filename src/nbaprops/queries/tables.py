"""Read-only queries behind the CLI, the API and the Python API: stored rows as records or DataFrames.

Every function takes a connection (or cursor) and returns plain data; none writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

__all__ = ["batch", "batch_version", "conditions", "feature_records", "lines", "prediction_dates", "predictions",
           "predictions_page", "records", "run_records"]


def records(cur: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
            ) -> list[dict[str, Any]]:
    """Run a query and return one dict per row (a NaN double becomes None, like NULL)."""
    res = cur.execute(sql, params if params is not None else [])
    cols = [d[0] for d in res.description]
    return [{c: (None if isinstance(v, float) and v != v else v) for c, v in zip(cols, row, strict=True)}
            for row in res.fetchall()]

def conditions(first: tuple[str, list[Any]] | None = None, **equal: Any) -> tuple[str, list[Any]]:
    """A WHERE condition and its parameters: ``first`` (SQL with ``?`` and its values), then
    ``column = ?`` for every keyword whose value is not None (pass ``**{"p.system_id": ...}`` for
    qualified names); ``TRUE`` when there is nothing to filter."""
    where, params = ([first[0]], list(first[1])) if first else ([], [])
    for column, value in equal.items():
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    return " AND ".join(where) or "TRUE", params


def _in_markets(column: str, markets: Sequence[str] | None) -> tuple[str, list[Any]]:
    """A condition keeping the rows of ``markets`` (stored keys; None: every market) and its parameters."""
    keys = None if markets is None else list(markets)
    return f"(?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], {column}))", [keys, keys]


def feature_records(con: duckdb.DuckDBPyConnection, game_date: dt.date, version: str,
                    player_id: int | None = None) -> list[dict[str, Any]]:
    """Feature-store rows of a date with their arrays (names, values, sources) as Python lists.

    NULL values stay ``None`` (the lists come straight from DuckDB, not through a float frame).
    """
    q = """SELECT game_date, game_id, player_id, team_abbr, opponent_abbr, is_expected, has_line, played,
                  quality_score, quality_tier, feature_names, features, feature_sources
           FROM feature_store WHERE game_date = ? AND feature_version = ?"""
    args: list[Any] = [game_date, version]
    if player_id is not None:
        q += " AND player_id = ?"
        args.append(player_id)
    cur = con.execute(q + " ORDER BY game_id, player_id", args)
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def prediction_dates(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    """Dates with games in [date_from, date_to], in order."""
    return [r[0] for r in con.execute(
        "SELECT DISTINCT game_date FROM games WHERE game_date BETWEEN ? AND ? ORDER BY 1",
        [date_from, date_to]).fetchall()]


def predictions(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date, *,
                system: str | None = None, recommendation: str | None = None,
                markets: Sequence[str] | None = None) -> pd.DataFrame:
    """Stored predictions of [date_from, date_to]: every column of ``player_prop_predictions`` plus the
    player's ``player_name``, ``team_abbr`` and ``opponent_abbr``; ordered by date, game, player, system;
    ``markets``: only those markets' rows (stored keys; None: every market)."""
    market_sql, market_args = _in_markets("p.market", markets)
    cond, args = conditions((f"p.game_date BETWEEN ? AND ? AND {market_sql}", [date_from, date_to, *market_args]),
                            **{"p.system_id": system, "p.recommendation": recommendation})
    return con.execute(f"""
        SELECT p.game_id, p.game_date, p.player_id, pl.full_name AS player_name, f.team_abbr, f.opponent_abbr,
               p.* EXCLUDE (game_id, game_date, player_id)
        FROM player_prop_predictions p
        LEFT JOIN players pl ON pl.player_id = p.player_id
        LEFT JOIN (SELECT DISTINCT game_date, player_id, team_abbr, opponent_abbr FROM feature_store) f
               ON f.game_date = p.game_date AND f.player_id = p.player_id
        WHERE {cond}
        ORDER BY p.game_date, p.game_id, p.player_id, p.system_id, p.line_key""", args).df()


def predictions_page(con: duckdb.DuckDBPyConnection, game_date: dt.date, columns: Sequence[str], *,
                     system: str | None = None, recommendation: str | None = None, limit: int = 500,
                     offset: int = 0, markets: Sequence[str] | None = None) -> tuple[int, list[dict[str, Any]]]:
    """(total rows, one page of rows with ``columns``) of a date's predictions, stable order;
    ``markets``: only those markets' rows (stored keys; None: every market)."""
    market_sql, market_args = _in_markets("market", markets)
    first = (f"game_date = ? AND {market_sql}", [game_date, *market_args])
    cond, params = conditions(first, system_id=system, recommendation=recommendation)
    count_row = con.execute(f"SELECT count(*) FROM player_prop_predictions WHERE {cond}", params).fetchone()
    total = int(count_row[0]) if count_row else 0
    res = con.execute(f"""SELECT {', '.join(columns)} FROM player_prop_predictions WHERE {cond}
                          ORDER BY game_id, player_id, system_id, line_key LIMIT ? OFFSET ?""",
                      [*params, limit, offset])
    cols = [d[0] for d in res.description]
    return total, [dict(zip(cols, r, strict=True)) for r in res.fetchall()]


def batch(con: duckdb.DuckDBPyConnection, batch_id: str, columns: Sequence[str]) -> dict[str, Any] | None:
    """One ``prediction_batches`` row with ``columns``, or None."""
    res = con.execute(f"SELECT {', '.join(columns)} FROM prediction_batches WHERE batch_id = ?", [batch_id])
    row = res.fetchone()
    return None if row is None else dict(zip([d[0] for d in res.description], row, strict=True))


def batch_version(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> tuple[str | None, str | None, int, str]:
    """What the stored predictions of a date are a function of, for caching their responses.

    Returns:
        ``(batch_id, status)`` of the date's latest prediction batch (``None, None`` without one), the
        number of stored prediction rows of the date, and a marker of every batch of every date (their
        count and latest start or finish) that changes whenever any batch starts or ends.
    """
    row = con.execute("""
        WITH latest AS (SELECT batch_id, status FROM prediction_batches WHERE game_date = ?
                        ORDER BY started_at DESC NULLS LAST, batch_id DESC LIMIT 1)
        SELECT (SELECT batch_id FROM latest), (SELECT status FROM latest),
               (SELECT count(*) FROM player_prop_predictions WHERE game_date = ?),
               (SELECT count(*) || '/' || coalesce(max(greatest(started_at, coalesce(finished_at, started_at)))
                                                   ::VARCHAR, '') FROM prediction_batches)""",
                      [game_date, game_date]).fetchone()
    if row is None:
        return None, None, 0, ""
    return row[0], row[1], int(row[2]), str(row[3])


def lines(con: duckdb.DuckDBPyConnection, game_date: dt.date, *, market: str | None = "player_points"
          ) -> pd.DataFrame:
    """Every stored book quote of a date (all snapshots), resolved player first, then by book and time."""
    cond, args = conditions(("game_date = ?", [game_date]), market=market)
    return con.execute(f"""
        SELECT game_date, game_id, event_id, player_id, player_name, player_team, home_team, away_team, market,
               source, sportsbook, line, over_price, under_price, quoted_at, tipoff_at, minutes_before_tipoff,
               quote_basis, opening_line, is_void, snapshot_id
        FROM prop_line_snapshots WHERE {cond}
        ORDER BY player_id NULLS LAST, player_name, sportsbook, quoted_at""", args).df()


def run_records(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date, limit: int = 20
                ) -> list[dict[str, Any]]:
    """The latest ``phase_runs`` records overlapping [date_from, date_to], JSON-ready."""
    cur = con.execute("""SELECT phase, date_from, date_to, started_at, finished_at, n_rows, status, error
                         FROM phase_runs WHERE date_from <= ? AND date_to >= ?
                         ORDER BY started_at DESC LIMIT ?""", [date_to, date_from, limit])
    cols = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        rec = dict(zip(cols, row, strict=True))
        rec["date_from"], rec["date_to"] = str(rec["date_from"])[:10], str(rec["date_to"])[:10]
        for k in ("started_at", "finished_at"):
            rec[k] = None if rec[k] is None else str(rec[k])
        out.append(rec)
    return out
