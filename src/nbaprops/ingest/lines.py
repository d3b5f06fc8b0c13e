"""Load sportsbook prop lines (The Odds API flattened files, BettingPros CSVs) into
``prop_line_snapshots``, resolving every player name to an NBA player_id.

Bad rows (no line, NaN, non-positive or implausible line, missing or implausible prices, unknown
teams, markets or books, rows that are not in the file's format) go to ``quarantine_rows`` with the
field and the reason (:mod:`nbaprops.ingest.contract`); names that cannot be resolved are kept in
the snapshot with ``player_id`` NULL and listed in ``unmatched_player_names``. Nothing is dropped
silently. A load replaces the snapshots whose keys (``snapshot_id``: source, event or date, book,
market, player, quote time) its rows bring, never others.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from nbaprops.ingest.contract import (
    LINE_RANGES,
    FileStats,
    LoadResult,
    Rule,
    Source,
    drop_temp,
    file_stats,
    record_files,
    release_taken_over,
    replace_quarantine,
    sources_of,
    split,
    stage,
)
from nbaprops.ingest.names import load_aliases, player_lookup, resolve_player_names
from nbaprops.markets import MARKETS
from nbaprops.warehouse.connection import transaction

__all__ = ["BETTINGPROS_BOOKS", "BETTINGPROS_MARKETS", "ODDS_API_MARKETS", "link_snapshot_games", "load_bettingpros",
           "load_bettingpros_files", "load_odds_api_files", "load_odds_api_lines", "mark_void_lines", "name_counts", "odds_report",
           "bettingpros_report",
           "resolve_snapshot_players"]

# BettingPros market_id -> market key, from the registry (the prop_type label in those files is wrong;
# each id was checked against the box scores: bench/market_ids.py, docs/markets.md). Any other id is
# quarantined and counted (``unknown_market_ids``), never guessed.
BETTINGPROS_MARKETS: dict[int, str] = {i: m.key for m in MARKETS for i in m.bettingpros_ids}
# The Odds API market key -> stored market key; a key not in the registry is quarantined and counted.
ODDS_API_MARKETS: dict[str, str] = {k: m.key for m in MARKETS for k in m.odds_api_keys}
_UNKNOWN_BP_MARKET = "unknown market_id (not a mapped player market)"  # text kept: a contract
_UNKNOWN_ODDS_MARKET = "unknown market key (not in nbaprops.markets: docs/markets.md)"
BETTINGPROS_BOOKS: dict[str, str] = {"dk": "draftkings", "fd": "fanduel", "mgm": "betmgm", "espn": "espnbet",
                                     "czr": "williamhill_us", "br": "betrivers"}

_MISSING = "'missing or invalid value'"
_LINE_HI = LINE_RANGES["line"].hi
_PRICE_LO, _PRICE_HI = LINE_RANGES["price"].lo, LINE_RANGES["price"].hi


def _line_range(value: str) -> str:
    return f"CAST({value} AS VARCHAR) || ' is outside the plausible range 0..{_LINE_HI:g} (docs/data-contract.md)'"


def _price_range(value: str) -> str:
    return (f"CAST({value} AS VARCHAR) || ' is outside the plausible range of American odds "
            f"+-{_PRICE_LO:g}..{_PRICE_HI:g} (docs/data-contract.md)'")


# ------------------------------------------------------------------------------------------ The Odds API
_ODDS_COLUMNS = ("outcomes_name", "outcomes_description", "outcomes_price", "outcomes_point", "id", "commence_time",
                 "home_team", "away_team", "bookmakers.key", "bookmakers.markets.key", "bookmakers.markets.last_update")


def _odds_rules() -> list[Rule]:
    side = 'CAST("outcomes_name" AS VARCHAR)'
    price = 'try_cast(trim(CAST("outcomes_price" AS VARCHAR)) AS DOUBLE)'
    point = 'try_cast(trim(CAST("outcomes_point" AS VARCHAR)) AS DOUBLE)'
    odds_markets = ", ".join(f"'{k}'" for k in ODDS_API_MARKETS)

    def text_blank(c: str) -> str:
        return f"nullif(trim(CAST(\"{c}\" AS VARCHAR)), '') IS NULL"

    def team(c: str) -> Rule:
        return Rule(c, ((f"coalesce(upper(CAST(\"{c}\" AS VARCHAR)) NOT IN (SELECT alias FROM team_aliases), true)",
                         "'unknown team'"),))

    return [
        Rule("outcomes_description", ((text_blank("outcomes_description"), _MISSING),)),
        Rule("outcomes_name", ((f"{side} IS NULL OR {side} NOT IN ('Over', 'Under')", _MISSING),)),
        Rule("outcomes_point", ((f"{point} IS NULL", _MISSING),
                                (f"isnan({point}) OR {point} <= 0", "'line is NaN or not positive'"),
                                (f"{point} > {_LINE_HI}", _line_range(point)))),
        Rule("outcomes_price", ((f"{price} IS NULL OR isnan({price}) OR abs({price}) < {_PRICE_LO}", _MISSING),
                                (f"abs({price}) > {_PRICE_HI}", _price_range(price)))),
        Rule("commence_time", (('try_cast("commence_time" AS TIMESTAMPTZ) IS NULL', _MISSING),)),
        Rule("bookmakers.markets.last_update",
             (('try_cast("bookmakers.markets.last_update" AS TIMESTAMPTZ) IS NULL', _MISSING),)),
        Rule("bookmakers.key", ((text_blank("bookmakers.key"), _MISSING),)),
        Rule("bookmakers.markets.key", ((text_blank("bookmakers.markets.key"), _MISSING),
                                        (f"trim(CAST(\"bookmakers.markets.key\" AS VARCHAR)) NOT IN ({odds_markets})",
                                         f"'{_UNKNOWN_ODDS_MARKET}'"))),
        Rule("id", ((text_blank("id"), _MISSING),)),
        team("home_team"), team("away_team"),
    ]


def _odds_market_sql() -> str:
    """The stored market key of an Odds API market key (every key the split lets through is mapped)."""
    whens = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in ODDS_API_MARKETS.items())
    return f'CASE trim(CAST("bookmakers.markets.key" AS VARCHAR)) {whens} END'


def _unknown_markets(con: duckdb.DuckDBPyConnection, bad: str, field: str, reason: str) -> dict[str, int]:
    """Rows per file quarantined for a market not in the registry."""
    rows = con.execute(f"SELECT _file, count(*) FROM {bad} WHERE field = ? AND reason = ? GROUP BY 1",
                       [field, reason]).fetchall()
    return {str(f): int(n) for f, n in rows}


def _load_odds_file(con: duckdb.DuckDBPyConnection, src: Source, result: LoadResult,
                    also: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> None:
    staged = stage(con, [src], "_oa_in", _ODDS_COLUMNS)
    if staged.rejected:
        result.rejected.update(staged.rejected)
        return
    split(con, "_oa_in", _odds_rules())
    market = _odds_market_sql()
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _oa_ok AS
        SELECT o.file_row, CAST(outcomes_name AS VARCHAR) AS side, CAST(outcomes_description AS VARCHAR) AS player_name,
               try_cast(trim(CAST(outcomes_price AS VARCHAR)) AS DOUBLE) AS price,
               try_cast(trim(CAST(outcomes_point AS VARCHAR)) AS DOUBLE) AS point,
               CAST(id AS VARCHAR) AS event_id, try_cast(commence_time AS TIMESTAMPTZ) AS tipoff_at,
               lower(CAST("bookmakers.key" AS VARCHAR)) AS sportsbook, {market} AS market,
               try_cast("bookmakers.markets.last_update" AS TIMESTAMPTZ) AS quoted_at,
               ht.abbreviation AS home_team, aw.abbreviation AS away_team,
               CAST(timezone('America/New_York', try_cast(commence_time AS TIMESTAMPTZ)) AS DATE) AS game_date
        FROM _oa_in_ok o JOIN team_aliases ht ON ht.alias = upper(CAST(o.home_team AS VARCHAR))
                         JOIN team_aliases aw ON aw.alias = upper(CAST(o.away_team AS VARCHAR))""")
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
    con.execute("CREATE OR REPLACE TEMP TABLE _oa_main AS SELECT * FROM _oa_ranked WHERE rn = 1")
    stats = file_stats(con, [src], "_oa_in")[src.name]
    counts = con.execute("""SELECT (SELECT count(*) FROM _oa_main), (SELECT count(*) FROM _oa_ranked WHERE rn > 1),
                                   (SELECT count(*) FROM _oa_ok) - (SELECT count(*) FROM _oa_dedup)""").fetchone()
    snapshots, alternates, dup_rows = (int(x) for x in (counts or (0, 0, 0)))
    unknown = _unknown_markets(con, "_oa_in_bad", "bookmakers.markets.key", _UNKNOWN_ODDS_MARKET)
    stats.extra = {"snapshots": snapshots, "duplicate_snapshots": 0, "duplicate_rows": dup_rows,
                   "alternates": alternates, "unknown_markets": unknown.get(src.name, 0)}
    with transaction(con) as tx:
        replace_quarantine(tx, "odds_api", "_oa_in_bad", [src])
        release_taken_over(tx, "prop_line_snapshots", "file", "_oa_main", ("snapshot_id",), [src])
        tx.execute("DELETE FROM prop_line_alternates WHERE snapshot_id IN (SELECT snapshot_id FROM _oa_main)")
        tx.execute("DELETE FROM prop_line_snapshots WHERE snapshot_id IN (SELECT snapshot_id FROM _oa_main)")
        tx.execute("""INSERT INTO prop_line_snapshots BY NAME
            SELECT r.snapshot_id, 'odds_api' AS source, r.event_id, g.game_id, r.game_date, r.sportsbook,
                   r.player_name, '' AS player_lookup, NULL AS player_id, NULL AS match_method, NULL AS player_team,
                   r.home_team, r.away_team, r.market, r.line, r.over_price, r.under_price, r.quoted_at,
                   r.tipoff_at, date_diff('second', r.quoted_at, r.tipoff_at) / 60.0 AS minutes_before_tipoff,
                   'quoted_at' AS quote_basis, NULL AS opening_line, NULL AS opening_price, NULL AS opening_at,
                   NULL AS is_void, ? AS file, r.file_row, now() AS loaded_at
            FROM _oa_main r
            LEFT JOIN games g ON g.game_date = r.game_date AND g.home_abbr = r.home_team AND g.away_abbr = r.away_team""",
                   [src.name])
        tx.execute("""INSERT OR IGNORE INTO prop_line_alternates
            SELECT snapshot_id, line, over_price, under_price FROM _oa_ranked WHERE rn > 1""")
        # tip-off times the schedule did not have
        tx.execute("""UPDATE games SET tipoff_at = t.tipoff_at FROM (
                SELECT g.game_id, min(r.tipoff_at) AS tipoff_at FROM _oa_ok r
                JOIN games g ON g.game_date = r.game_date AND g.home_abbr = r.home_team AND g.away_abbr = r.away_team
                GROUP BY g.game_id) t
            WHERE games.game_id = t.game_id AND games.tipoff_at IS NULL""")
        record_files(tx, "odds_api_lines", {src.name: stats}, [src])
        if also is not None:
            also(tx)
    result.files[src.name] = stats


