"""Load sportsbook prop lines (The Odds API flattened files, BettingPros CSVs) into
``prop_line_snapshots``, resolving every player name to an NBA player_id.

Bad rows (no line, NaN or non-positive line, missing prices, unknown teams) go to
``quarantine_rows`` with the reason; names that cannot be resolved are kept in the snapshot with
``player_id`` NULL and listed in ``unmatched_player_names``. Nothing is dropped silently.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from nbaprops.ingest.names import load_aliases, player_lookup, resolve_player_names
from nbaprops.ingest.sources.files import reader_sql
from nbaprops.warehouse.connection import transaction

__all__ = ["BETTINGPROS_BOOKS", "BETTINGPROS_MARKETS", "load_bettingpros", "load_odds_api_lines",
           "resolve_snapshot_players", "mark_void_lines"]

# BettingPros market_id -> market key (the prop_type label in those files is wrong).
BETTINGPROS_MARKETS: dict[int, str] = {
    156: "player_points", 157: "player_rebounds", 151: "player_assists", 162: "player_threes",
    335: "player_points_assists", 336: "player_points_rebounds", 337: "player_rebounds_assists",
    338: "player_points_rebounds_assists",
}
BETTINGPROS_BOOKS: dict[str, str] = {"dk": "draftkings", "fd": "fanduel", "mgm": "betmgm", "espn": "espnbet",
                                     "czr": "williamhill_us", "br": "betrivers"}

_QUARANTINE_INSERT = """INSERT INTO quarantine_rows
    SELECT ?, ?, file_row, field, reason, CAST(to_json(r) AS VARCHAR), now() FROM {t} AS r"""


def _quarantine(con: duckdb.DuckDBPyConnection, source: str, file: str, temp: str) -> int:
    n = con.execute(f"SELECT count(*) FROM {temp}").fetchone()
    con.execute(_QUARANTINE_INSERT.format(t=temp), [source, file])
    return int(n[0]) if n else 0


def load_odds_api_lines(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, int]:
    """Load one Odds API flattened file (parquet or CSV with the same columns)."""
    f = str(path)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _oa AS
        SELECT row_number() OVER () AS file_row,
               CAST(outcomes_name AS VARCHAR) AS side, CAST(outcomes_description AS VARCHAR) AS player_name,
               try_cast(outcomes_price AS DOUBLE) AS price, try_cast(outcomes_point AS DOUBLE) AS point,
               CAST(id AS VARCHAR) AS event_id, try_cast(commence_time AS TIMESTAMPTZ) AS tipoff_at,
               CAST(home_team AS VARCHAR) AS home_name, CAST(away_team AS VARCHAR) AS away_name,
               lower(CAST("bookmakers.key" AS VARCHAR)) AS sportsbook,
               CAST("bookmakers.markets.key" AS VARCHAR) AS market,
               try_cast("bookmakers.markets.last_update" AS TIMESTAMPTZ) AS quoted_at
        FROM {reader_sql(path)}""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _oa_bad AS
        SELECT file_row, field, reason, * EXCLUDE (file_row) FROM (
            SELECT *, CASE
                WHEN player_name IS NULL OR trim(player_name) = '' THEN 'outcomes_description'
                WHEN side NOT IN ('Over', 'Under') THEN 'outcomes_name'
                WHEN point IS NULL OR isnan(point) OR point <= 0 THEN 'outcomes_point'
                WHEN price IS NULL OR isnan(price) OR abs(price) < 100 THEN 'outcomes_price'
                WHEN tipoff_at IS NULL THEN 'commence_time'
                WHEN quoted_at IS NULL THEN 'bookmakers.markets.last_update'
                WHEN sportsbook IS NULL OR sportsbook = '' THEN 'bookmakers.key'
                WHEN ht.abbreviation IS NULL THEN 'home_team'
                WHEN aw.abbreviation IS NULL THEN 'away_team' END AS field,
              CASE
                WHEN point IS NOT NULL AND (isnan(point) OR point <= 0) THEN 'line is NaN or not positive'
                WHEN ht.abbreviation IS NULL OR aw.abbreviation IS NULL THEN 'unknown team'
                ELSE 'missing or invalid value' END AS reason
            FROM _oa LEFT JOIN team_aliases ht ON ht.alias = upper(home_name)
                     LEFT JOIN team_aliases aw ON aw.alias = upper(away_name)
        ) WHERE field IS NOT NULL""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _oa_ok AS
        SELECT o.*, ht.abbreviation AS home_team, aw.abbreviation AS away_team,
               CAST(timezone('America/New_York', o.tipoff_at) AS DATE) AS game_date
        FROM _oa o JOIN team_aliases ht ON ht.alias = upper(o.home_name)
                   JOIN team_aliases aw ON aw.alias = upper(o.away_name)
        WHERE o.file_row NOT IN (SELECT file_row FROM _oa_bad)""")
    # A row repeated in the file (same quote, side and point) is one outcome: keep the first, count the rest.
    con.execute("""CREATE OR REPLACE TEMP TABLE _oa_dedup AS
        SELECT * EXCLUDE (rn) FROM (
            SELECT *, ROW_NUMBER() OVER (PARTITION BY event_id, sportsbook, market, player_name, quoted_at, side, point
                                         ORDER BY file_row) AS rn
            FROM _oa_ok) WHERE rn = 1""")
    # Pair Over/Under at the same point; a quote (event, book, market, player, time) with several
    # points is a main line plus alternates: the main line is the most balanced pair.
    con.execute("""CREATE OR REPLACE TEMP TABLE _oa_pairs AS
        WITH o AS (SELECT * FROM _oa_dedup WHERE side = 'Over'), u AS (SELECT * FROM _oa_dedup WHERE side = 'Under')
        SELECT coalesce(o.event_id, u.event_id) AS event_id, coalesce(o.sportsbook, u.sportsbook) AS sportsbook,
               coalesce(o.market, u.market) AS market, coalesce(o.player_name, u.player_name) AS player_name,
               coalesce(o.quoted_at, u.quoted_at) AS quoted_at, coalesce(o.point, u.point) AS line,
               CAST(o.price AS INTEGER) AS over_price, CAST(u.price AS INTEGER) AS under_price,
               coalesce(o.tipoff_at, u.tipoff_at) AS tipoff_at, coalesce(o.game_date, u.game_date) AS game_date,
               coalesce(o.home_team, u.home_team) AS home_team, coalesce(o.away_team, u.away_team) AS away_team,
               least(o.file_row, u.file_row) AS file_row
        FROM o FULL OUTER JOIN u
          ON o.event_id = u.event_id AND o.sportsbook = u.sportsbook AND o.market = u.market
         AND o.player_name = u.player_name AND o.quoted_at = u.quoted_at AND o.point = u.point""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _oa_ranked AS
        SELECT *, md5(concat_ws('|', 'odds_api', event_id, sportsbook, market, player_name,
                                CAST(quoted_at AS VARCHAR))) AS snapshot_id,
               ROW_NUMBER() OVER (PARTITION BY event_id, sportsbook, market, player_name, quoted_at
                   ORDER BY (over_price IS NULL OR under_price IS NULL) ASC NULLS LAST,
                            abs(CASE WHEN over_price < 0 THEN -over_price / (100.0 - over_price) ELSE 100.0 / (100.0 + over_price) END
                              - CASE WHEN under_price < 0 THEN -under_price / (100.0 - under_price) ELSE 100.0 / (100.0 + under_price) END) ASC NULLS LAST,
                            line ASC NULLS LAST,
                            file_row ASC NULLS LAST) AS rn
        FROM _oa_pairs""")
    with transaction(con) as tx:
        tx.execute("DELETE FROM prop_line_alternates WHERE snapshot_id IN (SELECT snapshot_id FROM prop_line_snapshots WHERE file = ?)", [f])
        tx.execute("DELETE FROM prop_line_snapshots WHERE file = ?", [f])
        tx.execute("DELETE FROM quarantine_rows WHERE file = ?", [f])
        quarantined = _quarantine(tx, "odds_api", f, "_oa_bad")
        before = tx.execute("SELECT count(*) FROM prop_line_snapshots").fetchone()
        tx.execute("""INSERT OR IGNORE INTO prop_line_snapshots BY NAME
            SELECT r.snapshot_id, 'odds_api' AS source, r.event_id, g.game_id, r.game_date, r.sportsbook,
                   r.player_name, '' AS player_lookup, NULL AS player_id, NULL AS match_method, NULL AS player_team,
                   r.home_team, r.away_team, r.market, r.line, r.over_price, r.under_price, r.quoted_at,
                   r.tipoff_at, date_diff('second', r.quoted_at, r.tipoff_at) / 60.0 AS minutes_before_tipoff,
                   'quoted_at' AS quote_basis, NULL AS opening_line, NULL AS opening_price, NULL AS opening_at,
                   NULL AS is_void, ? AS file, r.file_row, now() AS loaded_at
            FROM _oa_ranked r
            LEFT JOIN games g ON g.game_date = r.game_date AND g.home_abbr = r.home_team AND g.away_abbr = r.away_team
            WHERE r.rn = 1""", [f])
        after = tx.execute("SELECT count(*) FROM prop_line_snapshots").fetchone()
        tx.execute("""INSERT OR IGNORE INTO prop_line_alternates
            SELECT snapshot_id, line, over_price, under_price FROM _oa_ranked WHERE rn > 1""")
        # tip-off times the schedule did not have
        tx.execute("""UPDATE games SET tipoff_at = t.tipoff_at FROM (
                SELECT g.game_id, min(r.tipoff_at) AS tipoff_at FROM _oa_ok r
                JOIN games g ON g.game_date = r.game_date AND g.home_abbr = r.home_team AND g.away_abbr = r.away_team
                GROUP BY g.game_id) t
            WHERE games.game_id = t.game_id AND games.tipoff_at IS NULL""")
    total = con.execute("SELECT count(*) FROM _oa").fetchone()
    ranked = con.execute("SELECT count(*) FILTER (WHERE rn = 1), count(*) FILTER (WHERE rn > 1) FROM _oa_ranked").fetchone()
    dup_rows = con.execute("SELECT (SELECT count(*) FROM _oa_ok) - (SELECT count(*) FROM _oa_dedup)").fetchone()
    inserted = int(after[0]) - int(before[0]) if after and before else 0
    return {"rows": int(total[0]) if total else 0, "quarantined": quarantined, "snapshots": inserted,
            "duplicate_snapshots": (int(ranked[0]) if ranked else 0) - inserted,
            "duplicate_rows": int(dup_rows[0]) if dup_rows else 0,
            "alternates": int(ranked[1]) if ranked else 0}


