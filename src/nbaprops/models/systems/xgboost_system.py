"""XGBoost on the 25 v1 features (a real, trained model; the reference's mock model is gone).

Early stopping uses the chronologically last ``holdout_frac`` of the training rows (whole dates;
never a random split). The booster is truncated to its best iteration, and the spread is learned
on the same held-out rows (their only use in training was choosing the number of trees).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
import xgboost as xgb

from nbaprops.errors import ModelError
from nbaprops.features.definitions import FEATURES_V1
from nbaprops.models.systems.base import FloatArray, PointsSystem, chronological_split, numeric_column

__all__ = ["XGBoostSystem", "feature_matrix"]

MODEL_FILE = "model.ubj"


def feature_matrix(X: pd.DataFrame, features: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """Float frame of the named features in order; missing, non-numeric and infinite values -> NaN.

    Args:
        X: Input rows.
        features: Feature names (all must be columns of ``X``).

    Returns:
        A new float64 DataFrame with a fresh RangeIndex.
    """
    return pd.DataFrame({name: numeric_column(X, name) for name in features}, columns=list(features))


class XGBoostSystem(PointsSystem):
    """Gradient-boosted trees (XGBoost ``hist``) on :data:`FEATURES_V1`, NaN allowed.

    Args:
        n_estimators: Upper bound on trees (early stopping picks the number).
        learning_rate: Shrinkage.
        max_depth: Tree depth.
        min_child_weight: Minimum hessian per leaf.
        subsample: Row subsampling per tree.
        colsample_bytree: Column subsampling per tree.
        reg_lambda: L2 penalty on leaf weights.
        early_stopping_rounds: Patience on the held-out RMSE.
        holdout_frac: Share of the latest training dates used for early stopping and spread.
        thread_count: CPU threads.
        random_state: Seed.
        family: Spread family: ``'normal'``, ``'negbin'`` or ``'auto'``.
    """

    system_id: ClassVar[str] = "xgboost"
    required_columns: ClassVar[tuple[str, ...]] = (*FEATURES_V1, "game_date")

    booster_: xgb.Booster
    best_iteration_: int

    def __init__(self, n_estimators: int = 1000, learning_rate: float = 0.05, max_depth: int = 6,
                 min_child_weight: float = 10.0, subsample: float = 0.8, colsample_bytree: float = 0.8,
                 reg_lambda: float = 1.0, early_stopping_rounds: int = 50, holdout_frac: float = 0.15,
                 thread_count: int = 2, random_state: int = 42, family: str = "auto") -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.holdout_frac = holdout_frac
        self.thread_count = thread_count
        self.random_state = random_state
        self.family = family

    def fit(self, X: pd.DataFrame, y: pd.Series | npt.ArrayLike) -> Self:
        """Train with chronological early stopping, then learn the spread on the held-out rows.

        Args:
            X: Training rows.
            y: Actual points.

        Returns:
            ``self``.
        """
        X, yy = self._prepare_xy(X, y)
        train, hold = chronological_split(X["game_date"], self.holdout_frac)
        feats = feature_matrix(X, FEATURES_V1)
        model = xgb.XGBRegressor(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, max_depth=self.max_depth,
            min_child_weight=self.min_child_weight, subsample=self.subsample,
            colsample_bytree=self.colsample_bytree, reg_lambda=self.reg_lambda, tree_method="hist",
            objective="reg:squarederror", eval_metric="rmse", early_stopping_rounds=self.early_stopping_rounds,
            n_jobs=self.thread_count, random_state=self.random_state,
        )
        model.fit(feats.loc[train], yy[train], eval_set=[(feats.loc[hold], yy[hold])], verbose=False)
        best = int(model.best_iteration)
        self.booster_ = model.get_booster()[: best + 1]
        self.booster_.set_param({"nthread": self.thread_count})
        self.best_iteration_ = best
        spread_mean = self._raw_predict(feats.loc[hold].reset_index(drop=True))
        self._finish_fit(X=X, spread_mean=spread_mean, spread_y=yy[hold], feature_names=list(FEATURES_V1),
                         family=self.family,
                         extra_info={"n_holdout": int(hold.sum()), "best_iteration": best})
        return self

    def _raw_predict(self, feats: pd.DataFrame) -> FloatArray:
        if len(feats) == 0:
            return np.zeros(0)
        return np.asarray(self.booster_.inplace_predict(feats), dtype=np.float64).reshape(-1)

    def _predict_mean(self, X: pd.DataFrame) -> FloatArray:
        return self._raw_predict(feature_matrix(X, self.feature_names_))

    def _learned_to_json(self) -> dict[str, Any]:
        return {"best_iteration": self.best_iteration_}

    def _learned_from_json(self, data: Mapping[str, Any]) -> None:
        self.best_iteration_ = int(data["best_iteration"])

    def _native_bytes(self) -> bytes:
        return bytes(self.booster_.save_raw(raw_format="ubj"))

    def _save_native(self, directory: Path) -> str:
        self.booster_.save_model(str(directory / MODEL_FILE))
        return MODEL_FILE

    def _load_native(self, path: Path) -> None:
        booster = xgb.Booster()
        try:
            booster.load_model(str(path))
        except xgb.core.XGBoostError as exc:
            raise ModelError(f"cannot load XGBoost model {path}: {exc}") from exc
        booster.set_param({"nthread": self.thread_count})
        self.booster_ = booster
