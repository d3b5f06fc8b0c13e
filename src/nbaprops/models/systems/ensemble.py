"""Ensemble: a learned non-negative combination of member systems' predicted means.

The old ensembles averaged members by their (uncalibrated) confidences or by fixed weights
(``docs/systems.md``, "ensemble"). Here the weights are learned on a *validation period* the members
did not train on: linear regression with non-negative member weights and a free intercept.

Inputs: the ensemble's ``X`` holds one column ``pred_<member system_id>`` per member (the member's
predicted mean on those rows, NaN where it has none) plus ``game_date``. Build it with
:meth:`EnsembleSystem.build_inputs`. When some members are missing on a row, the available members'
weights are rescaled to the same total; a row with no positively weighted member is NaN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import LinearRegression

from nbaprops.errors import InputError, MissingColumnsError, ModelError
from nbaprops.models.systems.base import FloatArray, PointsSystem, chronological_split, numeric_column

__all__ = ["DEFAULT_MEMBERS", "EnsembleSystem", "member_column"]

DEFAULT_MEMBERS: tuple[str, ...] = ("moving_average", "zone_matchup", "similarity", "xgboost", "catboost")


def member_column(system_id: str) -> str:
    """Name of the ensemble input column carrying a member's predictions."""
    return f"pred_{system_id}"


class EnsembleSystem(PointsSystem):
    """Non-negative stacked combination of member means, fitted on validation rows.

    Args:
        members: Member system ids, in column order.
        holdout_frac: Share of the latest validation dates used to learn the spread (weights are
            then refitted on all validation rows).
        min_rows: Fewest complete validation rows accepted.
        family: Spread family: ``'normal'``, ``'negbin'``, ``'poisson'`` or ``'auto'`` (per market:
            ``distribution_family``).
    """

    system_id: ClassVar[str] = "ensemble"
    requires_scoring_history: ClassVar[bool] = False

    weights_: FloatArray
    intercept_: float

    def __init__(self, members: tuple[str, ...] = DEFAULT_MEMBERS, holdout_frac: float = 0.3,
                 min_rows: int = 50, family: str = "auto") -> None:
        self.members = members
        self.holdout_frac = holdout_frac
        self.min_rows = min_rows
        self.family = family

    @staticmethod
    def build_inputs(meta: pd.DataFrame, member_predictions: Mapping[str, npt.ArrayLike]) -> pd.DataFrame:
        """Assemble the ensemble's input frame.

        Args:
            meta: Rows with at least ``game_date`` (other columns are kept).
            member_predictions: ``system_id -> predicted means`` aligned with ``meta``.

        Returns:
            ``meta`` (fresh index) plus one ``pred_<system_id>`` column per member.
        """
        out = meta.reset_index(drop=True).copy()
        for sid, values in member_predictions.items():
            arr = np.asarray(values, dtype=np.float64).reshape(-1)
            if arr.shape[0] != len(out):
                raise InputError(f"predictions of {sid} have {arr.shape[0]} rows, meta has {len(out)}",
                                 field=member_column(sid))
            out[member_column(sid)] = arr
        return out

    def _check_columns(self, X: pd.DataFrame) -> None:
        needed = [member_column(m) for m in self.members]
        missing = [c for c in needed if c not in X.columns]
        if missing:
            raise MissingColumnsError(f"ensemble needs member prediction columns {missing}", field=missing[0])

    def _matrix(self, X: pd.DataFrame) -> FloatArray:
        return np.column_stack([numeric_column(X, member_column(m)) for m in self.members])

    def _fit_weights(self, preds: FloatArray, y: FloatArray) -> tuple[FloatArray, float]:
        complete = np.isfinite(preds).all(axis=1)
        if int(complete.sum()) < self.min_rows:
            raise ModelError(f"ensemble: {int(complete.sum())} validation rows with every member "
                             f"(need {self.min_rows})")
        reg = LinearRegression(positive=True, fit_intercept=True)
        reg.fit(preds[complete], y[complete])
        weights = np.asarray(reg.coef_, dtype=np.float64)
        if not (weights > 0).any():
            raise ModelError("ensemble: no member received a positive weight")
        return weights, float(reg.intercept_)

    @staticmethod
    def _combine(preds: FloatArray, weights: FloatArray, intercept: float) -> FloatArray:
        present = np.isfinite(preds)
        w = np.where(present, weights[None, :], 0.0)
        avail = w.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mix = (np.where(present, preds, 0.0) * w).sum(axis=1) / avail
        return np.where(avail > 0, intercept + weights.sum() * mix, np.nan)

    def fit(self, X: pd.DataFrame, y: pd.Series | npt.ArrayLike) -> Self:
        """Learn member weights and spread on validation rows.

        Args:
            X: Validation rows with the member prediction columns and ``game_date``.
            y: Actual points.

        Returns:
            ``self``.
        """
        X, yy = self._prepare_xy(X, y)
        preds = self._matrix(X)
        train, hold = chronological_split(X["game_date"], self.holdout_frac)
        w_train, b_train = self._fit_weights(preds[train], yy[train])
        spread_mean = self._combine(preds[hold], w_train, b_train)
        self.weights_, self.intercept_ = self._fit_weights(preds, yy)
        self._finish_fit(X=X, spread_mean=spread_mean, spread_y=yy[hold],
                         feature_names=[member_column(m) for m in self.members], family=self.family,
                         extra_info={"n_holdout": int(hold.sum())})
        return self

    def _predict_mean(self, X: pd.DataFrame) -> FloatArray:
        return self._combine(self._matrix(X), self.weights_, self.intercept_)

    @property
    def member_weights(self) -> dict[str, float]:
        """Learned weight per member system id."""
        self._check_fitted()
        return {m: float(w) for m, w in zip(self.members, self.weights_, strict=True)}

    def _learned_to_json(self) -> dict[str, Any]:
        return {"weights": {m: float(w) for m, w in zip(self.members, self.weights_, strict=True)},
                "intercept": self.intercept_}

    def _learned_from_json(self, data: Mapping[str, Any]) -> None:
        self.weights_ = np.array([float(data["weights"][m]) for m in self.members], dtype=np.float64)
        self.intercept_ = float(data["intercept"])
