"""Line history maths (odds.py), the SQL twins of the de-vig, cross-book sanity on real quotes from the
shared Odds API file (a swapped and a stale quote are quarantined and never the best price), the
consensus, grading at the best price, and the consensus CLV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from nbaprops.evaluate.grading import grade_predictions
from nbaprops.evaluate.metrics.clv import consensus_clv, consensus_clv_rows
from nbaprops.odds import devig_two_way, fit_line_slope, profit_units, shift_p_over
from nbaprops.predict.line_gate import CROSS_BOOK_PROB
from nbaprops.predict.market import best_prices, judge_quotes, open_lines
from nbaprops.warehouse.connection import migrate
from nbaprops.warehouse.line_history import consensus, pooled_p_over

ODDS_FILE = Path("lines/odds_api_2024-03_to_2024-05.parquet")


# ----------------------------------------------------------------------------------------- odds maths
def test_shift_p_over_moves_linearly_and_never_without_a_slope() -> None:
    assert shift_p_over(0.5, 20.5, 21.5, -0.04) == pytest.approx(0.46)
    assert shift_p_over(0.5, 20.5, 19.5, -0.04) == pytest.approx(0.54)
    assert shift_p_over(0.52, 20.5, 20.5, float("nan")) == pytest.approx(0.52)   # same line: unchanged
    assert np.isnan(shift_p_over(0.52, 20.5, 21.5, float("nan")))               # no slope: no move
    assert shift_p_over(0.98, 10.5, 0.5, -0.04) == pytest.approx(0.99)           # kept inside (0, 1)
    out = shift_p_over(np.array([0.5, 0.5]), np.array([20.5, 21.5]), 21.0, np.array([-0.04, -0.02]))
    np.testing.assert_allclose(out, [0.48, 0.51])


def test_fit_line_slope_recovers_a_known_slope_and_needs_enough_pairs() -> None:
    rng = np.random.default_rng(0)
    dl = rng.choice([-2.0, -1.0, 1.0, 2.0, 5.0], 500)        # 5.0 gaps are not neighbouring: ignored
    dp = -0.04 * dl + rng.normal(0, 0.005, 500)
    dp[dl == 5.0] = 0.9
    slope, n = fit_line_slope(dl, dp)
    assert slope == pytest.approx(-0.04, abs=0.002) and n == int((dl != 5.0).sum())
    slope, n = fit_line_slope(dl[:50], dp[:50])
    assert np.isnan(slope) and n < 50


def test_sql_devig_twin_equals_odds_devig() -> None:
    con = duckdb.connect()
    migrate(con)
    prices = [-250.0, -200.0, -115.0, -110.0, -100.0, 100.0, 105.0, 160.0, 300.0, 50.0, -99.0]
    pairs = [(o, u) for o in prices for u in prices]
    got = con.execute("SELECT devig_p_over(o, u) FROM (SELECT unnest($o) AS o, unnest($u) AS u)",
                      {"o": [p[0] for p in pairs], "u": [p[1] for p in pairs]}).fetchall()
    sql = np.array([np.nan if r[0] is None else r[0] for r in got], dtype=float)
    py = np.asarray(devig_two_way([p[0] for p in pairs], [p[1] for p in pairs]), dtype=float)
    np.testing.assert_allclose(sql, py, equal_nan=True)


# ---------------------------------------------------------------------- real quotes, swapped and stale
@pytest.fixture(scope="module")
def real_quotes(shared_data: Path) -> pd.DataFrame:
    """Every book's quote (main line: the line whose prices are nearest even) of the player-games of one
    real Odds API date, as the gate sees them."""
    path = shared_data / ODDS_FILE
    if not path.is_file():
        pytest.skip(f"needs {path}")
    df = duckdb.connect().execute("""
        WITH r AS (
            SELECT id, "bookmakers.key" AS sportsbook, outcomes_description AS player, outcomes_point AS line,
                   max(CASE WHEN outcomes_name = 'Over' THEN outcomes_price END) AS over_price,
                   max(CASE WHEN outcomes_name = 'Under' THEN outcomes_price END) AS under_price,
                   max(CAST("bookmakers.markets.last_update" AS TIMESTAMPTZ)) AS quoted_at,
                   max(CAST(commence_time AS TIMESTAMPTZ)) AS tipoff_at
            FROM read_parquet($f)
            WHERE "bookmakers.markets.key" = 'player_points' AND file_date = '2024-03-25'
            GROUP BY ALL
        )
        SELECT * FROM r WHERE over_price IS NOT NULL AND under_price IS NOT NULL
        QUALIFY row_number() OVER (PARTITION BY id, sportsbook, player
                                   ORDER BY abs(over_price - under_price), line) = 1""", {"f": str(path)}).df()
    df["player_id"] = pd.factorize(df["player"])[0].astype("int64")   # a key per real player name
    df["game_date"] = dt.date(2024, 3, 25)
    df["game_id"] = df["id"]
    df["quote_basis"] = "quoted_at"
    df["snapshot_id"] = df["id"] + "|" + df["sportsbook"] + "|" + df["player"]
    df["fair_p_over"] = devig_two_way(df["over_price"].to_numpy(float), df["under_price"].to_numpy(float))
    return df.reset_index(drop=True)


def _pick_player(quotes: pd.DataFrame) -> pd.DataFrame:
    """The player with >= 4 books at one line whose books favour one side the most (real prices)."""
    best, far = None, 0.0
    for _, at in quotes.groupby(["player_id", "line"]):
        lean = float(np.abs(at["fair_p_over"] - 0.5).min())
        same_side = (np.sign(at["fair_p_over"] - 0.5).nunique() == 1)
        if len(at) >= 4 and same_side and lean > far:
            best, far = at, lean
    if best is None or far <= CROSS_BOOK_PROB / 2:
        pytest.skip("no player with four books at one line and a clear favourite on that date")
    return quotes[quotes["player_id"] == best["player_id"].iloc[0]]


def test_honest_real_quotes_pass_the_cross_book_gate(real_quotes: pd.DataFrame) -> None:
    judged = judge_quotes(real_quotes, -0.04)
    share = judged["gate_reason"].notna().mean()
    assert len(judged) > 300 and share < 0.01, judged["gate_reason"].value_counts()


def test_swapped_and_stale_quotes_are_quarantined_and_never_the_best_price(real_quotes: pd.DataFrame) -> None:
    player = _pick_player(real_quotes)
    lines = player.groupby("line")["fair_p_over"].agg(lambda p: np.abs(p - 0.5).min() if len(p) >= 4 else 0)
    line = lines.idxmax()
    at = player[player["line"] == line].sort_values("sportsbook")
    swapped_book, stale_book = at["sportsbook"].iloc[0], at["sportsbook"].iloc[1]
    bad = real_quotes.copy()
    i = bad.index[(bad["player_id"] == at["player_id"].iloc[0]) & (bad["sportsbook"] == swapped_book)][0]
    # the feed swapped this book's over and under prices: the favourite's price shows on the other side
    bad.loc[i, ["over_price", "under_price"]] = bad.loc[i, ["under_price", "over_price"]].to_numpy()
    bad.loc[i, "fair_p_over"] = 1 - bad.loc[i, "fair_p_over"]
    assert abs(bad.loc[i, "fair_p_over"] - at["fair_p_over"].median()) > CROSS_BOOK_PROB
    j = bad.index[(bad["player_id"] == at["player_id"].iloc[0]) & (bad["sportsbook"] == stale_book)][0]
    # a stale quote: hours behind the others, with the best price of both sides on offer
    bad.loc[j, "quoted_at"] = bad.loc[j, "quoted_at"] - pd.Timedelta(hours=6)
    bad.loc[j, ["over_price", "under_price"]] = [150, 150]
    bad.loc[j, "fair_p_over"] = 0.5

    judged = judge_quotes(bad, -0.04)
    reasons = judged.set_index("snapshot_id")["gate_reason"]
    assert reasons[bad.loc[i, "snapshot_id"]] == "cross_book_prob"
    assert reasons[bad.loc[j, "snapshot_id"]] == "stale_quote"
    passed = judged[judged["gate_reason"].isna()]
    key = pd.MultiIndex.from_tuples([(dt.date(2024, 3, 25), int(at["player_id"].iloc[0]))],
                                    names=["game_date", "player_id"])
    best = best_prices(passed, pd.Series([line], index=key)).iloc[0]
    assert {best["best_over_book"], best["best_under_book"]}.isdisjoint({swapped_book, stale_book})
    assert best["best_over_book"] in set(at["sportsbook"]) and best["best_under_book"] in set(at["sportsbook"])
    # without the gate, line shopping would have "found" them: the swap gives the best price of one side
    raw = best_prices(bad, pd.Series([line], index=key)).iloc[0]
    assert {raw["best_over_book"], raw["best_under_book"]} & {swapped_book, stale_book}


def test_consensus_pools_books_moved_to_the_median_line() -> None:
    d = dt.date(2024, 3, 25)
    q = pd.DataFrame({"game_date": [d] * 3, "player_id": [7] * 3, "sportsbook": ["a", "b", "c"],
                      "line": [20.5, 20.5, 21.5], "fair_p_over": [0.50, 0.52, 0.46],
                      "quoted_at": pd.to_datetime(["2024-04-10 18:00Z"] * 3)})
    c = consensus(q, -0.04).iloc[0]
    assert c["consensus_line"] == 20.5 and c["line_spread"] == 1.0 and c["books_quoting"] == 3
    assert c["consensus_p_over"] == pytest.approx((0.50 + 0.52 + 0.50) / 3)
    # no slope: only the books at the line count
    assert consensus(q, float("nan")).iloc[0]["consensus_p_over"] == pytest.approx(0.51)
    key = pd.MultiIndex.from_tuples([(d, 7)], names=["game_date", "player_id"])
    assert pooled_p_over(q, pd.Series([21.5], index=key), -0.04).iloc[0] == pytest.approx((0.46 + 0.48 + 0.46) / 3)


def test_open_lines_keep_the_chosen_book_else_the_quote_nearest_the_median() -> None:
    judged = pd.DataFrame({"player_id": [1, 1, 2, 2, 2], "sportsbook": ["dk", "fd", "fd", "mgm", "bov"],
                           "line": [20.5, 21.5, 10.5, 11.5, 14.5], "over_price": [-110] * 5, "under_price": [-110] * 5,
                           "snapshot_id": list("abcde"), "quoted_at": pd.to_datetime(["2024-04-09 18:00Z"] * 5),
                           "quote_basis": ["quoted_at"] * 5, "gate_reason": [None] * 5})
    slate = pd.DataFrame({"player_id": [1, 2, 3], "sportsbook": ["dk", "dk", "dk"]})
    out = open_lines(slate, judged)
    assert out["line"].tolist()[:2] == [20.5, 11.5] and out["sportsbook"].tolist()[:2] == ["dk", "mgm"]
    assert np.isnan(out["line"].iloc[2])


# ------------------------------------------------------------------------------- grading and CLV
def _preds(**over: object) -> pd.DataFrame:
    row = {"game_id": "g", "game_date": "2024-04-10", "player_id": 1, "system_id": "s", "predicted_points": 25.0,
           "recommendation": "OVER", "line": 20.5, "line_valid": True, "line_source": "ACTUAL_PROP",
           "over_price": -120.0, "under_price": 100.0, "best_price": 105.0, "p_over": 0.6}
    row.update(over)
    return pd.DataFrame([row])


def test_a_bet_is_graded_at_the_best_price_and_the_posted_profit_is_kept() -> None:
    actuals = pd.DataFrame({"game_id": ["g"], "player_id": [1], "points": [30], "minutes": [34.0]})
    g = grade_predictions(_preds(), actuals).iloc[0]
    assert g["price_taken"] == 105.0 and g["profit_units"] == pytest.approx(profit_units(105.0, 1))
    assert g["price_posted"] == -120.0 and g["profit_units_posted"] == pytest.approx(profit_units(-120.0, 1))
    no_best = grade_predictions(_preds(best_price=np.nan), actuals).iloc[0]
    assert no_best["price_taken"] == -120.0 and no_best["profit_units"] == pytest.approx(no_best["profit_units_posted"])


def test_consensus_clv_measures_the_move_to_the_close_and_the_ev_at_the_close() -> None:
    t0, t1 = pd.Timestamp("2024-04-09 18:00Z"), pd.Timestamp("2024-04-10 18:00Z")
    g = pd.DataFrame({"game_date": ["2024-04-10"] * 3, "system_id": ["s"] * 3, "recommendation": ["OVER", "UNDER", "PASS"],
                      "is_bet": [True, True, False], "line": [20.5, 10.5, 15.5], "p_over": [0.6, 0.4, 0.45],
                      "best_price": [100.0, 100.0, -110.0], "over_price": [-110.0] * 3, "under_price": [-110.0] * 3,
                      "consensus_line": [20.5, 10.5, 15.5], "market_p_over": [0.50, 0.50, 0.50],
                      "consensus_at": [t0, t0, t1], "closing_consensus_line": [21.5, 11.5, 15.5],
                      "closing_p_over": [0.54, 0.54, 0.50], "closing_at": [t1, t1, t1]})
    rows = consensus_clv_rows(g)
    np.testing.assert_allclose(rows["clv_line_move"], [1.0, -1.0, 0.0])
    np.testing.assert_allclose(rows["clv_fair_prob"], [0.04, -0.04, 0.0], atol=1e-12)
    np.testing.assert_allclose(rows["clv_ev_close"], [0.54 * 2 - 1, 0.46 * 2 - 1, 0.5 * (1 + 100 / 110) - 1])
    assert rows["moved"].tolist() == [True, True, False]
    summ = consensus_clv(g, n_boot=50).set_index("scope")
    assert summ.loc["predictions", "n"] == 3 and summ.loc["predictions", "n_moved"] == 2
    assert summ.loc["bets", "mean_clv_fair_prob"] == pytest.approx(0.0, abs=1e-12)
