"""Line history views and the market over the backfilled shared data (docs/market.md)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from nbaprops.predict.market import closing_market, slate_market
from nbaprops.warehouse.line_history import book_quotes, line_slopes

pytestmark = pytest.mark.integration


def test_views_hold_every_pre_tip_quote_in_snapshots(
        warehouse_copy: Path, db_connect: Callable[[Path], duckdb.DuckDBPyConnection]) -> None:
    con = db_connect(warehouse_copy)
    after = con.execute("SELECT count(*) FROM line_quotes WHERE quoted_at >= tipoff_at").fetchone()
    assert after is not None and after[0] == 0
    n_pre = con.execute("""SELECT count(*) FROM prop_line_snapshots WHERE market = 'player_points'
                           AND player_id IS NOT NULL AND line > 0
                           AND (quote_basis = 'closing' OR quoted_at < tipoff_at)""").fetchone()
    n_view = con.execute("SELECT count(*) FROM line_quotes").fetchone()
    assert n_pre is not None and n_view is not None and n_view[0] == n_pre[0] > 40_000
    multi = con.execute("""SELECT count(DISTINCT game_id), count(DISTINCT (game_date, player_id))
                           FROM line_consensus WHERE snapshot_seq >= 2""").fetchone()
    assert multi == (55, 652)     # the Odds API playoff games quoted on two or more days
    oc = con.execute("""SELECT count(*) FILTER (WHERE close_at < open_at),
                               count(*) FILTER (WHERE n_snapshots >= 2 AND close_at <= open_at),
                               count(*) FILTER (WHERE close_line IS NULL) FROM line_open_close""").fetchone()
    assert oc == (0, 0, 0)
    cons = con.execute("SELECT min(line_spread), min(n_books), max(p_over_at_consensus) FROM line_consensus").fetchone()
    assert cons is not None and cons[0] == 0 and cons[1] == 1 and 0.5 < cons[2] < 1


def test_line_slope_is_walk_forward(warehouse_copy: Path,
                                    db_connect: Callable[[Path], duckdb.DuckDBPyConnection]) -> None:
    con = db_connect(warehouse_copy)
    d = dt.date(2024, 4, 20)
    before = line_slopes(con, [d])[d]
    assert -0.06 < before[0] < -0.02 and before[1] > 1000
    # quotes of the date and after must not move the slope used on the date
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM prop_line_snapshots WHERE game_date >= ?", [d])
        after = line_slopes(con, [d])[d]
        assert after[1] == before[1] and after[0] == pytest.approx(before[0], rel=1e-9)   # summation order aside
    finally:
        con.execute("ROLLBACK")


def test_market_at_open_and_close_and_the_closing_consensus(
        warehouse_copy: Path, db_connect: Callable[[Path], duckdb.DuckDBPyConnection]) -> None:
    con = db_connect(warehouse_copy)
    d = dt.date(2024, 4, 20)
    close = book_quotes(con, d)
    opened = book_quotes(con, d, first_snapshot=True)
    assert len(opened) and len(close)
    both = opened.merge(close, on=["player_id", "sportsbook"], suffixes=("_open", "_close"))
    assert (both["quoted_at_open"] <= both["quoted_at_close"]).all()
    assert (both["quoted_at_open"] < both["quoted_at_close"]).sum() > 50    # the games quoted the day before
    players = close.groupby("player_id")["line"].median().reset_index()
    slate = pd.DataFrame({"game_date": pd.Timestamp(d), "player_id": players["player_id"], "line": players["line"]})
    market, judged = slate_market(con, d, slate)
    assert judged["gate_reason"].isna().mean() > 0.95
    assert (market["books_quoting"] >= 1).all() and market["consensus_p_over"].between(0.05, 0.95).all()
    shopped = market["best_over_price"].notna()
    assert shopped.mean() > 0.9      # the median line is quoted by some book for most players
    lines = slate.assign(game_date=d)
    closing = closing_market(con, [d], lines)
    np.testing.assert_allclose(closing["closing_consensus_line"].to_numpy(float),
                               market["consensus_line"].to_numpy(float))
    assert (pd.to_datetime(closing["closing_at"], utc=True) >= pd.to_datetime(market["consensus_at"], utc=True)).all()
