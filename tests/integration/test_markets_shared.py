"""Every market on the real shared data (issue 12): settled from real box scores, its lines ingested
from both sources with the right identity, half-point lines never pushing, unknown ids counted.

Run with ``-s`` to see the per-market figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from nbaprops.markets import MARKETS, get_market, settle

pytestmark = pytest.mark.integration

BOX = "boxscores/player_boxscores_2020-21_to_2025-26.parquet"
LUKA_73 = ("22300634", 1629029)   # Luka Doncic, 2024-01-26: 73 points, 10 rebounds, 7 assists
WAREHOUSE_GAME_ID = "0022300634"  # the warehouse keeps the official 10-digit game id


@pytest.fixture(scope="module")
def con(warehouse: Path) -> duckdb.DuckDBPyConnection:
    c = duckdb.connect(str(warehouse), read_only=True)
    yield c
    c.close()


def _raw_rows(shared_data: Path, game_id: str) -> list[dict[str, Any]]:
    raw = duckdb.connect()
    cur = raw.execute(f"SELECT * FROM read_parquet('{shared_data / BOX}') WHERE game_id = ?", [game_id])
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def test_pra_of_a_known_game_is_pts_reb_ast_of_the_raw_file(con: duckdb.DuckDBPyConnection,
                                                            shared_data: Path) -> None:
    game_id, player_id = LUKA_73
    raw = {r["player_id"]: r for r in _raw_rows(shared_data, game_id)}
    luka = raw[player_id]
    pra = con.execute("""SELECT actual FROM player_stat_outcomes
                         WHERE game_id = ? AND player_id = ? AND market = 'player_points_rebounds_assists'""",
                      [WAREHOUSE_GAME_ID, player_id]).fetchone()
    assert pra is not None and pra[0] == luka["PTS"] + luka["REB"] + luka["AST"] == 90
    # every market of every player of the game: the view equals the registry's expression on the raw row
    stored = con.execute("SELECT player_id, market, actual FROM player_stat_outcomes WHERE game_id = ?",
                         [WAREHOUSE_GAME_ID]).fetchall()
    assert len(stored) == len(raw) * len(MARKETS) > 0
    for pid, market, actual in stored:
        assert actual == get_market(market).actual(raw[pid]), (pid, market)


def test_every_quoted_market_is_identified_and_settles_like_a_real_line(con: duckdb.DuckDBPyConnection) -> None:
    """A line of the right stat is centred on the outcome: mean(actual - line) near 0, about half over,
    and the line correlates with the actual value (a wrong market id would fail all three)."""
    rows = con.execute("""
        SELECT s.source, s.market, count(*) AS n, count(o.actual) AS settled, avg(o.actual - s.line) AS bias,
               avg(CASE WHEN o.actual > s.line THEN 1.0 WHEN o.actual < s.line THEN 0.0 END) AS over_share,
               corr(o.actual, s.line) AS corr
        FROM prop_line_snapshots s
        LEFT JOIN player_stat_outcomes o ON o.player_id = s.player_id AND o.game_date = s.game_date
                                        AND o.market = s.market
        GROUP BY ALL ORDER BY 1, 3 DESC""").fetchall()
    seen = {(r[0], r[1]) for r in rows}
    quoted = {m.key for m in MARKETS} - {"player_turnovers", "player_blocks", "player_steals"}
    assert seen >= {(s, k) for s in ("odds_api", "bettingpros") for k in quoted}
    assert {("bettingpros", "player_blocks"), ("bettingpros", "player_steals")} <= seen
    for source, market, n, settled, bias, over, corr in rows:
        print(f"\n[{source}] {market}: lines {n:,} settled {settled:,} mean(actual-line) {bias:+.2f} "
              f"over {over:.1%} corr {corr:.3f}")
        assert market in {m.key for m in MARKETS}
        assert settled / n >= 0.9, (source, market)
        assert abs(bias) < 0.5, (source, market, bias)
        # blocks lines are mostly 0.5 and a player blocks nothing in most games: the over share is low
        assert (0.30 if market == "player_blocks" else 0.44) <= over <= 0.56, (source, market, over)
        assert corr >= 0.25, (source, market, corr)


def test_half_point_lines_never_push_and_whole_lines_push_on_equality(con: duckdb.DuckDBPyConnection) -> None:
    rows = con.execute("""SELECT s.line, o.actual FROM prop_line_snapshots s
                          JOIN player_stat_outcomes o ON o.player_id = s.player_id AND o.game_date = s.game_date
                                                     AND o.market = s.market
                          WHERE o.actual IS NOT NULL""").fetchall()
    outcomes = [(line, actual, settle(actual, line)) for line, actual in rows]
    half = [o for o in outcomes if o[0] % 1 == 0.5]
    whole = [o for o in outcomes if o[0] % 1 == 0]
    assert half and not any(s == "push" for _, _, s in half)
    assert whole, "the shared data has whole-number lines (BettingPros steals at 1.0)"
    assert [s == "push" for _, _, s in whole] == [line == actual for line, actual, _ in whole]
    assert any(s == "push" for _, _, s in whole)


def test_unknown_market_ids_are_counted_and_none_in_the_shared_files(con: duckdb.DuckDBPyConnection,
                                                                    backfill_report: dict[str, Any]) -> None:
    bp = backfill_report["lines"]["bettingpros"]
    assert bp["unknown_market_ids"] == 0  # every id of the shared files is mapped (docs/markets.md)
    assert con.execute("""SELECT count(*) FROM quarantine_rows
                          WHERE source = 'bettingpros' AND field = 'market_id'""").fetchone() == (0,)
    odds = next(v for k, v in backfill_report["lines"].items() if k.endswith(".parquet"))
    assert odds["unknown_markets"] == 0
