"""`Project.lines(date, market=...)` and `nbaprops lines --market` return the quotes of any market."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nbaprops import Project, cli
from nbaprops.errors import InputError
from nbaprops.warehouse.connection import connect

DAY = "2024-11-01"
QUOTES = [("player_points", 25.5), ("player_points_rebounds_assists", 39.5), ("player_blocks", 0.5),
          ("player_blocks", 1.5)]


@pytest.fixture()
def db(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    con = connect(path)
    for i, (market, line) in enumerate(QUOTES):
        con.execute("""INSERT INTO prop_line_snapshots (snapshot_id, source, game_date, sportsbook, player_name,
                           player_lookup, player_id, player_team, market, line, over_price, under_price, quote_basis,
                           loaded_at)
                       VALUES (?, 'bettingpros', ?, ?, 'LeBron James', 'lebronjames', 2544, 'LAL', ?, ?, -110, -110,
                               'closing', now())""", [f"s{i}", DAY, f"book{i}", market, line])
    con.close()
    return path


def test_project_lines_by_key_name_or_all(db: Path) -> None:
    p = Project(db)
    try:
        assert list(p.lines(DAY)["market"]) == ["player_points"]          # the default is unchanged
        assert sorted(p.lines(DAY, market="blocks")["line"]) == [0.5, 1.5]
        assert list(p.lines(DAY, market="player_points_rebounds_assists")["line"]) == [39.5]
        assert list(p.lines(DAY, market="PRA")["line"]) == [39.5]
        assert len(p.lines(DAY, market="all")) == len(p.lines(DAY, market=None)) == len(QUOTES)
        assert p.lines(DAY, market="turnovers").empty                      # a known market without quotes
        with pytest.raises(InputError, match="unknown market"):
            p.lines(DAY, market="dunks")
    finally:
        p.close()


def test_cli_lines_market(db: Path) -> None:
    res = CliRunner().invoke(cli.app, ["--db", str(db), "lines", "--date", DAY, "--market", "blocks", "--json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [(r["market"], r["line"], r["game_date"]) for r in rows] == [("player_blocks", 0.5, DAY),
                                                                        ("player_blocks", 1.5, DAY)]
    table = CliRunner().invoke(cli.app, ["--db", str(db), "lines", "--date", DAY, "--market", "all"])
    assert table.exit_code == 0 and "4 quotes" in table.stdout
    bad = CliRunner().invoke(cli.app, ["--db", str(db), "lines", "--date", DAY, "--market", "dunks"])
    assert bad.exit_code != 0 and isinstance(bad.exception, InputError) and "unknown market" in str(bad.exception)