def load_bettingpros(con: duckdb.DuckDBPyConnection, paths: list[Path]) -> dict[str, int]:
    """Load BettingPros offer CSVs (the game date is in each file name; market from market_id).

    These files carry the book's final pre-game line without a quote time, so the snapshots are
    stored with ``quote_basis = 'closing'`` and ``quoted_at`` NULL: pre-tip by construction.
    """
    if not paths:
        return {"rows": 0, "quarantined": 0, "snapshots": 0, "duplicate_snapshots": 0}
    lst = ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths)
    markets = ", ".join(f"({k}, '{v}')" for k, v in BETTINGPROS_MARKETS.items())
    books = ", ".join(f"('{k}', '{v}')" for k, v in BETTINGPROS_BOOKS.items())
    # One read per file so that row_number() OVER () follows the file's own order and file_row is the
    # CSV line number (a window partitioned by filename over a multi-file read numbers rows in no fixed order).
    reads = " UNION ALL BY NAME ".join(
        "SELECT row_number() OVER () + 1 AS file_row, * FROM read_csv('" + str(p).replace("'", "''")
        + "', header = true, all_varchar = true, filename = true)" for p in paths)
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _bp AS
        SELECT file_row, filename AS file,
               CAST(regexp_extract(filename, '(\\d{{4}}-\\d{{2}}-\\d{{2}})', 1) AS DATE) AS game_date,
               player AS player_name, upper(team) AS team_raw, try_cast(line AS DOUBLE) AS line,
               try_cast(over_odds AS DOUBLE) AS over_price, try_cast(under_odds AS DOUBLE) AS under_price,
               lower(sportsbook) AS book_raw, try_cast(market_id AS INTEGER) AS market_id,
               try_cast(opening_line AS DOUBLE) AS opening_line, try_cast(opening_odds AS DOUBLE) AS opening_price,
               try_cast(opening_time AS TIMESTAMP) AS opening_time
        FROM ({reads}) AS r""")
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _bp_j AS
        SELECT b.*, m.market, bk.book AS sportsbook, t.abbreviation AS player_team
        FROM _bp b
        LEFT JOIN (VALUES {markets}) AS m(id, market) ON m.id = b.market_id
        LEFT JOIN (VALUES {books}) AS bk(code, book) ON bk.code = b.book_raw
        LEFT JOIN team_aliases t ON t.alias = b.team_raw""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _bp_bad AS
        SELECT file_row, field, reason, * EXCLUDE (file_row, field, reason) FROM (
            SELECT *, CASE
                WHEN player_name IS NULL OR trim(player_name) = '' THEN 'player'
                WHEN market IS NULL THEN 'market_id'
                WHEN sportsbook IS NULL THEN 'sportsbook'
                WHEN line IS NULL OR isnan(line) OR line <= 0 THEN 'line'
                WHEN over_price IS NULL OR under_price IS NULL OR abs(over_price) < 100 OR abs(under_price) < 100 THEN 'over_odds/under_odds'
                WHEN player_team IS NULL THEN 'team' END AS field,
              CASE
                WHEN market IS NULL THEN 'unknown market_id (not a mapped player market)'
                WHEN sportsbook IS NULL THEN 'unknown sportsbook code'
                WHEN line IS NULL OR isnan(line) OR line <= 0 THEN 'line is missing, NaN or not positive'
                WHEN player_team IS NULL AND player_name IS NOT NULL AND over_price IS NOT NULL THEN 'unknown team'
                ELSE 'missing or invalid value' END AS reason
            FROM _bp_j) WHERE field IS NOT NULL""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _bp_ranked AS
        SELECT j.*, md5(concat_ws('|', 'bettingpros', CAST(j.game_date AS VARCHAR), j.sportsbook, j.market,
                                  j.player_name, j.player_team)) AS snapshot_id,
               ROW_NUMBER() OVER (PARTITION BY j.game_date, j.sportsbook, j.market, j.player_name, j.player_team
                                  ORDER BY j.file DESC NULLS LAST, j.file_row DESC NULLS LAST) AS rn
        FROM _bp_j j WHERE NOT EXISTS (SELECT 1 FROM _bp_bad b WHERE b.file = j.file AND b.file_row = j.file_row)""")
    with transaction(con) as tx:
        tx.execute(f"DELETE FROM prop_line_snapshots WHERE file IN ({lst})")
        tx.execute(f"DELETE FROM quarantine_rows WHERE file IN ({lst})")
        tx.execute("""INSERT INTO quarantine_rows
            SELECT 'bettingpros', file, file_row, field, reason, CAST(to_json(b) AS VARCHAR), now() FROM _bp_bad b""")
        before = tx.execute("SELECT count(*) FROM prop_line_snapshots").fetchone()
        tx.execute("""INSERT OR IGNORE INTO prop_line_snapshots BY NAME
            SELECT r.snapshot_id, 'bettingpros' AS source, NULL AS event_id, g.game_id, r.game_date, r.sportsbook,
                   r.player_name, '' AS player_lookup, NULL AS player_id, NULL AS match_method, r.player_team,
                   g.home_abbr AS home_team, g.away_abbr AS away_team, r.market, r.line,
                   CAST(r.over_price AS INTEGER) AS over_price, CAST(r.under_price AS INTEGER) AS under_price,
                   NULL AS quoted_at, g.tipoff_at, NULL AS minutes_before_tipoff, 'closing' AS quote_basis,
                   r.opening_line, CAST(r.opening_price AS INTEGER) AS opening_price,
                   CAST(r.opening_time AS TIMESTAMPTZ) AS opening_at, NULL AS is_void, r.file, r.file_row,
                   now() AS loaded_at
            FROM _bp_ranked r
            LEFT JOIN games g ON g.game_date = r.game_date AND r.player_team IN (g.home_abbr, g.away_abbr)
            WHERE r.rn = 1""")
        after = tx.execute("SELECT count(*) FROM prop_line_snapshots").fetchone()
    total = con.execute("SELECT count(*) FROM _bp").fetchone()
    bad = con.execute("SELECT count(*) FROM _bp_bad").fetchone()
    dups = con.execute("SELECT count(*) FROM _bp_ranked WHERE rn > 1").fetchone()
    return {"rows": int(total[0]) if total else 0, "quarantined": int(bad[0]) if bad else 0,
            "snapshots": int(after[0]) - int(before[0]) if after and before else 0,
            "duplicate_snapshots": int(dups[0]) if dups else 0}


