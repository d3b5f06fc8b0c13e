"""Load games, team and player box scores from the bulk files into core tables.

Every loader replaces the rows that came from the same file inside one transaction, so loading a
file twice changes nothing and a failure leaves the previous state.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from nbaprops.errors import InputError, MissingColumnsError
from nbaprops.ingest.sources.files import reader_sql
from nbaprops.warehouse.connection import transaction

__all__ = ["load_official_game_log", "load_player_boxscores", "load_team_advanced", "load_team_game_logs",
           "load_linescores", "season_type_label"]

_SEASON_TYPE_SQL = """CASE
    WHEN lower({c}) IN ('regular_season', 'regular season') THEN 'Regular Season'
    WHEN lower({c}) IN ('playoff', 'playoffs') THEN 'Playoffs'
    WHEN lower({c}) IN ('playin', 'play_in', 'play-in') THEN 'PlayIn'
    WHEN lower({c}) LIKE 'nba_cup%' THEN 'NBA Cup'
    ELSE {c} END"""


def season_type_label(column: str) -> str:
    """SQL expression mapping source game types to 'Regular Season' / 'Playoffs' / 'PlayIn' / 'NBA Cup'."""
    return _SEASON_TYPE_SQL.format(c=column)


def _tx(con: duckdb.DuckDBPyConnection, statements: list[tuple[str, list[object]]]) -> None:
    with transaction(con) as tx:
        for sql, params in statements:
            tx.execute(sql, params)


def _check_unknown_teams(con: duckdb.DuckDBPyConnection, path: Path, table_expr: str, cols: list[str]) -> None:
    for col in cols:
        row = con.execute(f"""SELECT r.file_row, r.{col} FROM {table_expr} AS r
                              LEFT JOIN team_aliases AS a ON a.alias = upper(r.{col})
                              WHERE a.alias IS NULL LIMIT 1""").fetchone()
        if row:
            raise InputError(f"unknown team {row[1]!r}; add it to team_aliases or fix the file",
                             file=str(path), row=int(row[0]), field=col)


def _check_fields(con: duckdb.DuckDBPyConnection, path: Path, table: str, text: tuple[str, ...],
                  numbers: tuple[str, ...], other: tuple[str, ...] = ()) -> None:
    """Every column the loader reads exists, required text is present and numbers parse (blank = NULL).

    Raises MissingColumnsError / InputError naming the file, row and field, before anything is written.
    """
    cols = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    missing = sorted((set(text) | set(numbers) | set(other)) - cols)
    if missing:
        raise MissingColumnsError(f"missing columns {missing}", file=str(path), field=missing[0])

    def blank(c: str) -> str:
        return f"nullif(trim(CAST(\"{c}\" AS VARCHAR)), '') IS NULL"

    cases = [f"WHEN {blank(c)} THEN '{c}|missing value'" for c in text]
    cases += [f"WHEN NOT {blank(c)} AND try_cast(\"{c}\" AS DOUBLE) IS NULL THEN '{c}|not a number'" for c in numbers]
    row = con.execute(f"""SELECT file_row, problem FROM (SELECT file_row, CASE {' '.join(cases)} END AS problem
                          FROM {table}) WHERE problem IS NOT NULL ORDER BY file_row LIMIT 1""").fetchone()
    if row:
        field, what = str(row[1]).split("|", 1)
        raise InputError(what, file=str(path), row=int(row[0]), field=field)


_TGL_SIDE_STATS = ("pts", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast", "stl", "blk",
                   "tov", "pf")
_TGL_TEXT = ("game_id", "season", "game_type", "team_abbreviation_home", "team_abbreviation_road")
_TGL_NUMBERS = ("team_id_home", "team_id_road", *(f"{c}_{s}" for s in ("home", "road") for c in _TGL_SIDE_STATS))


def load_team_game_logs(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Games and both teams' box totals from a team_game_logs_YYYY-YY.csv."""
    src = f"(SELECT row_number() OVER () + 1 AS file_row, * FROM {reader_sql(path)})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _tgl AS SELECT * FROM {src}")
    _check_fields(con, path, "_tgl", _TGL_TEXT, _TGL_NUMBERS, ("game_date", "pts_home", "neutral_site", "wl_home"))
    bad = con.execute("""SELECT file_row FROM _tgl WHERE try_cast(game_date AS DATE) IS NULL
                         OR try_cast(pts_home AS INTEGER) IS NULL LIMIT 1""").fetchone()
    if bad:
        raise InputError("game_date or pts_home is not valid", file=str(path), row=int(bad[0]),
                         field="game_date/pts_home")
    _check_unknown_teams(con, path, "_tgl", ["team_abbreviation_home", "team_abbreviation_road"])
    f = str(path)
    side_cols = ["pts", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast", "stl",
                 "blk", "tov", "pf"]

    def side(me: str, them: str, home: bool) -> str:
        stats = ", ".join(f"CAST(CAST({c}_{me} AS DOUBLE) AS INTEGER)" for c in side_cols)
        won = (f"CASE WHEN wl_home IS NULL OR wl_home = '' THEN NULL ELSE (wl_home = 'W') = {str(home).upper()} END")
        return f"""SELECT lpad(game_id, 10, '0'), CAST(game_date AS DATE), season, ta.abbreviation,
                       CAST(team_id_{me} AS BIGINT), tb.abbreviation, {str(home).upper()}, {won}, {stats},
                       NULL, NULL, NULL, NULL, NULL, NULL, NULL, ?
                FROM _tgl JOIN team_aliases ta ON ta.alias = upper(team_abbreviation_{me})
                          JOIN team_aliases tb ON tb.alias = upper(team_abbreviation_{them})"""

    _tx(con, [
        ("DELETE FROM games WHERE source = ?", [f]),
        ("DELETE FROM team_boxscores WHERE source = ?", [f]),
        (f"""INSERT OR REPLACE INTO games
             SELECT lpad(game_id, 10, '0'), CAST(game_date AS DATE), season,
                    CAST(left(season, 4) AS INTEGER), {season_type_label('game_type')},
                    CAST(team_id_home AS BIGINT), ha.abbreviation, CAST(team_id_road AS BIGINT), ra.abbreviation,
                    CAST(CAST(pts_home AS DOUBLE) AS INTEGER), CAST(CAST(pts_road AS DOUBLE) AS INTEGER),
                    lower(CAST(neutral_site AS VARCHAR)) = 'true', NULL, 'final', ?
             FROM _tgl JOIN team_aliases ha ON ha.alias = upper(team_abbreviation_home)
                       JOIN team_aliases ra ON ra.alias = upper(team_abbreviation_road)""", [f]),
        (f"INSERT OR REPLACE INTO team_boxscores {side('home', 'road', True)}", [f]),
        (f"INSERT OR REPLACE INTO team_boxscores {side('road', 'home', False)}", [f]),
    ])
    row = con.execute("SELECT count(*) FROM _tgl").fetchone()
    return int(row[0]) if row else 0


