"""Feature rows of any market in the one layout the seven systems read (issue 12).

The systems were written for points: they read the feature columns by their v2 names
(``points_avg_last_10``, ``vegas_points_line``, ...), the context column ``opp_points_allowed_avg``,
the chosen line (``line``, ``sportsbook``, prices, quote time) and, to train, ``actual_points``; the
similarity system reads each player's past games' ``pts``. Rather than teach every system a second
vocabulary, a market's rows **keep the points names**: in the rows of, say, rebounds,
``points_avg_last_10`` holds the player's rebounds average over his last 10 games,
``vegas_points_line`` the chosen rebounds line, ``opp_points_allowed_avg`` the rebounds the opponent
allowed per game, ``actual_points`` the rebounds he made, and the history's ``pts`` his rebounds in
each past game. :data:`STAT_FEATURES` lists which columns are stat-specific and what they hold per
market; every other feature (rest, pace, fatigue, minutes, usage, home, shot zones, availability) is
the player's and the same in every market. So one system reads any market's stat through one
layout, and a system is **trained per market** (a model fitted on rebounds rows is a rebounds
model); every row also carries a ``market`` column (the stored key, e.g. ``player_rebounds``).

The points rows are exactly :func:`nbaprops.features.reader.load_rows` and the prediction slate's
(plus ``market``); another market's come from the precompute table ``market_feature_values``
(``warehouse/sql/phases/market_feature_values.sql``: the same point-in-time rules and sources as
the points figures) joined to the served feature store, each read in one query. The quality score
of a market's row is the feature store's score recomputed over its own sources (same weights and
caps), so a rebounds row missing its rebounds history scores as a points row missing its points
history would.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence

import duckdb
import pandas as pd
import pyarrow.compute as pc

from nbaprops.errors import NbapropsError
from nbaprops.features.definitions import CONTEXT_COLUMNS, LINE_MOVEMENT_FEATURES, SERVED_FEATURE_VERSION
from nbaprops.features.quality import quality_sql
from nbaprops.features.reader import SLATE_META, feature_names, load_history, load_rows, wide_features_sql
from nbaprops.markets import POINTS, Market, get_market

__all__ = [
    "HISTORY_DAYS",
    "HISTORY_GAMES",
    "LINE_COLUMNS",
    "POINTS_ONLY_FEATURES",
    "ROW_META",
    "STAT_CONTEXT",
    "STAT_FEATURES",
    "load_market_history",
    "load_market_rows",
    "load_market_slate",
    "market_rows_sql",
    "stat_sql",
]

#: How far back the slate's history reaches (the similarity system's neighbours).
HISTORY_DAYS = 90
HISTORY_GAMES = 30

#: The stat-specific columns of the v2 layout -> what they hold in another market's rows: a column
#: of ``market_feature_values`` (``line_move`` is ``line - opening_line``). The key keeps its points
#: name in every market's rows. The last entry is a context column, not a model feature.
STAT_FEATURES: dict[str, str] = {
    "points_avg_last_5": "stat_avg_last_5",             # mean of the stat, last 5 games before D
    "points_avg_last_10": "stat_avg_last_10",           # last 10 games
    "points_avg_season": "stat_avg_season",             # this season's games before D
    "points_std_last_10": "stat_std_last_10",           # sample std, last 10 games
    "recent_trend": "recent_trend",                     # -2..2 from mean(last 2) - mean(previous 3)
    "vegas_points_line": "line",                        # the market's chosen pre-tip line
    "vegas_opening_line": "opening_line",               # the chosen book's earliest pre-tip quote
    "vegas_line_move": "line_move",                     # line - opening line
    "has_vegas_line": "has_line",                       # 1/0: a line of this market
    "avg_points_vs_opponent": "avg_stat_vs_opponent",   # mean of the stat vs this opponent, 365 days
    "games_vs_opponent": "games_vs_opponent",           # count of those games
    "ppm_avg_last_10": "stat_per_minute_last_10",       # stat per minute, last 10 games
    "opp_points_allowed_avg": "opp_stat_allowed_avg",   # context: the stat the opponent allowed per game, last 15
}

#: Line-derived features computed for the points market only (the books' line movement, from
#: ``line_movement``): NULL with source ``missing`` in another market's rows, never the points values.
POINTS_ONLY_FEATURES: frozenset[str] = frozenset(LINE_MOVEMENT_FEATURES)

#: The context columns among :data:`STAT_FEATURES` (the rest are model features).
STAT_CONTEXT: frozenset[str] = frozenset(STAT_FEATURES) & frozenset(CONTEXT_COLUMNS)

#: The meta columns :func:`load_market_rows` starts with (those of ``load_rows``).
ROW_META: tuple[str, ...] = ("game_date", "game_id", "player_id", "team_abbr", "opponent_abbr", "is_home",
                             "is_expected", "has_line", "played", "quality_score AS feature_quality_score")

#: The chosen line's columns, in the order ``load_rows`` and the slate give them.
LINE_COLUMNS: tuple[str, ...] = ("line", "sportsbook", "over_price", "under_price", "quoted_at", "tipoff_at",
                                 "quote_basis", "line_snapshot_id", "line_source_feed")

# value and source of each market_feature_values quantity (``mf`` = market_feature_values)
_VEGAS_SRC = "CASE WHEN {e} IS NULL THEN 'missing' ELSE 'vegas' END"
_STAT_VALUE: dict[str, tuple[str, str]] = {
    "line": ("mf.line", _VEGAS_SRC.format(e="mf.line")),
    "opening_line": ("mf.opening_line", _VEGAS_SRC.format(e="mf.opening_line")),
    "line_move": ("mf.line - mf.opening_line",
                  "CASE WHEN mf.line IS NULL OR mf.opening_line IS NULL THEN 'missing' ELSE 'vegas' END"),
    "has_line": ("CASE WHEN mf.line IS NULL THEN 0.0 ELSE 1.0 END", "'calculated'"),
}


def _registered(market: Market) -> Market:
    """The registry's market of ``market`` (its key is inlined into SQL: only registry keys are)."""
    known = get_market(market.key)
    if known != market:
        raise NbapropsError(f"market {market.key!r} differs from the registry's entry of that key")
    return known


