"""Per-prediction grading rules: voids, pushes, prices, and the valid-line gate."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nbaprops.errors import InputError, MissingColumnsError
from nbaprops.evaluate.grading import grade_predictions


def _pred(player_id: int, **overrides: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "game_id": "20240301_BOS_NYK", "game_date": "2024-03-01", "player_id": player_id, "system_id": "s1",
        "predicted_points": 20.0, "p_over": 0.55, "confidence": 0.6, "edge": 0.5, "recommendation": "OVER",
        "line": 19.5, "line_source": "ACTUAL_PROP", "line_valid": True, "over_price": -110.0,
        "under_price": -110.0, "market_p_over": 0.5,
    }
    row.update(overrides)
    return row


def _actuals(rows: list[tuple[int, int | None, float]]) -> pd.DataFrame:
    return pd.DataFrame({
        "game_id": ["20240301_BOS_NYK"] * len(rows),
        "player_id": [r[0] for r in rows],
        "points": pd.array([r[1] for r in rows], dtype="Int64"),
        "minutes": [r[2] for r in rows],
    })


def _grade(preds: list[dict[str, Any]], actuals: pd.DataFrame) -> pd.DataFrame:
    return grade_predictions(pd.DataFrame(preds), actuals)


def test_dnp_under_is_void_not_a_win() -> None:
    """The reference system's JAN bug: a DNP (0 points) UNDER counted as a win. Here it is VOID."""
    preds = [_pred(1, recommendation="UNDER", line=15.5),   # no box score at all
             _pred(2, recommendation="UNDER", line=15.5),   # box score with 0 minutes
             _pred(3, recommendation="UNDER", line=15.5)]   # 0 points, minutes unknown
    g = _grade(preds, _actuals([(2, 0, 0.0), (3, 0, float("nan"))]))
    assert g["is_void"].tolist() == [True, True, True]
    assert g["result"].tolist() == ["VOID", "VOID", "VOID"]
    assert g["correct"].isna().all()
    assert (g["profit_units"] == 0).all()
    assert g["signed_error"].isna().all() and g["abs_error"].isna().all()
    assert g["graded_over"].isna().all()


def test_player_with_minutes_and_zero_points_is_graded() -> None:
    g = _grade([_pred(1, recommendation="UNDER", line=4.5)], _actuals([(1, 0, 12.0)]))
    assert not g.loc[0, "is_void"]
    assert g.loc[0, "result"] == "WIN"


def test_push_is_null_and_zero_profit() -> None:
    g = _grade([_pred(1, line=20.0), _pred(2, recommendation="UNDER", line=20.0)],
               _actuals([(1, 20, 30.0), (2, 20, 30.0)]))
    assert g["result"].tolist() == ["PUSH", "PUSH"]
    assert g["correct"].isna().all()
    assert (g["profit_units"] == 0).all()
    assert g["graded_over"].isna().all()  # pushes are not scored for probability either
    assert g["line_abs_error"].tolist() == [0.0, 0.0]


def test_profit_at_posted_price_of_side_taken() -> None:
    preds = [_pred(1, recommendation="OVER", over_price=-110.0, under_price=-110.0),
             _pred(2, recommendation="OVER", over_price=150.0, under_price=-180.0),
             _pred(3, recommendation="UNDER", over_price=150.0, under_price=-180.0),
             _pred(4, recommendation="OVER", over_price=-110.0)]
    g = _grade(preds, _actuals([(1, 25, 30.0), (2, 25, 30.0), (3, 10, 30.0), (4, 10, 30.0)]))
    assert g["result"].tolist() == ["WIN", "WIN", "WIN", "LOSS"]
    assert g.loc[0, "profit_units"] == pytest.approx(0.9091, abs=1e-4)
    assert g.loc[1, "profit_units"] == pytest.approx(1.5)
    assert g.loc[2, "profit_units"] == pytest.approx(100 / 180)  # the UNDER price, not the OVER price
    assert g.loc[3, "profit_units"] == -1.0
    assert g["correct"].tolist() == [True, True, True, False]
    assert g["price_taken"].tolist() == [-110.0, 150.0, -180.0, -110.0]


