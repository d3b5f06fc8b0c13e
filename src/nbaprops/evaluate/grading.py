"""Per-prediction grading against the actual value of the prediction's market (pure functions, no
database access). The columns keep their points-era names: for a rebounds prediction ``points`` in
the actuals and ``actual_points`` in the output are rebounds (docs/markets.md, "Grading and the
report per market"); the caller passes each market's settled value.

Rules (see ``docs/systems.md``, "Grading"):

* A prediction is **void** when the player did not play: no actuals row, points missing, minutes == 0,
  or (like the reference system) points == 0 with minutes unknown (the player's points, ``box_points``
  when the actuals give them, so a rebounds line of a player who scored but grabbed no rebound is
  not void). Void rows have no error and are never
  wins or losses (the reference system's JAN bug graded a DNP UNDER as a win).
* A row is only a **bet** when the recommendation is OVER or UNDER *and* the line is a real, validated
  book line (``line_valid`` true, line present, ``line_source == 'ACTUAL_PROP'``). Anything else is
  ``NO_BET`` and ``correct`` is NULL: placeholder or estimated lines are never graded.
* A **push** (actual == line, only possible on integer lines) is NULL in ``correct``, 0 profit, and is
  excluded from the hit-rate denominator.
* Profit is 1 unit staked at the price the bet was taken at (:func:`nbaprops.odds.profit_units`): the
  best price of the side among the books at prediction time (``best_price``, line shopping,
  ``docs/market.md``) when present, else the posted price of the side. ``price_posted`` and
  ``profit_units_posted`` keep the chosen book's own price and profit for comparison. When no price
  is known the row is priced at -110 and flagged ``price_assumed`` so reports can say how many were
  assumed; a posted price that is not an American
  price raises :class:`~nbaprops.errors.InputError` naming the row and field
  (:func:`nbaprops.odds.check_american`).
* A void row says what the injury report had said at prediction time (``void_reason``, from the
  prediction's ``injury_status`` / ``injury_report_time``): ``dnp_listed_out``, ``dnp_listed_doubtful``,
  ``dnp_listed_questionable``, ``dnp_listed_probable``, ``dnp_listed_available``, ``dnp_not_listed`` (a
  report covered the date, the player was not on it) or ``dnp_no_report`` (no report by then). Rows
  where the player played have no ``void_reason``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nbaprops.errors import InputError, MissingColumnsError
from nbaprops.odds import check_american, profit_units

__all__ = [
    "ASSUMED_PRICE",
    "PREDICTION_COLUMNS",
    "RECOMMENDATIONS",
    "RESULTS",
    "VOID_REASONS",
    "grade_predictions",
    "void_reasons",
]

#: Price used when the side taken has no posted price (flagged per row as ``price_assumed``).
ASSUMED_PRICE = -110.0

RECOMMENDATIONS = ("OVER", "UNDER", "PASS", "NO_LINE")
RESULTS = ("WIN", "LOSS", "PUSH", "VOID", "NO_BET")
#: ``void_reason`` of a DNP: what the injury report read at prediction time said.
VOID_REASONS = ("dnp_listed_out", "dnp_listed_doubtful", "dnp_listed_questionable", "dnp_listed_probable",
                "dnp_listed_available", "dnp_not_listed", "dnp_no_report")

#: Input columns of a prediction frame; the first block is required, the rest default to NaN/None.
REQUIRED_PREDICTION_COLUMNS = ("game_id", "game_date", "player_id", "system_id", "predicted_points",
                               "recommendation", "line", "line_valid")
OPTIONAL_PREDICTION_COLUMNS = ("p_over", "confidence", "edge", "line_source", "over_price", "under_price",
                               "market_p_over", "injury_status", "injury_report_time", "best_price")
PREDICTION_COLUMNS = REQUIRED_PREDICTION_COLUMNS + OPTIONAL_PREDICTION_COLUMNS
REQUIRED_ACTUAL_COLUMNS = ("game_id", "player_id", "points", "minutes")
#: Optional actuals column: the player's points when ``points`` holds another market's value (the DNP
#: rule "0 points with unknown minutes" reads it; without it, ``points``).
BOX_POINTS_COLUMN = "box_points"


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise MissingColumnsError(f"{what} lacks required columns {missing}", field=missing[0])


def _as_float_array(values: object) -> np.ndarray:
    """Float array with every missing marker (None, pd.NA, unparsable text) as NaN."""
    s = pd.Series(values)
    if s.dtype == "boolean" or s.dtype == bool:
        s = s.astype("Float64")
    return pd.to_numeric(s, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _bool_column(s: pd.Series) -> np.ndarray:
    """True only where the value is truthy and not missing (missing -> False)."""
    return np.asarray(s.astype("boolean").fillna(False), dtype=bool)


def _nullable_bool(values: np.ndarray, missing: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool), np.asarray(missing, dtype=bool))


def grade_predictions(preds: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """Grade every prediction against the player's actual points.

    Args:
        preds: one row per prediction with columns game_id, game_date, player_id, system_id,
            predicted_points, p_over, confidence, edge, recommendation ('OVER'|'UNDER'|'PASS'|'NO_LINE'),
            line (NaN if none), line_source ('ACTUAL_PROP'|'NO_PROP_LINE'), line_valid (passed the
            validation gate), over_price, under_price (American; NaN if none), market_p_over (de-vigged
            market P(over); NaN if none). Optional columns that are absent are filled with NaN.
        actuals: one row per (game_id, player_id) that has a box score: points (the settled value of
            the predictions' market), minutes, optionally ``box_points`` (the player's points, for the
            DNP rule when ``points`` is another stat).

    Returns:
        The prediction columns (same row order) plus: actual_points, actual_minutes, is_void,
        has_valid_line, is_bet, abs_error, signed_error (pred - actual), line_abs_error (|actual - line|,
        valid lines only), result ('WIN'|'LOSS'|'PUSH'|'VOID'|'NO_BET'), correct (nullable boolean),
        price_taken (the best price when given, else the posted one), price_assumed, profit_units,
        price_posted, profit_units_posted (at the posted price of the side), graded_over (nullable boolean: actual > line on
        valid-line, non-void, non-push rows).

    Raises:
        MissingColumnsError: a required column is absent.
        InputError: duplicate actuals for a (game_id, player_id), an unknown recommendation, or an
            invalid price on a bet.
    """
    _require(preds, REQUIRED_PREDICTION_COLUMNS, "predictions")
    _require(actuals, REQUIRED_ACTUAL_COLUMNS, "actuals")

    out = preds.copy().reset_index(drop=True)
    for col in OPTIONAL_PREDICTION_COLUMNS:
        if col not in out.columns:
            out[col] = None if col in ("line_source", "injury_status", "injury_report_time") else np.nan

    rec = out["recommendation"].astype("string").str.strip().str.upper()
    unknown = sorted(set(rec.dropna().unique()) - set(RECOMMENDATIONS))
    if unknown or rec.isna().any():
        raise InputError(f"unknown recommendation values {unknown or ['<NA>']}; expected one of {RECOMMENDATIONS}",
                         field="recommendation")
    out["recommendation"] = rec.astype(object)

    has_box_points = BOX_POINTS_COLUMN in actuals.columns
    act = actuals.loc[:, list(REQUIRED_ACTUAL_COLUMNS) + ([BOX_POINTS_COLUMN] if has_box_points else [])]
    dup = act.duplicated(["game_id", "player_id"], keep=False)
    if dup.any():
        first = act.loc[dup].iloc[0]
        raise InputError(f"{int(dup.sum())} duplicate actuals rows, e.g. game {first['game_id']!r} "
                         f"player {first['player_id']!r}", field="game_id/player_id")
    act = act.rename(columns={"points": "actual_points", "minutes": "actual_minutes", BOX_POINTS_COLUMN: "_box_points"})
    act["_has_actual"] = True
    for col in ("actual_points", "actual_minutes", "_has_actual", "_box_points"):
        if col in out.columns:
            out = out.drop(columns=col)
    n_before = len(out)
    out = out.merge(act, on=["game_id", "player_id"], how="left", validate="many_to_one")
    assert len(out) == n_before  # validate= guarantees this; keeps the row contract explicit

    pred = _as_float_array(out["predicted_points"])
    line = _as_float_array(out["line"])
    actual = _as_float_array(out["actual_points"])
    minutes = _as_float_array(out["actual_minutes"])
    has_actual = _bool_column(out["_has_actual"])
    box_points = _as_float_array(out["_box_points"]) if has_box_points else actual
    out = out.drop(columns=["_has_actual", "_box_points"] if has_box_points else "_has_actual")

    # Minutes unknown with 0 points is treated as a DNP, as the reference system did.
    is_void = ~has_actual | np.isnan(actual) | (minutes == 0) | (np.isnan(minutes) & (box_points == 0))
    source_ok = (out["line_source"].isna() | (out["line_source"].astype("string") == "ACTUAL_PROP")).to_numpy(bool)
    has_valid_line = _bool_column(out["line_valid"]) & ~np.isnan(line) & source_ok
    side = out["recommendation"].to_numpy(dtype=object)
    is_over, is_under = side == "OVER", side == "UNDER"
    is_bet = (is_over | is_under) & has_valid_line

    played = ~is_void
    actual_played = np.where(played, actual, np.nan)
    is_push = has_valid_line & played & (actual_played == line)
    went_over = actual_played > line
    decided = is_bet & played & ~is_push
    won = decided & ((is_over & went_over) | (is_under & ~went_over))
    lost = decided & ~won

    result = np.full(len(out), "NO_BET", dtype=object)
    result[is_bet & is_void] = "VOID"
    result[is_bet & is_push] = "PUSH"
    result[won] = "WIN"
    result[lost] = "LOSS"

    over_price = _as_float_array(out["over_price"])
    under_price = _as_float_array(out["under_price"])
    price_posted = np.where(is_over, over_price, np.where(is_under, under_price, np.nan))
    best = _as_float_array(out["best_price"])
    for name, taken, prices in (("over_price", is_bet & is_over, price_posted), ("under_price", is_bet & is_under, price_posted),
                                ("best_price", is_bet, best)):
        check_american(prices[taken], where=name, rows=np.flatnonzero(taken) + 1, allow_missing=True,
                       hint="a bet is settled at the posted (or best) price of its side")
    price = np.where(np.isfinite(best), best, price_posted)
    price_assumed = is_bet & np.isnan(price)
    price_taken = np.where(price_assumed, ASSUMED_PRICE, np.where(is_bet, price, np.nan))
    outcome = np.where(won, 1.0, np.where(lost, 0.0, np.nan))
    profit = np.where(is_bet, profit_units(price_taken, outcome), 0.0)
    posted = np.where(is_bet & np.isnan(price_posted), ASSUMED_PRICE, np.where(is_bet, price_posted, np.nan))
    profit_posted = np.where(is_bet, profit_units(posted, outcome), 0.0)

    out["actual_points"] = actual
    out["actual_minutes"] = minutes
    out["is_void"] = is_void
    out["has_valid_line"] = has_valid_line
    out["is_bet"] = is_bet
    out["abs_error"] = np.abs(pred - actual_played)
    out["signed_error"] = pred - actual_played
    out["line_abs_error"] = np.where(has_valid_line, np.abs(actual_played - line), np.nan)
    out["result"] = result
    out["correct"] = _nullable_bool(won, ~(won | lost))
    out["price_taken"] = price_taken
    out["price_assumed"] = price_assumed
    out["profit_units"] = profit
    out["price_posted"] = posted
    out["profit_units_posted"] = profit_posted
    scorable = has_valid_line & played & ~is_push
    out["graded_over"] = _nullable_bool(went_over, ~scorable)
    out["void_reason"] = pd.Series(void_reasons(is_void, out["injury_status"], out["injury_report_time"]),
                                   index=out.index, dtype=object)
    return out


def void_reasons(is_void: np.ndarray, injury_status: pd.Series, injury_report_time: pd.Series) -> np.ndarray:
    """:data:`VOID_REASONS` of the void rows (None elsewhere) from what the prediction stored.

    Args:
        is_void: the player did not play.
        injury_status: the prediction's status on the report read at its as-of time (None = not listed).
        injury_report_time: the report read (None/NaT = no report by then).
    """
    status = injury_status.astype(object).where(injury_status.notna(), None).to_numpy(dtype=object)
    had_report = pd.Series(injury_report_time).notna().to_numpy(dtype=bool)
    out = np.full(len(status), None, dtype=object)
    for i in np.flatnonzero(np.asarray(is_void, dtype=bool)):
        s = status[i]
        if isinstance(s, str) and s.strip():
            out[i] = f"dnp_listed_{s.strip().lower()}"
        elif had_report[i]:
            out[i] = "dnp_not_listed"
        else:
            out[i] = "dnp_no_report"
    return out
