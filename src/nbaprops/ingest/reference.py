"""Load the nba_api reference tables (players, teams) and the team alias table.

Rows are checked like every bulk row (:mod:`nbaprops.ingest.contract`): a bad row (an id that is
not a number, a blank name) is quarantined, the others are upserted by id. A load never deletes a
player or a team it does not bring.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

from nbaprops.ingest.contract import (
    LoadResult,
    Rule,
    Source,
    file_stats,
    frees_temp,
    integer_id,
    present,
    record_files,
    registered,
    replace_quarantine,
    sources_of,
    split,
    stage,
)
from nbaprops.warehouse.connection import transaction

__all__ = ["TEAM_ALIASES", "load_players", "load_players_files", "load_teams", "load_teams_files"]

# Abbreviations and names other sources use for the 30 teams (BettingPros, ESPN, older feeds).
TEAM_ALIASES: dict[str, str] = {
    "NOR": "NOP", "NO": "NOP", "NOH": "NOP", "PHO": "PHX", "UTH": "UTA", "UTAH": "UTA", "GS": "GSW",
    "SA": "SAS", "NY": "NYK", "WSH": "WAS", "BRK": "BKN", "BK": "BKN", "CHO": "CHA", "LA CLIPPERS": "LAC",
}


@frees_temp(['_tm'], [])
def load_teams_files(con: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> LoadResult:
    """Upsert ``teams`` by team_id and rebuild ``team_aliases`` (abbreviation, full name, nickname, aliases)."""
    result = stage(con, sources, "_tm", ("team_id", "abbreviation", "full_name", "city", "nickname"))
    sources = [s for s in sources if s.name not in result.rejected]
    if not sources:
        return result
    rules = [integer_id("team_id"),
             Rule("abbreviation", (("NOT coalesce(regexp_full_match(trim(abbreviation), '[A-Za-z]{2,4}'), false)",
                                    "'not a team abbreviation (2-4 letters): ' || coalesce(left(abbreviation, 40), '(blank)')"),)),
             present("full_name")]
    split(con, "_tm", rules, key=("CAST(trim(team_id) AS BIGINT)",), key_label="team_id")
    stats = file_stats(con, sources, "_tm")
    with transaction(con) as tx:
        replace_quarantine(tx, "teams", "_tm_bad", sources)
        tx.execute("""INSERT OR REPLACE INTO teams
            SELECT CAST(trim(team_id) AS BIGINT), upper(trim(abbreviation)), trim(full_name), city, nickname FROM _tm_ok""")
        tx.execute("DELETE FROM team_aliases")
        tx.execute("""INSERT OR IGNORE INTO team_aliases
            SELECT DISTINCT upper(a), abbreviation FROM (
                SELECT abbreviation AS a, abbreviation FROM teams
                UNION ALL SELECT full_name, abbreviation FROM teams
                UNION ALL SELECT city || ' ' || nickname, abbreviation FROM teams)""")
        tx.executemany("INSERT OR IGNORE INTO team_aliases VALUES (?, ?)", list(TEAM_ALIASES.items()))
        record_files(tx, "teams", stats, sources)
    result.files.update(stats)
    return result


def load_teams(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """One nba_teams.csv; returns the rows loaded (InputError for a file-level problem)."""
    result = load_teams_files(con, sources_of(path))
    result.raise_rejected()
    return sum(s.loaded for s in result.files.values())


@frees_temp(['_pl'], [])
def load_players_files(con: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> LoadResult:
    """Upsert ``players`` by player_id from the nba_api static players table."""
    from nbaprops.ingest.names import player_lookup

    result = stage(con, sources, "_pl", ("player_id", "full_name", "first_name", "last_name", "is_active"))
    sources = [s for s in sources if s.name not in result.rejected]
    if not sources:
        return result
    split(con, "_pl", [integer_id("player_id"), present("full_name")],
          key=("CAST(trim(player_id) AS BIGINT)",), key_label="player_id")
    df = con.execute("""SELECT CAST(trim(player_id) AS BIGINT) AS player_id, trim(full_name) AS full_name,
                               first_name, last_name, lower(trim(CAST(is_active AS VARCHAR))) = 'true' AS is_active
                        FROM _pl_ok""").df()
    df["player_lookup"] = [player_lookup(n) for n in df["full_name"]]
    stats = file_stats(con, sources, "_pl")
    with registered(con, "_players_in", df), transaction(con) as tx:
        replace_quarantine(tx, "players", "_pl_bad", sources)
        tx.execute("""INSERT OR REPLACE INTO players
            SELECT player_id, full_name, first_name, last_name, player_lookup, is_active FROM _players_in""")
        record_files(tx, "players", stats, sources)
    result.files.update(stats)
    return result


def load_players(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """One nba_players.csv; returns the rows loaded (InputError for a file-level problem)."""
    result = load_players_files(con, sources_of(path))
    result.raise_rejected()
    return sum(s.loaded for s in result.files.values())
