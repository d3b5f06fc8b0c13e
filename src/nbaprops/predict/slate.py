"""Load a date's slate (features, chosen line, context) and every slate player's recent history in
ONE query, so the coordinator never loops over players against the warehouse."""

from __future__ import annotations

import datetime as dt
import warnings

import duckdb
import pandas as pd
import pyarrow.compute as pc

from nbaprops.errors import NbapropsError
from nbaprops.features.definitions import SERVED_FEATURE_VERSION
from nbaprops.features.reader import feature_names, wide_features_sql

__all__ = ["HISTORY_DAYS", "HISTORY_GAMES", "load_slate"]

HISTORY_DAYS = 90
HISTORY_GAMES = 30


def load_slate(con: duckdb.DuckDBPyConnection, game_date: dt.date, *, version: str = SERVED_FEATURE_VERSION,
               history_days: int = HISTORY_DAYS, history_games: int = HISTORY_GAMES
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(slate, history)`` for the expected players of ``game_date``.

    ``slate``: one row per player with the feature columns, context columns, the chosen pre-tip line
    with its book, prices, quote time and tip-off. ``history``: each player's last ``history_games``
    games within ``history_days`` days before the date (for the similarity system).
    """
    names = feature_names(version)
    slate_sql = wide_features_sql(version, where="f.game_date = $d AND f.is_expected", line=True)
    with warnings.catch_warnings():
        # DuckDB notes that Arrow output of an execute() result copies the rows; con.sql() would not,
        # but it fails while the caller's connection holds an unfinished result. The copy is cheap here.
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        table = con.execute(f"""
        WITH slate AS ({slate_sql}
        ),
        hist AS (
            SELECT p.player_id, p.game_date, CAST(p.points AS DOUBLE) AS pts, p.minutes, p.opponent_abbr, p.is_home,
                   CAST(p.days_rest AS DOUBLE) AS days_rest, td.def_rating_l15 AS opp_def_rating,
                   ROW_NUMBER() OVER (PARTITION BY p.player_id ORDER BY p.game_date DESC) AS rn
            FROM player_game_summary p
            LEFT JOIN team_defense td ON td.team_abbr = p.opponent_abbr AND td.analysis_date = p.game_date
            WHERE p.game_date < $d AND p.game_date >= $d - to_days(CAST($days AS INTEGER))
              AND p.player_id IN (SELECT player_id FROM slate)
        )
        -- one row per slate player; the history rides along as list columns (exploded below)
        SELECT s.*, h.h_game_date, h.h_pts, h.h_minutes, h.h_opp, h.h_home, h.h_rest, h.h_def
        FROM slate s
        LEFT JOIN (
            SELECT player_id,
                   list(game_date ORDER BY game_date) AS h_game_date, list(pts ORDER BY game_date) AS h_pts,
                   list(minutes ORDER BY game_date) AS h_minutes, list(opponent_abbr ORDER BY game_date) AS h_opp,
                   list(is_home ORDER BY game_date) AS h_home, list(days_rest ORDER BY game_date) AS h_rest,
                   list(opp_def_rating ORDER BY game_date) AS h_def
            FROM hist WHERE rn <= $games GROUP BY player_id
        ) h ON h.player_id = s.player_id
        ORDER BY s.game_id, s.player_id""",
        {"d": game_date, "days": history_days, "games": history_games}).to_arrow_table()
    if table is None:
        raise NbapropsError(f"the slate query for {game_date} returned no result")
    hcols = {"h_game_date": "game_date", "h_pts": "pts", "h_minutes": "minutes", "h_opp": "opponent_abbr",
             "h_home": "is_home", "h_rest": "days_rest", "h_def": "opp_def_rating"}
    parents = pc.list_parent_indices(table["h_pts"])
    history = pd.DataFrame({"player_id": pc.take(table["player_id"], parents).to_numpy()})
    for src, dst in hcols.items():
        history[dst] = pc.list_flatten(table[src]).to_pandas()
    history["game_date"] = pd.to_datetime(history["game_date"]).astype("datetime64[us]")
    for c in ("pts", "minutes", "days_rest", "opp_def_rating"):
        history[c] = pd.to_numeric(history[c], errors="coerce").astype("float64")
    history["is_home"] = history["is_home"].astype(bool)
    slate = table.drop_columns(list(hcols)).to_pandas().astype(dict.fromkeys(names, "float64"))
    for c in ("days_rest", "opponent_days_rest", "games_played_season", "line", "over_price", "under_price"):
        slate[c] = pd.to_numeric(slate[c], errors="coerce").astype("float64")
    slate["game_date"] = pd.to_datetime(slate["game_date"]).astype("datetime64[us]")
    return slate.reset_index(drop=True), history