def stat_sql(market: Market, alias: str = "p") -> str:
    """The market's settled value over ``player_game_summary`` columns (where ``pts`` is ``points``),
    e.g. ``p.points + p.reb + p.ast`` for PRA; NULL when a part is NULL."""
    return " + ".join(f"{alias}.{'points' if c == 'pts' else c}" for c in _registered(market).columns)


def market_rows_sql(market: Market, version: str = SERVED_FEATURE_VERSION, *, where: str = "TRUE",
                    meta: Sequence[str] = SLATE_META, line: bool = True, outcome: bool = False) -> str:
    """A ``SELECT`` of a market's feature rows in the wide layout of
    :func:`~nbaprops.features.reader.wide_features_sql` (same columns, same order), plus ``market``.

    For :data:`~nbaprops.markets.POINTS` it is ``wide_features_sql`` with the ``market`` column. For
    another market the :data:`STAT_FEATURES` columns (keeping their points names) hold the market's
    values from ``market_feature_values``, ``has_line`` and the line columns are the market's, the
    quality score is recomputed over the row's sources, and ``actual_points`` (with ``outcome``) is
    the market's settled value. Aliases for ``where``: ``f`` feature_store, ``v`` feature_values,
    ``c`` upcoming_player_game_context, ``mf`` market_feature_values (not for points). The output
    columns are those of an outer query: order it by their names (``ORDER BY game_date, ...``).

    Args:
        market: A market of the registry.
        version: A feature version.
        where: Extra SQL condition (caller's parameter style).
        meta: Feature-store columns (or ``column AS alias``) the rows start with.
        line: Add the chosen line (a feature row without a context row is left out).
        outcome: Add ``actual_points`` (the settled value; NULL if not played) and ``actual_minutes``.
    """
    market = _registered(market)
    if market == POINTS:
        body = wide_features_sql(version, where=where, meta=meta, line=line, outcome=outcome)
        return f"SELECT q.*, '{market.key}' AS market FROM ({body}\n            ) AS q"
    names = feature_names(version)
    inner: list[str] = []
    outer: list[str] = []
    for item in meta:
        col, _, alias = item.partition(" AS ")
        alias = alias or col
        if col == "quality_score":
            outer.append(f"{{quality}} AS {alias}")
            continue
        inner.append(f"mf.has_line AS {alias}" if col == "has_line" else f"f.{col} AS {alias}")
        outer.append(f"r.{alias}")
    for i, n in enumerate(names, start=1):
        if n in STAT_FEATURES:
            key = STAT_FEATURES[n]
            value, src = _STAT_VALUE.get(key, (f"mf.{key}", f"mf.{key}__src"))
        elif n in POINTS_ONLY_FEATURES:
            value, src = "NULL", "'missing'"
        else:
            value, src = f"f.features[{i}]", f"f.feature_sources[{i}]"
        inner += [f"CAST({value} AS DOUBLE) AS {n}", f"{src} AS {n}__src"]
        outer.append(f"r.{n}")
    for c in CONTEXT_COLUMNS:
        inner.append(f"mf.{STAT_FEATURES[c]} AS {c}" if c in STAT_FEATURES else f"v.{c}")
        outer.append(f"r.{c}")
    joins = ["JOIN feature_values v ON v.game_date = f.game_date AND v.player_id = f.player_id",
             "JOIN market_feature_values mf ON mf.game_date = f.game_date AND mf.player_id = f.player_id"
             f" AND mf.market = '{market.key}'"]
    if line:
        joins.append("JOIN upcoming_player_game_context c ON c.game_date = f.game_date AND c.player_id = f.player_id")
        inner += [f"mf.{c}" for c in LINE_COLUMNS]
        outer += [f"r.{c}" for c in LINE_COLUMNS]
    if outcome:
        joins += ["LEFT JOIN player_game_summary p ON p.game_id = f.game_id AND p.player_id = f.player_id",
                  "LEFT JOIN player_stat_outcomes o ON o.game_id = f.game_id AND o.player_id = f.player_id"
                  f" AND o.market = '{market.key}'"]
        inner += ["CAST(o.actual AS DOUBLE) AS actual_points", "p.minutes AS actual_minutes"]
        outer += ["r.actual_points", "r.actual_minutes"]
    quality = quality_sql(names, "r")["quality_score"]
    cols = ", ".join(outer).replace("{quality}", quality)
    join_sql = "\n                ".join(joins)
    return f"""
            SELECT {cols}, '{market.key}' AS market
            FROM (
                SELECT {", ".join(inner)}
                FROM feature_store f
                {join_sql}
                WHERE f.feature_version = '{version}' AND ({where})
            ) AS r"""


