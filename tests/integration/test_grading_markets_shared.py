"""Grading and the report per market on the real shared data (issue 12, docs/markets.md "Grading and
the report per market").

The prediction rows are built by hand from real book lines (no model is trained here): for each
player quoted on a date in a market, one row of a test system on the first book's opening quote,
OVER when the player's id is even and UNDER when odd. The lines, prices, books and box scores are
all real; only the forecast is a stand-in. The tests check that each row is settled on its own
market's stat, against the same book's closing quote in its own market, that points grades do not
move when other markets are graded beside them, that a real whole-number line pushes, and that the
metrics and the report split by market.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from nbaprops.evaluate.grade import GRADE_COLUMNS, grade_dates, load_graded
from nbaprops.evaluate.metrics import summarize
from nbaprops.evaluate.report import write_report
from nbaprops.markets import POINTS, get_market, line_key

pytestmark = pytest.mark.integration

DAY = dt.date(2024, 4, 10)          # an Odds API slate: eight markets quoted
STEALS_DAY = dt.date(2024, 10, 22)  # BettingPros steals: real whole-number 1.0 lines that pushed
SYSTEM = "hand_test"


def insert_hand_predictions(con: duckdb.DuckDBPyConnection, day: dt.date, market: str, *,
                            source: str | None = None, prefer_whole: bool = False) -> int:
    """One prediction per player quoted in ``market`` on ``day``: the first book's (by name) opening
    pre-tip quote (``prefer_whole``: a book quoting a whole-number line first), OVER for even player
    ids and UNDER for odd ones (edge +-1). Returns the rows."""
    key = get_market(market).key
    quotes = con.execute("""
        SELECT game_id, game_date, player_id, sportsbook, CAST(line AS DOUBLE) AS line, over_price, under_price,
               quoted_at, quote_basis, snapshot_id
        FROM prop_line_snapshots
        WHERE game_date = ? AND market = ? AND player_id IS NOT NULL AND game_id IS NOT NULL
          AND (? IS NULL OR source = ?)
          AND (quote_basis = 'closing' OR minutes_before_tipoff >= 0)
        QUALIFY row_number() OVER (PARTITION BY game_id, player_id
                                   ORDER BY ? AND line = floor(line) DESC, sportsbook, quoted_at ASC NULLS LAST,
                                            snapshot_id) = 1""",
                         [day, key, source, source, prefer_whole]).df()
    if quotes.empty:
        return 0
    over = (quotes["player_id"].astype("int64") % 2 == 0).to_numpy()
    line = quotes["line"].to_numpy(dtype=float)
    rows = pd.DataFrame({
        "game_id": quotes["game_id"], "game_date": quotes["game_date"], "player_id": quotes["player_id"],
        "system_id": SYSTEM, "market": key, "line": line,
        "line_key": [line_key(key, x) for x in line],
        "predicted_points": np.where(over, line + 1.0, line - 1.0),
        "p_over": np.where(over, 0.6, 0.4), "confidence": 0.6, "edge": np.where(over, 1.0, -1.0),
        "recommendation": np.where(over, "OVER", "UNDER"), "line_source": "ACTUAL_PROP",
        "sportsbook": quotes["sportsbook"], "line_quoted_at": quotes["quoted_at"],
        "line_quote_basis": quotes["quote_basis"], "line_snapshot_id": quotes["snapshot_id"],
        "over_price": quotes["over_price"], "under_price": quotes["under_price"],
        "model_version": "hand:test", "feature_version": "test", "package_version": "test",
        "is_fallback": False, "batch_id": f"hand-{day}-{key}", "created_at": pd.Timestamp("2026-01-01"),
    })
    con.register("_hand", rows)
    try:
        con.execute("INSERT INTO player_prop_predictions BY NAME SELECT * FROM _hand")
    finally:
        con.unregister("_hand")
    con.execute("""INSERT INTO prediction_batches (batch_id, game_date, status, expected_players, started_at,
                                                   finished_at)
                   VALUES (?, ?, 'complete', ?, now(), now())""", [f"hand-{day}-{key}", day, len(rows)])
    return len(rows)


def _grades(con: duckdb.DuckDBPyConnection, day: dt.date, market: str) -> pd.DataFrame:
    cols = ", ".join(c for c in GRADE_COLUMNS)
    return con.execute(f"""SELECT {cols} FROM prediction_grades WHERE game_date = ? AND market = ?
                           ORDER BY game_id, player_id, system_id, line_key""", [day, market]).df()


@pytest.fixture(scope="module")
def graded_con(warehouse_copy: Path) -> duckdb.DuckDBPyConnection:
    """The copy with hand predictions of points graded alone (kept as ``points_alone``), then with
    rebounds, PRA and steals beside them."""
    con = duckdb.connect(str(warehouse_copy))
    con.execute("DELETE FROM prediction_grades")
    con.execute("DELETE FROM player_prop_predictions")
    assert insert_hand_predictions(con, DAY, "points") > 40
    grade_dates(con, DAY, DAY)
    points_alone = _grades(con, DAY, POINTS.key)
    for market in ("rebounds", "pra"):
        assert insert_hand_predictions(con, DAY, market) > 40
    assert insert_hand_predictions(con, STEALS_DAY, "steals", source="bettingpros", prefer_whole=True) > 10
    grade_dates(con, DAY, DAY)
    grade_dates(con, STEALS_DAY, STEALS_DAY)
    con.register("_pa", points_alone)
    con.execute("CREATE TABLE _points_alone AS SELECT * FROM _pa")
    con.unregister("_pa")
    yield con
    con.close()


def test_points_grades_do_not_move_when_other_markets_are_graded(graded_con: duckdb.DuckDBPyConnection) -> None:
    before = graded_con.execute("SELECT * FROM _points_alone ORDER BY game_id, player_id, system_id, line_key").df()
    after = _grades(graded_con, DAY, POINTS.key)
    assert len(before) == len(after) > 40
    pd.testing.assert_frame_equal(before.reset_index(drop=True), after.reset_index(drop=True))
    assert set(after["line_key"]) == {f"{x:.1f}" for x in after["line"]}  # points keep their key


def test_each_market_is_settled_on_its_own_stat(graded_con: duckdb.DuckDBPyConnection) -> None:
    rows = graded_con.execute("""
        SELECT g.market, g.actual_points, g.is_void, g.result, g.line, g.recommendation,
               b.pts, b.reb, b.ast, b.minutes
        FROM prediction_grades g
        LEFT JOIN player_boxscores b ON b.game_id = g.game_id AND b.player_id = g.player_id
        WHERE g.game_date = ?""", [DAY]).df()
    assert set(rows["market"]) == {"player_points", "player_rebounds", "player_points_rebounds_assists"}
    played = rows[~rows["is_void"].astype(bool)]
    expect = {"player_points": played["pts"], "player_rebounds": played["reb"],
              "player_points_rebounds_assists": played["pts"] + played["reb"] + played["ast"]}
    for market, value in expect.items():
        mine = played["market"] == market
        assert mine.sum() > 40, market
        assert (played.loc[mine, "actual_points"] == value[mine]).all(), market
    # and against the player_stat_outcomes view (migration 011), row by row
    diff = graded_con.execute("""
        SELECT count(*) FROM prediction_grades g
        JOIN player_stat_outcomes o ON o.game_id = g.game_id AND o.player_id = g.player_id AND o.market = g.market
        WHERE g.game_date = ? AND NOT g.is_void AND g.actual_points IS DISTINCT FROM o.actual""", [DAY]).fetchone()
    assert diff == (0,)
    # a rebounds line is graded against rebounds: the settled side follows actual vs line
    reb = played[(played["market"] == "player_rebounds") & played["result"].isin(["WIN", "LOSS"])]
    won_over = (reb["recommendation"] == "OVER") & (reb["reb"] > reb["line"])
    won_under = (reb["recommendation"] == "UNDER") & (reb["reb"] < reb["line"])
    assert ((reb["result"] == "WIN") == (won_over | won_under)).all()
    # a DNP is void in every market (a line whose player has no box-score row)
    void = rows[rows["pts"].isna()]
    assert len(void) > 0 and void["is_void"].astype(bool).all() and (void["result"] == "VOID").all()


def test_a_known_pra_row_settles_to_pts_reb_ast(graded_con: duckdb.DuckDBPyConnection) -> None:
    row = graded_con.execute("""
        SELECT g.actual_points, b.pts, b.reb, b.ast FROM prediction_grades g
        JOIN player_boxscores b ON b.game_id = g.game_id AND b.player_id = g.player_id
        WHERE g.game_date = ? AND g.market = 'player_points_rebounds_assists' AND NOT g.is_void
        ORDER BY b.pts + b.reb + b.ast DESC LIMIT 1""", [DAY]).fetchone()
    assert row is not None
    actual, pts, reb, ast = row
    assert actual == pts + reb + ast and reb > 0 and ast > 0


def test_closing_line_is_the_same_books_close_in_the_same_market(graded_con: duckdb.DuckDBPyConnection) -> None:
    df = graded_con.execute("""
        WITH close AS (
            SELECT game_date, player_id, market, sportsbook,
                   arg_max(line, coalesce(quoted_at, TIMESTAMPTZ '1970-01-01')) AS expect
            FROM prop_line_snapshots
            WHERE game_date = ? AND (quote_basis = 'closing' OR minutes_before_tipoff >= 0)
            GROUP BY ALL)
        SELECT g.market, CAST(g.closing_line AS DOUBLE) AS closing_line, CAST(c.expect AS DOUBLE) AS expect,
               g.closing_consensus_line, g.line, g.closing_p_over
        FROM prediction_grades g
        JOIN player_prop_predictions p USING (game_id, player_id, system_id, line_key)
        JOIN close c ON c.game_date = g.game_date AND c.player_id = g.player_id AND c.market = g.market
                    AND c.sportsbook = p.sportsbook
        WHERE g.game_date = ?""", [DAY, DAY]).df()
    for market in ("player_rebounds", "player_points_rebounds_assists"):
        sub = df[df["market"] == market]
        assert len(sub) > 40
        assert (sub["closing_line"] == sub["expect"]).all(), market
        # the closing consensus is the market's own: rebounds consensus lines sit near rebounds lines
        cons = sub.dropna(subset=["closing_consensus_line"])
        assert len(cons) > 0.8 * len(sub), market
        assert (cons["closing_consensus_line"] - cons["line"]).abs().median() <= 1.0, market
        assert cons["closing_p_over"].between(0, 1).mean() > 0.8, market
    reb = df[df["market"] == "player_rebounds"]
    assert reb["closing_line"].max() < 25  # a points close would be far above any rebounds line


def test_a_whole_number_line_pushes_and_a_half_point_line_never_does(graded_con: duckdb.DuckDBPyConnection) -> None:
    df = _grades(graded_con, STEALS_DAY, "player_steals")
    played = df[~df["is_void"].astype(bool)]
    whole = played[played["line"] == np.floor(played["line"])]
    pushes = whole[whole["actual_points"] == whole["line"]]
    assert len(pushes) >= 1  # real BettingPros 1.0 lines whose player had exactly one steal
    assert (pushes["result"] == "PUSH").all() and pushes["correct"].isna().all()
    assert (pushes["profit_units"] == 0).all() and pushes["graded_over"].isna().all()
    every = pd.concat([_grades(graded_con, DAY, m) for m in ("player_points", "player_rebounds",
                                                            "player_points_rebounds_assists")] + [df])
    half = every[every["line"] != np.floor(every["line"])]
    assert len(half) > 150 and not (half["result"] == "PUSH").any()


def test_load_graded_filters_by_market_and_joins_its_closing_prices(graded_con: duckdb.DuckDBPyConnection) -> None:
    reb = load_graded(graded_con, DAY, DAY, markets=["rebounds"])
    assert len(reb) > 40 and set(reb["market"]) == {"player_rebounds"}
    both = load_graded(graded_con, DAY, DAY)
    assert set(both["market"]) == {"player_points", "player_rebounds", "player_points_rebounds_assists"}
    assert len(both) == graded_con.execute("SELECT count(*) FROM prediction_grades WHERE game_date = ?",
                                           [DAY]).fetchone()[0]  # type: ignore[index]
    # the closing over price of a rebounds row is its book's rebounds close, never the points one
    assert reb["closing_over_price"].notna().mean() > 0.9


def test_metrics_and_report_split_by_market(graded_con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    graded = load_graded(graded_con, DAY, DAY)
    summary = summarize(graded, n_boot=50)
    assert summary["by"] == ["market", "system_id"]
    points = {r["market"]: r for r in summary["points"]}
    assert set(points) == {"player_points", "player_rebounds", "player_points_rebounds_assists"}
    # each market's line MAE is in its own stat: rebounds lines miss by far less than points lines
    assert points["player_rebounds"]["line_mae"] < points["player_points"]["line_mae"]
    assert {r["market"] for r in summary["betting"]} == set(points)
    assert summary["counts"]["by_market"]["player_rebounds"]["predictions"] == int((graded["market"] ==
                                                                                    "player_rebounds").sum())
    # the points-scale MAE alarms are not raised on rebounds
    assert not any("player_rebounds" in a and "MAE" in a for a in summary["alarms"])
    # a points-only frame reports exactly as before: no market in the records
    only = summarize(graded[graded["market"] == "player_points"], n_boot=50)
    assert only["by"] == ["system_id"] and "market" not in only["points"][0]
    info = write_report(graded, tmp_path, title="t", period="p", command="c", n_boot=50)
    text = Path(info["report_md"]).read_text()
    assert "every table is per (market, system)" in text and "player_rebounds, hand_test" in text
    assert {h["market"] for h in info["headline"]} == set(points)
    metrics = json.loads(Path(info["metrics_json"]).read_text())
    assert {r["market"] for r in metrics["points"]} == set(points)


def test_grading_one_market_keeps_the_others(graded_con: duckdb.DuckDBPyConnection) -> None:
    before = graded_con.execute("SELECT market, count(*) FROM prediction_grades WHERE game_date = ? GROUP BY 1",
                                [DAY]).fetchall()
    graded_con.execute("DELETE FROM prediction_grades WHERE game_date = ? AND market = 'player_rebounds'", [DAY])
    n = grade_dates(graded_con, DAY, DAY, markets=["rebounds"])
    after = graded_con.execute("SELECT market, count(*) FROM prediction_grades WHERE game_date = ? GROUP BY 1",
                               [DAY]).fetchall()
    assert sorted(before) == sorted(after) and n == dict(after)["player_rebounds"]


def test_book_quotes_of_another_market_are_that_markets_quotes(graded_con: duckdb.DuckDBPyConnection) -> None:
    """line_history reads the ``line_quotes`` view for points and ``market_line_quotes`` for the others
    (the two agree on points: tests/integration/test_market_features_shared.py); a market is given by
    key, name or :class:`~nbaprops.markets.Market`."""
    from nbaprops.warehouse.line_history import book_quotes

    reb = book_quotes(graded_con, DAY, market="rebounds")
    assert len(reb) > 100 and reb["line"].max() < 25
    assert book_quotes(graded_con, DAY).equals(book_quotes(graded_con, DAY, market="player_points"))


def test_predictions_endpoint_and_exports_filter_by_market(graded_con: duckdb.DuckDBPyConnection,
                                                           warehouse_copy: Path) -> None:
    from fastapi.testclient import TestClient

    from nbaprops.api import create_app
    from nbaprops.config import Settings

    expected = dict(graded_con.execute("""SELECT market, count(*) FROM player_prop_predictions
                                          WHERE game_date = ? GROUP BY 1""", [DAY]).fetchall())
    graded_con.execute("CHECKPOINT")
    settings = Settings(db=warehouse_copy, model_dir=warehouse_copy.parent / "models")
    with TestClient(create_app(settings)) as client:
        every = client.get("/predictions", params={"date": str(DAY), "limit": 1000}).json()
        assert every["total"] == sum(expected.values())
        assert {i["market"] for i in every["items"]} == set(expected)
        for value in ("rebounds", "player_rebounds", "REBOUNDS"):
            r = client.get("/predictions", params={"date": str(DAY), "market": value, "limit": 1000})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["market"] == "player_rebounds" and body["total"] == expected["player_rebounds"]
            assert {i["market"] for i in body["items"]} == {"player_rebounds"}
            assert all(i["line_key"].startswith("player_rebounds|") for i in body["items"])
        pra = client.get("/predictions", params={"date": str(DAY), "market": "pra", "limit": 1000}).json()
        assert pra["total"] == expected["player_points_rebounds_assists"]
        r = client.get("/predictions", params={"date": str(DAY), "market": "nope"})
        assert r.status_code == 422
        assert "unknown market 'nope'; known: points, rebounds" in r.json()["detail"]
        doc = client.get(f"/exports/{DAY}/predictions.json", params={"market": "rebounds"}).json()
        assert doc["row_count"] == expected["player_rebounds"]
        assert {row["market"] for row in doc["rows"]} == {"player_rebounds"}
        assert client.get(f"/exports/{DAY}/predictions.json", params={"market": "nope"}).status_code == 422
        page = client.get("/slate", params={"date": str(DAY), "system": "all", "market": "pra"})
        assert page.status_code == 200
        assert page.text.count('data-market="player_points_rebounds_assists"') == expected[
            "player_points_rebounds_assists"]
