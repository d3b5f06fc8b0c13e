"""Game-date questions every layer asks of the ``games`` table."""

from __future__ import annotations

import datetime as dt

import duckdb

__all__ = ["previous_game_date"]


def previous_game_date(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> dt.date | None:
    """The latest date before ``game_date`` with games (None when there is none)."""
    row = con.execute("SELECT max(game_date) FROM games WHERE game_date < ?", [game_date]).fetchone()
    return row[0] if row and row[0] is not None else None
