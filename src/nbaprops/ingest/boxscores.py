"""Load games, team and player box scores from the bulk files into core tables.

The ingest contract (:mod:`nbaprops.ingest.contract`, docs/data-contract.md): every row is checked
first and a bad row goes to ``quarantine_rows`` (file, row, field, reason), not its whole file; a
load replaces exactly the keys its accepted rows bring, and only the columns its kind provides:

| kind | key it replaces | columns |
|---|---|---|
| team game logs | game_id | ``games`` (all but ``tipoff_at``), ``team_boxscores`` box totals |
| advanced box scores | (game_id, team) | ``team_game_advanced`` -> ``team_boxscores.possessions, minutes`` |
| linescores | (game_id, team) | ``team_game_linescores`` -> ``team_boxscores.pts_q1 .. pts_ot`` |
| player box scores | (game_id, player_id) | ``player_boxscores`` (+ ``games`` the team logs do not have) |
| official game logs | (game_id, player_id) | ``official_player_game_logs`` |

Each group of files is written in one transaction (quarantine, rows, ``raw_files``), so a failure
leaves the previous state and loading the same content twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from nbaprops.ingest.contract import (
    PLAYER_GAME_RANGES,
    TEAM_GAME_RANGES,
    LoadResult,
    Rule,
    Source,
    date_rules,
    drop_temp,
    file_stats,
    frees_temp,
    integer_id,
    known,
    number,
    present,
    record_files,
    release_taken_over,
    replace_quarantine,
    season_rule,
    season_year,
    sources_of,
    split,
    stage,
)
from nbaprops.warehouse.connection import transaction

__all__ = ["load_linescores", "load_linescores_files", "load_official_game_log", "load_official_game_log_files",
           "load_player_boxscores", "load_player_boxscores_files", "load_team_advanced", "load_team_advanced_files",
           "load_team_game_logs", "load_team_game_logs_files", "season_type_label"]

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


def _single(result: LoadResult) -> int:
    result.raise_rejected()
    return sum(s.loaded for s in result.files.values())


def _abbr(column: str, row: str = "") -> str:
    return f'upper(trim(CAST({row}"{column}" AS VARCHAR)))'


def _team(column: str) -> Rule:
    return Rule(column, (*present(column).cases,
                         *known(column, "team_aliases", "alias", "team", "add it to team_aliases or fix the file",
                                _abbr(column, "s.")).cases))


def _game_id(column: str) -> Rule:
    return Rule(column, (*present(column).cases,
                         (f"NOT regexp_full_match(trim(CAST(\"{column}\" AS VARCHAR)), '\\d{{1,10}}')",
                          f"'not an NBA game id (digits): ' || left(CAST(\"{column}\" AS VARCHAR), 40)")))


def _gid(column: str) -> str:
    return f"lpad(trim(CAST(\"{column}\" AS VARCHAR)), 10, '0')"


def _known_player(column: str) -> Rule:
    return known(column, "players", "player_id", "player_id",
                 "not in the players reference (reference/nba_players.csv): add the player there or fix the id",
                 f"try_cast(trim(CAST(s.\"{column}\" AS VARCHAR)) AS BIGINT)")


def _not_itself(a: str, b: str) -> Rule:
    return Rule(b, ((f"{_abbr(a)} = {_abbr(b)}", "'a team cannot play itself'"),))


def _num(column: str) -> str:
    return f"try_cast(trim(CAST(\"{column}\" AS VARCHAR)) AS DOUBLE)"


def _int(column: str) -> str:
    return f"CAST({_num(column)} AS INTEGER)"


def _compose(tx: duckdb.DuckDBPyConnection, keys_table: str, by_team: bool) -> None:
    """Copy the advanced and linescore parts into team_boxscores for the games (or team-games) of ``keys_table``."""
    where = (f"EXISTS (SELECT 1 FROM {keys_table} k WHERE k.game_id = t.game_id AND k.team_abbr = t.team_abbr)"
             if by_team else f"t.game_id IN (SELECT game_id FROM {keys_table})")
    tx.execute(f"""UPDATE team_boxscores AS t SET possessions = a.possessions, minutes = a.minutes
                   FROM team_game_advanced AS a
                   WHERE t.game_id = a.game_id AND t.team_abbr = a.team_abbr AND {where}""")
    tx.execute(f"""UPDATE team_boxscores AS t SET pts_q1 = l.pts_q1, pts_q2 = l.pts_q2, pts_q3 = l.pts_q3,
                          pts_q4 = l.pts_q4, pts_ot = l.pts_ot
                   FROM team_game_linescores AS l
                   WHERE t.game_id = l.game_id AND t.team_abbr = l.team_abbr AND {where}""")


# ------------------------------------------------------------------------------------ team game logs
_TGL_SIDE_STATS = ("pts", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast", "stl", "blk",
                   "tov", "pf")
_TGL_COLUMNS = ("game_id", "game_date", "season", "game_type", "neutral_site", "wl_home", "team_id_home",
                "team_abbreviation_home", "team_id_road", "team_abbreviation_road",
                *(f"{c}_{s}" for s in ("home", "road") for c in _TGL_SIDE_STATS))


def _tgl_rules() -> list[Rule]:
    return [_game_id("game_id"), season_rule("season"), present("game_type"),
            *date_rules("game_date", "try_cast(trim(game_date) AS DATE)", season_year("season"), final=True,
                        season_col="season"),
            _team("team_abbreviation_home"), _team("team_abbreviation_road"),
            _not_itself("team_abbreviation_home", "team_abbreviation_road"),
            integer_id("team_id_home"), integer_id("team_id_road"),
            *(number(f"{c}_{s}", TEAM_GAME_RANGES[c]) for s in ("home", "road") for c in _TGL_SIDE_STATS),
            Rule("wl_home", (("coalesce(upper(trim(wl_home)), '') NOT IN ('W', 'L', '')",
                              "'not W, L or blank: ' || left(wl_home, 40)"),))]


@frees_temp(['_tgl'], ['_tgl_games', '_tgl_teams'])
def load_team_game_logs_files(con: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> LoadResult:
    """Games and both teams' box totals from team_game_logs_YYYY-YY.csv files."""
    result = stage(con, sources, "_tgl", _TGL_COLUMNS)
    sources = [s for s in sources if s.name not in result.rejected]
    if not sources:
        return result
    split(con, "_tgl", _tgl_rules(), key=(_gid("game_id"),), key_label="game_id")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _tgl_games AS
        SELECT {_gid('game_id')} AS game_id, CAST(trim(game_date) AS DATE) AS game_date, trim(season) AS season,
               CAST(left(trim(season), 4) AS INTEGER) AS season_year, {season_type_label('trim(game_type)')} AS season_type,
               CAST(trim(team_id_home) AS BIGINT) AS home_team_id, ha.abbreviation AS home_abbr,
               CAST(trim(team_id_road) AS BIGINT) AS away_team_id, ra.abbreviation AS away_abbr,
               {_int('pts_home')} AS home_pts, {_int('pts_road')} AS away_pts,
               lower(trim(CAST(neutral_site AS VARCHAR))) = 'true' AS neutral_site, _file AS source
        FROM _tgl_ok JOIN team_aliases ha ON ha.alias = {_abbr('team_abbreviation_home')}
                     JOIN team_aliases ra ON ra.alias = {_abbr('team_abbreviation_road')}""")

    def side(me: str, them: str, home: bool) -> str:
        stats = ", ".join(f"{_int(c + '_' + me)} AS {c}" for c in _TGL_SIDE_STATS)
        wl = "upper(trim(coalesce(wl_home, '')))"
        won = f"CASE WHEN {wl} = '' THEN NULL ELSE ({wl} = 'W') = {str(home).upper()} END"
        return f"""SELECT {_gid('game_id')} AS game_id, CAST(trim(game_date) AS DATE) AS game_date,
                          trim(season) AS season, ta.abbreviation AS team_abbr,
                          CAST(trim(team_id_{me}) AS BIGINT) AS team_id, tb.abbreviation AS opp_abbr,
                          {str(home).upper()} AS is_home, {won} AS won, {stats}, _file AS source
                   FROM _tgl_ok JOIN team_aliases ta ON ta.alias = {_abbr('team_abbreviation_' + me)}
                                JOIN team_aliases tb ON tb.alias = {_abbr('team_abbreviation_' + them)}"""

    con.execute(f"CREATE OR REPLACE TEMP TABLE _tgl_teams AS {side('home', 'road', True)} UNION ALL {side('road', 'home', False)}")
    stats = file_stats(con, sources, "_tgl")
    game_cols = ("game_date", "season", "season_year", "season_type", "home_team_id", "home_abbr", "away_team_id",
                 "away_abbr", "home_pts", "away_pts", "neutral_site", "status", "source")
    team_cols = ("game_date", "season", "team_id", "opp_abbr", "is_home", "won", *_TGL_SIDE_STATS, "source")
    with transaction(con) as tx:
        replace_quarantine(tx, "team_game_logs", "_tgl_bad", sources)
        release_taken_over(tx, "team_boxscores", "source", "_tgl_games", ("game_id",), sources)
        # a game's teams are what the file says: rows of other teams for its games go
        tx.execute("""DELETE FROM team_boxscores AS t WHERE t.game_id IN (SELECT game_id FROM _tgl_teams)
                      AND NOT EXISTS (SELECT 1 FROM _tgl_teams n WHERE n.game_id = t.game_id AND n.team_abbr = t.team_abbr)""")
        tx.execute(f"""INSERT INTO games (game_id, {', '.join(game_cols)})
            SELECT game_id, {', '.join(c if c != 'status' else "'final'" for c in game_cols)} FROM _tgl_games
            ON CONFLICT (game_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in game_cols)}""")
        tx.execute(f"""INSERT INTO team_boxscores (game_id, team_abbr, {', '.join(team_cols)})
            SELECT game_id, team_abbr, {', '.join(team_cols)} FROM _tgl_teams
            ON CONFLICT (game_id, team_abbr) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in team_cols)}""")
        _compose(tx, "_tgl_games", by_team=False)
        record_files(tx, "team_game_logs", stats, sources)
    result.files.update(stats)
    return result


def load_team_game_logs(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """One team_game_logs_YYYY-YY.csv; returns the rows loaded (InputError for a file-level problem)."""
    return _single(load_team_game_logs_files(con, sources_of(path)))


# ------------------------------------------------------------------------------------ advanced, linescores
def _team_part(con: duckdb.DuckDBPyConnection, sources: Sequence[Source], *, kind: str, table: str,
               values: dict[str, tuple[str, str]]) -> LoadResult:
    """A file that brings some columns of both teams' rows of a game (``values``: stored column ->
    (file column without the side suffix, SQL type))."""
    cols = ("game_id", "team_abbreviation_home", "team_abbreviation_road",
            *(f"{src}_{s}" for src, _ in values.values() for s in ("home", "road")))
    t = f"_{kind}"
    try:
        return _team_part_load(con, sources, t, cols, kind=kind, table=table, values=values)
    finally:
        drop_temp(con, [t], [f"{t}_new"])


def _team_part_load(con: duckdb.DuckDBPyConnection, sources: Sequence[Source], t: str, cols: tuple[str, ...], *,
                    kind: str, table: str, values: dict[str, tuple[str, str]]) -> LoadResult:
    result = stage(con, sources, t, cols)
    sources = [s for s in sources if s.name not in result.rejected]
    if not sources:
        return result
    rules = [_game_id("game_id"), _team("team_abbreviation_home"), _team("team_abbreviation_road"),
             _not_itself("team_abbreviation_home", "team_abbreviation_road"),
             *(number(f"{src}_{s}", TEAM_GAME_RANGES[src], required=False)
               for src, _ in values.values() for s in ("home", "road"))]
    split(con, t, rules, key=(_gid("game_id"),), key_label="game_id")
    sides = " UNION ALL ".join(
        f"""SELECT {_gid('game_id')} AS game_id, a.abbreviation AS team_abbr,
                   {', '.join(f'CAST({_num(src + "_" + s)} AS {typ}) AS {col}' for col, (src, typ) in values.items())},
                   _file AS source
            FROM {t}_ok JOIN team_aliases a ON a.alias = {_abbr('team_abbreviation_' + s)}"""
        for s in ("home", "road"))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {t}_new AS {sides}")
    stats = file_stats(con, sources, t)
    names = ", ".join(values)
    with transaction(con) as tx:
        replace_quarantine(tx, kind, f"{t}_bad", sources)
        release_taken_over(tx, table, "source", f"{t}_new", ("game_id", "team_abbr"), sources)
        tx.execute(f"DELETE FROM {table} AS x USING {t}_new AS n WHERE x.game_id = n.game_id AND x.team_abbr = n.team_abbr")
        tx.execute(f"INSERT INTO {table} (game_id, team_abbr, {names}, source) "
                   f"SELECT game_id, team_abbr, {names}, source FROM {t}_new")
        _compose(tx, f"{t}_new", by_team=True)
        record_files(tx, kind, stats, sources)
    result.files.update(stats)
    return result


def load_team_advanced_files(con: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> LoadResult:
    """Possessions and minutes per team-game (box_score_advanced_YYYY-YY.csv)."""
    return _team_part(con, sources, kind="team_advanced", table="team_game_advanced",
                      values={"possessions": ("possessions", "DOUBLE"), "minutes": ("minutes", "DOUBLE")})


def load_team_advanced(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """One box_score_advanced_YYYY-YY.csv; returns the rows loaded."""
    return _single(load_team_advanced_files(con, sources_of(path)))


def load_linescores_files(con: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> LoadResult:
    """Points by quarter and overtime per team-game (linescores_YYYY-YY.csv)."""
    return _team_part(con, sources, kind="linescores", table="team_game_linescores",
                      values={"pts_q1": ("pts_qtr1", "INTEGER"), "pts_q2": ("pts_qtr2", "INTEGER"),
                              "pts_q3": ("pts_qtr3", "INTEGER"), "pts_q4": ("pts_qtr4", "INTEGER"),
                              "pts_ot": ("pts_ot_total", "INTEGER")})


def load_linescores(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """One linescores_YYYY-YY.csv; returns the rows loaded."""
    return _single(load_linescores_files(con, sources_of(path)))


# ------------------------------------------------------------------------------------ player box scores
_COUNTING = ("PTS", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK", "TOV",
             "PF")
_ZONES = ("FGA_RIM", "FGM_RIM", "FGA_PAINT", "FGM_PAINT", "FGA_MID", "FGM_MID", "FGA_C3", "FGM_C3", "FB_FGA",
          "AVG_SHOT_DIST")
_BOX_COLUMNS = ("season", "season_type", "game_id", "game_date", "player_id", "player_name", "team_id", "team",
                "opp_team", "home_away", "starter", "MIN", *_COUNTING, *_ZONES)


def _box_rules() -> list[Rule]:
    return [_game_id("game_id"), season_rule("season"), present("season_type"),
            *date_rules("game_date", "try_cast(trim(CAST(game_date AS VARCHAR)) AS DATE)", season_year("season"),
                        final=True, season_col="season"),
            integer_id("player_id"), _known_player("player_id"), _team("team"), _team("opp_team"),
            _not_itself("team", "opp_team"),
            Rule("home_away", (("coalesce(lower(trim(CAST(home_away AS VARCHAR))), '') NOT IN ('home', 'away')",
                                "'not home or away: ' || coalesce(left(CAST(home_away AS VARCHAR), 40), '(blank)')"),)),
            number("team_id", None, required=False),
            number("MIN", PLAYER_GAME_RANGES["MIN"], required=False),
            *(number(c, PLAYER_GAME_RANGES[c], required=c == "PTS") for c in (*_COUNTING, *_ZONES))]


@frees_temp(['_pb'], ['_pb_new'])
def load_player_boxscores_files(con: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> LoadResult:
    """Player box scores (one row per player per game played); adds games missing from team logs."""
    result = stage(con, sources, "_pb", _BOX_COLUMNS)
    sources = [s for s in sources if s.name not in result.rejected]
    if not sources:
        return result
    split(con, "_pb", _box_rules(), key=(_gid("game_id"), "CAST(trim(CAST(player_id AS VARCHAR)) AS BIGINT)"),
          key_label="(game_id, player_id)")
    ints = ", ".join(f'{_int(c)} AS {c.lower()}' for c in _COUNTING)
    zones = ", ".join(f'{_num(c)} AS {c.lower()}' for c in _ZONES)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _pb_new AS
        SELECT {_gid('game_id')} AS game_id, CAST(trim(CAST(player_id AS VARCHAR)) AS BIGINT) AS player_id,
               CAST(trim(CAST(game_date AS VARCHAR)) AS DATE) AS game_date, trim(CAST(season AS VARCHAR)) AS season,
               CAST(season_type AS VARCHAR) AS season_type, CAST(player_name AS VARCHAR) AS player_name,
               CAST({_num('team_id')} AS BIGINT) AS team_id, t.abbreviation AS team_abbr, o.abbreviation AS opp_abbr,
               lower(trim(CAST(home_away AS VARCHAR))) = 'home' AS is_home,
               lower(trim(CAST(starter AS VARCHAR))) = 'true' AS starter, {_num('MIN')} AS minutes,
               {ints}, {zones}, _file AS source
        FROM _pb_ok JOIN team_aliases t ON t.alias = {_abbr('team')} JOIN team_aliases o ON o.alias = {_abbr('opp_team')}""")
    stats = file_stats(con, sources, "_pb")
    with transaction(con) as tx:
        replace_quarantine(tx, "player_boxscores", "_pb_bad", sources)
        release_taken_over(tx, "player_boxscores", "source", "_pb_new", ("game_id", "player_id"), sources)
        tx.execute("""DELETE FROM player_boxscores AS b USING _pb_new AS n
                      WHERE b.game_id = n.game_id AND b.player_id = n.player_id""")
        tx.execute("INSERT INTO player_boxscores BY NAME SELECT * FROM _pb_new")
        # games the team logs do not have (e.g. a season they do not cover yet)
        tx.execute("""INSERT OR IGNORE INTO games
            SELECT b.game_id, min(b.game_date), min(b.season), CAST(left(min(b.season), 4) AS INTEGER),
                   min(b.season_type),
                   max(CASE WHEN b.is_home THEN b.team_id END), max(CASE WHEN b.is_home THEN b.team_abbr END),
                   max(CASE WHEN NOT b.is_home THEN b.team_id END), max(CASE WHEN NOT b.is_home THEN b.team_abbr END),
                   sum(CASE WHEN b.is_home THEN b.pts END), sum(CASE WHEN NOT b.is_home THEN b.pts END),
                   NULL, NULL, 'final', min(b.source)
            FROM player_boxscores b WHERE b.game_id IN (SELECT game_id FROM _pb_new)
              AND b.game_id NOT IN (SELECT game_id FROM games)
            GROUP BY b.game_id
            HAVING max(CASE WHEN b.is_home THEN b.team_abbr END) IS NOT NULL
               AND max(CASE WHEN NOT b.is_home THEN b.team_abbr END) IS NOT NULL""")
        record_files(tx, "player_boxscores", stats, sources)
    result.files.update(stats)
    return result


