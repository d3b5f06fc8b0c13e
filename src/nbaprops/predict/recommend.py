"""Turning a calibrated P(over) into OVER / UNDER / PASS / NO_LINE (calibrator: models/calibration.py).

One rule for every system (the old system had six different gates and confidence scales;
``docs/systems.md``, "From a distribution to a recommendation"):

* ``NO_LINE`` where there is no line.
* side = OVER if P(over) > 0.5 else UNDER.
* EV per unit staked at the posted price of that side: ``p_side * (decimal - 1) - (1 - p_side)``.
* The side is recommended only if the predicted mean is at least ``min_edge`` points beyond the
  line *in the direction of the side* and ``EV >= min_ev``; otherwise ``PASS``. (Requiring the edge
  to point the same way as the side is stricter than ``|mean - line| >= min_edge``: a skewed
  distribution can put the mean above the line while P(over) < 0.5, and such a row is a PASS.)
* A row without a usable probability or price is a PASS (EV cannot be computed).
* ``confidence = max(p_over, 1 - p_over)``: the calibrated probability of the side taken, 0-1 for
  every system; NaN where there is no line or no probability.

Thresholds are parameters (:class:`RecommendConfig`); they are to be chosen on validation periods.

Then one availability rule (:func:`apply_availability`, ``docs/injury-reports.md``): a player the official
injury report lists OUT at the prediction's as-of time gets no OVER/UNDER: ``PASS`` (``NO_LINE`` stays
``NO_LINE``), with ``decision_reason`` ``listed_out``. Doubtful and questionable players keep the model's
recommendation and are flagged by their stored ``injury_status``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from nbaprops.models.calibration import Calibrator  # re-exported: the calibrator lives with the models
from nbaprops.odds import american_to_decimal

__all__ = [
    "NO_LINE",
    "OVER",
    "PASS",
    "UNDER",
    "Calibrator",
    "LISTED_OUT",
    "apply_availability",
    "RecommendConfig",
    "expected_value",
    "recommend",
]

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.object_]

OVER = "OVER"
UNDER = "UNDER"
PASS = "PASS"
NO_LINE = "NO_LINE"
#: ``decision_reason`` of a row whose OVER/UNDER was withheld because the player was listed OUT.
LISTED_OUT = "listed_out"


@dataclass(frozen=True)
class RecommendConfig:
    """Thresholds of :func:`recommend`.

    Attributes:
        min_edge: Points the mean must clear the line by, in the direction of the side.
        min_ev: Minimum expected profit per unit staked at the posted price.
    """

    min_edge: float = 1.0
    min_ev: float = 0.02


_DEFAULT = RecommendConfig()


def expected_value(p_side: npt.ArrayLike, price: npt.ArrayLike) -> FloatArray:
    """Expected profit per unit staked: ``p * (decimal - 1) - (1 - p)``.

    Args:
        p_side: Probability the side wins (conditional on no push).
        price: American odds of the side.

    Returns:
        EV per unit; NaN where the probability or the price is invalid.
    """
    p = np.asarray(p_side, dtype=np.float64)
    dec = np.asarray(american_to_decimal(price), dtype=np.float64)
    return np.asarray(p * (dec - 1.0) - (1.0 - p), dtype=np.float64)


def recommend(mean: npt.ArrayLike, p_over_model: npt.ArrayLike, line: npt.ArrayLike,
              over_price: npt.ArrayLike, under_price: npt.ArrayLike, *,
              min_edge: float = _DEFAULT.min_edge,
              min_ev: float = _DEFAULT.min_ev) -> tuple[StrArray, FloatArray, FloatArray]:
    """Recommendation, confidence and EV per row (see the module docstring for the rule).

    Args:
        mean: Predicted mean points.
        p_over_model: Calibrated P(over the line), push-conditional for whole lines.
        line: The posted line (NaN: no line).
        over_price: American odds of the over.
        under_price: American odds of the under.
        min_edge: Minimum directional edge in points.
        min_ev: Minimum EV per unit staked.

    Returns:
        ``(recommendation, confidence, ev)``: object array of 'OVER'/'UNDER'/'PASS'/'NO_LINE',
        confidence in [0, 1] (NaN without a line or probability), EV of the side taken (NaN when it
        cannot be computed).
    """
    mu = np.asarray(mean, dtype=np.float64).reshape(-1)
    n = mu.shape[0]
    p = np.broadcast_to(np.asarray(p_over_model, dtype=np.float64), (n,))
    ln = np.broadcast_to(np.asarray(line, dtype=np.float64), (n,))
    po = np.broadcast_to(np.asarray(over_price, dtype=np.float64), (n,))
    pu = np.broadcast_to(np.asarray(under_price, dtype=np.float64), (n,))

    has_line = np.isfinite(ln)
    has_p = has_line & np.isfinite(p)
    is_over = p > 0.5
    p_side = np.where(is_over, p, 1.0 - p)
    ev = np.where(has_p, expected_value(p_side, np.where(is_over, po, pu)), np.nan)
    edge = np.where(is_over, mu - ln, ln - mu)
    with np.errstate(invalid="ignore"):
        take = has_p & np.isfinite(edge) & (edge >= min_edge) & np.isfinite(ev) & (ev >= min_ev)
    rec = np.full(n, PASS, dtype=object)
    rec[take & is_over] = OVER
    rec[take & ~is_over] = UNDER
    rec[~has_line] = NO_LINE
    confidence = np.where(has_p, np.clip(p_side, 0.0, 1.0), np.nan)
    return rec, confidence, ev


def apply_availability(recommendation: npt.ArrayLike, injury_status: npt.ArrayLike) -> tuple[StrArray, StrArray]:
    """Withhold every OVER/UNDER of a player listed OUT.

    Args:
        recommendation: :func:`recommend`'s recommendations.
        injury_status: the player's status on the injury report read at the as-of time ('OUT',
            'DOUBTFUL', 'QUESTIONABLE', 'PROBABLE', 'AVAILABLE'; None/NaN = not listed or no report).

    Returns:
        ``(recommendation, decision_reason)``: OUT rows become ``PASS`` (``NO_LINE`` rows stay ``NO_LINE``)
        with reason :data:`LISTED_OUT`, whatever the model said; every other row unchanged with reason None.
    """
    rec = np.asarray(recommendation, dtype=object).reshape(-1).copy()
    status = np.broadcast_to(np.asarray(injury_status, dtype=object), rec.shape)
    out = np.array([isinstance(s, str) and s.strip().upper() == "OUT" for s in status], dtype=bool)
    rec[out & (rec != NO_LINE)] = PASS
    reason = np.full(rec.shape, None, dtype=object)
    reason[out] = LISTED_OUT
    return rec, reason
