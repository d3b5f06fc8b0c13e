"""The one odds module: known values, the NaN contract of the vector maths, and the boundary check."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nbaprops.errors import InputError
from nbaprops.odds import (
    BREAK_EVEN_MINUS_110,
    american_to_decimal,
    check_american,
    devig_two_way,
    implied_probability,
    is_valid_american,
    profit_units,
    win_profit,
)

#: Every kind of bad or missing price: too small (both signs), zero, NaN, infinities, None, pd.NA, text.
BAD = [50.0, -99.0, 0.0, math.nan, math.inf, -math.inf, None, pd.NA, "abc"]


# ------------------------------------------------------------------------------ known values
def test_minus_110() -> None:
    assert american_to_decimal(-110) == pytest.approx(1.9091, abs=1e-4)
    assert american_to_decimal(-110) == pytest.approx(1 + 100 / 110, abs=1e-15)
    assert implied_probability(-110) == pytest.approx(0.5238, abs=1e-4)
    assert implied_probability(-110) == pytest.approx(110 / 210, abs=1e-15)
    assert win_profit(-110) == pytest.approx(0.9091, abs=1e-4)
    assert implied_probability(-110) == BREAK_EVEN_MINUS_110


def test_plus_150_and_even_money() -> None:
    assert american_to_decimal(150) == 2.5
    assert implied_probability(150) == pytest.approx(0.4, abs=1e-15)
    assert win_profit(150) == 1.5
    assert american_to_decimal(-150) == pytest.approx(1 + 100 / 150)
    assert implied_probability(-150) == pytest.approx(0.6)
    assert win_profit(-200) == 0.5
    # +100 and -100 are the same price
    assert american_to_decimal(100) == american_to_decimal(-100) == 2.0
    assert implied_probability(100) == 0.5


def test_scalars_give_floats_and_arrays_keep_their_shape() -> None:
    assert type(american_to_decimal(-110)) is float
    assert type(devig_two_way(-110, -110)) is float
    out = american_to_decimal(np.array([[-110.0, 150.0], [200.0, -200.0]]))
    assert isinstance(out, np.ndarray) and out.shape == (2, 2)
    np.testing.assert_allclose(out, [[1 + 100 / 110, 2.5], [3.0, 1.5]])
    series = implied_probability(pd.Series([-110, 150], index=[7, 9]))
    np.testing.assert_allclose(series, [110 / 210, 0.4])


def test_devig_two_way() -> None:
    assert devig_two_way(-110, -110) == 0.5
    p = devig_two_way(-150, 130)
    assert p == pytest.approx(0.6 / (0.6 + 100 / 230), abs=1e-15)
    assert p == pytest.approx(0.579832, abs=1e-6)
    # the vig is removed: the fair over probability is below the vigged implied 0.6
    assert p < implied_probability(-150)
    arr = devig_two_way([-110.0, -150.0, 90.0], [-110.0, 130.0, -110.0])
    np.testing.assert_allclose(arr[:2], [0.5, 0.579832], atol=1e-6)
    assert np.isnan(arr[2])  # +90 is not a price


def test_profit_units_of_a_settled_stake() -> None:
    assert profit_units(-110, True) == pytest.approx(100 / 110)
    assert profit_units(150, 1.0) == 1.5
    assert profit_units(-110, False) == -1.0
    assert profit_units(-110, None) == 0.0  # push / void: stake back
    out = profit_units([-110, 150, -110, 250], [1.0, 0.0, math.nan, 1.0])
    np.testing.assert_allclose(out, [100 / 110, -1.0, 0.0, 2.5])


# ------------------------------------------------------------------------------ NaN contract
@pytest.mark.parametrize("bad", BAD, ids=repr)
def test_bad_price_is_nan_in_every_vector_function(bad: object) -> None:
    assert math.isnan(american_to_decimal([bad])[0])
    assert math.isnan(implied_probability([bad])[0])
    assert math.isnan(win_profit([bad])[0])
    assert math.isnan(devig_two_way([bad], [-110])[0])
    assert math.isnan(devig_two_way([-110], [bad])[0])
    assert math.isnan(profit_units([bad], [1.0])[0])  # a win at no price has no profit
    assert math.isnan(profit_units([bad], [0.0])[0])
    assert profit_units([bad], [math.nan])[0] == 0.0  # a push refunds whatever the price
    assert not is_valid_american([bad])[0]


def test_bad_prices_do_not_spoil_their_neighbours() -> None:
    out = american_to_decimal([-110, 50, None, 150])
    assert out[0] == pytest.approx(1 + 100 / 110) and out[3] == 2.5
    assert np.isnan(out[1]) and np.isnan(out[2])
    assert is_valid_american([-110, 50, None, 150]).tolist() == [True, False, False, True]
    assert is_valid_american(-100) is True and is_valid_american(99.9) is False


# ------------------------------------------------------------------------------ boundary check
def test_check_american_returns_valid_prices() -> None:
    assert check_american(-110, where="over_price") == -110.0
    np.testing.assert_array_equal(check_american([-110, 150], where="over_price"), [-110.0, 150.0])
    kept = check_american([-110, None], where="under_price", allow_missing=True)
    assert kept[0] == -110.0 and np.isnan(kept[1])


def test_check_american_names_file_row_and_field() -> None:
    with pytest.raises(InputError, match=r"^file odds\.csv, row 12, field 'over_price': price 50 is not a valid "
                                         r"American price.*\(2 bad values in all\)$") as info:
        check_american([-110, 50, 20], where="over_price", file="odds.csv", rows=[11, 12, 13])
    assert (info.value.file, info.value.row, info.value.field) == ("odds.csv", 12, "over_price")
    # default rows are 1-based positions
    with pytest.raises(InputError, match=r"^row 3, field 'under_price': price inf "):
        check_american([-110, 120, math.inf], where="under_price")
    # a scalar without a row names only the field; a hint says what to do
    with pytest.raises(InputError, match=r"^field 'outcomes\.price': price 1\.91 .*; request oddsFormat=american$"):
        check_american(1.91, where="outcomes.price", hint="request oddsFormat=american")


def test_check_american_missing_price() -> None:
    with pytest.raises(InputError, match=r"^row 2, field 'over_price': price None is missing$"):
        check_american([-110, None], where="over_price")
    with pytest.raises(InputError, match=r"row 1, field 'over_price': price nan is missing"):
        check_american([math.nan], where="over_price")
    # allowed missing prices do not excuse an invalid one
    with pytest.raises(InputError, match=r"row 3, field 'over_price': price -20"):
        check_american([None, -110, -20], where="over_price", allow_missing=True)
