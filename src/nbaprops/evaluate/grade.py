"""Grade stored predictions of a date range against box scores, in the warehouse (phase 6).

Only predictions whose line passed the validation gate (stored as ``ACTUAL_PROP``) can be bets;
a date is graded only when its games are final (box scores present), and a re-run replaces the
date's grades in one transaction.

Every prediction is graded in its own market (``player_prop_predictions.market``, docs/markets.md
"Grading and the report per market"): its actual value is the market's box-score expression
(:meth:`nbaprops.markets.Market.sql_expression`, the same sum the ``player_stat_outcomes`` view
settles), its closing line and prices are the same book's last pre-tip quote *in that market*, and
its closing consensus is the market's (:func:`~nbaprops.predict.market.closing_market`). Points rows
grade exactly as before; the grade row carries the ``market``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import pandas as pd

from nbaprops.errors import PhaseGateError
from nbaprops.evaluate.grading import grade_predictions
from nbaprops.markets import POINTS, Market, get_market
from nbaprops.predict.market import closing_market
from nbaprops.pretip import pre_tip_sql
from nbaprops.warehouse.connection import transaction

#: pre-tip quotes of prop_line_snapshots (no alias): nbaprops.pretip
PRE_TIP = pre_tip_sql("")

__all__ = ["GRADE_COLUMNS", "grade_dates", "line_outcomes", "load_graded"]

GRADE_COLUMNS = ("game_id", "game_date", "player_id", "system_id", "market", "line_key", "line", "recommendation",
                 "predicted_points", "p_over", "market_p_over", "confidence", "edge", "actual_points",
                 "actual_minutes", "is_void", "has_valid_line", "is_bet", "abs_error", "signed_error", "line_abs_error", "result", "correct",
                 "price_taken", "price_assumed", "profit_units", "graded_over", "closing_line", "model_version",
                 "void_reason", "best_book", "price_posted", "profit_units_posted", "closing_consensus_line",
                 "closing_p_over", "closing_at")


#: The SQL filter of an optional market list (``?::VARCHAR[]`` twice: NULL = every market).
_MARKET_FILTER = "(?::VARCHAR[] IS NULL OR list_contains(?::VARCHAR[], coalesce({col}, 'player_points')))"


def _keys(markets: Sequence[str] | None) -> list[str] | None:
    return None if markets is None else [get_market(m).key for m in markets]


def _final_dates(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date,
                 keys: list[str] | None = None) -> list[dt.date]:
    rows = con.execute(f"""SELECT DISTINCT p.game_date FROM player_prop_predictions p
                           WHERE p.game_date BETWEEN ? AND ? AND {_MARKET_FILTER.format(col="p.market")}
                             AND EXISTS (SELECT 1 FROM player_boxscores b WHERE b.game_date = p.game_date)
                           ORDER BY 1""", [lo, hi, keys, keys]).fetchall()
    return [r[0] for r in rows]


def grade_dates(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date, *, require: bool = False,
                markets: Sequence[str] | None = None) -> int:
    """Grade every prediction of [lo, hi] whose games are final; returns the rows graded.

    Args:
        markets: grade only these markets (stored keys or names; their grades of the dates are
            replaced, the other markets' kept); None: every market.
    """
    keys = _keys(markets)
    dates = _final_dates(con, lo, hi, keys)
    if require and not dates:
        raise PhaseGateError(f"nothing to grade for {lo}..{hi}: no predictions with final box scores "
                             "(run `nbaprops predict` first, and grade after the games)")
    if not dates:
        return 0
    preds = con.execute(f"""
        WITH closing AS (
            -- the closing line: the last pre-tip quote of the same book in the same market (a 'closing'
            -- source row is one)
            SELECT game_date, player_id, market, sportsbook,
                   arg_max(line, coalesce(quoted_at, TIMESTAMPTZ '1970-01-01')) AS closing_line,
                   arg_max(over_price, coalesce(quoted_at, TIMESTAMPTZ '1970-01-01')) AS closing_over_price,
                   arg_max(under_price, coalesce(quoted_at, TIMESTAMPTZ '1970-01-01')) AS closing_under_price
            FROM prop_line_snapshots
            WHERE player_id IS NOT NULL
              AND game_date IN (SELECT unnest(?::DATE[]))
              AND {PRE_TIP}
            GROUP BY ALL
        )
        SELECT p.game_id, p.game_date, p.player_id, p.system_id, coalesce(p.market, 'player_points') AS market,
               p.line_key, CAST(p.line AS DOUBLE) AS line,
               p.recommendation, p.predicted_points, p.p_over, p.market_p_over, p.confidence, p.edge,
               p.line_source, p.line_source = 'ACTUAL_PROP' AND p.line IS NOT NULL AS line_valid,
               CAST(p.over_price AS DOUBLE) AS over_price, CAST(p.under_price AS DOUBLE) AS under_price,
               p.model_version, p.injury_status, p.injury_report_time, c.closing_line, c.closing_over_price,
               c.closing_under_price, CAST(p.best_price AS DOUBLE) AS best_price, p.best_book
        FROM player_prop_predictions p
        LEFT JOIN closing c ON c.game_date = p.game_date AND c.player_id = p.player_id AND c.sportsbook = p.sportsbook
                           AND c.market = coalesce(p.market, 'player_points')
        WHERE p.game_date IN (SELECT unnest(?::DATE[])) AND {_MARKET_FILTER.format(col="p.market")}""",
                        [dates, dates, keys, keys]).df()
    parts = [_grade_market(con, dates, get_market(str(key)), sub) for key, sub in preds.groupby("market", sort=False)]
    graded = pd.concat(parts) if parts else preds.iloc[0:0]
    graded = graded.sort_index()
    out = graded[list(GRADE_COLUMNS)].copy()
    out["game_date"] = pd.to_datetime(out["game_date"]).dt.date
    con.register("_grades_in", out)
    try:
        with transaction(con) as tx:
            tx.execute(f"""DELETE FROM prediction_grades WHERE game_date IN (SELECT unnest(?::DATE[]))
                           AND {_MARKET_FILTER.format(col="market")}""", [dates, keys, keys])
            tx.execute("INSERT INTO prediction_grades BY NAME SELECT *, now() AS graded_at FROM _grades_in")
    finally:
        con.unregister("_grades_in")
    return len(out)


def _market_actuals(con: duckdb.DuckDBPyConnection, dates: list[dt.date], market: Market) -> pd.DataFrame:
    """The settled value of ``market`` per (game_id, player_id) of the dates (``points``: the column
    name :func:`grade_predictions` reads; ``box_points``: the player's points, for the DNP rule)."""
    return con.execute(f"""SELECT game_id, player_id, {market.sql_expression()} AS points, minutes,
                                  pts AS box_points
                           FROM player_boxscores
                           WHERE game_date IN (SELECT unnest(?::DATE[]))""", [dates]).df()


def _grade_market(con: duckdb.DuckDBPyConnection, dates: list[dt.date], market: Market,
                  preds: pd.DataFrame) -> pd.DataFrame:
    """Grade one market's predictions (``preds`` keeps its index, so the caller can restore the order)."""
    actuals = _market_actuals(con, dates, market)
    if market == POINTS:
        actuals = actuals.drop(columns="box_points")  # points: the rule reads the graded value, as always
    graded = grade_predictions(preds.reset_index(drop=True), actuals)
    graded.index = preds.index
    close = closing_market(con, dates, preds[["game_date", "player_id", "line"]], market=market.key)
    graded["closing_consensus_line"] = close["closing_consensus_line"].to_numpy(dtype=float)
    graded["closing_p_over"] = close["closing_p_over"].to_numpy(dtype=float)
    graded["closing_at"] = pd.to_datetime(close["closing_at"], utc=True).to_numpy()
    for c in ("market", "line_key", "model_version", "closing_line", "best_book"):
        graded[c] = preds[c].to_numpy()
    graded["best_book"] = graded["best_book"].where(graded["is_bet"].astype(bool), None)
    return graded


def load_graded(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date, *,
                markets: Sequence[str] | None = None) -> pd.DataFrame:
    """Graded rows of [lo, hi] with the columns the metrics and report need (including each
    prediction's ``model_only_points`` / ``model_only_p_over``, NULL for rows without them).

    Args:
        markets: only these markets (stored keys or names); None: every market graded. Each row's
            closing prices are its book's last pre-tip quote in the row's own market.
    """
    keys = _keys(markets)
    df = con.execute(f"""
        SELECT g.*, p.over_price, p.under_price, p.line_source, p.sportsbook, p.model_only_points,
               p.model_only_p_over, p.best_price,
               p.best_book AS best_book_predicted, p.consensus_line, p.consensus_p_over, p.books_quoting,
               p.consensus_at, p.expected_value,
               g.line IS NOT NULL AND p.line_source = 'ACTUAL_PROP' AS line_valid,
               c.closing_over_price, c.closing_under_price
        FROM prediction_grades g
        JOIN player_prop_predictions p USING (game_id, player_id, system_id, line_key)
        LEFT JOIN (
            SELECT game_date, player_id, market, sportsbook,
                   arg_max(over_price, coalesce(quoted_at, TIMESTAMPTZ '1970-01-01')) AS closing_over_price,
                   arg_max(under_price, coalesce(quoted_at, TIMESTAMPTZ '1970-01-01')) AS closing_under_price
            FROM prop_line_snapshots
            WHERE {PRE_TIP}
              AND game_date BETWEEN ? AND ?
            GROUP BY ALL) c ON c.game_date = g.game_date AND c.player_id = g.player_id AND c.sportsbook = p.sportsbook
                           AND c.market = coalesce(g.market, 'player_points')
        WHERE g.game_date BETWEEN ? AND ?
          AND {_MARKET_FILTER.format(col="g.market")}
        ORDER BY g.game_date, g.game_id, g.player_id, g.system_id, g.market, g.line_key""",
                    [lo, hi, lo, hi, keys, keys]).df()
    df["market"] = df["market"].fillna(POINTS.key) if "market" in df.columns else POINTS.key
    for c in ("over_price", "under_price", "line", "closing_over_price", "closing_under_price", "model_only_points",
              "model_only_p_over", "best_price", "closing_consensus_line", "closing_p_over", "consensus_line",
              "consensus_p_over"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df


def line_outcomes(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date, market: str | None = None
                  ) -> pd.DataFrame:
    """Every stored line of [lo, hi] (one market's key, or all) settled against the box scores.

    ``actual`` is the market's value from ``player_stat_outcomes`` (the registry's expression);
    ``result`` is ``'over'`` / ``'under'`` / ``'push'`` (:func:`nbaprops.markets.settle`: a half-point
    line never pushes), ``'void'`` when the player has no box-score row on a date whose games are
    final, and NULL when the date is not final, the player is unresolved or a part of the stat is
    missing.
    """
    return con.execute("""
        SELECT s.snapshot_id, s.source, s.game_date, s.game_id, s.player_id, s.market, s.sportsbook, s.line,
               s.over_price, s.under_price, o.actual,
               CASE WHEN o.actual > s.line THEN 'over' WHEN o.actual < s.line THEN 'under'
                    WHEN o.actual = s.line THEN 'push'
                    WHEN s.player_id IS NOT NULL AND o.player_id IS NULL
                         AND EXISTS (SELECT 1 FROM player_boxscores b WHERE b.game_date = s.game_date) THEN 'void'
               END AS result
        FROM prop_line_snapshots s
        LEFT JOIN player_stat_outcomes o ON o.player_id = s.player_id AND o.game_date = s.game_date
                                        AND o.market = s.market
        WHERE s.game_date BETWEEN ? AND ? AND (? IS NULL OR s.market = ?)
        ORDER BY s.game_date, s.market, s.player_id, s.sportsbook, s.snapshot_id""", [lo, hi, market, market]).df()