def load_market_rows(con: duckdb.DuckDBPyConnection, market: Market, date_from: dt.date, date_to: dt.date, *,
                     played_only: bool = False, expected_only: bool = False,
                     version: str = SERVED_FEATURE_VERSION) -> pd.DataFrame:
    """A market's feature rows of [date_from, date_to] in the layout of
    :func:`~nbaprops.features.reader.load_rows`, plus ``market``. One query.

    For :data:`~nbaprops.markets.POINTS` exactly ``load_rows(...)``. For another market the same
    columns in the same order and dtypes (meta, the version's features, the context columns, the
    chosen line, ``actual_points``, ``actual_minutes``): the :data:`STAT_FEATURES` columns keep their
    points names and hold the market's values, so the seven systems read any market's stat through
    one layout (they are trained per market); ``has_line``, the line columns and the quality score
    are the market's, ``actual_points`` is the market's settled value (NaN if not played).

    Args:
        market: A market of the registry.
        played_only: Only rows of players who played (training).
        expected_only: Only expected players.
        version: The feature version.
    """
    market = _registered(market)
    if market == POINTS:
        out = load_rows(con, date_from, date_to, played_only=played_only, expected_only=expected_only,
                        version=version)
        out["market"] = market.key
        return out
    cond = "f.game_date BETWEEN ? AND ?"
    if played_only:
        cond += " AND f.played"
    if expected_only:
        cond += " AND f.is_expected"
    sql = market_rows_sql(market, version, where=cond, meta=ROW_META, line=True, outcome=True)
    df = con.execute(f"{sql}\n            ORDER BY r.game_date, r.game_id, r.player_id", [date_from, date_to]).df()
    out = df.astype(dict.fromkeys(feature_names(version), "float64"))
    out["game_date"] = pd.to_datetime(out["game_date"])
    return out


def load_market_slate(con: duckdb.DuckDBPyConnection, market: Market, game_date: dt.date, *,
                      version: str = SERVED_FEATURE_VERSION, history_days: int = HISTORY_DAYS,
                      history_games: int = HISTORY_GAMES) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(slate, history)`` of a market for ``game_date``, in ONE query (the prediction slate).

    ``slate``: one row per expected player of the date, for a market other than points only those
    with a line of that market (points: every expected player, as ``predict.slate.load_slate``),
    with the feature columns (stat-specific ones under their points names, see
    :data:`STAT_FEATURES`), the context columns, the chosen pre-tip line of the market with its book,
    prices, quote time and tip-off, and ``market``. ``history``: each slate player's last
    ``history_games`` games within ``history_days`` days before the date (the similarity system's
    neighbours) with ``pts`` = the market's settled value in that game.
    """
    market = _registered(market)
    names = feature_names(version)
    where = "f.game_date = $d AND f.is_expected" + ("" if market == POINTS else " AND mf.has_line")
    slate_sql = market_rows_sql(market, version, where=where, meta=SLATE_META, line=True)
    with warnings.catch_warnings():
        # DuckDB notes that Arrow output of an execute() result copies the rows; con.sql() would not,
        # but it fails while the caller's connection holds an unfinished result. The copy is cheap here.
        warnings.filterwarnings("ignore", message="Arrow output on a DB-API result")
        table = con.execute(f"""
        WITH slate AS ({slate_sql}
        ),
        hist AS (
            SELECT p.player_id, p.game_date, CAST({stat_sql(market)} AS DOUBLE) AS pts, p.minutes, p.opponent_abbr,
                   p.is_home, CAST(p.days_rest AS DOUBLE) AS days_rest, td.def_rating_l15 AS opp_def_rating,
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


def load_market_history(con: duckdb.DuckDBPyConnection, market: Market, player_ids: list[int] | None,
                        before: dt.date, *, days: int = 90, max_games: int = 30,
                        since: dt.date | None = None) -> pd.DataFrame:
    """:func:`~nbaprops.features.reader.load_history` of a market: the same columns and rows (one
    query) with ``pts`` = the market's settled value in each past game (training's history for the
    similarity system; points: exactly ``load_history``)."""
    return load_history(con, player_ids, before, days=days, max_games=max_games, since=since,
                        stat_sql=stat_sql(market))
