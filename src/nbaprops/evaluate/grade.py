"""Grade stored predictions of a date range against box scores, in the warehouse (phase 6).

Only predictions whose line passed the validation gate (stored as ``ACTUAL_PROP``) can be bets;
a date is graded only when its games are final (box scores present), and a re-run replaces the
date's grades in one transaction.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from nbaprops.errors import PhaseGateError
from nbaprops.evaluate.grading import grade_predictions
from nbaprops.predict.market import closing_market
from nbaprops.pretip import pre_tip_sql
from nbaprops.warehouse.connection import transaction

#: pre-tip quotes of prop_line_snapshots (no alias): nbaprops.pretip
PRE_TIP = pre_tip_sql("")

__all__ = ["GRADE_COLUMNS", "grade_dates", "line_outcomes", "load_graded"]

GRADE_COLUMNS = ("game_id", "game_date", "player_id", "system_id", "line_key", "line", "recommendation",
                 "predicted_points", "p_over", "market_p_over", "confidence", "edge", "actual_points",
                 "actual_minutes", "is_void", "has_valid_line", "is_bet", "abs_error", "signed_error", "line_abs_error", "result", "correct",
                 "price_taken", "price_assumed", "profit_units", "graded_over", "closing_line", "model_version",
                 "void_reason", "best_book", "price_posted", "profit_units_posted", "closing_consensus_line",
                 "closing_p_over", "closing_at")


def _final_dates(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date) -> list[dt.date]:
    rows = con.execute("""SELECT DISTINCT p.game_date FROM player_prop_predictions p
                          WHERE p.game_date BETWEEN ? AND ?
                            AND EXISTS (SELECT 1 FROM player_boxscores b WHERE b.game_date = p.game_date)
                          ORDER BY 1""", [lo, hi]).fetchall()
    return [r[0] for r in rows]


def grade_dates(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date, *, require: bool = False) -> int:
    """Grade every prediction of [lo, hi] whose games are final; returns the rows graded."""
    dates = _final_dates(con, lo, hi)
    if require and not dates:
        raise PhaseGateError(f"nothing to grade for {lo}..{hi}: no predictions with final box scores "
                             "(run `nbaprops predict` first, and grade after the games)")
    if not dates:
        return 0
    preds = con.execute(f"""
        WITH closing AS (
            -- the closing line: the last pre-tip quote of the same book (a 'closing' source row is one)
            SELECT game_date, player_id, sportsbook, arg_max(line, coalesce(quoted_at, TIMESTAMPTZ '1970-01-01')) AS closing_line,
                   arg_max(over_price, coalesce(quoted_at, TIMESTAMPTZ '1970-01-01')) AS closing_over_price,
                   arg_max(under_price, coalesce(quoted_at, TIMESTAMPTZ '1970-01-01')) AS closing_under_price
            FROM prop_line_snapshots
            WHERE market = 'player_points' AND player_id IS NOT NULL
              AND game_date IN (SELECT unnest(?::DATE[]))
              AND {PRE_TIP}
            GROUP BY ALL
        )
        SELECT p.game_id, p.game_date, p.player_id, p.system_id, p.line_key, CAST(p.line AS DOUBLE) AS line,
               p.recommendation, p.predicted_points, p.p_over, p.market_p_over, p.confidence, p.edge,
               p.line_source, p.line_source = 'ACTUAL_PROP' AND p.line IS NOT NULL AS line_valid,
               CAST(p.over_price AS DOUBLE) AS over_price, CAST(p.under_price AS DOUBLE) AS under_price,
               p.model_version, p.injury_status, p.injury_report_time, c.closing_line, c.closing_over_price,
               c.closing_under_price, CAST(p.best_price AS DOUBLE) AS best_price, p.best_book
        FROM player_prop_predictions p
        LEFT JOIN closing c ON c.game_date = p.game_date AND c.player_id = p.player_id AND c.sportsbook = p.sportsbook
        WHERE p.game_date IN (SELECT unnest(?::DATE[]))""", [dates, dates]).df()
    actuals = con.execute("""SELECT game_id, player_id, pts AS points, minutes FROM player_boxscores
                             WHERE game_date IN (SELECT unnest(?::DATE[]))""", [dates]).df()
    graded = grade_predictions(preds, actuals)
    close = closing_market(con, dates, preds[["game_date", "player_id", "line"]])
    preds["closing_consensus_line"] = close["closing_consensus_line"].to_numpy(dtype=float)
    preds["closing_p_over"] = close["closing_p_over"].to_numpy(dtype=float)
    preds["closing_at"] = pd.to_datetime(close["closing_at"], utc=True).to_numpy()
    for c in ("line_key", "model_version", "closing_line", "best_book", "closing_consensus_line", "closing_p_over",
              "closing_at"):
        graded[c] = preds[c].to_numpy()
    graded["best_book"] = graded["best_book"].where(graded["is_bet"].astype(bool), None)
    out = graded[list(GRADE_COLUMNS)].copy()
    out["game_date"] = pd.to_datetime(out["game_date"]).dt.date
    con.register("_grades_in", out)
    try:
        with transaction(con) as tx:
            tx.execute("DELETE FROM prediction_grades WHERE game_date IN (SELECT unnest(?::DATE[]))", [dates])
            tx.execute("INSERT INTO prediction_grades BY NAME SELECT *, now() AS graded_at FROM _grades_in")
    finally:
        con.unregister("_grades_in")
    return len(out)


def load_graded(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date) -> pd.DataFrame:
    """Graded rows of [lo, hi] with the columns the metrics and report need (including each
    prediction's ``model_only_points`` / ``model_only_p_over``, NULL for rows without them)."""
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
            SELECT game_date, player_id, sportsbook,
                   arg_max(over_price, coalesce(quoted_at, TIMESTAMPTZ '1970-01-01')) AS closing_over_price,
                   arg_max(under_price, coalesce(quoted_at, TIMESTAMPTZ '1970-01-01')) AS closing_under_price
            FROM prop_line_snapshots
            WHERE market = 'player_points' AND {PRE_TIP}
            GROUP BY ALL) c ON c.game_date = g.game_date AND c.player_id = g.player_id AND c.sportsbook = p.sportsbook
        WHERE g.game_date BETWEEN ? AND ?
        ORDER BY g.game_date, g.game_id, g.player_id, g.system_id""", [lo, hi]).df()
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