def resolve_snapshot_players(con: duckdb.DuckDBPyConnection, date_from: dt.date | None = None,
                             date_to: dt.date | None = None) -> dict[str, int]:
    """Resolve player_id for every snapshot in the date range; list the names that stay unmatched."""
    lo = date_from or dt.date(1900, 1, 1)
    hi = date_to or dt.date(2999, 12, 31)
    names = con.execute("""
        SELECT source, game_date, player_name, player_team, home_team, away_team, count(*) AS n
        FROM prop_line_snapshots WHERE game_date BETWEEN ? AND ?
        GROUP BY ALL""", [lo, hi]).df()
    if names.empty:
        return {"names": 0, "matched": 0, "unmatched": 0}
    names["key"] = range(len(names))
    names["team_hints"] = [
        [t] if isinstance(t, str) and t else [x for x in (h, a) if isinstance(x, str) and x]
        for t, h, a in zip(names["player_team"], names["home_team"], names["away_team"], strict=True)
    ]
    players = con.execute("SELECT player_id, full_name, first_name, last_name FROM players").df()
    appearances = con.execute("""SELECT player_id, game_date, team_abbr FROM player_boxscores
                                 WHERE game_date BETWEEN ? - INTERVAL 40 DAY AND ? + INTERVAL 40 DAY""",
                              [lo, hi]).df()
    res = resolve_player_names(names[["key", "player_name", "game_date", "team_hints"]], players, appearances,
                               load_aliases())
    out = names.merge(res, on="key", how="left")
    out["player_lookup"] = [player_lookup(n) for n in out["player_name"]]
    out["player_id"] = out["player_id"].astype("Int64")
    con.register("_resolved", out[["source", "game_date", "player_name", "player_team", "home_team", "away_team",
                                   "player_id", "match_method", "unmatched_reason", "player_lookup", "n"]])
    try:
        with transaction(con) as tx:
            tx.execute("""UPDATE prop_line_snapshots AS s
                SET player_id = r.player_id, match_method = r.match_method, player_lookup = r.player_lookup
                FROM _resolved r
                WHERE s.source = r.source AND s.game_date = r.game_date AND s.player_name = r.player_name
                  AND s.player_team IS NOT DISTINCT FROM r.player_team AND s.home_team IS NOT DISTINCT FROM r.home_team
                  AND s.away_team IS NOT DISTINCT FROM r.away_team""")
            # the Odds API does not say which side a player is on: take the team he played for
            tx.execute("""UPDATE prop_line_snapshots AS s SET player_team = b.team_abbr
                FROM player_boxscores b
                WHERE s.player_team IS NULL AND s.player_id = b.player_id AND s.game_date = b.game_date
                  AND s.game_date BETWEEN ? AND ?""", [lo, hi])
            tx.execute("DELETE FROM unmatched_player_names WHERE game_date BETWEEN ? AND ?", [lo, hi])
            tx.execute("""INSERT OR REPLACE INTO unmatched_player_names
                SELECT source, game_date, player_name, coalesce(player_team, home_team || '/' || away_team),
                       coalesce(unmatched_reason, 'no_candidate'), sum(n)
                FROM _resolved WHERE player_id IS NULL GROUP BY ALL""")
    finally:
        con.unregister("_resolved")
    matched = int(out["player_id"].notna().sum())
    return {"names": len(out), "matched": matched, "unmatched": len(out) - matched}


def mark_void_lines(con: duckdb.DuckDBPyConnection, date_from: dt.date, date_to: dt.date) -> int:
    """Mark lines whose player has no box-score row that date (did not play): void, never graded.

    Only dates whose games are final in the box scores are marked; other dates stay NULL (unknown).
    """
    con.execute("""UPDATE prop_line_snapshots AS s
        SET is_void = NOT EXISTS (SELECT 1 FROM player_boxscores b
                                  WHERE b.player_id = s.player_id AND b.game_date = s.game_date)
        WHERE s.game_date BETWEEN ? AND ? AND s.player_id IS NOT NULL
          AND s.game_date IN (SELECT DISTINCT game_date FROM player_boxscores WHERE game_date BETWEEN ? AND ?)""",
                [date_from, date_to, date_from, date_to])
    row = con.execute("""SELECT count(*) FROM prop_line_snapshots
                         WHERE game_date BETWEEN ? AND ? AND is_void""", [date_from, date_to]).fetchone()
    return int(row[0]) if row else 0

