"""The ingest contract's mechanics on tiny hand-made files (docs/data-contract.md): file identity,
what a re-load reads again, the documented ranges, and 'nothing usable' as a typed error.

The real-data table of the issue's cases is tests/integration/test_ingest_contract_shared.py.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from test_ingest_bad_input import (  # the shared formats and their tiny files
    BOX_HEADER,
    BP_HEADER,
    PLAYERS,
    PLAYERS_HEADER,
    box_rows,
    bp_row,
    count,
    write_csv,
    write_good_data,
)

from nbaprops.errors import InputError
from nbaprops.ingest.contract import LINE_RANGES, PLAYER_GAME_RANGES, TEAM_GAME_RANGES
from nbaprops.pipeline.backfill import BackfillReport, load_files
from nbaprops.warehouse import connect

DOC = Path(__file__).resolve().parents[2] / "docs" / "data-contract.md"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = connect(":memory:")
    yield c
    c.close()


def load(con: duckdb.DuckDBPyConnection, root: Path) -> BackfillReport:
    report = BackfillReport()
    load_files(con, root, report)
    return report


def test_documented_ranges_are_the_ranges_in_the_code() -> None:
    rows = re.findall(r"^\| (player|team|line) \| `([^`]+)` \| (-?[\d.]+) \| (-?[\d.]+) \| (yes|no) \|$",
                      DOC.read_text(), flags=re.M)
    documented = {(a, f): (float(lo), float(hi), w == "yes") for a, f, lo, hi, w in rows}
    code = {(a, f): (r.lo, r.hi, r.whole) for a, d in (("player", PLAYER_GAME_RANGES), ("team", TEAM_GAME_RANGES),
                                                       ("line", LINE_RANGES)) for f, r in d.items()}
    assert documented == code


def test_an_unchanged_file_is_not_read_again_and_the_report_is_the_same(con: duckdb.DuckDBPyConnection,
                                                                        tmp_path: Path) -> None:
    write_good_data(tmp_path / "data")
    write_csv(tmp_path / "data" / "lines" / "props_2024-03-05.csv", BP_HEADER, [bp_row(), bp_row(line="x")])
    first = load(con, tmp_path / "data")
    assert first.files["read"] == 5 and first.files["unchanged"] == 0
    again = load(con, tmp_path / "data")
    assert again.files["read"] == 0 and again.files["unchanged"] == 5
    for key in ("loaded", "lines", "names", "quarantined"):
        assert getattr(again, key) == getattr(first, key), key
    assert again.problems() == []                       # the quarantined row was reported when it was read
    assert count(con, "SELECT count(*) FROM raw_files") == 5


def test_relative_absolute_and_copied_paths_are_one_file(con: duckdb.DuckDBPyConnection, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    write_good_data(tmp_path / "data")
    write_csv(tmp_path / "data" / "lines" / "props_2024-03-05.csv", BP_HEADER, [bp_row(), bp_row(line="x")])
    monkeypatch.chdir(tmp_path)
    load(con, Path("data"))
    quarantine = con.execute("SELECT * EXCLUDE (quarantined_at) FROM quarantine_rows ORDER BY ALL").fetchall()
    assert len(quarantine) == 1 and quarantine[0][1] == str(tmp_path / "data" / "lines" / "props_2024-03-05.csv")
    load(con, tmp_path / "data" / ".." / "data")
    shutil.copytree(tmp_path / "data", tmp_path / "copy")
    report = load(con, tmp_path / "copy")
    assert report.files["read"] == 0 and report.lines["bettingpros"]["snapshots"] == 1
    assert con.execute("SELECT * EXCLUDE (quarantined_at) FROM quarantine_rows ORDER BY ALL").fetchall() == quarantine


def test_a_file_whose_rows_another_load_took_over_is_read_again(con: duckdb.DuckDBPyConnection,
                                                                tmp_path: Path) -> None:
    write_good_data(tmp_path / "data")
    load(con, tmp_path / "data")
    rows = box_rows()[:1]
    rows[0][BOX_HEADER.index("PTS")] = 44
    write_csv(tmp_path / "fix" / "one_row.csv", BOX_HEADER, rows)
    load(con, tmp_path / "fix")
    assert count(con, "SELECT pts FROM player_boxscores WHERE source LIKE '%one_row.csv'") == 44
    again = load(con, tmp_path / "data")               # the original box-score file is read again
    assert again.files["read"] == 1 and again.files["unchanged"] == 3
    assert count(con, "SELECT count(*) FROM player_boxscores WHERE source LIKE '%one_row.csv'") == 0


def test_rows_of_an_unknown_player_load_once_the_reference_knows_him(con: duckdb.DuckDBPyConnection,
                                                                     tmp_path: Path) -> None:
    root = tmp_path / "data"
    write_good_data(root)
    rows = box_rows()
    rows[0][BOX_HEADER.index("player_id")], rows[0][BOX_HEADER.index("player_name")] = 1630000, "New Guy"
    write_csv(root / "boxscores" / "player_boxscores.csv", BOX_HEADER, rows)
    first = load(con, root)
    assert first.loaded["player_boxscores"] == 11
    assert "unknown player_id 1630000" in first.problems()[0]
    assert load(con, root).files["read"] == 0           # nothing changed: nothing read
    write_csv(root / "reference" / "nba_players.csv", PLAYERS_HEADER, [*PLAYERS, [1630000, "Guy", "New", "New Guy",
                                                                                  "True"]])
    again = load(con, root)
    assert again.loaded["player_boxscores"] == 12 and again.quarantined == {}
    assert count(con, "SELECT count(*) FROM quarantine_rows") == 0


def test_lines_loaded_before_their_game_get_it_later(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write_good_data(tmp_path / "all")
    (tmp_path / "all" / "teams" / "team_game_logs_2023-24.csv").rename(tmp_path / "team_game_logs_2023-24.csv")
    shutil.move(str(tmp_path / "all" / "boxscores"), tmp_path / "boxscores")
    write_csv(tmp_path / "all" / "lines" / "props_2024-03-05.csv", BP_HEADER, [bp_row()])
    load(con, tmp_path / "all")
    assert con.execute("SELECT game_id, home_team FROM prop_line_snapshots").fetchall() == [(None, None)]
    (tmp_path / "games").mkdir()
    (tmp_path / "team_game_logs_2023-24.csv").rename(tmp_path / "games" / "team_game_logs_2023-24.csv")
    load(con, tmp_path / "games")
    assert con.execute("SELECT game_id, home_team, away_team FROM prop_line_snapshots").fetchall() == [
        ("0022300903", "BOS", "NYK")]


def test_two_copies_of_one_content_in_a_folder_load_once(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write_good_data(tmp_path / "data")
    shutil.copyfile(tmp_path / "data" / "boxscores" / "player_boxscores.csv", tmp_path / "data" / "copy.csv")
    report = load(con, tmp_path / "data")
    assert report.files["same_content"] == 1 and report.loaded["player_boxscores"] == 12


@pytest.mark.parametrize(("files", "says"), [
    ({}, "no CSV or parquet file"),
    ({"notes.csv": (["a", "b"], [[1, 2]])}, "skipped"),
    ({"lines/props_2024-03-05.csv": (BP_HEADER, [bp_row(market_id=999), bp_row(book="zz")])},
     "row 2, field 'market_id': unknown market_id"),
    ({"boxscores/b.csv": (BOX_HEADER, [r[:12] + ["999.5"] + r[13:] for r in box_rows()])},
     "row 2, field 'PTS': 999.5 is outside the plausible range 0..100"),
])
def test_nothing_usable_is_an_input_error_naming_file_row_and_field(
        con: duckdb.DuckDBPyConnection, tmp_path: Path, files: dict[str, tuple[list[str], list[list[object]]]],
        says: str) -> None:
    root = tmp_path / "data"
    root.mkdir()
    for name, (header, rows) in files.items():
        write_csv(root / name, header, rows)
    if "boxscores/b.csv" in files:                         # box scores need the reference to be known
        write_good_data(tmp_path / "ref")
        load(con, tmp_path / "ref" / "reference")
    with pytest.raises(InputError) as info:
        load(con, root)
    assert says in str(info.value) and str(root.resolve()) in str(info.value)

