"""Load training rows, slates and player history from the warehouse, each in one query."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from nbaprops.features.definitions import CONTEXT_COLUMNS, FEATURE_VERSION, FEATURE_VERSIONS

__all__ = ["FEATURE_VERSION", "load_history", "load_rows"]  # FEATURE_VERSION re-exported from definitions


def load_rows(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date, *,
              played_only: bool = False, expected_only: bool = False,
              version: str = FEATURE_VERSION) -> pd.DataFrame:
    """Feature rows of [date_from, date_to] as a wide frame, with the chosen line, prices and the
    actual points when the game has been played (NaN otherwise). One query."""
    names = list(FEATURE_VERSIONS[version])
    ctx = ", ".join(f"v.{c}" for c in CONTEXT_COLUMNS)
    feats = ", ".join(f"f.features[{i + 1}] AS {n}" for i, n in enumerate(names))
    cond = ""
    if played_only:
        cond += " AND f.played"
    if expected_only:
        cond += " AND f.is_expected"
    df = con.execute(f"""
        SELECT f.game_date, f.game_id, f.player_id, f.team_abbr, f.opponent_abbr, f.is_home, f.is_expected,
               f.has_line, f.played, f.quality_score AS feature_quality_score, {feats}, {ctx},
               c.current_points_line AS line, c.sportsbook, c.over_price, c.under_price,
               c.line_quoted_at AS quoted_at, c.tipoff_at, c.line_quote_basis AS quote_basis,
               c.line_snapshot_id, c.line_source_feed,
               CAST(p.points AS DOUBLE) AS actual_points, p.minutes AS actual_minutes
        FROM feature_store f
        JOIN feature_values v ON v.game_date = f.game_date AND v.player_id = f.player_id
        JOIN upcoming_player_game_context c ON c.game_date = f.game_date AND c.player_id = f.player_id
        LEFT JOIN player_game_summary p ON p.game_id = f.game_id AND p.player_id = f.player_id
        WHERE f.feature_version = ? AND f.game_date BETWEEN ? AND ? {cond}
        ORDER BY f.game_date, f.game_id, f.player_id""", [version, date_from, date_to]).df()
    out = df.astype(dict.fromkeys(names, "float64"))
    out["game_date"] = pd.to_datetime(out["game_date"])
    return out


def load_history(con: duckdb.DuckDBPyConnection, player_ids: list[int] | None, before: dt.date, *,
                 days: int = 90, max_games: int = 30, since: dt.date | None = None) -> pd.DataFrame:
    """Past games (strictly before ``before``) of the given players, in ONE query: the last
    ``max_games`` games within ``days`` days (or every game since ``since`` when given).
    Columns: player_id, game_date, pts, minutes, opponent_abbr, is_home, days_rest, opp_def_rating."""
    lo = since or (before - dt.timedelta(days=days))
    ids = "" if player_ids is None else "AND p.player_id IN (SELECT unnest(?::BIGINT[]))"
    args: list[object] = [lo, before] + ([player_ids] if player_ids is not None else [])
    limit = "" if since else f"QUALIFY ROW_NUMBER() OVER (PARTITION BY p.player_id ORDER BY p.game_date DESC) <= {int(max_games)}"
    df = con.execute(f"""
        SELECT p.player_id, p.game_date, CAST(p.points AS DOUBLE) AS pts, p.minutes, p.opponent_abbr, p.is_home,
               p.days_rest, td.def_rating_l15 AS opp_def_rating
        FROM player_game_summary p
        LEFT JOIN team_defense td ON td.team_abbr = p.opponent_abbr AND td.analysis_date = p.game_date
        WHERE p.game_date >= ? AND p.game_date < ? {ids}
        {limit}
        ORDER BY p.player_id, p.game_date""", args).df()
    df["game_date"] = pd.to_datetime(df["game_date"])
    return df