def load_team_advanced(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Possessions and minutes per team-game (box_score_advanced_YYYY-YY.csv)."""
    src = reader_sql(path)
    n = con.execute(f"SELECT count(*) FROM {src}").fetchone()
    _tx(con, [(f"""UPDATE team_boxscores AS t SET possessions = a.poss, minutes = a.mins
                   FROM (SELECT lpad(game_id, 10, '0') AS gid, upper(team_abbreviation_home) AS ab,
                                try_cast(possessions_home AS DOUBLE) AS poss, try_cast(minutes_home AS DOUBLE) AS mins
                         FROM {src}
                         UNION ALL
                         SELECT lpad(game_id, 10, '0'), upper(team_abbreviation_road),
                                try_cast(possessions_road AS DOUBLE), try_cast(minutes_road AS DOUBLE) FROM {src}) AS a
                   JOIN team_aliases AS al ON al.alias = a.ab
                   WHERE t.game_id = a.gid AND t.team_abbr = al.abbreviation""", [])])
    return int(n[0]) if n else 0


def load_linescores(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Points by quarter and overtime per team-game."""
    src = reader_sql(path)
    n = con.execute(f"SELECT count(*) FROM {src}").fetchone()
    q = ", ".join(f"try_cast({c}_{{s}} AS INTEGER) AS {c}" for c in
                  ("pts_qtr1", "pts_qtr2", "pts_qtr3", "pts_qtr4", "pts_ot_total"))
    sel = " UNION ALL ".join(
        f"SELECT lpad(game_id, 10, '0') AS gid, upper(team_abbreviation_{s}) AS ab, {q.format(s=s)} FROM {src}"
        for s in ("home", "road"))
    _tx(con, [(f"""UPDATE team_boxscores AS t SET pts_q1 = a.pts_qtr1, pts_q2 = a.pts_qtr2,
                       pts_q3 = a.pts_qtr3, pts_q4 = a.pts_qtr4, pts_ot = a.pts_ot_total
                   FROM ({sel}) AS a JOIN team_aliases AS al ON al.alias = a.ab
                   WHERE t.game_id = a.gid AND t.team_abbr = al.abbreviation""", [])])
    return int(n[0]) if n else 0


_BOX_TEXT = ("game_id", "season", "season_type", "team", "opp_team", "home_away")
_BOX_NUMBERS = ("team_id", "MIN", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL",
                "BLK", "TOV", "PF", "FGA_RIM", "FGM_RIM", "FGA_PAINT", "FGM_PAINT", "FGA_MID", "FGM_MID", "FGA_C3",
                "FGM_C3", "FB_FGA", "AVG_SHOT_DIST")
_BOX_OTHER = ("game_date", "player_id", "player_name", "starter", "PTS")


def load_player_boxscores(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Player box scores (one row per player per game played); adds games missing from team logs."""
    f = str(path)
    con.execute(f"CREATE OR REPLACE TEMP TABLE _pb AS SELECT row_number() OVER () AS file_row, * FROM {reader_sql(path)}")
    _check_fields(con, path, "_pb", _BOX_TEXT, _BOX_NUMBERS, _BOX_OTHER)
    bad = con.execute("""SELECT file_row, CASE WHEN try_cast(game_date AS DATE) IS NULL THEN 'game_date'
                                              WHEN try_cast(player_id AS BIGINT) IS NULL THEN 'player_id'
                                              ELSE 'PTS' END
                         FROM _pb WHERE try_cast(game_date AS DATE) IS NULL OR try_cast(player_id AS BIGINT) IS NULL
                            OR try_cast("PTS" AS DOUBLE) IS NULL OR try_cast("PTS" AS DOUBLE) < 0
                         ORDER BY file_row LIMIT 1""").fetchone()
    if bad:
        raise InputError("missing or invalid value", file=f, row=int(bad[0]), field=str(bad[1]))
    _check_unknown_teams(con, path, "_pb", ["team", "opp_team"])
    dup = con.execute("""SELECT min(file_row) FROM _pb GROUP BY game_id, player_id HAVING count(*) > 1 LIMIT 1""").fetchone()
    if dup:
        raise InputError("duplicate (game_id, player_id) row", file=f, row=int(dup[0]), field="game_id/player_id")
    ints = ", ".join(f'CAST(try_cast("{c}" AS DOUBLE) AS INTEGER)' for c in
                     ("PTS", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL",
                      "BLK", "TOV", "PF"))
    zones = ", ".join(f'try_cast("{c}" AS DOUBLE)' for c in
                      ("FGA_RIM", "FGM_RIM", "FGA_PAINT", "FGM_PAINT", "FGA_MID", "FGM_MID", "FGA_C3", "FGM_C3",
                       "FB_FGA", "AVG_SHOT_DIST"))
    _tx(con, [
        ("DELETE FROM player_boxscores WHERE source = ?", [f]),
        (f"""INSERT OR REPLACE INTO player_boxscores
             SELECT lpad(CAST(game_id AS VARCHAR), 10, '0'), CAST(player_id AS BIGINT), CAST(game_date AS DATE),
                    season, season_type, player_name, CAST(team_id AS BIGINT), t.abbreviation, o.abbreviation,
                    lower(home_away) = 'home', lower(CAST(starter AS VARCHAR)) = 'true', try_cast("MIN" AS DOUBLE),
                    {ints}, {zones}, ?
             FROM _pb JOIN team_aliases t ON t.alias = upper(team) JOIN team_aliases o ON o.alias = upper(opp_team)""",
         [f]),
        # games the team logs do not have (e.g. a season they do not cover yet)
        ("""INSERT OR IGNORE INTO games
            SELECT b.game_id, min(b.game_date), min(b.season), CAST(left(min(b.season), 4) AS INTEGER),
                   min(b.season_type),
                   max(CASE WHEN b.is_home THEN b.team_id END), max(CASE WHEN b.is_home THEN b.team_abbr END),
                   max(CASE WHEN NOT b.is_home THEN b.team_id END), max(CASE WHEN NOT b.is_home THEN b.team_abbr END),
                   sum(CASE WHEN b.is_home THEN b.pts END), sum(CASE WHEN NOT b.is_home THEN b.pts END),
                   NULL, NULL, 'final', ?
            FROM player_boxscores b WHERE b.source = ? AND b.game_id NOT IN (SELECT game_id FROM games)
            GROUP BY b.game_id
            HAVING max(CASE WHEN b.is_home THEN b.team_abbr END) IS NOT NULL
               AND max(CASE WHEN NOT b.is_home THEN b.team_abbr END) IS NOT NULL""", [f, f]),
    ])
    row = con.execute("SELECT count(*) FROM _pb").fetchone()
    return int(row[0]) if row else 0


def load_official_game_log(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> int:
    """Official stats.nba.com PlayerGameLog CSVs (one per player-season), loaded in one statement."""
    if not paths:
        return 0
    lst = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _ogl AS
        SELECT row_number() OVER () + 1 AS file_row, * FROM
        read_csv([{lst}], header = true, all_varchar = true, filename = true, union_by_name = true)""")
    bad = con.execute("""SELECT filename, file_row FROM _ogl
                         WHERE try_strptime("GAME_DATE", '%b %d, %Y') IS NULL LIMIT 1""").fetchone()
    if bad:
        raise InputError("GAME_DATE is not like 'APR 14, 2024'", file=str(bad[0]), field="GAME_DATE")
    ints = ", ".join(f'CAST(try_cast("{c}" AS DOUBLE) AS INTEGER)' for c in
                     ("PTS", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL",
                      "BLK", "TOV", "PF"))
    _tx(con, [
        ("DELETE FROM official_player_game_logs WHERE source = 'nba_api_playergamelog_csv'", []),
        (f"""INSERT OR REPLACE INTO official_player_game_logs
             SELECT lpad("Game_ID", 10, '0'), CAST("Player_ID" AS BIGINT),
                    CAST(strptime("GAME_DATE", '%b %d, %Y') AS DATE), "SEASON_ID", "MATCHUP",
                    split_part("MATCHUP", ' ', 1), split_part("MATCHUP", ' ', 3), "MATCHUP" LIKE '%vs.%',
                    "WL", try_cast("MIN" AS DOUBLE), {ints}, CAST(try_cast("PLUS_MINUS" AS DOUBLE) AS INTEGER),
                    'nba_api_playergamelog_csv'
             FROM _ogl""", []),
    ])
    row = con.execute("SELECT count(*) FROM _ogl").fetchone()
    return int(row[0]) if row else 0