def test_missing_price_is_assumed_and_flagged() -> None:
    g = _grade([_pred(1, over_price=np.nan), _pred(2)], _actuals([(1, 25, 30.0), (2, 25, 30.0)]))
    assert g["price_assumed"].tolist() == [True, False]
    assert g.loc[0, "price_taken"] == -110.0


@pytest.mark.parametrize("overrides", [
    {"line_valid": False},                                    # failed the validation gate (e.g. placeholder)
    {"line_valid": False, "line": 20.0},
    {"line_source": "NO_PROP_LINE"},                          # not a book quote
    {"line": np.nan},                                         # no line at all
])
def test_invalid_line_rows_are_never_graded(overrides: dict[str, Any]) -> None:
    g = _grade([_pred(1, **overrides)], _actuals([(1, 40, 30.0)]))
    row = g.loc[0]
    assert row["result"] == "NO_BET"
    assert pd.isna(row["correct"])
    assert row["profit_units"] == 0.0
    assert pd.isna(row["graded_over"])
    assert math.isnan(row["line_abs_error"])
    assert not row["is_bet"] and not row["has_valid_line"]
    assert row["abs_error"] == 20.0  # still a point forecast: it counts in the all-rows MAE


def test_pass_and_no_line_are_no_bet_but_pass_is_probability_scored() -> None:
    preds = [_pred(1, recommendation="PASS"), _pred(2, recommendation="NO_LINE", line=np.nan,
                                                   line_source="NO_PROP_LINE", line_valid=False)]
    g = _grade(preds, _actuals([(1, 25, 30.0), (2, 25, 30.0)]))
    assert g["result"].tolist() == ["NO_BET", "NO_BET"]
    assert g["correct"].isna().all()
    assert g["graded_over"].tolist()[0] is True
    assert pd.isna(g["graded_over"].tolist()[1])


def test_errors_and_row_contract() -> None:
    preds = [_pred(2, predicted_points=18.0, line=20.5), _pred(1, predicted_points=30.0, line=24.5)]
    g = _grade(preds, _actuals([(1, 25, 33.0), (2, 22, 31.0)]))
    assert g["player_id"].tolist() == [2, 1]  # order and count preserved
    assert g["signed_error"].tolist() == [-4.0, 5.0]  # pred - actual
    assert g["abs_error"].tolist() == [4.0, 5.0]
    assert g["line_abs_error"].tolist() == [1.5, 0.5]
    assert g["actual_points"].tolist() == [22.0, 25.0]
    assert str(g["correct"].dtype) == "boolean" and str(g["graded_over"].dtype) == "boolean"


def test_bad_inputs_raise() -> None:
    with pytest.raises(MissingColumnsError):
        grade_predictions(pd.DataFrame([_pred(1)]).drop(columns="line_valid"), _actuals([(1, 3, 10.0)]))
    with pytest.raises(InputError, match="duplicate actuals"):
        _grade([_pred(1)], _actuals([(1, 3, 10.0), (1, 4, 12.0)]))
    with pytest.raises(InputError, match="recommendation"):
        _grade([_pred(1, recommendation="HOLD")], _actuals([(1, 3, 10.0)]))
    with pytest.raises(InputError, match=r"row 1, field 'over_price': price -50\.0 is not a valid American price"):
        _grade([_pred(1, over_price=-50.0)], _actuals([(1, 30, 10.0)]))
    # the price of the side taken is checked, on the row that carries it
    with pytest.raises(InputError, match=r"row 2, field 'under_price': price inf"):
        _grade([_pred(1), _pred(2, recommendation="UNDER", under_price=math.inf)],
               _actuals([(1, 30, 10.0), (2, 30, 10.0)]))


def test_bad_price_off_the_bet_is_not_checked() -> None:
    # a PASS row and the untaken side of a bet may carry any price: nothing is settled at it
    g = _grade([_pred(1, recommendation="PASS", over_price=-50.0), _pred(2, under_price=5.0)],
               _actuals([(1, 30, 10.0), (2, 30, 10.0)]))
    assert g["result"].tolist() == ["NO_BET", "WIN"]
    assert g["profit_units"].tolist() == pytest.approx([0.0, 100 / 110])
