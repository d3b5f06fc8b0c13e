"""The ingest contract on real data (docs/data-contract.md; issue "Nothing lost, nothing leaked,
nothing blocked"): every case a hostile tester reproduced, as one table.

A base warehouse is loaded once from a slice of ../shared/data copied to tmp (reference tables, the
2023-24 team files, the 527 official game logs, the box scores of 2024-03-01..2024-04-14 and two
BettingPros days) and built for 2024-04-10. Each case copies it, writes its input files (copies of
shared files, some edited) to tmp, runs the real CLI in a child process (``nbaprops --db COPY ...``:
exit code and the printed message are what a user sees) and checks the warehouse against the base.
Nothing is written under ../shared.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from nbaprops.warehouse import connect

pytestmark = pytest.mark.integration

D = "2024-04-10"
CLI_MAIN = "import sys; from nbaprops.cli import main; sys.argv[0] = 'nbaprops'; main()"
OFFICIAL = "boxscores/nba_api_playergamelog_2023-24"
BOX = "boxscores/player_boxscores_2020-21_to_2025-26.parquet"
TEAM_LOGS = "teams/team_game_logs_2023-24.csv"
BP_DAY = "lines/bettingpros/2024-11/props_2024-11-01.csv"
BP_NEXT = "lines/bettingpros/2024-11/props_2024-11-02.csv"


@dataclass
class Base:
    db: Path
    data: Path
    report: dict[str, Any]


@dataclass
class Run:
    code: int
    out: str
    report: dict[str, Any] | None


def nbaprops(db: Path, *args: str, cwd: Path | None = None) -> Run:
    """The CLI in a child process (it imports the same nbaprops: PYTHONPATH is inherited)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBAPROPS_")}
    proc = subprocess.run([sys.executable, "-c", CLI_MAIN, "--db", str(db), *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)
    report = None
    if "--json" in args and proc.returncode == 0:
        report = json.loads(proc.stdout)
    return Run(proc.returncode, proc.stdout + proc.stderr, report)


def one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> Any:
    row = con.execute(sql, params or []).fetchall()
    return row[0][0] if row and len(row[0]) == 1 else (row[0] if row else None)


# ------------------------------------------------------------------------------------------ base
@pytest.fixture(scope="module")
def base(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Base:
    root = tmp_path_factory.mktemp("contract_base")
    data = root / "data"
    for rel in ("reference/nba_players.csv", "reference/nba_teams.csv", TEAM_LOGS, "teams/box_score_advanced_2023-24.csv",
                "teams/linescores_2023-24.csv", BP_DAY, BP_NEXT):
        (data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared_data / rel, data / rel)
    shutil.copytree(shared_data / OFFICIAL, data / OFFICIAL)
    with closing(duckdb.connect()) as con:
        con.execute(f"""COPY (SELECT * FROM read_parquet('{shared_data / BOX}')
                              WHERE game_date BETWEEN '2024-03-01' AND '2024-04-14')
                        TO '{data / "boxscores" / "player_boxscores_spring_2024.parquet"}' (FORMAT parquet)""")
    db = root / "base.duckdb"
    run = nbaprops(db, "backfill", "--data", str(data), "--from", D, "--to", D, "--json")
    assert run.code == 0 and run.report, run.out[-3000:]
    with closing(connect(db)) as con:
        con.execute("CHECKPOINT")
        assert one(con, "SELECT count(*) FROM official_player_game_logs") == 26_051
        assert one(con, "SELECT count(*) FROM team_boxscores WHERE possessions IS NULL OR pts_q1 IS NULL") == 0
        assert one(con, "SELECT count(*) FROM prop_line_snapshots WHERE game_date = '2024-11-01' "
                        "AND market = 'player_points'") == 367
    return Base(db, data, run.report)


@pytest.fixture
def warehouse(base: Base, tmp_path: Path) -> Path:
    db = tmp_path / "case.duckdb"
    shutil.copyfile(base.db, db)
    return db


@pytest.fixture
def base_con(base: Base) -> Iterator[duckdb.DuckDBPyConnection]:
    with closing(duckdb.connect(str(base.db), read_only=True)) as con:
        yield con


# ------------------------------------------------------------------------------------------ file builders
def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def copy_to(shared: Path, rel: str, out: Path) -> Path:
    dst = out / Path(rel).name
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared / rel, dst)
    return dst


def edited(shared: Path, rel: str, out: Path, edit: Callable[[list[str], list[list[str]]], list[list[str]] | None]
           ) -> Path:
    header, rows = read_rows(shared / rel)
    rows = edit(header, rows) or rows
    return write_rows(out / Path(rel).name, header, rows)


def set_cells(column: str, value: str, lines: list[int]) -> Callable[[list[str], list[list[str]]], None]:
    """Set ``column`` to ``value`` on these CSV lines (the header is line 1)."""
    def edit(header: list[str], rows: list[list[str]]) -> None:
        for line in lines:
            rows[line - 2][header.index(column)] = value
    return edit


def box_rows_of_d(shared: Path, out: Path, edit: Callable[[list[str], list[list[str]]], None]) -> Path:
    """The box-score rows of D copied to a CSV (one row per player-game, sorted), then edited."""
    raw = out / "raw_box.csv"
    with closing(duckdb.connect()) as con:
        con.execute(f"""COPY (SELECT * FROM read_parquet('{shared / BOX}') WHERE game_date = '{D}'
                              ORDER BY game_id, player_id) TO '{raw}' (HEADER)""")
    header, rows = read_rows(raw)
    raw.unlink()
    edit(header, rows)
    return write_rows(out / "data" / "player_boxscores_2024-04-10.csv", header, rows)


def in_dir(make: Callable[[Path, Path], Path]) -> Callable[[Path, Path], Path]:
    """A builder whose file goes into its own folder: the folder is the ``--data``."""
    def build(shared: Path, tmp: Path) -> Path:
        return make(shared, tmp / "data").parent
    return build


def bp_extra_fields(header: list[str], rows: list[list[str]]) -> None:
    """Three extra fields on the first non-points row (market_id <> 156): CSV line 2 + index."""
    i = next(i for i, r in enumerate(rows) if r[header.index("market_id")] != "156")
    rows[i] = [*rows[i], "x", "y", "z"]


def first_non_points_line(shared: Path) -> int:
    header, rows = read_rows(shared / BP_DAY)
    return 2 + next(i for i, r in enumerate(rows) if r[header.index("market_id")] != "156")


def random_bytes_in_line(path: Path, line: int) -> Path:
    raw = path.read_bytes().split(b"\n")
    raw[line - 1] = raw[line - 1][:40] + bytes([0xFF, 0xFE, 0x00, 0x81, 0xC3]) + raw[line - 1][40:]
    path.write_bytes(b"\n".join(raw))
    return path


# ------------------------------------------------------------------------------------------ checks
def quarantined(con: duckdb.DuckDBPyConnection, like: str, only: str | None = None) -> list[tuple[Any, ...]]:
    return con.execute("""SELECT file_row, field, reason FROM quarantine_rows WHERE file LIKE ?
                          AND (? IS NULL OR field = ?) ORDER BY file_row""", [f"%{like}", only, only]).fetchall()


def same(con: duckdb.DuckDBPyConnection, base_con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert con.execute(sql).fetchall() == base_con.execute(sql).fetchall(), sql


ROWS_AND_NULLS = """SELECT count(*), count(possessions), count(minutes), count(pts_q1), count(pts_ot), sum(pts)
                    FROM team_boxscores"""
SUMMARY_OF_D = f"SELECT * FROM team_game_summary WHERE game_date = '{D}' ORDER BY ALL"


def check_official_untouched(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
    assert one(con, "SELECT count(*) FROM official_player_game_logs") == 26_051
    same(con, b, "SELECT * EXCLUDE (source) FROM official_player_game_logs ORDER BY game_id, player_id")


def check_official_edited(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
    assert one(con, "SELECT count(*) FROM official_player_game_logs") == 26_051
    assert one(con, "SELECT pts FROM official_player_game_logs WHERE player_id = 101108 AND game_id = '0022301198'") == 41
    same(con, b, "SELECT * EXCLUDE (pts, source) FROM official_player_game_logs ORDER BY game_id, player_id")
    assert one(con, "SELECT count(*) FROM official_player_game_logs WHERE source LIKE '%/data/101108_2023-24.csv'") == 3


def check_team_parts_kept(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
    same(con, b, ROWS_AND_NULLS)
    same(con, b, SUMMARY_OF_D)
    same(con, b, f"SELECT * EXCLUDE (built_at) FROM feature_store WHERE game_date = '{D}' ORDER BY ALL")


def check_team_logs_edited(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
    assert one(con, ROWS_AND_NULLS)[:5] == one(b, ROWS_AND_NULLS)[:5]        # no part NULLed, no row lost
    assert one(con, f"SELECT count(*) FROM team_boxscores WHERE game_date = '{D}' AND pts = 150") == 1
    assert one(con, f"""SELECT count(*) FROM team_boxscores WHERE game_date = '{D}'
                        AND (possessions IS NULL OR minutes IS NULL OR pts_q1 IS NULL)""") == 0


def bp_checks(extra_line: int) -> Callable[[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection, Run], None]:
    def check(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
        ((row, fld, why),) = quarantined(con, "/data/props_2024-11-01.csv", only="(row)")
        assert (row, fld) == (extra_line, "(row)") and "49 fields where the header has 46" in why
        same(con, b, """SELECT count(*) FROM prop_line_snapshots WHERE game_date = '2024-11-01'
                        AND market = 'player_points'""")
        assert one(con, """SELECT count(*) FROM prop_line_snapshots WHERE game_date = '2024-11-01'
                           AND market = 'player_points'""") == 367
    return check


def check_players_text_id(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
    assert quarantined(con, "/data/nba_players.csv") == [(6, "player_id", "not an id (a positive whole number): abc")]
    same(con, b, "SELECT count(*) FROM players")


def check_team_log_bytes(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
    ((row, fld, why),) = quarantined(con, "/data/team_game_logs_2023-24.csv")
    assert row == 21 and fld == "game_type" and why == "the value holds a NUL byte", (row, fld, why)
    same(con, b, ROWS_AND_NULLS)


def box_check(n: int, field_name: str, reason: str
              ) -> Callable[[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection, Run], None]:
    def check(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
        q = quarantined(con, "/data/player_boxscores_2024-04-10.csv")
        assert len(q) == n and all(f == field_name and reason in why for _, f, why in q), q
        same(con, b, "SELECT * EXCLUDE (source) FROM player_boxscores ORDER BY game_id, player_id")
        assert one(con, "SELECT max(pts), max(minutes) FROM player_boxscores") == one(
            b, "SELECT max(pts), max(minutes) FROM player_boxscores")
        same(con, b, "SELECT count(*), count(DISTINCT player_id) FROM feature_store")
        assert one(con, "SELECT count(*) FROM feature_store WHERE player_id BETWEEN 990000001 AND 990000005") == 0
        assert one(con, "SELECT count(*) FROM games WHERE year(game_date) >= 2030") == 0
    return check


def check_no_2030_games(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
    q = quarantined(con, "/data/team_game_logs_2023-24.csv")
    assert len(q) == 8 and all(f == "game_date" and "is outside season 2023-24" in why for _, f, why in q), q
    assert one(con, "SELECT count(*) FROM games WHERE year(game_date) >= 2030") == 0
    same(con, b, "SELECT count(*) FROM games")


def check_nothing_changed(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
    for t in ("games", "team_boxscores", "player_boxscores", "official_player_game_logs", "prop_line_snapshots"):
        same(con, b, f"SELECT count(*) FROM {t}")


def check_one_file(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
    assert len(quarantined(con, "/data/props_2024-11-01.csv", only="(row)")) == 1
    # the three spellings of the edited copy are one file in the quarantine (the shared original, whose rows
    # all load now that every BettingPros market id is mapped, has none)
    assert one(con, "SELECT count(DISTINCT file) FROM quarantine_rows WHERE file LIKE '%/data/props_2024-11-01.csv'") == 1
    assert one(con, "SELECT count(*) FROM raw_files WHERE file_path LIKE '%/data/props_2024-11-01.csv'") == 1


def check_copied_folder(con: duckdb.DuckDBPyConnection, b: duckdb.DuckDBPyConnection, run: Run) -> None:
    same(con, b, "SELECT count(*) FROM quarantine_rows")
    same(con, b, "SELECT source, count(*) FROM prop_line_snapshots GROUP BY 1 ORDER BY 1")
    assert run.report is not None
    assert run.report["files"]["read"] == 0 and run.report["files"]["unchanged"] > 500


# ------------------------------------------------------------------------------------------ the table
@dataclass
class Case:
    id: str
    issue: str
    make: Callable[[Path, Path], Path]               # (shared data, tmp) -> the --data argument
    runs: list[list[str]] = field(default_factory=lambda: [["backfill", "--data", "{data}", "--from", D, "--to", D]])
    exit: int = 0
    says: tuple[str, ...] = ()                        # in the output of the last run
    check: Callable[[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection, Run], None] | None = None
    cwd_tmp: bool = False
    #: every run leaves the same quarantine_rows (count and content)
    stable: bool = False


def official_first_3_rows(header: list[str], rows: list[list[str]]) -> list[list[str]]:
    rows = rows[:3]
    rows[0][header.index("PTS")] = "41"            # Game_ID 0022301198, APR 14, 2024
    return rows


def team_logs_of_d(header: list[str], rows: list[list[str]]) -> list[list[str]]:
    mine = [r for r in rows if r[header.index("game_date")] == D]
    mine[0][header.index("pts_home")] = "150"
    return mine


def eight_games_in_2030(header: list[str], rows: list[list[str]]) -> None:
    for r in rows[100:108]:
        r[header.index("game_date")] = "2030-01-" + r[header.index("game_date")][-2:]


def bp_every_market_unknown(header: list[str], rows: list[list[str]]) -> None:
    for r in rows:
        r[header.index("market_id")] = "999"


def game_in_2030(header: list[str], rows: list[list[str]]) -> None:
    for r in rows[:30]:
        r[header.index("season")], r[header.index("game_date")] = "2029-30", "2030-04-10"


def crlf(path: Path) -> Path:
    """The same rows, other bytes (CRLF line ends): a changed file that brings the same values."""
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    return path


def unknown_players(header: list[str], rows: list[list[str]]) -> None:
    for i, r in enumerate(rows[:5]):
        r[header.index("player_id")] = str(990000001 + i)


CASES = [
    Case("official-log-copy", "1: a partial load deleted what it did not bring (official logs 26,051 -> 58)",
         in_dir(lambda s, t: copy_to(s, f"{OFFICIAL}/101108_2023-24.csv", t)),
         says=("files read / unchanged / skipped",), check=check_official_untouched),
    Case("official-log-copy-daily-run", "1: the same through run --force",
         in_dir(lambda s, t: copy_to(s, f"{OFFICIAL}/101108_2023-24.csv", t)),
         runs=[["run", "--date", D, "--data", "{data}", "--force", "--only", "ingest"]], check=check_official_untouched),
    Case("official-log-edited-subset", "1: a changed subset replaces its own (player, game) rows only",
         in_dir(lambda s, t: edited(s, f"{OFFICIAL}/101108_2023-24.csv", t, official_first_3_rows)),
         check=check_official_edited),
    Case("team-logs-copy", "1: team logs alone NULLed possessions, minutes, quarter points",
         in_dir(lambda s, t: copy_to(s, TEAM_LOGS, t)), check=check_team_parts_kept),
    Case("official-log-reformatted", "1: a changed file (same rows) is read and replaces its own rows only",
         in_dir(lambda s, t: crlf(copy_to(s, f"{OFFICIAL}/101108_2023-24.csv", t))), check=check_official_untouched),
    Case("team-logs-reformatted", "1: team logs read again keep the advanced and linescore parts",
         in_dir(lambda s, t: crlf(copy_to(s, TEAM_LOGS, t))), check=check_team_parts_kept),
    Case("team-logs-edited", "1: changed team logs replace their columns only",
         in_dir(lambda s, t: edited(s, TEAM_LOGS, t, team_logs_of_d)), check=check_team_logs_edited),
    Case("bettingpros-extra-fields-with-another-day", "2: one row with 3 extra fields quarantined the whole file",
         lambda s, t: (edited(s, BP_DAY, t / "data", bp_extra_fields), copy_to(s, BP_NEXT, t / "data"))[0].parent,
         says=("props_2024-11-01.csv", "row {bp_line}", "'(row)'")),
    Case("bettingpros-extra-fields-alone", "2: the same file alone: a DuckDB BinderException traceback",
         in_dir(lambda s, t: edited(s, BP_DAY, t, bp_extra_fields)),
         says=("props_2024-11-01.csv", "row {bp_line}", "'(row)'", "49 fields")),
    Case("players-text-id", "3: text in a reference player_id: ConversionException",
         in_dir(lambda s, t: edited(s, "reference/nba_players.csv", t, set_cells("player_id", "abc", [6]))),
         says=("nba_players.csv", "row 6", "'player_id'"), check=check_players_text_id),
    Case("team-log-random-bytes", "3: random bytes inside a team-log CSV: InvalidInputException",
         in_dir(lambda s, t: random_bytes_in_line(copy_to(s, TEAM_LOGS, t), 21)),
         says=("team_game_logs_2023-24.csv", "row 21", "'game_type'"), check=check_team_log_bytes),
    Case("box-pts-999.5", "4: PTS 999.5 stored as 1000",
         lambda s, t: box_rows_of_d(s, t, set_cells("PTS", "999.5", [3])).parent,
         says=("row 3", "'PTS'", "999.5 is outside the plausible range 0..100"),
         check=box_check(1, "PTS", "999.5 is outside the plausible range 0..100")),
    Case("box-min-1e308", "4: MIN 1e308 stored",
         lambda s, t: box_rows_of_d(s, t, set_cells("MIN", "1e308", [5])).parent,
         says=("row 5", "'MIN'"), check=box_check(1, "MIN", "1e308 is outside the plausible range 0..70")),
    Case("box-unknown-player-ids", "4: five unknown player ids reached the features",
         lambda s, t: box_rows_of_d(s, t, unknown_players).parent,
         says=("'player_id'", "unknown player_id 990000001"), check=box_check(5, "player_id", "unknown player_id")),
    Case("team-logs-final-games-in-2030", "4: eight 'final' games dated 2030 created",
         in_dir(lambda s, t: edited(s, TEAM_LOGS, t, eight_games_in_2030)), check=check_no_2030_games),
    Case("box-final-games-after-tomorrow", "4: box scores of a game 'played' in 2030",
         lambda s, t: box_rows_of_d(s, t, game_in_2030).parent,
         says=("a final game dated 2030-04-10",), check=box_check(30, "game_date", "a final game dated 2030-04-10")),
    Case("data-is-a-file", "5: backfill --data FILE exited 0 having loaded nothing",
         lambda s, t: copy_to(s, f"{OFFICIAL}/101108_2023-24.csv", t), exit=1,
         says=("error: --data", "101108_2023-24.csv: not a directory"), check=check_nothing_changed),
    Case("nothing-usable", "every row of the only file is bad: a non-zero exit naming file, row and field",
         in_dir(lambda s, t: edited(s, BP_DAY, t, bp_every_market_unknown)), exit=1,
         says=("error: nothing usable was loaded", "props_2024-11-01.csv", "row 2", "'market_id'"),
         check=check_nothing_changed),
    Case("empty-folder", "no data file at all: a non-zero exit",
         lambda s, t: (t / "empty").mkdir() or t / "empty", exit=1, says=("error:", "no CSV or parquet file"),
         check=check_nothing_changed),
    Case("same-file-two-spellings", "6: one file through a relative and an absolute path was two files",
         in_dir(lambda s, t: edited(s, BP_DAY, t, bp_extra_fields)),
         runs=[["backfill", "--data", "data", "--from", D, "--to", D],
               ["backfill", "--data", "{data}", "--from", D, "--to", D],
               ["backfill", "--data", "./data/../data", "--from", D, "--to", D]],
         cwd_tmp=True, stable=True, check=check_one_file),
    Case("copied-folder-reload", "6: a reload from a copied folder doubled quarantine_rows, reported 0 snapshots",
         lambda s, t: t / "copy", runs=[["backfill", "--data", "{data}", "--from", D, "--to", D, "--json"]],
         check=check_copied_folder),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_case(case: Case, base: Base, warehouse: Path, base_con: duckdb.DuckDBPyConnection,
                        shared_data: Path, tmp_path: Path) -> None:
    if case.id == "copied-folder-reload":
        shutil.copytree(base.data, tmp_path / "copy")
    target = case.make(shared_data, tmp_path)
    fill = {"data": str(target), "bp_line": str(first_non_points_line(shared_data))}
    quarantine = []
    for args in case.runs:
        run = nbaprops(warehouse, *(a.format(**fill) for a in args), cwd=tmp_path if case.cwd_tmp else None)
        with closing(duckdb.connect(str(warehouse), read_only=True)) as con:
            quarantine.append(con.execute("""SELECT source, file, file_row, field, reason, raw FROM quarantine_rows
                                             ORDER BY ALL""").fetchall())
    if case.stable:
        assert all(q == quarantine[0] for q in quarantine), [len(q) for q in quarantine]
    assert run.code == case.exit, f"{case.issue}\n{run.out[-3000:]}"
    if case.exit:
        assert "Traceback" not in run.out, run.out[-3000:]
    for text in case.says:
        assert text.format(**fill) in run.out, f"{text.format(**fill)!r} not in:\n{run.out[-3000:]}"
    if case.id == "copied-folder-reload":
        assert run.report is not None
        for key in ("loaded", "lines", "names"):
            assert run.report[key] == base.report[key], key
    if case.check:
        with closing(duckdb.connect(str(warehouse), read_only=True)) as con:
            case.check(con, base_con, run)
