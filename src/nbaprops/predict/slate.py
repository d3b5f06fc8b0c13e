"""Load a date's slate (features, chosen line, context) and every slate player's recent history in
ONE query, so the coordinator never loops over players against the warehouse. The query is
:func:`nbaprops.features.market_rows.load_market_slate` (any market); this is its points slate."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from nbaprops.features.definitions import SERVED_FEATURE_VERSION
from nbaprops.features.market_rows import HISTORY_DAYS, HISTORY_GAMES, load_market_slate
from nbaprops.markets import POINTS

__all__ = ["HISTORY_DAYS", "HISTORY_GAMES", "load_slate"]


def load_slate(con: duckdb.DuckDBPyConnection, game_date: dt.date, *, version: str = SERVED_FEATURE_VERSION,
               history_days: int = HISTORY_DAYS, history_games: int = HISTORY_GAMES
               ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return ``(slate, history)`` for the expected players of ``game_date``.

    ``slate``: one row per player with the feature columns, context columns, the chosen pre-tip line
    with its book, prices, quote time and tip-off. ``history``: each player's last ``history_games``
    games within ``history_days`` days before the date (for the similarity system).
    """
    slate, history = load_market_slate(con, POINTS, game_date, version=version, history_days=history_days,
                                       history_games=history_games)
    return slate.drop(columns="market"), history
