"""Bad input never crashes half-way and is never dropped silently.

Tiny hand-made files in the shared formats (a few rows each, in tmp_path) and an in-memory
warehouse. Each bad input ends as one of:
- a file reported and not loaded (``BackfillReport.skipped`` + a ``quarantine_rows`` row),
- a row in ``quarantine_rows`` with the field and the reason,
- an ``InputError`` naming file, row and field, raised before anything is written,
and a load that fails in the middle of its transaction leaves every table as it was.
Count in = count loaded + quarantined + reported.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from nbaprops.config import load_settings
from nbaprops.errors import MissingColumnsError, UnreadableFileError
from nbaprops.features.definitions import FEATURE_VERSIONS
from nbaprops.features.store import build_feature_store
from nbaprops.ingest import boxscores, lines
from nbaprops.ingest.sources.files import discover, file_columns, require_columns
from nbaprops.pipeline.backfill import BackfillReport, load_files
from nbaprops.pipeline.builds import run_phases
from nbaprops.warehouse import connect, replace_partition

# ----------------------------------------------------------------------------- the shared formats
TEAMS_HEADER = ["team_id", "abbreviation", "nickname", "year_founded", "city", "full_name", "state",
                "championship_years"]
TEAMS = [[1610612738, "BOS", "Celtics", 1946, "Boston", "Boston Celtics", "Massachusetts", "[2008]"],
         [1610612752, "NYK", "Knicks", 1946, "New York", "New York Knicks", "New York", "[1970]"]]
TEAM_ID = {"BOS": 1610612738, "NYK": 1610612752}
PLAYERS_HEADER = ["player_id", "last_name", "first_name", "full_name", "is_active"]
PLAYERS = [[1628369, "Tatum", "Jayson", "Jayson Tatum", "True"], [1627759, "Brown", "Jaylen", "Jaylen Brown", "True"],
           [1628973, "Brunson", "Jalen", "Jalen Brunson", "True"], [1628404, "Hart", "Josh", "Josh Hart", "True"]]
TEAM_OF = {1628369: "BOS", 1627759: "BOS", 1628973: "NYK", 1628404: "NYK"}
NAME_OF = {p[0]: p[3] for p in PLAYERS}
GAMES = [("0022300901", "2024-03-01", "BOS", "NYK"), ("0022300902", "2024-03-03", "NYK", "BOS"),
         ("0022300903", "2024-03-05", "BOS", "NYK")]

TGL_STATS = ("fgm", "fga", "fg_pct", "fg3m", "fg3a", "fg3_pct", "ftm", "fta", "ft_pct", "oreb", "dreb", "reb", "ast",
             "stl", "blk", "tov", "pf", "plus_minus")
TGL_HEADER = (["game_id", "game_date", "season", "game_type", "neutral_site", "team_id_home", "team_abbreviation_home",
               "team_name_home", "team_id_road", "team_abbreviation_road", "team_name_road", "pts_home", "pts_road",
               "wl_home"] + [f"{s}_{side}" for side in ("home", "road") for s in TGL_STATS])
BOX_HEADER = ["season", "season_type", "game_id", "game_date", "player_id", "player_name", "team_id", "team",
              "opp_team", "home_away", "starter", "MIN", "PTS", "FGM", "FGA", "FG3M", "FG3A", "FTM", "FTA", "OREB",
              "DREB", "REB", "AST", "STL", "BLK", "TOV", "PF", "PLUS_MINUS_approx", "FGA_RIM", "FGM_RIM",
              "FGA_PAINT", "FGM_PAINT", "FGA_MID", "FGM_MID", "FGA_C3", "FGM_C3", "FB_FGA", "AVG_SHOT_DIST",
              "player_name_short"]
ODDS_HEADER = ["outcomes_name", "outcomes_description", "outcomes_price", "outcomes_point", "id", "sport_key",
               "sport_title", "commence_time", "home_team", "away_team", "bookmakers.key", "bookmakers.title",
               "bookmakers.last_update", "bookmakers.markets.key", "bookmakers.markets.last_update", "file_date"]
BP_HEADER = ["player", "team", "game_id", "prop_type", "line", "over_odds", "under_odds", "sportsbook", "player_id",
             "market_id", "consensus_line", "opening_line", "opening_odds", "opening_time", "timestamp"]

VOLATILE = ("loaded_at", "quarantined_at", "built_at", "applied_at", "started_at", "finished_at")


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def team_log_rows() -> list[list[Any]]:
    side = [40, 85, 0.47, 12, 33, 0.36, 18, 22, 0.8, 10, 33, 43, 25, 7, 5, 13, 18, 0]
    return [[gid, d, "2023-24", "regular_season", "False", TEAM_ID[h], h, h, TEAM_ID[a], a, a, 110, 100, "W",
             *side, *side] for gid, d, h, a in GAMES]


def box_rows() -> list[list[Any]]:
    rows = []
    for gid, d, h, a in GAMES:
        for pid, team in TEAM_OF.items():
            home = team == h
            rows.append(["2023-24", "Regular Season", gid.lstrip("0"), d, pid, NAME_OF[pid], TEAM_ID[team], team,
                         a if home else h, "home" if home else "away", "True", 34.5, 20 + pid % 7, 8, 17, 2, 6, 2,
                         3, 1, 5, 6, 4, 1, 0, 2, 2, 5.0, 5, 3, 8, 5, 4, 2, 1, 0, 2, 11.0, "x"])
    return rows


def odds_pair(player: str = "Jayson Tatum", line: Any = 26.5, over: Any = -110, under: Any = -110,
              book: str = "draftkings", home: str = "Boston Celtics", away: str = "New York Knicks",
              quoted: str = "2024-03-05T19:30:00Z") -> list[list[Any]]:
    base = ["ev-0022300903", "basketball_nba", "NBA", "2024-03-06T00:30:00Z", home, away, book, book, "",
            "player_points", quoted, "2024-03-05"]
    return [["Over", player, over, line, *base], ["Under", player, under, line, *base]]


def bp_row(player: str = "Jalen Brunson", team: str = "NYK", line: Any = 27.5, over: Any = -115,
           under: Any = -105, book: str = "dk", market_id: Any = 156) -> list[Any]:
    return [player, team, "1", "pts", line, over, under, book, "", market_id, line, line, over,
            "2024-03-05 10:00:00", ""]


def write_reference(root: Path) -> None:
    write_csv(root / "reference" / "nba_teams.csv", TEAMS_HEADER, TEAMS)
    write_csv(root / "reference" / "nba_players.csv", PLAYERS_HEADER, PLAYERS)


def write_good_data(root: Path) -> None:
    write_reference(root)
    write_csv(root / "teams" / "team_game_logs_2023-24.csv", TGL_HEADER, team_log_rows())
    write_csv(root / "boxscores" / "player_boxscores.csv", BOX_HEADER, box_rows())


# ----------------------------------------------------------------------------- helpers
@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = connect(":memory:")
    yield c
    c.close()


@pytest.fixture
def loaded(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """A warehouse with the good reference, games and box scores loaded."""
    write_good_data(tmp_path / "good")
    report = BackfillReport()
    load_files(con, tmp_path / "good", report)
    assert report.skipped == []
    assert report.loaded["player_boxscores"] == 12
    return con


def dump(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[Any, ...]]:
    """Every row of a table, sorted, without the wall-clock columns."""
    volatile = ", ".join(f"'{c}'" for c in VOLATILE)
    return con.execute(f"SELECT COLUMNS(lambda c: c NOT IN ({volatile})) FROM {table} ORDER BY ALL").fetchall()


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """The content of every non-empty table but the run log (a table that gains or loses all its rows
    changes the key set, so skipping empty ones loses nothing and keeps this fast)."""
    tables = [r[0] for r in con.execute("""SELECT table_name FROM duckdb_tables()
                                           WHERE NOT temporary AND estimated_size > 0""").fetchall()]
    return {t: dump(con, t) for t in sorted(tables) if t != "phase_runs"}


def count(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> int:
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return int(row[0])


class FailOn:
    """A connection that raises when a statement containing ``needle`` is executed (fault injection)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, needle: str) -> None:
        self.con = con
        self.needle = needle
        self.hit = False

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        if self.needle in " ".join(str(sql).split()):
            self.hit = True
            raise RuntimeError(f"injected failure at {self.needle!r}")
        return self.con.execute(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.con, name)


