"""Point-in-time reads of the official injury reports (table ``injury_reports``, migration 005).

Each report is a whole snapshot of the league's list at its ``report_time``: a player missing from a
later report is no longer listed, and a team marked ``NOT_YET_SUBMITTED`` has not filed yet. The read
for a game date as of a time is therefore the latest report with ``report_time <= as_of`` that lists
that date, taken whole. Nothing here says "available" by default: no report means no rows.

Lives in the warehouse layer so that ingest, features and predict can all use it.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from nbaprops.errors import InputError

__all__ = ["AVAILABILITY_COLUMNS", "AVAILABILITY_STATUSES", "REPORT_STATUS_COLUMNS", "game_tipoffs",
           "latest_report_status", "latest_report_time", "player_availability", "printed_game_time"]

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


#: A prediction's ``injury_status`` vocabulary (the report's statuses, upper case); NULL = not listed.
AVAILABILITY_STATUSES = ("OUT", "DOUBTFUL", "QUESTIONABLE", "PROBABLE", "AVAILABLE")
#: The columns :func:`player_availability` returns, in order.
AVAILABILITY_COLUMNS = ("game_id", "player_id", "injury_status", "injury_reason", "injury_report_time",
                        "injury_as_of")

_EASTERN = ZoneInfo("America/New_York")
_GAME_TIME_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})")


def printed_game_time(game_date: dt.date, game_time: str | None) -> dt.datetime | None:
    """The tip-off a report prints for a game (``"07:30 (ET)"``) as an aware UTC time; ``None`` if unreadable.

    The report prints a 12-hour time without AM/PM: 12:xx is noon, 11:xx is read as 11 AM, 1:xx to 10:xx
    as PM (NBA games tip between noon and 10:30 PM ET; reading 11:xx as AM errs early, which only ever
    shows fewer reports).
    """
    m = _GAME_TIME_RE.match(game_time or "")
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    if not 1 <= hour <= 12 or minute > 59:
        return None
    hour24 = hour if hour >= 11 else hour + 12
    return dt.datetime.combine(game_date, dt.time(hour24, minute), tzinfo=_EASTERN).astimezone(dt.UTC)


def _games(con: duckdb.DuckDBPyConnection, game_date: dt.date
           ) -> list[tuple[str, str, str, dt.datetime | None]]:
    """(game_id, home, away, tip-off) of each game of the date (tip-off as in :func:`game_tipoffs`)."""
    rows = con.execute("""
        SELECT g.game_id, g.home_abbr, g.away_abbr, g.tipoff_at,
               (SELECT min(r.game_time) FROM injury_reports r
                WHERE r.game_date = g.game_date AND r.matchup = g.away_abbr || '@' || g.home_abbr
                  AND r.game_time IS NOT NULL) AS printed
        FROM games g WHERE g.game_date = ? ORDER BY g.game_id""", [game_date]).fetchall()
    out: list[tuple[str, str, str, dt.datetime | None]] = []
    for game_id, home, away, tipoff, printed in rows:
        when = ((tipoff if tipoff.tzinfo else tipoff.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
                if tipoff is not None else printed_game_time(game_date, printed))
        out.append((str(game_id), str(home), str(away), when))
    return out


def game_tipoffs(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> dict[str, dt.datetime | None]:
    """Each game of ``game_date``: its tip-off (``games.tipoff_at``), else the game time the injury
    reports print for its matchup (the league's own schedule), else ``None``."""
    return {game_id: tipoff for game_id, _, _, tipoff in _games(con, game_date)}


def player_availability(con: duckdb.DuckDBPyConnection, game_date: dt.date, now: dt.datetime) -> pd.DataFrame:
    """What the injury report said about each player of ``game_date`` at each game's as-of time.

    The as-of time of a game is ``min(now, its tip-off)`` (:func:`game_tipoffs`): a live prediction reads
    the reports published so far, a prediction of a past date (a backtest, a re-run) reads what was
    published before the game began, whenever it is run. A game whose tip-off is unknown (no
    ``games.tipoff_at`` and no report printing its time) has no as-of time and reads no report. The
    report read is the latest one with ``report_time <= as_of`` that lists the date
    (:func:`latest_report_status`), taken whole; a game's players are the rows of its two teams.

    Args:
        con: a warehouse connection (schema 005 or later).
        game_date: the US/Eastern game date.
        now: the moment of the prediction (timezone-aware).

    Returns:
        :data:`AVAILABILITY_COLUMNS`: one row per (game, listed player with a resolved ``player_id``) of
        a game with an as-of time, plus one row per such game with ``player_id`` ``<NA>`` carrying the
        report time and as-of time (so a caller can tell "not listed" from "no report"). ``injury_status``
        is one of :data:`AVAILABILITY_STATUSES`.

    Raises:
        InputError: ``now`` is naive.
    """
    now_utc = _aware(now)
    frames: list[pd.DataFrame] = []
    cache: dict[dt.datetime, pd.DataFrame] = {}
    for game_id, home, away, tipoff in _games(con, game_date):
        if tipoff is None:
            continue
        as_of = min(now_utc, tipoff)
        if as_of not in cache:
            cache[as_of] = latest_report_status(con, as_of, game_date)
        report = cache[as_of]
        report_time = report["report_time"].iloc[0] if len(report) else None
        head = pd.DataFrame({"game_id": [game_id], "player_id": pd.array([None], dtype="Int64"),
                             "injury_status": [None], "injury_reason": [None],
                             "injury_report_time": [report_time], "injury_as_of": [as_of]})
        listed = report[report["player_id"].notna() & report["team_abbr"].isin([home, away])
                        & report["status"].str.upper().isin(AVAILABILITY_STATUSES)]
        players = pd.DataFrame({"game_id": game_id, "player_id": listed["player_id"].astype("Int64"),
                                "injury_status": listed["status"].str.upper(), "injury_reason": listed["reason"],
                                "injury_report_time": report_time, "injury_as_of": as_of})
        frames += [head, players]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="Int64" if c == "player_id" else "object")
                             for c in AVAILABILITY_COLUMNS})
    out = pd.concat([f for f in frames if len(f)], ignore_index=True)
    # a player listed twice for one game (traded, two teams' reports) keeps the most severe status
    severity = {s: i for i, s in enumerate(AVAILABILITY_STATUSES)}
    out["_rank"] = out["injury_status"].map(severity)
    out = (out.sort_values(["game_id", "_rank"], na_position="first", kind="stable")
              .drop_duplicates(["game_id", "player_id"], keep="first").drop(columns="_rank"))
    return out[list(AVAILABILITY_COLUMNS)].reset_index(drop=True)
