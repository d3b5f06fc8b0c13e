"""CatBoost on the 33 v2 features: the primary system.

Defaults follow the reference CatBoost V8 (depth 6, l2 3.8, subsample 0.72, seed 42) with the
train/serve skews of REFERENCE_SYSTEM.md §3.6 removed: NaN is passed through (no season-average
imputation of lines, no constant defaults), and the feature order is exactly
:data:`FEATURES_V2`. Early stopping uses the chronologically last ``holdout_frac`` of the training
rows, the model is shrunk to its best iteration, and the spread is learned on those rows.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from catboost import CatBoostError, CatBoostRegressor, Pool

from nbaprops.errors import ModelError
from nbaprops.features.definitions import FEATURES_V2
from nbaprops.models.systems.base import FloatArray, PointsSystem, chronological_split
from nbaprops.models.systems.xgboost_system import feature_matrix

__all__ = ["CatBoostSystem"]

MODEL_FILE = "model.cbm"


class CatBoostSystem(PointsSystem):
    """CatBoostRegressor (RMSE) on :data:`FEATURES_V2`, NaN allowed.

    Sized for ~100k training rows in well under a minute on two cores.

    Args:
        iterations: Upper bound on trees (early stopping picks the number).
        learning_rate: Shrinkage.
        depth: Symmetric tree depth.
        l2_leaf_reg: L2 penalty on leaf values.
        subsample: Bernoulli row subsampling per tree.
        border_count: Histogram bins per feature.
        early_stopping_rounds: Patience on the held-out RMSE.
        holdout_frac: Share of the latest training dates used for early stopping and spread.
        thread_count: CPU threads for training and prediction.
        random_state: Seed.
        family: Spread family: ``'normal'``, ``'negbin'`` or ``'auto'``.
    """

    system_id: ClassVar[str] = "catboost"
    required_columns: ClassVar[tuple[str, ...]] = (*FEATURES_V2, "game_date")

    model_: CatBoostRegressor
    best_iteration_: int

    def __init__(self, iterations: int = 1500, learning_rate: float = 0.07, depth: int = 6,
                 l2_leaf_reg: float = 3.8, subsample: float = 0.72, border_count: int = 128,
                 early_stopping_rounds: int = 50, holdout_frac: float = 0.15, thread_count: int = 2,
                 random_state: int = 42, family: str = "auto") -> None:
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.subsample = subsample
        self.border_count = border_count
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
        feats = feature_matrix(X, FEATURES_V2)
        model = CatBoostRegressor(
            iterations=self.iterations, learning_rate=self.learning_rate, depth=self.depth,
            l2_leaf_reg=self.l2_leaf_reg, bootstrap_type="Bernoulli", subsample=self.subsample,
            border_count=self.border_count, loss_function="RMSE", eval_metric="RMSE",
            od_type="Iter", od_wait=self.early_stopping_rounds, use_best_model=True,
            random_seed=self.random_state, thread_count=self.thread_count, allow_writing_files=False,
            verbose=False,
        )
        model.fit(Pool(feats.loc[train], yy[train]), eval_set=Pool(feats.loc[hold], yy[hold]))
        self.model_ = model
        self.best_iteration_ = int(model.get_best_iteration())
        spread_mean = self._raw_predict(feats.loc[hold].reset_index(drop=True))
        self._finish_fit(X=X, spread_mean=spread_mean, spread_y=yy[hold], feature_names=list(FEATURES_V2),
                         family=self.family, extra_info={"n_holdout": int(hold.sum()),
                                                         "best_iteration": self.best_iteration_})
        return self

    def _raw_predict(self, feats: pd.DataFrame) -> FloatArray:
        if len(feats) == 0:
            return np.zeros(0)
        return np.asarray(self.model_.predict(feats, thread_count=self.thread_count),
                          dtype=np.float64).reshape(-1)

    def _predict_mean(self, X: pd.DataFrame) -> FloatArray:
        return self._raw_predict(feature_matrix(X, self.feature_names_))

    def _learned_to_json(self) -> dict[str, Any]:
        return {"best_iteration": self.best_iteration_}

    def _learned_from_json(self, data: Mapping[str, Any]) -> None:
        self.best_iteration_ = int(data["best_iteration"])

    def _native_bytes(self) -> bytes:
        # The .cbm embeds a training timestamp and GUID; hash only the trees, borders and bias so
        # the model version is a function of the learned model alone.
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.json"
            self.model_.save_model(str(path), format="json")
            dump = json.loads(path.read_text(encoding="utf-8"))
        dump.pop("model_info", None)
        return json.dumps(dump, sort_keys=True).encode()

    def _save_native(self, directory: Path) -> str:
        self.model_.save_model(str(directory / MODEL_FILE), format="cbm")
        return MODEL_FILE

    def _load_native(self, path: Path) -> None:
        model = CatBoostRegressor()
        try:
            model.load_model(str(path), format="cbm")
        except CatBoostError as exc:
            raise ModelError(f"cannot load CatBoost model {path}: {exc}") from exc
        self.model_ = model
