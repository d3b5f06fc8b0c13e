"""Load training rows, slates and player history from the warehouse, each in one query.

:func:`wide_features_sql` is the one place that turns the feature store's array columns
(``features``, ``feature_sources``, positions given by ``feature_names``) into one column per
feature; every reader of the store selects through it: :func:`load_rows` (training and backtests),
:func:`~nbaprops.features.store.load_features` (people reading the store) and the prediction
slate's one-query preload (``load_slate`` in ``predict/slate.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import duckdb
import pandas as pd

from nbaprops.features.definitions import CONTEXT_COLUMNS, FEATURE_VERSION, FEATURE_VERSIONS

__all__ = [
    "FEATURE_VERSION",  # re-exported from nbaprops.features.definitions
    "SLATE_META",
    "feature_names",
    "load_history",
    "load_rows",
    "wide_features_sql",
]

#: Feature-store columns (``f.``) a slate row starts with; the quality score is renamed so that it
#: cannot be confused with a prediction's own quality.
SLATE_META: tuple[str, ...] = (
    "game_date", "game_id", "player_id", "team_abbr", "opponent_abbr", "is_home", "has_line",
    "quality_score AS feature_quality_score",
)
# The chosen pre-tip line of ``upcoming_player_game_context`` under the names predictions use, and
# what the player actually did (NULL for a game not played yet).
_LINE_SQL: tuple[str, ...] = (
    "c.current_points_line AS line", "c.sportsbook", "c.over_price", "c.under_price",
    "c.line_quoted_at AS quoted_at", "c.tipoff_at", "c.line_quote_basis AS quote_basis", "c.line_snapshot_id",
    "c.line_source_feed",
)
_OUTCOME_SQL: tuple[str, ...] = ("CAST(p.points AS DOUBLE) AS actual_points", "p.minutes AS actual_minutes")


def feature_names(version: str) -> list[str]:
    """The ordered feature names of a version.

    Raises:
        KeyError: ``version`` is not one of :data:`~nbaprops.features.definitions.FEATURE_VERSIONS`.
    """
    try:
        return list(FEATURE_VERSIONS[version])
    except KeyError:
        raise KeyError(f"unknown feature version {version!r}; known: {sorted(FEATURE_VERSIONS)}") from None


def wide_features_sql(version: str, *, where: str = "TRUE", meta: Sequence[str] = SLATE_META,
                      line: bool = False, outcome: bool = False, sources: bool = False) -> str:
    """A ``SELECT`` of the feature store rows of one version as a wide frame.

    Columns, in order: ``meta`` (feature-store columns), one column per feature of the version
    (NULL where missing), ``<feature>__src`` per feature when ``sources``, the context columns of
    ``feature_values``, then the chosen pre-tip line (``line, sportsbook, over_price, under_price,
    quoted_at, tipoff_at, quote_basis, line_snapshot_id, line_source_feed``) when ``line`` and
    ``actual_points, actual_minutes`` when ``outcome``. Aliases: ``f`` feature_store, ``v``
    feature_values, ``c`` upcoming_player_game_context, ``p`` player_game_summary. The version is
    checked against the known versions and inlined; ``where`` (ANDed to it, in the caller's
    parameter style) and the ordering are the caller's.

    Args:
        version: A feature version.
        where: Extra SQL condition on the aliases above.
        meta: Feature-store columns (or ``column AS alias``) the rows start with.
        line: Inner-join the chosen line (a feature row without a context row is left out).
        outcome: Left-join the actual points and minutes.
        sources: Add each feature's source (``phase3``, ``vegas``, ``missing``, ...).

    Returns:
        The SQL text, without ``ORDER BY``.
    """
    names = feature_names(version)
    cols = [f"f.{m}" for m in meta]
    cols += [f"f.features[{i}] AS {n}" for i, n in enumerate(names, start=1)]
    if sources:
        cols += [f"f.feature_sources[{i}] AS {n}__src" for i, n in enumerate(names, start=1)]
    cols += [f"v.{c}" for c in CONTEXT_COLUMNS]
    joins = "JOIN feature_values v ON v.game_date = f.game_date AND v.player_id = f.player_id"
    if line:
        cols += _LINE_SQL
        joins += "\n            JOIN upcoming_player_game_context c ON c.game_date = f.game_date AND c.player_id = f.player_id"
    if outcome:
        cols += _OUTCOME_SQL
        joins += "\n            LEFT JOIN player_game_summary p ON p.game_id = f.game_id AND p.player_id = f.player_id"
    return f"""
            SELECT {", ".join(cols)}
            FROM feature_store f
            {joins}
            WHERE f.feature_version = '{version}' AND ({where})"""


def load_rows(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date, *,
              played_only: bool = False, expected_only: bool = False,
              version: str = FEATURE_VERSION) -> pd.DataFrame:
    """Feature rows of [date_from, date_to] as a wide frame, with the chosen line, prices and the
    actual points when the game has been played (NaN otherwise). One query."""
    cond = "f.game_date BETWEEN ? AND ?"
    if played_only:
        cond += " AND f.played"
    if expected_only:
        cond += " AND f.is_expected"
    meta = ("game_date", "game_id", "player_id", "team_abbr", "opponent_abbr", "is_home", "is_expected",
            "has_line", "played", "quality_score AS feature_quality_score")
    sql = wide_features_sql(version, where=cond, meta=meta, line=True, outcome=True)
    df = con.execute(f"{sql}\n            ORDER BY f.game_date, f.game_id, f.player_id", [date_from, date_to]).df()
    out = df.astype(dict.fromkeys(feature_names(version), "float64"))
    out["game_date"] = pd.to_datetime(out["game_date"])
    return out


def load_history(con: duckdb.DuckDBPyConnection, player_ids: list[int] | None, before: dt.date, *,
                 days: int = 90, max_games: int = 30, since: dt.date | None = None,
                 stat_sql: str = "p.points") -> pd.DataFrame:
    """Past games (strictly before ``before``) of the given players, in ONE query: the last
    ``max_games`` games within ``days`` days (or every game since ``since`` when given).
    Columns: player_id, game_date, pts, minutes, opponent_abbr, is_home, days_rest, opp_def_rating.

    ``stat_sql`` is what ``pts`` holds, over ``player_game_summary p`` (another market's stat:
    :func:`nbaprops.features.market_rows.load_market_history`)."""
    lo = since or (before - dt.timedelta(days=days))
    ids = "" if player_ids is None else "AND p.player_id IN (SELECT unnest(?::BIGINT[]))"
    args: list[object] = [lo, before] + ([player_ids] if player_ids is not None else [])
    limit = "" if since else f"QUALIFY ROW_NUMBER() OVER (PARTITION BY p.player_id ORDER BY p.game_date DESC) <= {int(max_games)}"
    df = con.execute(f"""
        SELECT p.player_id, p.game_date, CAST({stat_sql} AS DOUBLE) AS pts, p.minutes, p.opponent_abbr, p.is_home,
               p.days_rest, td.def_rating_l15 AS opp_def_rating
        FROM player_game_summary p
        LEFT JOIN team_defense td ON td.team_abbr = p.opponent_abbr AND td.analysis_date = p.game_date
        WHERE p.game_date >= ? AND p.game_date < ? {ids}
        {limit}
        ORDER BY p.player_id, p.game_date""", args).df()
    df["game_date"] = pd.to_datetime(df["game_date"])
    return df
