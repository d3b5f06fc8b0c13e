"""Load the nba_api reference tables (players, teams) and the team alias table."""

from __future__ import annotations

from pathlib import Path

import duckdb

from nbaprops.ingest.sources.files import reader_sql
from nbaprops.warehouse.connection import transaction

__all__ = ["TEAM_ALIASES", "load_players", "load_teams"]

# Abbreviations and names other sources use for the 30 teams (BettingPros, ESPN, older feeds).
TEAM_ALIASES: dict[str, str] = {
    "NOR": "NOP", "NO": "NOP", "NOH": "NOP", "PHO": "PHX", "UTH": "UTA", "UTAH": "UTA", "GS": "GSW",
    "SA": "SAS", "NY": "NYK", "WSH": "WAS", "BRK": "BKN", "BK": "BKN", "CHO": "CHA", "LA CLIPPERS": "LAC",
}


def load_teams(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Replace ``teams`` and rebuild ``team_aliases`` (abbreviation, full name, nickname, aliases)."""
    src = reader_sql(path)
    with transaction(con) as tx:
        tx.execute("DELETE FROM teams")
        tx.execute(f"""INSERT INTO teams
            SELECT CAST(team_id AS BIGINT), upper(abbreviation), full_name, city, nickname FROM {src}""")
        tx.execute("DELETE FROM team_aliases")
        tx.execute("""INSERT OR IGNORE INTO team_aliases
            SELECT DISTINCT upper(a), abbreviation FROM (
                SELECT abbreviation AS a, abbreviation FROM teams
                UNION ALL SELECT full_name, abbreviation FROM teams
                UNION ALL SELECT city || ' ' || nickname, abbreviation FROM teams)""")
        tx.executemany("INSERT OR IGNORE INTO team_aliases VALUES (?, ?)", list(TEAM_ALIASES.items()))
        n = tx.execute("SELECT count(*) FROM teams").fetchone()
    return int(n[0]) if n else 0


def load_players(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """Upsert ``players`` from the nba_api static players table."""
    from nbaprops.ingest.names import player_lookup

    df = con.execute(f"""SELECT CAST(player_id AS BIGINT) AS player_id, full_name, first_name, last_name,
                                lower(CAST(is_active AS VARCHAR)) = 'true' AS is_active
                         FROM {reader_sql(path)}""").df()
    df["player_lookup"] = [player_lookup(n) for n in df["full_name"]]
    con.register("_players_in", df)
    try:
        con.execute("""INSERT OR REPLACE INTO players
            SELECT player_id, full_name, first_name, last_name, player_lookup, is_active FROM _players_in""")
    finally:
        con.unregister("_players_in")
    return len(df)
