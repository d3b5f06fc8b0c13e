"""Metrics against their baselines on the same rows; bootstrap, calibration and leakage alarms."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nbaprops.evaluate.grading import grade_predictions
from nbaprops.evaluate.metrics import (
    BetRecord,
    betting_metrics,
    brier,
    bucket_metrics,
    clv,
    ece,
    hit_rate,
    leakage_alarms,
    log_loss,
    points_metrics,
    probability_metrics,
    reliability_table,
    roi,
    summarize,
)
from nbaprops.evaluate.metrics._frames import slate_dates
from nbaprops.evaluate.metrics.points import paired_mae_difference
from nbaprops.evaluate.report import line_verdict


def _pred(player_id: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "game_id": "g1", "game_date": "2024-03-01", "player_id": player_id, "system_id": "s1",
        "predicted_points": 20.0, "p_over": 0.55, "confidence": 0.6, "edge": 1.5, "recommendation": "OVER",
        "line": 18.5, "line_source": "ACTUAL_PROP", "line_valid": True, "over_price": -110.0,
        "under_price": -110.0, "market_p_over": 0.5,
    }
    row.update(overrides)
    return row


def _graded(preds: list[dict[str, Any]], points: dict[int, int | None], minutes: float = 30.0) -> pd.DataFrame:
    actuals = pd.DataFrame({
        "game_id": [p["game_id"] for p in preds if p["player_id"] in points],
        "player_id": [p["player_id"] for p in preds if p["player_id"] in points],
        "minutes": minutes,
    })
    actuals["points"] = pd.array([points[int(i)] for i in actuals["player_id"]], dtype="Int64")
    return grade_predictions(pd.DataFrame(preds), actuals.drop_duplicates(["game_id", "player_id"]))


def _bets(results: list[str], dates: list[str], price: float = -110.0) -> pd.DataFrame:
    """A minimal graded frame of bets with given results (bypasses grading for bootstrap tests)."""
    profit = {"WIN": 100 / abs(price) if price < 0 else price / 100, "LOSS": -1.0, "PUSH": 0.0}
    return pd.DataFrame({
        "system_id": "s1", "game_date": dates, "result": results, "recommendation": "OVER",
        "profit_units": [profit[r] for r in results], "price_taken": price, "price_assumed": False,
    })


# ---------------------------------------------------------------------------------------------- betting
def test_the_one_definition_of_hit_rate_and_roi() -> None:
    assert hit_rate(2, 1) == pytest.approx(2 / 3)
    assert math.isnan(hit_rate(0, 0))
    np.testing.assert_allclose(hit_rate(np.array([3.0, 0.0, 1.0]), np.array([1.0, 0.0, 0.0])), [0.75, np.nan, 1.0])
    assert roi(-0.5, 4) == -0.125
    assert math.isnan(roi(0.0, 0))
    np.testing.assert_allclose(roi(np.array([1.0, 2.0]), np.array([0.0, 4.0])), [np.nan, 0.5])

    # rows of a graded frame: NO_BET rows and voids are not bets; a push is a bet but not decided
    rec = BetRecord.from_results(["WIN", "WIN", "LOSS", "PUSH", "VOID", "NO_BET", "WIN"],
                                 [100 / 110, 1.5, -1.0, 0.0, 0.0, 0.0, math.nan])
    assert (rec.wins, rec.losses, rec.pushes, rec.voids, rec.bets) == (3, 1, 1, 1, 5)
    assert rec.profit_units == pytest.approx(100 / 110 + 1.5 - 1.0)  # a settled bet without profit counts 0
    assert rec.hit_rate == 0.75
    assert rec.roi == pytest.approx((100 / 110 + 0.5) / 5)
    total = rec + BetRecord(wins=0, losses=2, pushes=1, voids=2, profit_units=-2.0)
    assert (total.bets, total.voids, total.hit_rate) == (8, 3, 0.5)
    assert total.roi == pytest.approx((100 / 110 + 0.5 - 2.0) / 8)
    assert math.isnan(BetRecord(voids=4).hit_rate) and math.isnan(BetRecord(voids=4).roi)




def test_pushes_and_voids_excluded_from_hit_rate_denominator() -> None:
    preds = [_pred(1), _pred(2), _pred(3), _pred(4, line=20.0), _pred(5, recommendation="UNDER")]
    g = _graded(preds, {1: 25, 2: 30, 3: 10, 4: 20})  # 2 wins, 1 loss, 1 push, player 5 did not play
    b = betting_metrics(g, n_boot=0).iloc[0]
    assert (b["wins"], b["losses"], b["pushes"], b["voids"], b["bets"]) == (2, 1, 1, 1, 4)
    assert b["hit_rate"] == pytest.approx(2 / 3)
    assert b["profit_units"] == pytest.approx(2 * 100 / 110 - 1)
    assert b["roi"] == pytest.approx((2 * 100 / 110 - 1) / 4)
    assert b["break_even"] == pytest.approx(110 / 210)
    assert b["break_even_minus_110"] == pytest.approx(0.5238, abs=1e-4)


def test_break_even_uses_prices_taken() -> None:
    df = _bets(["WIN", "LOSS"], ["2024-01-01", "2024-01-02"], price=150.0)
    assert betting_metrics(df, n_boot=0).iloc[0]["break_even"] == pytest.approx(0.4)


def test_bootstrap_ci_contains_point_estimate() -> None:
    rng = np.random.default_rng(7)
    for n_dates in (5, 30, 200):
        dates = [str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(d))) for d in rng.integers(0, n_dates, 600)]
        results = list(rng.choice(["WIN", "LOSS", "PUSH"], size=600, p=[0.52, 0.45, 0.03]))
        b = betting_metrics(_bets(results, dates), n_boot=400, seed=1).iloc[0]
        assert b["n_dates"] == len(set(dates))
        assert b["hit_rate_ci_low"] <= b["hit_rate"] <= b["hit_rate_ci_high"]
        assert b["roi_ci_low"] <= b["roi"] <= b["roi_ci_high"]
        assert 0.0 <= b["p_roi_le_0"] <= 1.0


def test_same_bets_fewer_dates_wider_when_slates_correlated() -> None:
    """Identical outcomes, only the date labels differ: clustering into fewer slates must widen the CI."""
    outcomes = ["WIN"] * 10 + ["LOSS"] * 10  # 20 blocks of 50 identical outcomes
    results = [r for r in outcomes for _ in range(50)]
    few = _bets(results, [f"2024-01-{1 + i // 50:02d}" for i in range(1000)])          # 20 slates
    many = _bets(results, [str(pd.Timestamp("2024-01-01") + pd.Timedelta(days=i // 5)) for i in range(1000)])  # 200
    wf = betting_metrics(few, n_boot=1000, seed=3).iloc[0]
    wm = betting_metrics(many, n_boot=1000, seed=3).iloc[0]
    assert wf["hit_rate"] == wm["hit_rate"] == 0.5
    assert (wf["hit_rate_ci_high"] - wf["hit_rate_ci_low"]) > 2 * (wm["hit_rate_ci_high"] - wm["hit_rate_ci_low"])


def test_bootstrap_is_seeded_on_20k_bets() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    dates = [str(pd.Timestamp("2023-10-24") + pd.Timedelta(days=int(d))) for d in rng.integers(0, 170, n)]
    df = _bets(list(np.where(rng.random(n) < 0.53, "WIN", "LOSS")), dates)
    a = betting_metrics(df, n_boot=1000, seed=11)
    b = betting_metrics(df, n_boot=1000, seed=11)
    pd.testing.assert_frame_equal(a, b)


def test_bucket_metrics_cumulative_and_categorical() -> None:
    preds = [_pred(1, edge=1.2), _pred(2, edge=-2.5, recommendation="UNDER"), _pred(3, edge=3.5),
             _pred(4, edge=6.0), _pred(5, edge=0.4)]
    g = _graded(preds, {1: 25, 2: 10, 3: 10, 4: 30, 5: 30})
    cum = bucket_metrics(g, "edge", [1, 2, 3, 5], cumulative=True, absolute=True, n_boot=0)
    assert cum.set_index("bucket")["bets"].to_dict() == {">=1": 4, ">=2": 3, ">=3": 2, ">=5": 1}
    intervals = bucket_metrics(g, "edge", [0, 1, 2, 3, 5, 100], absolute=True, n_boot=0)
    assert intervals["bets"].sum() == 5
    side = bucket_metrics(g, "recommendation", n_boot=0).set_index("bucket")
    assert side.loc["UNDER", "wins"] == 1 and side.loc["OVER", "bets"] == 4


# ---------------------------------------------------------------------------------------------- points


def test_line_mae_is_on_exactly_the_model_rows() -> None:
    preds = [
        _pred(1, predicted_points=21.0, line=18.0),                                  # valid: model 1, line 2
        _pred(2, predicted_points=12.0, line=13.0),                                  # valid: model 2, line 3
        _pred(3, predicted_points=30.0, line=np.nan, recommendation="NO_LINE",
              line_source="NO_PROP_LINE", line_valid=False),                         # no line: model 10
        _pred(4, predicted_points=28.0, line=20.0, line_valid=False),                # placeholder: line 0!
        _pred(5, predicted_points=15.0, line=14.5),                                  # valid but DNP
        _pred(6, predicted_points=np.nan, line=22.5),                                # valid, no prediction
    ]
    g = _graded(preds, {1: 20, 2: 10, 3: 20, 4: 20, 6: 30})
    pm = points_metrics(g).iloc[0]
    assert pm["n_line"] == 2
    assert pm["mae_line"] == pytest.approx(1.5)
    assert pm["line_mae"] == pytest.approx(2.5)           # not diluted by the placeholder's 0 or row 6's 7.5
    assert pm["mae_minus_line"] == pytest.approx(-1.0)
    assert pm["n_all"] == 4                               # rows 1-4 (void and no-prediction rows excluded)
    assert pm["mae_all"] == pytest.approx((1 + 2 + 10 + 8) / 4)
    assert pm["bias_line"] == pytest.approx((1 + 2) / 2)
    assert pm["line_bias"] == pytest.approx((-2 + 3) / 2)


# ---------------------------------------------------------------------------------------------- probability


def test_brier_and_log_loss_reference_values() -> None:
    y = np.array([1, 0, 1, 1, 0])
    assert brier(y.astype(float), y) == 0.0
    assert brier(np.full(5, 0.5), y) == pytest.approx(0.25)
    assert log_loss(np.full(5, 0.5), y) == pytest.approx(math.log(2))
    assert log_loss(y.astype(float), y) == pytest.approx(0.0, abs=1e-12)


def test_probability_metrics_same_rows_for_model_and_market() -> None:
    preds = [_pred(1, p_over=1.0, market_p_over=0.6), _pred(2, p_over=0.0, market_p_over=0.4),
             _pred(3, p_over=0.9, market_p_over=np.nan),                   # no market: excluded from both
             _pred(4, line=20.0, p_over=0.9),                               # push: excluded
             _pred(5, line_valid=False, p_over=0.9)]                        # invalid line: excluded
    g = _graded(preds, {1: 25, 2: 10, 3: 10, 4: 20, 5: 30})
    pr = probability_metrics(g).iloc[0]
    assert pr["n"] == 2
    assert pr["brier_model"] == 0.0
    assert pr["brier_market"] == pytest.approx(0.16)
    assert pr["brier_const"] == pytest.approx(0.25)
    assert pr["brier_skill_vs_market"] == pytest.approx(1.0)
    assert pr["n_model_only"] == 1 and pr["brier_model_only"] == pytest.approx(0.81)


def test_ece_small_when_calibrated_large_when_not() -> None:
    rng = np.random.default_rng(42)
    p = rng.random(20_000)
    y_calibrated = (rng.random(p.size) < p).astype(int)
    y_coin = (rng.random(p.size) < 0.5).astype(int)  # the forecast is confidently wrong at both ends
    assert ece(p, y_calibrated) < 0.02
    assert ece(p, y_coin) > 0.2
    table = reliability_table(p, y_calibrated, n_bins=10)
    assert list(table.columns) == ["bin", "bin_lower", "bin_upper", "mean_predicted", "observed_rate", "count"]
    assert table["count"].sum() == p.size and len(table) == 10
    assert np.allclose(table["mean_predicted"], table["observed_rate"], atol=0.04)


# ---------------------------------------------------------------------------------------------- CLV


def test_clv_points_and_probability() -> None:
    preds = [_pred(1, recommendation="OVER", line=20.5), _pred(2, recommendation="UNDER", line=20.5),
             _pred(3, recommendation="UNDER", line=20.5, under_price=-110.0), _pred(4, recommendation="PASS")]
    g = _graded(preds, {1: 25, 2: 25, 3: 25, 4: 25})
    g["closing_line"] = [21.5, 21.5, 20.5, 25.5]
    g["closing_over_price"] = [-110.0, -110.0, 120.0, -110.0]
    g["closing_under_price"] = [-110.0, -110.0, -140.0, -110.0]
    c = clv(g).iloc[0]
    assert c["n_points"] == 3                              # PASS rows are not bets
    assert c["mean_clv_points"] == pytest.approx((1.0 - 1.0 + 0.0) / 3)
    assert c["share_positive_points"] == pytest.approx(1 / 3)
    assert c["n_prob"] == 1                                # only row 3 closed at the same line
    q_over, q_under = 100 / 220, 140 / 240
    fair_under = q_under / (q_over + q_under)
    assert c["mean_clv_prob"] == pytest.approx(fair_under - 110 / 210)
    assert c["mean_clv_ev"] == pytest.approx(fair_under * (1 + 100 / 110) - 1)


# ---------------------------------------------------------------------------------------------- alarms / summary


def _summary(mae: float, line_mae: float, r2: float, hit: float, bets: int, bucket_hit: float) -> dict[str, Any]:
    return {
        "points": [{"system_id": "s1", "n_line": 5000, "mae_line": mae, "line_mae": line_mae, "r2_line": r2,
                    "n_all": 9000, "r2_all": r2}],
        "betting": [{"system_id": "s1", "bets": bets, "hit_rate": hit}],
        "buckets": {"edge": [{"system_id": "s1", "bucket": ">=5", "wins": int(2700 * bucket_hit),
                              "losses": 2700 - int(2700 * bucket_hit), "hit_rate": bucket_hit}]},
    }


def test_leakage_alarms_fire_on_suspicious_numbers() -> None:
    alarms = leakage_alarms(_summary(mae=3.40, line_mae=4.98, r2=0.75, hit=0.716, bets=19_515, bucket_hit=0.915))
    text = "\n".join(alarms)
    assert "MAE on prop-line players is 3.40" in text
    assert "hit rate 71.6%" in text
    assert "R^2" in text
    assert "edge >=5" in text
    assert leakage_alarms(_summary(mae=5.0, line_mae=3.2, r2=0.4, hit=0.53, bets=2000, bucket_hit=0.55))  # lines


def test_leakage_alarms_quiet_on_honest_numbers() -> None:
    assert leakage_alarms(_summary(mae=5.13, line_mae=4.95, r2=0.45, hit=0.534, bets=2193, bucket_hit=0.55)) == []
    # A high hit rate on a small sample is noise, not an alarm.
    assert leakage_alarms(_summary(mae=5.1, line_mae=4.95, r2=0.45, hit=0.62, bets=300, bucket_hit=0.55)) == []


def test_summarize_is_json_serialisable_and_complete() -> None:
    preds = [_pred(i, game_date=f"2024-0{1 + i % 3}-1{i % 9}", system_id=f"s{i % 2}", game_id=f"g{i}",
                   predicted_points=15.0 + i % 7, line=14.5 + i % 5, edge=(i % 7) - (i % 5) + 0.5,
                   recommendation=["OVER", "UNDER", "PASS"][i % 3], p_over=0.3 + 0.05 * (i % 8),
                   confidence=0.5 + 0.01 * i)
             for i in range(1, 60)]
    g = _graded(preds, {i: 10 + (i * 7) % 15 for i in range(1, 58)})
    s = summarize(g, n_boot=50)
    json.dumps(s, allow_nan=False)
    assert {"points", "probability", "reliability", "betting", "buckets", "clv", "alarms", "counts"} <= set(s)
    assert set(s["buckets"]) == {"edge", "confidence_decile", "month", "side"}
    assert s["clv"] is None and isinstance(s["alarms"], list)
    assert s["break_even_minus_110"] == pytest.approx(0.5238, abs=1e-4)
    assert {r["system_id"] for r in s["betting"]} == {"s0", "s1"}
    assert s["counts"]["void"] == 2


# ---------------------------------------------------------------------------------------------- model-only vs line


def _vs_line(gap: float, *, n_dates: int = 40, per_date: int = 30, seed: int = 5) -> pd.DataFrame:
    """Graded rows whose forecast misses by exactly ``gap`` points more than the line on average.

    Each row's |forecast error| is |line error| +/- 1 (a fair coin per row), shifted so the mean
    difference is exactly ``gap``: the sign of the gap alone cannot tell a tiny from a real edge.
    """
    rng = np.random.default_rng(seed)
    n = n_dates * per_date
    actual = rng.integers(5, 35, n).astype(float)
    line_err = rng.choice([-1.0, 1.0], n) * rng.uniform(2.0, 9.0, n)
    delta = rng.choice([-1.0, 1.0], n)
    delta += gap - delta.mean()
    pred = actual + np.sign(line_err) * (np.abs(line_err) + delta)
    dates = np.repeat(pd.date_range("2024-03-01", periods=n_dates).date, per_date)
    preds = pd.DataFrame({
        "game_id": [f"g{i}" for i in range(n)], "game_date": dates, "player_id": np.arange(n), "system_id": "s1",
        "predicted_points": pred, "model_only_points": pred, "p_over": 0.5, "confidence": 0.5, "edge": pred - (actual + line_err),
        "recommendation": "PASS", "line": actual + line_err, "line_source": "ACTUAL_PROP", "line_valid": True,
        "over_price": -110.0, "under_price": -110.0, "market_p_over": 0.5,
    })
    actuals = pd.DataFrame({"game_id": preds["game_id"], "player_id": preds["player_id"], "minutes": 30.0,
                            "points": pd.array(actual.astype(int), dtype="Int64")})
    return grade_predictions(preds, actuals)


def test_paired_bootstrap_tiny_gap_is_indistinguishable_from_the_line() -> None:
    g = _vs_line(-0.006)
    res = paired_mae_difference(slate_dates(g), g["predicted_points"], g["line"], g["actual_points"], seed=3)
    assert res["diff"] == pytest.approx(-0.006, abs=1e-9)
    assert res["n_dates"] == 40 and res["n"] == 1200
    assert res["ci_low"] < 0 < res["ci_high"]              # the interval straddles zero
    says = line_verdict(res["diff"], res["ci_low"], res["ci_high"])
    assert "indistinguishable" in says and "beats" not in says and "worse" not in says
    # seeded: the same inputs give the same interval; another seed moves it
    again = paired_mae_difference(slate_dates(g), g["predicted_points"], g["line"], g["actual_points"], seed=3)
    assert again == res
    other = paired_mae_difference(slate_dates(g), g["predicted_points"], g["line"], g["actual_points"], seed=4)
    assert other["ci_low"] != res["ci_low"]


def test_paired_bootstrap_clear_gap_beats_or_loses_to_the_line() -> None:
    better = _vs_line(-0.4)
    pm = points_metrics(better, n_boot=500, seed=1).iloc[0]
    assert pm["mae_minus_line"] == pytest.approx(-0.4)
    assert pm["mae_minus_line_ci_low"] < -0.4 < pm["mae_minus_line_ci_high"] < 0
    assert line_verdict(pm["mae_minus_line"], pm["mae_minus_line_ci_low"],
                        pm["mae_minus_line_ci_high"]).startswith("beats the line by 0.400")
    worse = points_metrics(_vs_line(0.4), n_boot=500, seed=1).iloc[0]
    assert 0 < worse["mae_minus_line_ci_low"] < 0.4 < worse["mae_minus_line_ci_high"]
    assert line_verdict(worse["mae_minus_line"], worse["mae_minus_line_ci_low"],
                        worse["mae_minus_line_ci_high"]).startswith("is worse than the line by 0.400")


def test_paired_bootstrap_resamples_whole_slates() -> None:
    # the same rows on fewer, larger slates whose errors move together give a wider interval
    g = _vs_line(-0.1, n_dates=40, per_date=30)
    d = np.abs(g["predicted_points"] - g["actual_points"]) - np.abs(g["line"] - g["actual_points"])
    order = np.argsort(d.to_numpy(), kind="stable")       # correlated slates: similar rows share a date
    clustered = np.repeat(pd.date_range("2024-03-01", periods=40).date, 30)[np.argsort(order)]
    spread = paired_mae_difference(slate_dates(g), g["predicted_points"], g["line"], g["actual_points"])
    lumped = paired_mae_difference(pd.to_datetime(clustered), g["predicted_points"], g["line"], g["actual_points"])
    assert lumped["diff"] == pytest.approx(spread["diff"])
    assert lumped["ci_high"] - lumped["ci_low"] > 3 * (spread["ci_high"] - spread["ci_low"])


def test_model_only_mae_is_on_its_own_rows_next_to_the_line() -> None:
    preds = [
        _pred(1, predicted_points=21.0, model_only_points=23.0, line=18.0),          # blended 1, mo 3, line 2
        _pred(2, predicted_points=12.0, model_only_points=9.0, line=13.0),           # blended 2, mo 1, line 3
        _pred(3, predicted_points=20.0, model_only_points=np.nan, line=24.0),        # no model-only: line 4
        _pred(4, predicted_points=30.0, model_only_points=25.0, line=np.nan, recommendation="NO_LINE",
              line_source="NO_PROP_LINE", line_valid=False),                         # no line: mo 5
    ]
    g = _graded(preds, {1: 20, 2: 10, 3: 20, 4: 20})
    pm = points_metrics(g, n_boot=0).iloc[0]
    assert pm["n_line"] == 3 and pm["mae_line"] == pytest.approx(1.0) and pm["line_mae"] == pytest.approx(3.0)
    assert pm["n_line_model_only"] == 2
    assert pm["mae_line_model_only"] == pytest.approx(2.0)
    assert pm["line_mae_model_only"] == pytest.approx(2.5)   # the line on exactly the model-only rows
    assert pm["mae_model_only_minus_line"] == pytest.approx(-0.5)
    assert math.isnan(pm["mae_model_only_minus_line_ci_low"])  # n_boot=0: no interval
    assert pm["n_all_model_only"] == 3 and pm["mae_all_model_only"] == pytest.approx(3.0)
    # without the column (older predictions) the model-only figures are NaN, the rest unchanged
    old = points_metrics(g.drop(columns="model_only_points"), n_boot=0).iloc[0]
    assert math.isnan(old["mae_line_model_only"]) and old["n_line_model_only"] == 0
    assert old["mae_line"] == pm["mae_line"]
