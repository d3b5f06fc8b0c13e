"""Grading and reporting per market (issue 12): the pure pieces. The warehouse side (real lines and
box scores) is tests/integration/test_grading_markets_shared.py."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from nbaprops.api.models import market_key
from nbaprops.evaluate.grading import grade_predictions
from nbaprops.evaluate.metrics import leakage_alarms, market_by


def _pred(player_id: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "game_id": "0022300001", "game_date": "2024-03-01", "player_id": player_id, "system_id": "s1",
        "predicted_points": 6.0, "p_over": 0.55, "recommendation": "UNDER", "line": 5.5, "line_source": "ACTUAL_PROP",
        "line_valid": True, "over_price": -110.0, "under_price": -110.0}
    row.update(overrides)
    return row


def test_zero_of_another_stat_with_unknown_minutes_is_not_void_when_the_player_scored() -> None:
    """The "0 points with unknown minutes" DNP rule reads the player's points (``box_points``), not the
    market's value: a scorer's 0-rebound game is graded (an UNDER win), a 0-point one is void."""
    actuals = pd.DataFrame({"game_id": ["0022300001"] * 2, "player_id": [1, 2], "points": [0, 0],
                            "minutes": [float("nan")] * 2, "box_points": [14, 0]})
    g = grade_predictions(pd.DataFrame([_pred(1), _pred(2)]), actuals)
    assert g["is_void"].tolist() == [False, True]
    assert g["result"].tolist() == ["WIN", "VOID"]
    assert g["actual_points"].tolist() == [0.0, 0.0]
    # without box_points the rule reads the graded value, as it always did for points
    g = grade_predictions(pd.DataFrame([_pred(1)]), actuals.drop(columns="box_points").iloc[:1])
    assert g["is_void"].tolist() == [True]


def test_a_whole_number_line_pushes_and_a_half_point_line_cannot() -> None:
    actuals = pd.DataFrame({"game_id": ["0022300001"] * 2, "player_id": [1, 2], "points": [1, 1],
                            "minutes": [30.0, 30.0], "box_points": [10, 10]})
    g = grade_predictions(pd.DataFrame([_pred(1, line=1.0), _pred(2, line=0.5)]), actuals)
    assert g["result"].tolist() == ["PUSH", "LOSS"]
    assert g.loc[0, "profit_units"] == 0 and bool(g["correct"].isna().iloc[0])


def test_market_by_splits_only_when_several_markets_are_present() -> None:
    one = pd.DataFrame({"market": ["player_points"] * 2, "system_id": ["a", "b"]})
    two = pd.DataFrame({"market": ["player_points", "player_rebounds"], "system_id": ["a", "a"]})
    assert market_by(one) == ("system_id",)
    assert market_by(two) == ("market", "system_id")
    assert market_by(two, ("market", "system_id")) == ("market", "system_id")
    assert market_by(pd.DataFrame({"system_id": ["a"]})) == ("system_id",)


def test_points_mae_alarms_are_not_raised_on_another_market() -> None:
    rec = {"system_id": "s", "n_line": 500, "mae_line": 1.8, "line_mae": 1.7, "r2_line": 0.3, "n_all": 500,
           "r2_all": 0.3}
    rebounds = leakage_alarms({"points": [rec | {"market": "player_rebounds"}]})
    points = leakage_alarms({"points": [rec | {"market": "player_points"}]})
    legacy = leakage_alarms({"points": [rec]})  # a points-only summary has no market in its records
    assert rebounds == [] and len(points) == 2 and len(legacy) == 2
    assert "market=player_rebounds" in leakage_alarms(
        {"points": [rec | {"market": "player_rebounds", "r2_line": 0.9}]})[0]


def test_api_market_parameter() -> None:
    assert market_key("rebounds") == "player_rebounds" == market_key("PLAYER_REBOUNDS")
    assert market_key("all") is None and market_key("") is None
    with pytest.raises(ValueError, match="unknown market 'nope'; known: points, rebounds"):
        market_key("nope")

