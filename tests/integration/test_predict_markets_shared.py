"""Training and predicting every market on the real data in ../shared/data (issue 12).

One warehouse copy per module: model sets for points, rebounds and PRA trained strictly before
2024-04-10 through the CLI (``train --market points,rebounds,pra``), then one ``predict --market all``.

Proves: every market with a served model set that is quoted on the day gets rows, each with its line
and book from that market's snapshots; the key (game_id, player_id, system_id, market, line) is
unique and points rows keep the points key; each market's set has its own served pointer; a
re-run of one market replaces that market's rows only; an unknown market is a clear error.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from nbaprops import cli
from nbaprops.markets import POINTS, get_market
from nbaprops.models.training import SYSTEM_IDS
from nbaprops.warehouse import connect

pytestmark = pytest.mark.integration

DAY = dt.date(2024, 4, 10)
SINCE = dt.date(2022, 10, 1)   # two seasons of training rows: enough, and quick
# assists: the line gate once dropped its bench players' real 1.5 lines as a placeholder pattern
# (the rows without a line fail the every-row-has-its-line check below)
MARKETS = ("points", "rebounds", "pra", "assists")


@dataclass
class Trained:
    db: Path
    models: Path
    manifests: list[dict[str, Any]]
    batch: dict[str, Any]
    rows: pd.DataFrame


@pytest.fixture(scope="module")
def trained(warehouse_copy: Path, nbaprops_json: Callable[[list[str]], Any]) -> Iterator[Trained]:
    db = warehouse_copy
    models = db.parent / "models"
    with pytest.MonkeyPatch.context() as mp:
        for var in ("NBAPROPS_DB", "NBAPROPS_MODEL_DIR"):
            mp.delenv(var, raising=False)
        manifests = nbaprops_json(["--db", str(db), "train", "--until", str(DAY), "--since", str(SINCE),
                                   "--market", ",".join(MARKETS), "--json"])
        batch = nbaprops_json(["--db", str(db), "predict", "--date", str(DAY), "--market", "all", "--json"])
    con = connect(db)
    try:
        rows = con.execute("SELECT * FROM player_prop_predictions WHERE game_date = ?", [DAY]).df()
    finally:
        con.close()
    yield Trained(db, models, manifests, batch, rows)
    shutil.rmtree(db.parent, ignore_errors=True)


def _con(t: Trained) -> duckdb.DuckDBPyConnection:
    return connect(t.db)


def test_one_model_set_per_market_each_served_by_its_own_pointer(trained: Trained) -> None:
    by_market = {m["market"]: m for m in trained.manifests}
    assert set(by_market) == {get_market(n).key for n in MARKETS}
    for key, manifest in by_market.items():
        assert manifest["served"] == manifest["model_set"]          # the first set of its market serves
        assert manifest["trained_until"] == str(DAY)
        assert dt.date.fromisoformat(manifest["calibration_window"][1]) < DAY
        assert list(manifest["systems"]) == list(SYSTEM_IDS)
        pointer = trained.models / ("served.json" if key == POINTS.key else f"served.{key}.json")
        assert json.loads(pointer.read_text())["current"] == manifest["model_set"]
    assert by_market["player_rebounds"]["model_set"].startswith("ms-rebounds-")
    # the rebounds set learned rebounds: its validation MAE is on the rebounds scale, not the points one
    assert by_market["player_rebounds"]["validation"]["catboost"]["mae"] < 0.6 * by_market[POINTS.key][
        "validation"]["catboost"]["mae"]


def test_predict_all_stores_every_trained_market_with_its_line_and_book(trained: Trained) -> None:
    rows = trained.rows
    assert set(rows["market"]) == {get_market(n).key for n in MARKETS}
    assert trained.batch["rows_by_market"] == rows.groupby("market").size().to_dict()
    for key, part in rows.groupby("market"):
        assert set(part["system_id"]) == set(SYSTEM_IDS), key
        if key == POINTS.key:
            continue
        # another market's slate is the players quoted in it: every row has a line and its book
        assert part["line"].notna().all() and part["sportsbook"].notna().all(), key
        assert (part["line_source"] == "ACTUAL_PROP").all()
        assert part["line_key"].str.startswith(f"{key}|").all()
    with _con(trained) as con:
        snap = con.execute("""SELECT p.market, s.market AS snap_market, CAST(p.line AS DOUBLE) AS line, s.line AS snap_line,
                                     p.sportsbook, s.sportsbook AS snap_book
                              FROM player_prop_predictions p JOIN prop_line_snapshots s ON s.snapshot_id = p.line_snapshot_id
                              WHERE p.game_date = ?""", [DAY]).df()
    assert len(snap) == rows["line_snapshot_id"].notna().sum()
    assert (snap["market"] == snap["snap_market"]).all()       # a rebounds row carries a rebounds quote
    assert (snap["line"] == snap["snap_line"]).all() and (snap["sportsbook"] == snap["snap_book"]).all()


def test_keys_are_unique_and_points_rows_keep_the_points_key(trained: Trained) -> None:
    rows = trained.rows
    assert not rows.duplicated(["game_id", "player_id", "system_id", "line_key"]).any()
    assert not rows.duplicated(["game_id", "player_id", "system_id", "market", "line"]).any()
    pts = rows[rows["market"] == POINTS.key]
    expected = [f"{x:.1f}" if pd.notna(x) else "none" for x in pts["line"].astype(float)]
    assert list(pts["line_key"]) == expected


def test_each_market_is_forecast_on_its_own_scale(trained: Trained) -> None:
    rows = trained.rows[trained.rows["system_id"] == "catboost"].copy()
    rows["line"] = rows["line"].astype(float)
    for key, part in rows[rows["line"].notna()].groupby("market"):
        gap = (part["predicted_points"] - part["line"]).abs().median()
        assert gap < 0.25 * part["line"].median(), (key, gap)   # near its own line, not the points scale
        assert part["p_over"].between(0, 1).all()


def test_a_rerun_of_one_market_replaces_that_market_only(trained: Trained, tmp_path: Path,
                                                         nbaprops_json: Callable[[list[str]], Any]) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copy(trained.db, db)
    shutil.copytree(trained.models, tmp_path / "models")
    before = trained.rows.groupby("market")["batch_id"].first().to_dict()
    batch = nbaprops_json(["--db", str(db), "predict", "--date", str(DAY), "--market", "rebounds", "--json"])
    assert batch["markets"] == ["player_rebounds"]
    con = connect(db)
    try:
        after = con.execute("""SELECT market, min(batch_id), max(batch_id), count(*) FROM player_prop_predictions
                               WHERE game_date = ? GROUP BY 1""", [DAY]).fetchall()
    finally:
        con.close()
    got = {m: (lo, hi, n) for m, lo, hi, n in after}
    assert got["player_rebounds"][0] == got["player_rebounds"][1] == batch["batch_id"]
    assert got["player_rebounds"][2] == (trained.rows["market"] == "player_rebounds").sum()
    for key in (POINTS.key, "player_points_rebounds_assists"):
        assert got[key][0] == got[key][1] == before[key]     # untouched


def test_an_unknown_market_is_a_clear_error(trained: Trained) -> None:
    res = CliRunner().invoke(cli.app, ["--db", str(trained.db), "predict", "--date", str(DAY), "--market", "corners"])
    assert res.exit_code != 0
    text = res.stdout + (res.stderr or "")
    assert "unknown market 'corners'" in text and "rebounds" in text


def test_graded_markets_are_kept_apart_in_the_performance_views(trained: Trained, tmp_path: Path,
                                                                 nbaprops_json: Callable[[list[str]], Any]) -> None:
    db = tmp_path / "g.duckdb"
    shutil.copy(trained.db, db)
    shutil.copytree(trained.models, tmp_path / "models")
    nbaprops_json(["--db", str(db), "grade", "--date", str(DAY), "--json"])
    con = connect(db)
    try:
        grades = con.execute("""SELECT market, count(*), avg(actual_points) FROM prediction_grades
                                WHERE game_date = ? GROUP BY 1""", [DAY]).fetchall()
        points_view = con.execute("SELECT system_id, bets, mae_rows, mae, line_mae FROM performance_valid_lines_only "
                                  "ORDER BY 1").fetchall()
        by_market = con.execute("SELECT market, system_id, bets, mae_rows, mae, line_mae FROM performance_by_market "
                                "ORDER BY 1, 2").fetchall()
        daily = con.execute("SELECT count(*), sum(predictions) FROM system_daily_performance").fetchone()
        daily_m = con.execute("SELECT market, sum(predictions) FROM system_daily_performance_by_market GROUP BY 1"
                              ).fetchall()
    finally:
        con.close()
    avg = {m: a for m, _, a in grades}
    assert set(avg) == {get_market(n).key for n in MARKETS}
    # each market graded on its own stat: PRA outcomes exceed points outcomes, rebounds are far below
    assert avg["player_rebounds"] < 0.5 * avg[POINTS.key] < avg["player_points_rebounds_assists"]
    # the 004 views keep their points-only meaning; the twins hold every market
    assert points_view == [r[1:] for r in by_market if r[0] == POINTS.key]
    assert {r[0] for r in by_market} <= set(avg)
    assert daily is not None and dict(daily_m)[POINTS.key] == daily[1]
    assert dict(daily_m)["player_rebounds"] == (trained.rows["market"] == "player_rebounds").sum()
