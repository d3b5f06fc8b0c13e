"""Moving-average baseline: a learned convex combination of the L5, L10 and season averages.

Unlike the old system's fixed 0.50/0.30/0.20 weights plus hand-made adjustments (with the
inverted fatigue sign, ``docs/systems.md``, "moving_average"), the weights are learned by non-negative
least squares with a sum-to-one penalty, then normalised to sum to exactly one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import nnls

from nbaprops.errors import ModelError
from nbaprops.models.systems.base import (
    FloatArray,
    PointsSystem,
    chronological_split,
    numeric_column,
)

__all__ = ["MA_TERMS", "MovingAverageSystem", "fit_convex_weights"]

MA_TERMS: tuple[str, ...] = ("points_avg_last_5", "points_avg_last_10", "points_avg_season")


def fit_convex_weights(design: FloatArray, target: FloatArray, *, penalty: float = 1e4) -> FloatArray:
    """Non-negative weights summing to one that best reproduce ``target`` from ``design`` columns.

    Solved as NNLS with an extra heavily weighted row enforcing ``sum(w) = 1``; the result is then
    normalised exactly.

    Args:
        design: ``(n, k)`` matrix without NaN.
        target: ``(n,)`` outcomes.
        penalty: Weight of the sum-to-one row relative to the average squared design entry.

    Returns:
        ``(k,)`` weights, non-negative, summing to one.
    """
    n, k = design.shape
    scale = float(np.sqrt(penalty * max(float(np.mean(design**2)), 1e-9) * n))
    a = np.vstack([design, np.full((1, k), scale)])
    b = np.concatenate([target, [scale]])
    weights, _ = nnls(a, b)
    total = float(weights.sum())
    if total <= 0:
        return np.full(k, 1.0 / k)
    return np.asarray(weights / total, dtype=np.float64)


class MovingAverageSystem(PointsSystem):
    """Weighted mean of ``points_avg_last_5/10/season`` with learned weights.

    When some averages are missing the available ones are used with their weights renormalised;
    a row with none of them has no prediction (NaN).

    Args:
        holdout_frac: Share of the latest training dates held out to learn the spread (the weights
            are then refitted on all rows).
        family: Spread family: ``'normal'``, ``'negbin'``, ``'poisson'`` or ``'auto'`` (per market:
            ``distribution_family``).
    """

    system_id: ClassVar[str] = "moving_average"
    required_columns: ClassVar[tuple[str, ...]] = (*MA_TERMS, "game_date")

    weights_: FloatArray

    def __init__(self, holdout_frac: float = 0.15, family: str = "auto") -> None:
        self.holdout_frac = holdout_frac
        self.family = family

    def _design(self, X: pd.DataFrame) -> FloatArray:
        return np.column_stack([numeric_column(X, c) for c in MA_TERMS])

    @staticmethod
    def _combine(design: FloatArray, weights: FloatArray) -> FloatArray:
        present = np.isfinite(design)
        w = np.where(present, weights[None, :], 0.0)
        total = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (np.where(present, design, 0.0) * w).sum(axis=1) / total
        return np.where(total > 0, out, np.nan)

    def _fit_weights(self, design: FloatArray, y: FloatArray) -> FloatArray:
        complete = np.isfinite(design).all(axis=1)
        if int(complete.sum()) < len(MA_TERMS):
            raise ModelError("moving_average: too few rows with all three averages to learn weights")
        return fit_convex_weights(design[complete], y[complete])

    def fit(self, X: pd.DataFrame, y: pd.Series | npt.ArrayLike) -> Self:
        """Learn the averaging weights and the spread.

        Args:
            X: Training rows.
            y: Actual points.

        Returns:
            ``self``.
        """
        X, yy = self._prepare_xy(X, y)
        design = self._design(X)
        train, hold = chronological_split(X["game_date"], self.holdout_frac)
        weights = self._fit_weights(design[train], yy[train])
        spread_mean = self._combine(design[hold], weights)
        self.weights_ = self._fit_weights(design, yy)
        self._finish_fit(X=X, spread_mean=spread_mean, spread_y=yy[hold], feature_names=list(MA_TERMS),
                         family=self.family, extra_info={"n_holdout": int(hold.sum())})
        return self

    def _predict_mean(self, X: pd.DataFrame) -> FloatArray:
        return self._combine(self._design(X), self.weights_)

    def _learned_to_json(self) -> dict[str, Any]:
        return {"weights": dict(zip(MA_TERMS, (float(w) for w in self.weights_), strict=True))}

    def _learned_from_json(self, data: Mapping[str, Any]) -> None:
        self.weights_ = np.array([float(data["weights"][c]) for c in MA_TERMS], dtype=np.float64)
