"""American odds: decimal odds, implied probability, two-way de-vig and the profit of a 1-unit stake.

This is the only odds module of nbaprops; grading, the line gate, recommendations, training and the
metrics all use it.

The contract
------------

* **Vector maths never raise on a bad price.** :func:`american_to_decimal`, :func:`implied_probability`,
  :func:`win_profit`, :func:`profit_units` and :func:`devig_two_way` take a scalar or an array-like
  (list, numpy array, pandas Series; ``None``/``pd.NA``/unparsable text count as missing) and return a
  ``float`` for a scalar or a float64 array of the same shape otherwise. A bad or missing price gives
  **NaN**: missing, NaN, +/-inf, or ``|price| < 100`` (not an American price; +100 and -100 are both
  even money).
* **Input boundaries raise.** Where a price enters the system and must be usable (an Odds API payload in
  ``ingest/sources/odds_api.py``, the price of the side taken on a bet handed to the grader),
  :func:`check_american` raises :class:`nbaprops.errors.InputError` whose message names the field (and the
  file and row when given) of the first bad price, so the bad input can be found and fixed.
* Bulk odds files are checked in SQL by ``ingest/lines.py`` with the same validity rule
  (``price IS NULL OR isnan(price) OR abs(price) < 100``); such rows go to the rejects table with the
  field named instead of failing the whole load.

Between neighbouring lines (``docs/market.md``): books quote different lines for one player, so
their fair P(over) are moved to a common line before they are pooled. :func:`shift_p_over` moves a
probability linearly by a slope in probability per point, and :func:`fit_line_slope` fits that
slope (least squares through the origin) on pairs of books quoting different lines in the same
snapshot; the callers fit it walk-forward, on earlier dates only.

Reference values: -110 is decimal 1.9091, implied 0.5238 (the break-even hit rate,
:data:`BREAK_EVEN_MINUS_110`) and wins 0.9091 per unit; +150 is decimal 2.5, implied 0.4 and wins 1.5;
de-vigging -110/-110 gives P(over) = 0.5.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import pandas as pd

from nbaprops.errors import InputError

__all__ = [
    "BREAK_EVEN_MINUS_110",
    "MAX_SLOPE_GAP",
    "MIN_ABS_AMERICAN",
    "MIN_SLOPE_PAIRS",
    "american_to_decimal",
    "check_american",
    "devig_two_way",
    "fit_line_slope",
    "implied_probability",
    "is_valid_american",
    "profit_units",
    "shift_p_over",
    "win_profit",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
#: Anything array-like the vector maths accept besides a scalar.
PriceArray = npt.NDArray[Any] | pd.Series | Sequence[float | None]

#: The smallest absolute value of a valid American price (+100 and -100 are even money).
MIN_ABS_AMERICAN = 100.0
#: Hit rate needed to break even at -110: 110 / 210 (the implied probability of -110).
BREAK_EVEN_MINUS_110 = 110.0 / 210.0


def _prices(price: object) -> FloatArray:
    """Float64 array of ``price`` (same shape) with every missing or unparsable value as NaN."""
    try:
        return np.asarray(price, dtype=np.float64)
    except (TypeError, ValueError):  # pd.NA, None inside object arrays, text
        arr = np.asarray(price, dtype=object)
        flat = pd.to_numeric(pd.Series(arr.ravel(), dtype=object), errors="coerce")
        values = flat.astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        return np.asarray(values.reshape(arr.shape), dtype=np.float64)


def _out(values: FloatArray) -> FloatArray | float:
    return float(values) if values.ndim == 0 else values


def _valid(p: FloatArray) -> BoolArray:
    with np.errstate(invalid="ignore"):
        return np.asarray(np.isfinite(p) & (np.abs(p) >= MIN_ABS_AMERICAN), dtype=bool)


@overload
def is_valid_american(price: float | None) -> bool: ...
@overload
def is_valid_american(price: PriceArray) -> BoolArray: ...
@overload
def is_valid_american(price: npt.ArrayLike) -> BoolArray | bool: ...
def is_valid_american(price: object) -> BoolArray | bool:
    """Whether each price is a usable American price (finite, ``|price| >= 100``).

    Args:
        price: American odds, scalar or array-like.

    Returns:
        ``bool`` for a scalar, a bool array otherwise (False for missing values).
    """
    ok = _valid(_prices(price))
    return bool(ok) if ok.ndim == 0 else ok


@overload
def american_to_decimal(price: float | None) -> float: ...
@overload
def american_to_decimal(price: PriceArray) -> FloatArray: ...
@overload
def american_to_decimal(price: npt.ArrayLike) -> FloatArray | float: ...
def american_to_decimal(price: object) -> FloatArray | float:
    """Decimal odds (total return per unit staked, stake included).

    -110 -> 1 + 100/110 = 1.9091; +150 -> 2.5; +100 and -100 -> 2.0.

    Args:
        price: American odds, scalar or array-like.

    Returns:
        Decimal odds, same shape; NaN for a bad or missing price.
    """
    p = _prices(price)
    ok = _valid(p)
    safe = np.where(ok, p, MIN_ABS_AMERICAN)
    dec = np.where(safe > 0, 1.0 + safe / 100.0, 1.0 + 100.0 / np.abs(safe))
    return _out(np.where(ok, dec, np.nan))


@overload
def implied_probability(price: float | None) -> float: ...
@overload
def implied_probability(price: PriceArray) -> FloatArray: ...
@overload
def implied_probability(price: npt.ArrayLike) -> FloatArray | float: ...
def implied_probability(price: object) -> FloatArray | float:
    """Implied probability of an American price, vig included: its break-even hit rate.

    -110 -> 110/210 = 0.5238; -150 -> 0.6; +150 -> 0.4.

    Args:
        price: American odds, scalar or array-like.

    Returns:
        ``1 / decimal``, same shape; NaN for a bad or missing price.
    """
    return _out(1.0 / np.asarray(american_to_decimal(_prices(price)), dtype=np.float64))


@overload
def win_profit(price: float | None) -> float: ...
@overload
def win_profit(price: PriceArray) -> FloatArray: ...
@overload
def win_profit(price: npt.ArrayLike) -> FloatArray | float: ...
def win_profit(price: object) -> FloatArray | float:
    """Profit of a *winning* 1-unit stake: ``decimal - 1``.

    -110 -> 0.9091; +150 -> 1.5; -200 -> 0.5.

    Args:
        price: American odds, scalar or array-like.

    Returns:
        Units won, same shape; NaN for a bad or missing price.
    """
    return _out(np.asarray(american_to_decimal(_prices(price)), dtype=np.float64) - 1.0)


@overload
def profit_units(price: float | None, outcome: float | bool | None) -> float: ...
@overload
def profit_units(price: PriceArray, outcome: PriceArray | Sequence[bool | None]) -> FloatArray: ...
@overload
def profit_units(price: npt.ArrayLike, outcome: npt.ArrayLike) -> FloatArray | float: ...
def profit_units(price: object, outcome: object) -> FloatArray | float:
    """Profit of a settled 1-unit stake at an American price.

    Args:
        price: American odds of the side taken.
        outcome: 1 / True (won), 0 / False (lost), NaN / None (push or void: the stake comes back).

    Returns:
        ``decimal - 1`` for a win, ``-1`` for a loss, ``0`` for a push or void (whatever the price);
        NaN for a win or loss at a bad or missing price. Same shape as the broadcast inputs.
    """
    dec = np.asarray(american_to_decimal(_prices(price)), dtype=np.float64)
    won = _prices(outcome)
    settled = np.where(won == 1.0, dec - 1.0, np.where(np.isfinite(dec), -1.0, np.nan))
    return _out(np.asarray(np.where(np.isnan(won), 0.0, settled), dtype=np.float64))


@overload
def devig_two_way(over_price: float | None, under_price: float | None) -> float: ...
@overload
def devig_two_way(over_price: PriceArray, under_price: PriceArray) -> FloatArray: ...
@overload
def devig_two_way(over_price: npt.ArrayLike, under_price: npt.ArrayLike) -> FloatArray | float: ...
def devig_two_way(over_price: object, under_price: object) -> FloatArray | float:
    """Fair P(over) of a two-way market, the vig removed proportionally (multiplicative method).

    ``p_over = q_over / (q_over + q_under)`` with ``q`` the implied probabilities; P(under) is
    ``1 - p_over``. -110/-110 -> 0.5; -150/+130 -> 0.5798.

    Args:
        over_price: American odds of the over.
        under_price: American odds of the under.

    Returns:
        Fair P(over), broadcast shape; NaN where either price is bad or missing.
    """
    q_over = np.asarray(implied_probability(_prices(over_price)), dtype=np.float64)
    q_under = np.asarray(implied_probability(_prices(under_price)), dtype=np.float64)
    return _out(q_over / (q_over + q_under))


@overload
def check_american(price: float | None, *, where: str, file: str | None = None, rows: int | None = None,
                   allow_missing: bool = False, hint: str = "") -> float: ...
@overload
def check_american(price: PriceArray, *, where: str, file: str | None = None,
                   rows: Sequence[int] | npt.NDArray[np.integer[Any]] | None = None,
                   allow_missing: bool = False, hint: str = "") -> FloatArray: ...
def check_american(price: object, *, where: str, file: str | None = None,
                   rows: int | Sequence[int] | npt.NDArray[np.integer[Any]] | None = None,
                   allow_missing: bool = False, hint: str = "") -> FloatArray | float:
    """Check prices at an input boundary: raise on the first bad one, else return them as floats.

    Args:
        price: American odds, scalar or array-like.
        where: the field the prices come from (named in the error, e.g. ``"over_price"``).
        file: the file or payload they come from, if any (named in the error).
        rows: the row number of each price (a scalar's row, or one per element); default: 1-based
            positions for an array, none for a scalar.
        allow_missing: accept missing prices (None / NaN); present ones must still be valid.
        hint: what to do about a bad price, appended to the message.

    Returns:
        The prices as ``float`` / float64 array (missing ones NaN when allowed).

    Raises:
        InputError: a price is missing (unless allowed), not a number, infinite, or ``|price| < 100``;
            ``field`` is ``where`` and ``row`` the row of the first bad price.
    """
    p = _prices(price)
    missing = np.isnan(p)
    bad = ~_valid(p) & ~(missing & allow_missing)
    if bad.any():
        flat_bad = np.flatnonzero(bad.ravel())
        first = int(flat_bad[0])
        raw = np.asarray(price, dtype=object).ravel()[first]
        default_row = None if p.ndim == 0 else first + 1
        row = default_row if rows is None else int(np.ravel(np.asarray(rows))[first])
        absent = raw is None or raw is pd.NA or (isinstance(raw, float | np.floating) and bool(np.isnan(raw)))
        what = "missing" if absent else "not a valid American price (need a finite number with |price| >= 100)"
        more = f" ({flat_bad.size} bad values in all)" if flat_bad.size > 1 else ""
        raise InputError(f"price {raw!r} is {what}{more}" + (f"; {hint}" if hint else ""),
                         file=file, row=row, field=where)
    return _out(p)


#: Fewest cross-book pairs a fitted line slope needs (fewer: the slope is NaN and no probability moves).
MIN_SLOPE_PAIRS = 200
#: Largest line gap (points) of a pair used to fit the slope: neighbouring lines only.
MAX_SLOPE_GAP = 3.0
#: Bounds of a moved probability (a linear move must not leave (0, 1)).
_P_FLOOR, _P_CEIL = 0.01, 0.99


def fit_line_slope(line_gap: npt.ArrayLike, p_gap: npt.ArrayLike, *,
                   min_pairs: int = MIN_SLOPE_PAIRS) -> tuple[float, int]:
    """Slope of fair P(over) per point of line, fitted on pairs of quotes of the same player and snapshot.

    ``slope = sum(dl * dp) / sum(dl**2)`` (least squares through the origin) over the pairs with
    ``0 < |dl| <= MAX_SLOPE_GAP`` and a finite ``dp``. Negative: a higher line is less likely to go over.

    Args:
        line_gap: line of book A minus line of book B, per pair.
        p_gap: fair P(over) of book A minus that of book B, per pair.
        min_pairs: fewest usable pairs; with fewer the slope is NaN.

    Returns:
        ``(slope, n_pairs)``.
    """
    dl = np.asarray(line_gap, dtype=np.float64).reshape(-1)
    dp = np.asarray(p_gap, dtype=np.float64).reshape(-1)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(dl) & np.isfinite(dp) & (np.abs(dl) > 0) & (np.abs(dl) <= MAX_SLOPE_GAP)
    n = int(ok.sum())
    if n < min_pairs:
        return float("nan"), n
    return float(np.sum(dl[ok] * dp[ok]) / np.sum(dl[ok] ** 2)), n


def shift_p_over(p_over: npt.ArrayLike, from_line: npt.ArrayLike, to_line: npt.ArrayLike,
                 slope: float | npt.ArrayLike) -> FloatArray | float:
    """Fair P(over) of a quote moved from its line to another: ``p + slope * (to - from)``, kept in [0.01, 0.99].

    Where the lines are equal the probability is returned unchanged (even with a NaN slope); where they
    differ and the slope is NaN, the result is NaN (no move without a fitted slope).

    Args:
        p_over: de-vigged P(over) at ``from_line``.
        from_line: the quote's line.
        to_line: the line to move to.
        slope: probability per point (:func:`fit_line_slope`), one or one per row.

    Returns:
        P(over) at ``to_line``, broadcast shape.
    """
    p = np.asarray(p_over, dtype=np.float64)
    gap = np.asarray(to_line, dtype=np.float64) - np.asarray(from_line, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        moved = np.clip(p + np.asarray(slope, dtype=np.float64) * gap, _P_FLOOR, _P_CEIL)
        out = np.where(gap == 0, p, np.where(np.isfinite(gap), moved, np.nan))
    return _out(np.asarray(out, dtype=np.float64))
