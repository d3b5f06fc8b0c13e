"""XGBoost on the 25 v1 features (a real, trained model; the old system's mock model is gone).

Early stopping uses the chronologically last ``holdout_frac`` of the training rows (whole dates;
never a random split). The booster is truncated to its best iteration, and the spread is learned
on the same held-out rows (their only use in training was choosing the number of trees).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy.typing as npt
import pandas as pd
import xgboost as xgb

from nbaprops.features.definitions import FEATURES_V1
from nbaprops.models.systems.base import FloatArray
from nbaprops.models.systems.boosted import BoostedTreeSystem

__all__ = ["XGBoostSystem"]

MODEL_FILE = "model.ubj"


class XGBoostSystem(BoostedTreeSystem):
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
        family: Spread family: ``'normal'``, ``'negbin'``, ``'poisson'`` or ``'auto'`` (per market:
            ``distribution_family``).
        exclude_features: Features the model must not see (the model-only variant excludes
            :data:`~nbaprops.features.definitions.MARKET_FEATURES`).
        feature_version: Train on every feature of this version instead (``None``: the list above).
    """

    system_id: ClassVar[str] = "xgboost"
    features: ClassVar[tuple[str, ...]] = FEATURES_V1
    model_file: ClassVar[str] = MODEL_FILE
    library: ClassVar[str] = "XGBoost"
    load_errors: ClassVar[tuple[type[Exception], ...]] = (xgb.core.XGBoostError,)

    booster_: xgb.Booster

    def __init__(self, n_estimators: int = 1000, learning_rate: float = 0.05, max_depth: int = 6,
                 min_child_weight: float = 10.0, subsample: float = 0.8, colsample_bytree: float = 0.8,
                 reg_lambda: float = 1.0, early_stopping_rounds: int = 50, holdout_frac: float = 0.15,
                 thread_count: int = 2, random_state: int = 42, family: str = "auto",
                 exclude_features: tuple[str, ...] = (), feature_version: str | None = None) -> None:
        super().__init__(early_stopping_rounds=early_stopping_rounds, holdout_frac=holdout_frac,
                         thread_count=thread_count, random_state=random_state, family=family,
                         exclude_features=exclude_features, feature_version=feature_version)
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda

    def _fit_model(self, X_train: pd.DataFrame, y_train: FloatArray, X_hold: pd.DataFrame,
                   y_hold: FloatArray) -> int:
        model = xgb.XGBRegressor(
            n_estimators=self.n_estimators, learning_rate=self.learning_rate, max_depth=self.max_depth,
            min_child_weight=self.min_child_weight, subsample=self.subsample,
            colsample_bytree=self.colsample_bytree, reg_lambda=self.reg_lambda, tree_method="hist",
            objective="reg:squarederror", eval_metric="rmse", early_stopping_rounds=self.early_stopping_rounds,
            n_jobs=self.thread_count, random_state=self.random_state,
        )
        model.fit(X_train, y_train, eval_set=[(X_hold, y_hold)], verbose=False)
        best = int(model.best_iteration)
        self.booster_ = model.get_booster()[: best + 1]
        self.booster_.set_param({"nthread": self.thread_count})
        return best

    def _predict_model(self, feats: pd.DataFrame) -> npt.ArrayLike:
        return self.booster_.inplace_predict(feats)

    def _model_bytes(self) -> bytes:
        return bytes(self.booster_.save_raw(raw_format="ubj"))

    def _write_model(self, path: Path) -> None:
        self.booster_.save_model(str(path))

    def _read_model(self, path: Path) -> None:
        booster = xgb.Booster()
        booster.load_model(str(path))
        booster.set_param({"nthread": self.thread_count})
        self.booster_ = booster