def box_file(tmp_path: Path, name: str, mutate: Any = None, header: list[str] | None = None) -> Path:
    rows = box_rows()
    if mutate:
        mutate(rows)
    return write_csv(tmp_path / "bad" / name, header or BOX_HEADER, rows)


def set_cell(column: str, value: Any, row: int = 2) -> Any:
    def mutate(rows: list[list[Any]]) -> None:
        rows[row][BOX_HEADER.index(column)] = value
    return mutate


# ----------------------------------------------------------------------------- missing columns / unreadable
def test_file_missing_columns_is_reported_not_loaded(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_good_data(root)
    no_pts = [h for h in BOX_HEADER if h != "PTS"]
    rows = [[v for h, v in zip(BOX_HEADER, r, strict=True) if h != "PTS"] for r in box_rows()]
    bad = write_csv(root / "boxscores" / "zz_no_pts.csv", no_pts, rows)
    no_point = write_csv(root / "lines" / "odds_no_point.csv", [h for h in ODDS_HEADER if h != "outcomes_point"],
                         [r[:3] + r[4:] for r in odds_pair()])
    report = BackfillReport()
    load_files(con, root, report)
    skipped = dict(report.skipped)
    assert set(skipped) == {str(bad), str(no_point)}
    assert "player_boxscores" in skipped[str(bad)] and "['PTS']" in skipped[str(bad)]
    assert "outcomes_point" in skipped[str(no_point)]
    q = con.execute("SELECT file, reason FROM quarantine_rows WHERE source = 'files' ORDER BY file").fetchall()
    assert [f for f, _ in q] == sorted(skipped) and all("file not loaded" in r for _, r in q)
    assert count(con, "SELECT count(*) FROM player_boxscores") == 12  # the good file only
    assert count(con, "SELECT count(*) FROM player_boxscores WHERE source = ?", [str(bad)]) == 0


def test_require_columns_names_file_and_columns(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = box_file(tmp_path, "no_pts_fga.csv", header=[h if h not in ("PTS", "FGA") else h.lower() + "_x"
                                                        for h in BOX_HEADER])
    with pytest.raises(MissingColumnsError) as info:
        require_columns(con, path, "player_boxscores")
    assert info.value.file == str(path)
    assert "FGA" in str(info.value) and "PTS" in str(info.value) and str(path) in str(info.value)


def test_loader_needs_every_column_it_reads(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    """A file that passes classification but lacks a column the loader reads: clear error, nothing written."""
    i = BOX_HEADER.index("FGA_RIM")
    rows = box_rows()
    for r in rows:
        del r[i]
    path = write_csv(tmp_path / "bad" / "no_rim.csv", [h for h in BOX_HEADER if h != "FGA_RIM"], rows)
    before = snapshot(loaded)
    with pytest.raises(MissingColumnsError) as info:
        boxscores.load_player_boxscores(loaded, path)
    assert info.value.file == str(path) and "FGA_RIM" in str(info.value)
    assert snapshot(loaded) == before


def test_unreadable_files_are_reported(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_reference(root)
    garbage = root / "lines" / "garbage.parquet"
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(b"this is not a parquet file")
    latin = root / "lines" / "latin1.csv"
    latin.write_bytes("player,team\nJos\xe9 Alvarado,NOP\n".encode("latin-1"))
    empty = root / "lines" / "empty.csv"
    empty.write_bytes(b"")
    binary = root / "lines" / "binary.csv"
    binary.write_bytes(bytes(range(256)) * 4)
    unknown = write_csv(root / "lines" / "notes.csv", ["a", "b"], [[1, 2]])
    report = BackfillReport()
    load_files(con, root, report)
    skipped = dict(report.skipped)
    assert set(skipped) == {str(p) for p in (garbage, latin, empty, binary, unknown)}
    assert "cannot read" in skipped[str(garbage)]
    assert "not a known" in skipped[str(latin)]     # its header reads; a bad byte below it is a row's problem
    assert "empty file" in skipped[str(empty)]
    assert "cannot read" in skipped[str(binary)]
    assert "not a known" in skipped[str(unknown)]
    assert count(con, "SELECT count(*) FROM quarantine_rows WHERE source = 'files'") == 5
    assert report.loaded == {"teams": 2, "players": 4}  # the readable files still load
    for p in (garbage, empty, binary):
        with pytest.raises(UnreadableFileError) as info:
            file_columns(con, p)
        assert info.value.file == str(p)
    with pytest.raises(UnreadableFileError):
        discover(con, tmp_path / "does-not-exist")


# ----------------------------------------------------------------------------- wrong types / unknown ids / ranges
def _quarantined(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[Any, ...]]:
    return con.execute("""SELECT file_row, field, reason FROM quarantine_rows WHERE file = ?
                          ORDER BY file_row""", [str(path)]).fetchall()


_BOX_KEY = "SELECT pts, minutes, season, game_date, source FROM player_boxscores WHERE game_id = ? AND player_id = ?"


@pytest.mark.parametrize(("column", "value", "field", "reason"), [
    ("PTS", "abc", "PTS", "not a number: abc"),
    ("PTS", "", "PTS", "missing value"),
    ("PTS", "-3", "PTS", "-3 is outside the plausible range 0..100"),
    ("PTS", "999.5", "PTS", "999.5 is outside the plausible range 0..100"),
    ("PTS", "20.5", "PTS", "20.5 is not a whole number"),
    ("FGA", "abc", "FGA", "not a number: abc"),
    ("PF", "7", "PF", "7 is outside the plausible range 0..6"),
    ("MIN", "12:30", "MIN", "not a number: 12:30"),
    ("MIN", "1e308", "MIN", "1e308 is outside the plausible range 0..70"),
    ("MIN", "nan", "MIN", "nan is outside the plausible range 0..70"),
    ("team_id", "abc", "team_id", "not a number: abc"),
    ("player_id", "Jayson", "player_id", "not an id (a positive whole number): Jayson"),
    ("player_id", "999999999", "player_id", "unknown player_id 999999999; not in the players reference"),
    ("game_date", "03/01/2024", "game_date", "not a date: 03/01/2024"),
    ("game_date", "2030-03-01", "game_date", "2030-03-01 is outside season 2023-24 (2023-09-01..2024-10-31)"),
    ("season", "", "season", "missing value"),
    ("season", "2023-25", "season", "not a season like 2023-24: 2023-25"),
    ("home_away", "", "home_away", "not home or away: "),
    ("team", "XXX", "team", "unknown team XXX; add it to team_aliases or fix the file"),
    ("opp_team", "Springfield", "opp_team", "unknown team Springfield"),
    ("opp_team", "NYK", "opp_team", "a team cannot play itself"),
])
def test_bad_box_score_value_quarantines_that_row_only(
        loaded: duckdb.DuckDBPyConnection, tmp_path: Path, column: str, value: str, field: str, reason: str) -> None:
    path = box_file(tmp_path, f"bad_{column}.csv", set_cell(column, value, row=2))   # CSV line 4
    good = box_rows()[2]
    key = [f"00{good[2]}", good[4]]
    kept = loaded.execute(_BOX_KEY, key).fetchall()
    assert boxscores.load_player_boxscores(loaded, path) == 11
    ((row, got_field, got_reason),) = _quarantined(loaded, path)
    assert (row, got_field) == (4, field) and got_reason.startswith(reason), got_reason
    assert loaded.execute(_BOX_KEY, key).fetchall() == kept            # the bad row replaced nothing
    assert count(loaded, "SELECT count(*) FROM player_boxscores WHERE source = ?", [str(path)]) == 11
    assert count(loaded, "SELECT count(*) FROM player_boxscores") == 12
    assert count(loaded, "SELECT count(*) FROM games WHERE year(game_date) = 2030") == 0
    boxscores.load_player_boxscores(loaded, path)                    # again: the same single quarantine row
    assert len(_quarantined(loaded, path)) == 1


def test_a_final_game_dated_after_tomorrow_is_quarantined(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    def future(rows: list[list[Any]]) -> None:
        for r in rows[:4]:                                    # every row of the first game
            r[BOX_HEADER.index("season")], r[BOX_HEADER.index("game_date")] = "2029-30", "2030-01-15"
    path = box_file(tmp_path, "future.csv", future)
    assert boxscores.load_player_boxscores(loaded, path) == 8
    q = _quarantined(loaded, path)
    assert [(r, f) for r, f, _ in q] == [(2, "game_date"), (3, "game_date"), (4, "game_date"), (5, "game_date")]
    assert all("a final game dated 2030-01-15" in why for _, _, why in q)
    assert count(loaded, "SELECT count(*) FROM games WHERE game_date > current_date") == 0


def test_blank_optional_numbers_load_as_null(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = box_file(tmp_path, "blank_rim.csv", set_cell("FGA_RIM", "", row=0))
    assert boxscores.load_player_boxscores(loaded, path) == 12
    assert count(loaded, "SELECT count(*) FROM player_boxscores WHERE fga_rim IS NULL") == 1


def test_duplicate_box_score_row_quarantines_all_but_the_last(loaded: duckdb.DuckDBPyConnection,
                                                              tmp_path: Path) -> None:
    def dup(rows: list[list[Any]]) -> None:
        rows.append(list(rows[0]))
        rows[-1][BOX_HEADER.index("PTS")] = 33
    path = box_file(tmp_path, "dup.csv", dup)
    assert boxscores.load_player_boxscores(loaded, path) == 12
    ((row, field, reason),) = _quarantined(loaded, path)
    assert (row, field) == (2, "(game_id, player_id)")
    assert reason == f"another row with the same (game_id, player_id) is loaded instead ({path} row 14)"
    assert count(loaded, "SELECT pts FROM player_boxscores WHERE game_id = '0022300901' AND player_id = ?",
                 [box_rows()[0][4]]) == 33


@pytest.mark.parametrize(("column", "value", "reason"), [
    ("team_abbreviation_road", "XXX", "unknown team XXX"),
    ("fga_home", "lots", "not a number: lots"),
    ("pts_home", "999", "999 is outside the plausible range 0..250"),
    ("team_id_home", "BOS", "not an id"),
    ("game_date", "yesterday", "not a date: yesterday"),
    ("game_date", "2030-03-03", "2030-03-03 is outside season 2023-24"),
])
def test_bad_team_game_log_row_is_quarantined_and_the_others_load(
        loaded: duckdb.DuckDBPyConnection, tmp_path: Path, column: str, value: str, reason: str) -> None:
    rows = team_log_rows()
    rows[1][TGL_HEADER.index(column)] = value
    path = write_csv(tmp_path / "bad" / "team_game_logs_2023-24.csv", TGL_HEADER, rows)
    kept = loaded.execute("SELECT * FROM team_boxscores WHERE game_id = ? ORDER BY ALL", [GAMES[1][0]]).fetchall()
    assert boxscores.load_team_game_logs(loaded, path) == 2
    ((row, field, why),) = _quarantined(loaded, path)
    assert (row, field) == (3, column) and why.startswith(reason), why        # line 3 of the CSV
    assert loaded.execute("SELECT * FROM team_boxscores WHERE game_id = ? ORDER BY ALL",
                          [GAMES[1][0]]).fetchall() == kept
    assert count(loaded, "SELECT count(*) FROM games WHERE source = ?", [str(path)]) == 2


# ----------------------------------------------------------------------------- lines: quarantine, duplicates
def _odds_accounting(con: duckdb.DuckDBPyConnection, path: Path, stats: dict[str, int]) -> None:
    sides = count(con, "SELECT count(over_price) + count(under_price) FROM prop_line_snapshots WHERE file = ?",
                  [str(path)])
    alt = count(con, """SELECT count(a.over_price) + count(a.under_price) FROM prop_line_alternates a
                        JOIN prop_line_snapshots s USING (snapshot_id) WHERE s.file = ?""", [str(path)])
    quarantined = count(con, "SELECT count(*) FROM quarantine_rows WHERE file = ?", [str(path)])
    assert quarantined == stats["quarantined"]
    assert stats["rows"] == sides + alt + quarantined + stats["duplicate_rows"], stats


def test_bad_odds_rows_are_quarantined_with_field_and_reason(loaded: duckdb.DuckDBPyConnection,
                                                             tmp_path: Path) -> None:
    rows = (odds_pair()                                               # CSV lines 2-3 good
            + odds_pair(player="Jaylen Brown", line="NaN")            # 4-5
            + odds_pair(player="Jalen Brunson", line=-3.5)            # 6-7
            + odds_pair(player="Josh Hart", line=0)                   # 8-9
            + odds_pair(player="Jaylen Brown", book="fanduel", over="")                      # 10 (11 kept)
            + odds_pair(player="Jalen Brunson", book="fanduel", under="evens")               # 13 (12 kept)
            + odds_pair(player="Josh Hart", book="fanduel", home="Springfield Isotopes"))    # 14-15
    path = write_csv(tmp_path / "lines" / "odds.csv", ODDS_HEADER, rows)
    stats = lines.load_odds_api_lines(loaded, path)
    q = {r[0]: (r[1], r[2]) for r in loaded.execute("""SELECT file_row, field, reason FROM quarantine_rows
                                                       WHERE file = ? ORDER BY file_row""", [str(path)]).fetchall()}
    assert q == {
        4: ("outcomes_point", "line is NaN or not positive"), 5: ("outcomes_point", "line is NaN or not positive"),
        6: ("outcomes_point", "line is NaN or not positive"), 7: ("outcomes_point", "line is NaN or not positive"),
        8: ("outcomes_point", "line is NaN or not positive"), 9: ("outcomes_point", "line is NaN or not positive"),
        10: ("outcomes_price", "missing or invalid value"), 13: ("outcomes_price", "missing or invalid value"),
        14: ("home_team", "unknown team"), 15: ("home_team", "unknown team"),
    }
    raw = loaded.execute("SELECT raw FROM quarantine_rows WHERE file = ? AND file_row = 14", [str(path)]).fetchone()
    assert raw and "Springfield Isotopes" in raw[0]  # the row itself is kept for inspection
    assert stats["rows"] == 14 and stats["quarantined"] == 10
    _odds_accounting(loaded, path, stats)
    good = loaded.execute("""SELECT player_name, sportsbook, line, over_price, under_price FROM prop_line_snapshots
                             WHERE file = ? ORDER BY ALL""", [str(path)]).fetchall()
    assert good == [("Jalen Brunson", "fanduel", 26.5, -110, None), ("Jaylen Brown", "fanduel", 26.5, None, -110),
                    ("Jayson Tatum", "draftkings", 26.5, -110, -110)]


def test_duplicated_odds_rows_make_one_snapshot(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    rows = odds_pair() * 3 + odds_pair(line=25.5, over=120, under=-150)   # a repeated pair plus one alternate
    path = write_csv(tmp_path / "lines" / "odds_dup.csv", ODDS_HEADER, rows)
    stats = lines.load_odds_api_lines(loaded, path)
    assert (stats["snapshots"], stats["duplicate_rows"], stats["alternates"]) == (1, 4, 1)
    assert loaded.execute("SELECT line FROM prop_line_snapshots WHERE file = ?", [str(path)]).fetchall() == [(26.5,)]
    assert loaded.execute("SELECT line FROM prop_line_alternates").fetchall() == [(25.5,)]
    _odds_accounting(loaded, path, stats)
    before = snapshot(loaded)
    assert lines.load_odds_api_lines(loaded, path) == stats          # loading it again changes nothing
    assert snapshot(loaded) == before


def test_an_unknown_odds_api_market_is_quarantined_and_counted(loaded: duckdb.DuckDBPyConnection,
                                                              tmp_path: Path) -> None:
    """Every registry market loads (PRA, blocks ...); a key not in nbaprops.markets is quarantined, counted."""
    rows = odds_pair()
    for market in ("player_points_rebounds_assists", "player_blocks", "player_double_double"):
        for side in odds_pair(line=1.5 if market != "player_points_rebounds_assists" else 40.5):
            rows.append([*side[:13], market, *side[14:]])
    path = write_csv(tmp_path / "lines" / "odds_markets.csv", ODDS_HEADER, rows)
    stats = lines.load_odds_api_lines(loaded, path)
    assert (stats["snapshots"], stats["quarantined"], stats["unknown_markets"]) == (3, 2, 2)
    assert loaded.execute("SELECT market, line FROM prop_line_snapshots WHERE file = ? ORDER BY ALL",
                          [str(path)]).fetchall() == [("player_blocks", 1.5), ("player_points", 26.5),
                                                      ("player_points_rebounds_assists", 40.5)]
    q = loaded.execute("SELECT DISTINCT field, reason FROM quarantine_rows WHERE file = ?", [str(path)]).fetchall()
    assert q == [("bookmakers.markets.key", "unknown market key (not in nbaprops.markets: docs/markets.md)")]
    _odds_accounting(loaded, path, stats)


def test_bad_bettingpros_rows_are_quarantined(loaded: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    rows = [bp_row(),                                    # line 2: good
            bp_row(player="Josh Hart", line="nan"),     # 3
            bp_row(player="Josh Hart", line=-1.5, book="fd"),   # 4
            bp_row(player="Jayson Tatum", team="BOS", over=""),  # 5
            bp_row(player="Jaylen Brown", team="XXX"),  # 6
            bp_row(player="Jaylen Brown", team="BOS", market_id=999),  # 7
            bp_row(player="Jaylen Brown", team="BOS", book="zz"),      # 8
            bp_row()]                                    # 9: the same offer as line 2
    path = write_csv(tmp_path / "lines" / "bettingpros" / "2024-03" / "props_2024-03-05.csv", BP_HEADER, rows)
    stats = lines.load_bettingpros(loaded, [path])
    q = {r[0]: (r[1], r[2]) for r in loaded.execute("""SELECT file_row, field, reason FROM quarantine_rows
                                                       WHERE file = ? ORDER BY file_row""", [str(path)]).fetchall()}
    assert q == {3: ("line", "line is missing, NaN or not positive"), 4: ("line", "line is missing, NaN or not positive"),
                 5: ("over_odds/under_odds", "missing or invalid value"), 6: ("team", "unknown team"),
                 7: ("market_id", "unknown market_id (not a mapped player market)"),
                 8: ("sportsbook", "unknown sportsbook code")}
    assert stats == {"rows": 8, "quarantined": 6, "snapshots": 1, "duplicate_snapshots": 1, "unknown_market_ids": 1}
    assert stats["rows"] == stats["snapshots"] + stats["quarantined"] + stats["duplicate_snapshots"]
    snap = loaded.execute("""SELECT player_name, player_team, sportsbook, line, file_row, quote_basis, game_date
                             FROM prop_line_snapshots WHERE file = ?""", [str(path)]).fetchall()
    assert snap == [("Jalen Brunson", "NYK", "draftkings", 27.5, 9, "closing", dt.date(2024, 3, 5))]
    before = snapshot(loaded)
    assert lines.load_bettingpros(loaded, [path]) == stats
    assert snapshot(loaded) == before


def test_unresolved_name_is_kept_and_listed(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_good_data(root)
    write_csv(root / "lines" / "odds.csv", ODDS_HEADER, odds_pair() + odds_pair(player="Nobody Fakeperson"))
    report = BackfillReport()
    load_files(con, root, report)
    assert report.names == {"names": 2, "matched": 1, "unmatched": 1}
    assert con.execute("""SELECT player_name, player_id FROM prop_line_snapshots ORDER BY 1""").fetchall() == [
        ("Jayson Tatum", 1628369), ("Nobody Fakeperson", None)]
    listed = con.execute("SELECT source, game_date, player_name, reason, n_rows FROM unmatched_player_names").fetchall()
    assert listed == [("odds_api", dt.date(2024, 3, 5), "Nobody Fakeperson", "no_candidate", 1)]


# ----------------------------------------------------------------------------- atomicity under failure
@pytest.mark.parametrize("needle", ["INSERT INTO player_boxscores", "INSERT OR IGNORE INTO games"])
def test_box_score_load_failing_mid_transaction_changes_nothing(
        loaded: duckdb.DuckDBPyConnection, tmp_path: Path, needle: str) -> None:
    path = tmp_path / "good" / "boxscores" / "player_boxscores.csv"   # re-load of the same file, new values
    write_csv(path, BOX_HEADER, [r[:12] + [99] + r[13:] for r in box_rows()])
    before = snapshot(loaded)
    proxy = FailOn(loaded, needle)
    with pytest.raises(RuntimeError, match="injected"):
        boxscores.load_player_boxscores(proxy, path)  # type: ignore[arg-type]
    assert proxy.hit
    assert snapshot(loaded) == before  # the DELETE before the failure was rolled back too


@pytest.mark.parametrize("needle", ["INSERT INTO prop_line_snapshots", "INSERT OR IGNORE INTO prop_line_alternates",
                                    "UPDATE games SET tipoff_at"])
def test_odds_load_failing_mid_transaction_changes_nothing(loaded: duckdb.DuckDBPyConnection, tmp_path: Path,
                                                           needle: str) -> None:
    path = write_csv(tmp_path / "lines" / "odds.csv", ODDS_HEADER,
                     odds_pair() + odds_pair(line=25.5) + odds_pair(player="Josh Hart", line=-1))
    lines.load_odds_api_lines(loaded, path)
    write_csv(path, ODDS_HEADER, odds_pair(line=30.5) + odds_pair(player="Jalen Brunson"))
    before = snapshot(loaded)
    with pytest.raises(RuntimeError, match="injected"):
        lines.load_odds_api_lines(FailOn(loaded, needle), path)  # type: ignore[arg-type]
    assert snapshot(loaded) == before


def test_bettingpros_load_failing_mid_transaction_changes_nothing(loaded: duckdb.DuckDBPyConnection,
                                                                  tmp_path: Path) -> None:
    path = write_csv(tmp_path / "lines" / "bettingpros" / "props_2024-03-05.csv", BP_HEADER, [bp_row(), bp_row(line="x")])
    lines.load_bettingpros(loaded, [path])
    write_csv(path, BP_HEADER, [bp_row(line=30.5)])
    before = snapshot(loaded)
    with pytest.raises(RuntimeError, match="injected"):
        lines.load_bettingpros(FailOn(loaded, "INSERT INTO prop_line_snapshots"), [path])  # type: ignore[arg-type]
    assert snapshot(loaded) == before


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """The tiny warehouse with lines and every phase built for its three dates (built once: every test
    using it asserts that it leaves it unchanged)."""
    root = tmp_path_factory.mktemp("built")
    write_good_data(root / "data")
    write_csv(root / "data" / "lines" / "odds.csv", ODDS_HEADER, odds_pair())
    c = connect(":memory:")
    report = BackfillReport()
    load_files(c, root / "data", report)
    assert report.names["matched"] == 1
    counts = run_phases(c, load_settings(db=root / "unused.duckdb"), dt.date(2024, 3, 1), dt.date(2024, 3, 5))
    assert counts["upcoming_player_game_context"] == 12 and counts["feature_store"] == 12 * len(FEATURE_VERSIONS)
    yield c
    c.close()


def test_phases_rerun_replace_and_never_duplicate(built: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    before = snapshot(built)
    run_phases(built, load_settings(db=tmp_path / "unused.duckdb"), dt.date(2024, 3, 1), dt.date(2024, 3, 5))
    run_phases(built, load_settings(db=tmp_path / "unused.duckdb"), dt.date(2024, 3, 5), dt.date(2024, 3, 5))
    assert snapshot(built) == before
    line = built.execute("""SELECT current_points_line, line_source_feed FROM upcoming_player_game_context
                            WHERE game_date = '2024-03-05' AND player_id = 1628369""").fetchall()
    assert line == [(26.5, "odds_api")]


@pytest.mark.parametrize("table", ["upcoming_player_game_context", "player_daily_cache", "feature_values"])
def test_phase_failing_mid_write_leaves_the_partition_unchanged(built: duckdb.DuckDBPyConnection, table: str) -> None:
    before = snapshot(built)
    proxy = FailOn(built, f"INSERT INTO {table} BY NAME")
    with pytest.raises(RuntimeError, match="injected"):
        replace_partition(proxy, table, dt.date(2024, 3, 1), dt.date(2024, 3, 5))  # type: ignore[arg-type]
    assert proxy.hit
    assert snapshot(built) == before   # the DELETE of the dates was rolled back: no date partly written


def test_feature_store_failing_after_first_version_leaves_it_unchanged(built: duckdb.DuckDBPyConnection) -> None:
    before = snapshot(built)

    class FailOnSecondInsert(FailOn):
        def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
            if "INSERT INTO feature_store" in sql and args and args[0][0] == "v2_33features":
                self.hit = True
                raise RuntimeError("injected failure on the second version")
            return self.con.execute(sql, *args, **kwargs)

    proxy = FailOnSecondInsert(built, "")
    with pytest.raises(RuntimeError, match="injected"):
        build_feature_store(proxy, dt.date(2024, 3, 1), dt.date(2024, 3, 5))  # type: ignore[arg-type]
    assert proxy.hit
    assert snapshot(built) == before


def test_failed_phase_is_recorded_and_partition_kept(built: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    before = snapshot(built)
    proxy = FailOn(built, "INSERT INTO team_defense BY NAME")
    with pytest.raises(RuntimeError, match="injected"):
        run_phases(proxy, load_settings(db=tmp_path / "unused.duckdb"), dt.date(2024, 3, 1),  # type: ignore[arg-type]
                   dt.date(2024, 3, 5))
    failed = built.execute("SELECT phase, error FROM phase_runs WHERE status = 'failed'").fetchall()
    assert failed == [("precompute:team_defense", "injected failure at 'INSERT INTO team_defense BY NAME'")]
    assert snapshot(built) == before
