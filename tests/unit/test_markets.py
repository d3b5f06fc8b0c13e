"""The market registry (nbaprops.markets): its data, the `markets` table mirroring it, settlement."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from nbaprops.errors import InputError
from nbaprops.ingest.lines import BETTINGPROS_MARKETS, ODDS_API_MARKETS
from nbaprops.markets import (
    BOX_SCORE_COLUMNS,
    MARKETS,
    POINTS,
    Market,
    bettingpros_market,
    by_odds_api_key,
    get_market,
    settle,
)
from nbaprops.warehouse.connection import connect, market_rows, sync_markets

ISSUE_MARKETS = {  # issue 12: every market and the box-score expression that settles it
    "player_points": ("pts",), "player_rebounds": ("reb",), "player_assists": ("ast",), "player_threes": ("fg3m",),
    "player_points_rebounds_assists": ("pts", "reb", "ast"), "player_points_rebounds": ("pts", "reb"),
    "player_points_assists": ("pts", "ast"), "player_rebounds_assists": ("reb", "ast"),
    "player_blocks": ("blk",), "player_steals": ("stl",), "player_turnovers": ("tov",),
}


def test_registry_holds_every_market_of_the_issue_with_its_expression() -> None:
    assert {m.key: m.columns for m in MARKETS} == ISSUE_MARKETS
    assert get_market("pra").expression == "pts + reb + ast"
    assert POINTS.key == "player_points" and POINTS.bettingpros_ids == (156,)


def test_low_counts_are_count_like_and_skip_the_placeholder_check() -> None:
    counts = {m.name for m in MARKETS if m.count_like}
    assert counts == {"threes", "blocks", "steals", "turnovers"}
    # assists too: its bench players' real lines are one 1.5 (docs/markets.md, line gate)
    assert {m.name for m in MARKETS if not m.placeholder_check} == counts | {"assists"}


def test_bettingpros_ids_are_the_ones_checked_against_box_scores() -> None:
    # bench/market_ids.py, docs/markets.md: each id's line correlates best with this stat
    assert BETTINGPROS_MARKETS == {156: "player_points", 157: "player_rebounds", 151: "player_assists",
                                   162: "player_threes", 335: "player_points_assists", 336: "player_points_rebounds",
                                   337: "player_rebounds_assists", 338: "player_points_rebounds_assists",
                                   152: "player_blocks", 160: "player_steals"}
    assert bettingpros_market(152) is get_market("blocks")
    assert bettingpros_market(999) is None  # unknown: quarantined, never guessed
    assert ODDS_API_MARKETS["player_threes"] == "player_threes" and by_odds_api_key("player_fouls") is None


def test_get_market_by_key_or_name_and_unknown_names_the_known() -> None:
    assert get_market("Rebounds") is get_market("player_rebounds")
    with pytest.raises(InputError, match="unknown market 'dunks'.*points, rebounds"):
        get_market("dunks")


def test_a_market_must_add_box_score_columns() -> None:
    with pytest.raises(ValueError, match="box-score columns"):
        Market("player_dunks", "dunks", "Dunks", ("dunks",), ("player_dunks",), (), count_like=True,
               max_line=5, min_tolerance=2)
    with pytest.raises(ValueError, match="stored key"):
        Market("player_points", "pts2", "Points", ("pts",), ("player_pts",), (), count_like=False,
               max_line=5, min_tolerance=2)


def test_actual_adds_the_columns_and_is_nan_when_a_part_is_missing() -> None:
    pra = get_market("pra")
    assert pra.actual({"PTS": 25, "REB": 10, "AST": 7, "BLK": 3}) == 42
    assert pra.actual({"pts": 25, "reb": 10, "ast": 7}) == 42
    assert math.isnan(pra.actual({"pts": 25, "reb": None, "ast": 7}))
    assert math.isnan(pra.actual({"pts": 25, "ast": 7}))


@pytest.mark.parametrize(("actual", "line", "expected"), [
    (21, 20.5, "over"), (20, 20.5, "under"), (0, 0.5, "under"), (1, 0.5, "over"),
    (20, 20.0, "push"), (21, 20.0, "over"), (19, 20.0, "under"), (0, 0.0, "push"),
])
def test_settle(actual: float, line: float, expected: str) -> None:
    assert settle(actual, line) == expected


def test_a_half_point_line_never_pushes() -> None:
    for k in range(0, 60):
        for line in (k + 0.5, k - 0.5):
            assert settle(k, line) != "push"
        assert settle(k, float(k)) == "push"


def test_settle_refuses_a_missing_actual() -> None:
    with pytest.raises(InputError):
        settle(math.nan, 20.5)


def test_markets_table_equals_the_registry() -> None:
    con = connect(":memory:")
    stored = con.execute("SELECT market, name, expression, odds_api_keys, bettingpros_ids, count_like "
                         "FROM markets ORDER BY position").fetchall()
    assert stored == [(m.key, m.name, m.expression, ",".join(m.odds_api_keys),
                       ",".join(str(i) for i in m.bettingpros_ids), m.count_like) for m in MARKETS]
    weights = con.execute(f"SELECT market, {', '.join(c + '_weight' for c in BOX_SCORE_COLUMNS)} FROM markets").fetchall()
    for key, *w in weights:
        assert {c for c, x in zip(BOX_SCORE_COLUMNS, w, strict=True) if x} == set(get_market(key).columns)
    assert sync_markets(con) is False  # already equal: nothing written


def test_markets_table_is_resynced_when_it_drifts() -> None:
    con = connect(":memory:")
    con.execute("DELETE FROM markets WHERE market = 'player_blocks'")
    con.execute("UPDATE markets SET expression = 'pts' WHERE market = 'player_points_rebounds_assists'")
    assert sync_markets(con) is True
    assert [tuple(r) for r in con.execute("SELECT * FROM markets ORDER BY position").fetchall()] == \
        market_rows()


def test_player_stat_outcomes_settles_every_market_from_the_box_score() -> None:
    con = connect(":memory:")
    con.execute("""INSERT INTO player_boxscores (game_id, player_id, game_date, season, season_type, team_abbr,
                       opp_abbr, is_home, minutes, pts, reb, ast, fg3m, stl, blk, tov, source)
                   VALUES ('1', 7, DATE '2024-04-10', '2023-24', 'Regular Season', 'BOS', 'NYK', true, 36,
                           30, 11, 8, 4, 2, 1, 3, 'test'),
                          ('1', 8, DATE '2024-04-10', '2023-24', 'Regular Season', 'BOS', 'NYK', true, 12,
                           5, NULL, 1, 0, 0, 0, 0, 'test')""")
    got = dict(con.execute("SELECT market, actual FROM player_stat_outcomes WHERE player_id = 7").fetchall())
    row = {"pts": 30, "reb": 11, "ast": 8, "fg3m": 4, "stl": 2, "blk": 1, "tov": 3}
    assert got == {m.key: m.actual(row) for m in MARKETS}
    assert got["player_points_rebounds_assists"] == 49
    missing = dict(con.execute("SELECT market, actual FROM player_stat_outcomes WHERE player_id = 8").fetchall())
    assert missing["player_points"] == 5 and missing["player_rebounds"] is None
    assert missing["player_points_rebounds_assists"] is None  # a part missing: not settled
    assert missing["player_points_assists"] == 6


def test_a_read_only_connection_reads_the_markets_table(tmp_path: Path) -> None:
    path = f"{tmp_path}/w.duckdb"
    connect(path).close()
    ro = connect(path, read_only=True)
    assert ro.execute("SELECT count(*) FROM markets").fetchone() == (len(MARKETS),)
    ro.close()


def test_line_outcomes_settle_each_market_like_settle() -> None:
    import datetime as dt

    from nbaprops.evaluate.grade import line_outcomes

    con = connect(":memory:")
    con.execute("""INSERT INTO player_boxscores (game_id, player_id, game_date, season, season_type, team_abbr,
                       opp_abbr, is_home, minutes, pts, reb, ast, fg3m, stl, blk, tov, source)
                   VALUES ('1', 7, DATE '2024-04-10', '2023-24', 'Regular Season', 'BOS', 'NYK', true, 36,
                           30, 11, 8, 4, 1, 0, 3, 'test')""")
    quotes = [(7, "player_points_rebounds_assists", 48.5, "2024-04-10"),  # 49: over
              (7, "player_points_rebounds_assists", 49.0, "2024-04-10"),  # push on a whole line
              (7, "player_blocks", 0.5, "2024-04-10"),                    # 0: under
              (7, "player_steals", 1.0, "2024-04-10"),                    # 1: push
              (9, "player_points", 20.5, "2024-04-10"),                   # no box-score row: void
              (7, "player_points", 20.5, "2024-04-11")]                   # no final games that date: NULL
    for i, (pid, market, line, day) in enumerate(quotes):
        con.execute("""INSERT INTO prop_line_snapshots (snapshot_id, source, game_date, sportsbook, player_name,
                           player_lookup, player_id, market, line, quote_basis, loaded_at)
                       VALUES (?, 'bettingpros', ?, 'draftkings', 'x', 'x', ?, ?, ?, 'closing', now())""",
                    [f"s{i}", day, pid, market, line])
    out = line_outcomes(con, dt.date(2024, 4, 10), dt.date(2024, 4, 11)).set_index("snapshot_id")
    results = [out.loc[f"s{i}", "result"] for i in range(6)]
    assert results[:5] == ["over", "push", "under", "push", "void"] and pd.isna(results[5])
    for sid, row in out.iterrows():
        if row["result"] in ("over", "under", "push"):
            assert settle(row["actual"], row["line"]) == row["result"], sid
    only = line_outcomes(con, dt.date(2024, 4, 10), dt.date(2024, 4, 10), "player_blocks")
    assert list(only["result"]) == ["under"]
