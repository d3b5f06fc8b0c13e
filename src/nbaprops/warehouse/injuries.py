"""Point-in-time reads of the official injury reports (table ``injury_reports``, migration 005).

Each report is a whole snapshot of the league's list at its ``report_time``: a player missing from a
later report is no longer listed, and a team marked ``NOT_YET_SUBMITTED`` has not filed yet. The read
for a game date as of a time is therefore the latest report with ``report_time <= as_of`` that lists
that date, taken whole. Nothing here says "available" by default: no report means no rows.

Lives in the warehouse layer so that ingest, features and predict can all use it.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from nbaprops.errors import InputError

__all__ = ["REPORT_STATUS_COLUMNS", "latest_report_status", "latest_report_time"]

#: The columns :func:`latest_report_status` returns, in order.
REPORT_STATUS_COLUMNS = ("game_date", "report_time", "game_time", "matchup", "team_abbr", "player_name",
                         "player_lookup", "player_id", "status", "reason")


def _aware(as_of: dt.datetime) -> dt.datetime:
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise InputError(f"as_of must be timezone-aware, got naive {as_of.isoformat()}", field="as_of")
    return as_of.astimezone(dt.UTC)


def latest_report_time(con: duckdb.DuckDBPyConnection, as_of: dt.datetime,
                       game_date: dt.date) -> dt.datetime | None:
    """The time of the latest report published at or before ``as_of`` that lists ``game_date``.

    Args:
        con: a warehouse connection (schema 005 or later).
        as_of: the moment of the question (timezone-aware).
        game_date: the US/Eastern game date.

    Returns:
        The report time (UTC), or ``None`` when no report of that date was published by then.
    """
    row = con.execute("SELECT max(report_time) FROM injury_reports WHERE game_date = ? AND report_time <= ?",
                      [game_date, _aware(as_of)]).fetchone()
    if not row or row[0] is None:
        return None
    ts: dt.datetime = row[0]
    return ts.astimezone(dt.UTC)


def latest_report_status(con: duckdb.DuckDBPyConnection, as_of: dt.datetime, game_date: dt.date) -> pd.DataFrame:
    """Each listed player's status for ``game_date`` in the latest report published at or before ``as_of``.

    A report published after ``as_of`` is never seen, so loading a later report does not change what an
    earlier ``as_of`` reads. The rows of the teams that had not submitted are included (``player_name``
    NULL, ``status`` ``NOT_YET_SUBMITTED``), so a caller can tell "not listed by a team that filed" from
    "the team has not filed yet".

    Args:
        con: a warehouse connection (schema 005 or later).
        as_of: the moment of the question (timezone-aware; a naive time is refused).
        game_date: the US/Eastern game date.

    Returns:
        :data:`REPORT_STATUS_COLUMNS`, one row per listed player or not-yet-submitted team, ordered by
        team then player (NULL text is ``None``, a NULL ``player_id`` is ``<NA>``); empty (no rows) when no report of that date existed at ``as_of``: never
        "available" by default.

    Raises:
        InputError: ``as_of`` is naive.
    """
    cols = ", ".join(REPORT_STATUS_COLUMNS)
    frame = con.execute(f"""
        WITH latest AS (SELECT max(report_time) AS report_time FROM injury_reports
                        WHERE game_date = $game_date AND report_time <= $as_of)
        SELECT {cols} FROM injury_reports
        WHERE game_date = $game_date AND report_time = (SELECT report_time FROM latest)
        ORDER BY team_abbr, player_name NULLS FIRST, file_row""",
                       {"game_date": game_date, "as_of": _aware(as_of)}).df()
    for col in ("game_time", "matchup", "player_name", "player_lookup", "reason"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)  # NULL -> None, not NaN
    frame["player_id"] = frame["player_id"].astype("Int64")
    return frame