def load_odds_api_files(con: duckdb.DuckDBPyConnection, sources: Sequence[Source], *,
                        also: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> LoadResult:
    """Odds API flattened files (parquet or CSV with the same columns), one transaction each.

    ``also(tx)``, when given, runs inside each file's transaction after its rows are written (the line
    watcher lands the raw payload and its pull record with the snapshots: all or nothing).
    """
    result = LoadResult()
    for src in sources:
        try:
            _load_odds_file(con, src, result, also)
        finally:
            drop_temp(con, ["_oa_in"], ["_oa_ok", "_oa_dedup", "_oa_pairs", "_oa_ranked", "_oa_main"])
    return result


def odds_report(st: FileStats) -> dict[str, int]:
    return {"rows": st.rows, "quarantined": st.quarantined, "snapshots": st.extra.get("snapshots", 0),
            "duplicate_snapshots": st.extra.get("duplicate_snapshots", 0),
            "duplicate_rows": st.extra.get("duplicate_rows", 0), "alternates": st.extra.get("alternates", 0),
            "unknown_markets": st.extra.get("unknown_markets", 0)}


def load_odds_api_lines(con: duckdb.DuckDBPyConnection, path: Path | Source, *,
                        also: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> dict[str, int]:
    """Load one Odds API flattened file: rows, quarantined, snapshots it holds, duplicate rows, alternates.

    ``also(tx)`` runs inside the load's transaction (see :func:`load_odds_api_files`).
    """
    src = sources_of(path)[0]
    result = load_odds_api_files(con, [src], also=also)
    result.raise_rejected()
    return odds_report(result.files[src.name])


# ------------------------------------------------------------------------------------------ BettingPros
_BP_COLUMNS = ("player", "team", "line", "over_odds", "under_odds", "sportsbook", "market_id")
_BP_OPTIONAL = ("opening_line", "opening_odds", "opening_time")
_BP_DATE = "try_cast(regexp_extract(regexp_extract(_file, '[^/\\\\]+$'), '(\\d{4}-\\d{2}-\\d{2})', 1) AS DATE)"


def _bp_rules() -> list[Rule]:
    markets = ", ".join(str(k) for k in BETTINGPROS_MARKETS)
    books = ", ".join(f"'{k}'" for k in BETTINGPROS_BOOKS)
    line = "try_cast(trim(line) AS DOUBLE)"
    over, under = "try_cast(trim(over_odds) AS DOUBLE)", "try_cast(trim(under_odds) AS DOUBLE)"
    return [
        Rule("player", (("nullif(trim(player), '') IS NULL", _MISSING),)),
        Rule("file name", ((f"{_BP_DATE} IS NULL", "'the date in the file name is not a date'"),)),
        Rule("market_id", ((f"coalesce(try_cast(trim(market_id) AS INTEGER) NOT IN ({markets}), true)",
                            f"'{_UNKNOWN_BP_MARKET}'"),)),
        Rule("sportsbook", ((f"coalesce(lower(trim(sportsbook)) NOT IN ({books}), true)", "'unknown sportsbook code'"),)),
        Rule("line", ((f"{line} IS NULL OR isnan({line}) OR {line} <= 0", "'line is missing, NaN or not positive'"),
                      (f"{line} > {_LINE_HI}", _line_range(line)))),
        Rule("over_odds/under_odds", (
            (f"{over} IS NULL OR {under} IS NULL OR isnan({over}) OR isnan({under}) "
             f"OR abs({over}) < {_PRICE_LO} OR abs({under}) < {_PRICE_LO}", _MISSING),
            (f"abs({over}) > {_PRICE_HI}", _price_range(over)), (f"abs({under}) > {_PRICE_HI}", _price_range(under)))),
        Rule("team", (("nullif(trim(team), '') IS NULL", _MISSING),
                      ("upper(trim(team)) NOT IN (SELECT alias FROM team_aliases)", "'unknown team'"))),
    ]


def load_bettingpros_files(con: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> LoadResult:
    """BettingPros offer CSVs (the game date is in each file name; market from market_id), one transaction.

    These files carry the book's final pre-game line without a quote time, so the snapshots are
    stored with ``quote_basis = 'closing'`` and ``quoted_at`` NULL: pre-tip by construction. The same
    offer (date, book, market, player, team) twice: the last one (file order, then row) is kept, the
    others are counted as ``duplicate_snapshots``.
    """
    try:
        return _load_bettingpros_files(con, sources)
    finally:
        drop_temp(con, ['_bp_in'], ['_bp', '_bp_ranked', '_bp_main'])


def _load_bettingpros_files(con: duckdb.DuckDBPyConnection, sources: Sequence[Source]) -> LoadResult:
    """The body of :func:`load_bettingpros_files` (its temp tables are dropped by it)."""
    result = stage(con, sources, "_bp_in", _BP_COLUMNS, _BP_OPTIONAL)
    sources = [s for s in sources if s.name not in result.rejected]
    if not sources:
        return result
    split(con, "_bp_in", _bp_rules())
    markets = ", ".join(f"({k}, '{v}')" for k, v in BETTINGPROS_MARKETS.items())
    books = ", ".join(f"('{k}', '{v}')" for k, v in BETTINGPROS_BOOKS.items())
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _bp AS
        SELECT b._file AS file, b._order, b.file_row, {_BP_DATE} AS game_date, b.player AS player_name,
               t.abbreviation AS player_team, try_cast(trim(b.line) AS DOUBLE) AS line,
               try_cast(trim(b.over_odds) AS DOUBLE) AS over_price, try_cast(trim(b.under_odds) AS DOUBLE) AS under_price,
               m.market, bk.book AS sportsbook,
               try_cast(b.opening_line AS DOUBLE) AS opening_line, try_cast(b.opening_odds AS DOUBLE) AS opening_price,
               try_cast(b.opening_time AS TIMESTAMP) AS opening_time
        FROM _bp_in_ok b
        JOIN (VALUES {markets}) AS m(id, market) ON m.id = try_cast(trim(b.market_id) AS INTEGER)
        JOIN (VALUES {books}) AS bk(code, book) ON bk.code = lower(trim(b.sportsbook))
        JOIN team_aliases t ON t.alias = upper(trim(b.team))""")
    con.execute("""CREATE OR REPLACE TEMP TABLE _bp_ranked AS
        SELECT j.*, md5(concat_ws('|', 'bettingpros', CAST(j.game_date AS VARCHAR), j.sportsbook, j.market,
                                  j.player_name, j.player_team)) AS snapshot_id,
               ROW_NUMBER() OVER (PARTITION BY j.game_date, j.sportsbook, j.market, j.player_name, j.player_team
                                  ORDER BY j._order DESC, j.file_row DESC) AS rn
        FROM _bp j""")
    con.execute("CREATE OR REPLACE TEMP TABLE _bp_main AS SELECT * FROM _bp_ranked WHERE rn = 1")
    stats = file_stats(con, sources, "_bp_in")
    for f, n_main, n_dup in con.execute("""SELECT file, count(*) FILTER (WHERE rn = 1), count(*) FILTER (WHERE rn > 1)
                                          FROM _bp_ranked GROUP BY 1""").fetchall():
        stats[str(f)].extra = {"snapshots": int(n_main), "duplicate_snapshots": int(n_dup)}
    unknown = _unknown_markets(con, "_bp_in_bad", "market_id", _UNKNOWN_BP_MARKET)
    for name, st in stats.items():
        st.extra = {"snapshots": 0, "duplicate_snapshots": 0, **st.extra, "unknown_market_ids": unknown.get(name, 0)}
    with transaction(con) as tx:
        replace_quarantine(tx, "bettingpros", "_bp_in_bad", sources)
        release_taken_over(tx, "prop_line_snapshots", "file", "_bp_main", ("snapshot_id",), sources)
        tx.execute("DELETE FROM prop_line_snapshots WHERE snapshot_id IN (SELECT snapshot_id FROM _bp_main)")
        tx.execute("""INSERT INTO prop_line_snapshots BY NAME
            SELECT r.snapshot_id, 'bettingpros' AS source, NULL AS event_id, g.game_id, r.game_date, r.sportsbook,
                   r.player_name, '' AS player_lookup, NULL AS player_id, NULL AS match_method, r.player_team,
                   g.home_abbr AS home_team, g.away_abbr AS away_team, r.market, r.line,
                   CAST(r.over_price AS INTEGER) AS over_price, CAST(r.under_price AS INTEGER) AS under_price,
                   NULL AS quoted_at, g.tipoff_at, NULL AS minutes_before_tipoff, 'closing' AS quote_basis,
                   r.opening_line, CAST(r.opening_price AS INTEGER) AS opening_price,
                   CAST(r.opening_time AS TIMESTAMPTZ) AS opening_at, NULL AS is_void, r.file, r.file_row,
                   now() AS loaded_at
            FROM _bp_main r
            LEFT JOIN games g ON g.game_date = r.game_date AND r.player_team IN (g.home_abbr, g.away_abbr)""")
        record_files(tx, "bettingpros", stats, sources)
    result.files.update(stats)
    return result


def bettingpros_report(files: Sequence[FileStats]) -> dict[str, int]:
    """The group counts of BettingPros files: rows = snapshots + quarantined + duplicate_snapshots;
    ``unknown_market_ids`` of the quarantined rows have a market_id not in the registry."""
    return {"rows": sum(f.rows for f in files), "quarantined": sum(f.quarantined for f in files),
            "snapshots": sum(f.extra.get("snapshots", 0) for f in files),
            "duplicate_snapshots": sum(f.extra.get("duplicate_snapshots", 0) for f in files),
            "unknown_market_ids": sum(f.extra.get("unknown_market_ids", 0) for f in files)}


def load_bettingpros(con: duckdb.DuckDBPyConnection, paths: Sequence[Path | Source]) -> dict[str, int]:
    """Load BettingPros CSVs (see :func:`load_bettingpros_files`); InputError for a file-level problem."""
    if not paths:
        return {"rows": 0, "quarantined": 0, "snapshots": 0, "duplicate_snapshots": 0, "unknown_market_ids": 0}
    result = load_bettingpros_files(con, sources_of(paths))
    result.raise_rejected()
    return bettingpros_report(list(result.files.values()))


# ------------------------------------------------------------------------------------------ after a load
def link_snapshot_games(con: duckdb.DuckDBPyConnection) -> int:
    """Snapshots loaded before their game was known get its game_id (and teams, tip-off) once it is;
    games without a tip-off time get the one their Odds API lines give."""
    with transaction(con) as tx:
        tx.execute("""UPDATE prop_line_snapshots AS s
            SET game_id = g.game_id, home_team = coalesce(s.home_team, g.home_abbr),
                away_team = coalesce(s.away_team, g.away_abbr), tipoff_at = coalesce(s.tipoff_at, g.tipoff_at)
            FROM games AS g
            WHERE s.game_id IS NULL AND s.game_date = g.game_date
              AND ((s.source = 'bettingpros' AND s.player_team IN (g.home_abbr, g.away_abbr))
                   OR (s.source <> 'bettingpros' AND s.home_team = g.home_abbr AND s.away_team = g.away_abbr))""")
        row = tx.execute("SELECT count(*) FROM prop_line_snapshots WHERE game_id IS NULL").fetchone()
        tx.execute("""UPDATE games SET tipoff_at = t.tipoff_at FROM (
                SELECT game_id, min(tipoff_at) AS tipoff_at FROM prop_line_snapshots
                WHERE source = 'odds_api' AND game_id IS NOT NULL AND tipoff_at IS NOT NULL GROUP BY 1) t
            WHERE games.game_id = t.game_id AND games.tipoff_at IS NULL""")
    return int(row[0]) if row else 0


def name_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Book names in the snapshots and how many resolve to a player_id (what :func:`resolve_snapshot_players`
    reports for the whole range, read from the table)."""
    row = con.execute("""SELECT count(*), count(pid) FROM (
        SELECT any_value(player_id) AS pid FROM prop_line_snapshots
        GROUP BY source, game_date, player_name, CASE WHEN source = 'bettingpros' THEN player_team END,
                 home_team, away_team)""").fetchone()
    names, matched = (int(row[0]), int(row[1])) if row else (0, 0)
    return {"names": names, "matched": matched, "unmatched": names - matched}


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