def load_player_boxscores(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """One player box-score file; returns the rows loaded (InputError for a file-level problem)."""
    return _single(load_player_boxscores_files(con, sources_of(path)))


# ------------------------------------------------------------------------------------ official game logs
_OGL_COLUMNS = ("SEASON_ID", "Player_ID", "Game_ID", "GAME_DATE", "MATCHUP", "MIN", "PTS")
_OGL_OPTIONAL = ("WL", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB", "DREB", "REB", "AST", "STL", "BLK", "TOV",
                 "PF", "PLUS_MINUS")
_MATCHUP = "regexp_extract(trim(\"MATCHUP\"), '^([A-Za-z]{{2,4}}) (vs\\.|@) ([A-Za-z]{{2,4}})$', {g})"


def _ogl_rules() -> list[Rule]:
    year = "CASE WHEN regexp_full_match(trim(\"SEASON_ID\"), '\\d{5}') THEN CAST(right(trim(\"SEASON_ID\"), 4) AS INTEGER) END"
    matchup_ok = f"{_MATCHUP.format(g=1)} <> ''"
    return [_game_id("Game_ID"), integer_id("Player_ID"), _known_player("Player_ID"),
            Rule("SEASON_ID", (("NOT coalesce(regexp_full_match(trim(\"SEASON_ID\"), '\\d{5}'), false)",
                                "'not a season id like 22023: ' || coalesce(left(\"SEASON_ID\", 40), '(blank)')"),)),
            *date_rules("GAME_DATE", "CAST(try_strptime(trim(\"GAME_DATE\"), '%b %d, %Y') AS DATE)", year,
                        final=True, season_col="SEASON_ID"),
            Rule("MATCHUP", ((f"NOT coalesce({matchup_ok}, false)",
                              "'not like \"GSW vs. UTA\" or \"GSW @ UTA\": ' || coalesce(left(\"MATCHUP\", 40), '(blank)')"),
                             *known("MATCHUP", "team_aliases", "alias", "team", "add it to team_aliases or fix the file",
                                    f"upper({_MATCHUP.format(g=1)})").cases,
                             *known("MATCHUP", "team_aliases", "alias", "team", "add it to team_aliases or fix the file",
                                    f"upper({_MATCHUP.format(g=3)})").cases)),
            number("MIN", PLAYER_GAME_RANGES["MIN"], required=False),
            number("PTS", PLAYER_GAME_RANGES["PTS"]),
            *(number(c, PLAYER_GAME_RANGES[c], required=False) for c in _OGL_OPTIONAL if c != "WL")]


@frees_temp(['_ogl'], ['_ogl_new'])
def load_official_game_log_files(con: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> LoadResult:
    """Official stats.nba.com PlayerGameLog CSVs (one per player-season)."""
    result = stage(con, sources, "_ogl", _OGL_COLUMNS, _OGL_OPTIONAL)
    sources = [s for s in sources if s.name not in result.rejected]
    if not sources:
        return result
    split(con, "_ogl", _ogl_rules(), key=(_gid("Game_ID"), "CAST(trim(\"Player_ID\") AS BIGINT)"),
          key_label="(Game_ID, Player_ID)")
    ints = ", ".join(f'{_int(c)} AS {c.lower()}' for c in _COUNTING)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _ogl_new AS
        SELECT {_gid('Game_ID')} AS game_id, CAST(trim("Player_ID") AS BIGINT) AS player_id,
               CAST(strptime(trim("GAME_DATE"), '%b %d, %Y') AS DATE) AS game_date, trim("SEASON_ID") AS season_id,
               trim("MATCHUP") AS matchup, {_MATCHUP.format(g=1)} AS team_abbr, {_MATCHUP.format(g=3)} AS opp_abbr,
               "MATCHUP" LIKE '%vs.%' AS is_home, "WL" AS wl, {_num('MIN')} AS minutes, {ints},
               {_int('PLUS_MINUS')} AS plus_minus, _file AS source
        FROM _ogl_ok""")
    stats = file_stats(con, sources, "_ogl")
    with transaction(con) as tx:
        replace_quarantine(tx, "official_game_log", "_ogl_bad", sources)
        release_taken_over(tx, "official_player_game_logs", "source", "_ogl_new", ("game_id", "player_id"), sources)
        tx.execute("""DELETE FROM official_player_game_logs AS o USING _ogl_new AS n
                      WHERE o.game_id = n.game_id AND o.player_id = n.player_id""")
        tx.execute("INSERT INTO official_player_game_logs BY NAME SELECT * FROM _ogl_new")
        record_files(tx, "official_game_log", stats, sources)
    result.files.update(stats)
    return result


def load_official_game_log(con: duckdb.DuckDBPyConnection, paths: Sequence[Path]) -> int:
    """Official PlayerGameLog CSVs; returns the rows loaded (InputError for a file-level problem)."""
    return _single(load_official_game_log_files(con, sources_of(paths)))
