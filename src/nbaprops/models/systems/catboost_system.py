"""CatBoost on the 33 v2 features: the primary system.

Defaults follow the old production CatBoost model (depth 6, l2 3.8, subsample 0.72, seed 42) with
its train/serve skews removed (``docs/systems.md``, "catboost"): NaN is passed through (no season-average
imputation of lines, no constant defaults), and the feature order is exactly
:data:`FEATURES_V2`. Early stopping uses the chronologically last ``holdout_frac`` of the training
rows, the model is shrunk to its best iteration, and the spread is learned on those rows.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import ClassVar

import numpy.typing as npt
import pandas as pd
from catboost import CatBoostError, CatBoostRegressor, Pool

from nbaprops.features.definitions import FEATURES_V2
from nbaprops.models.systems.base import FloatArray
from nbaprops.models.systems.boosted import BoostedTreeSystem

__all__ = ["CatBoostSystem"]

MODEL_FILE = "model.cbm"


class CatBoostSystem(BoostedTreeSystem):
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
        family: Spread family: ``'normal'``, ``'negbin'``, ``'poisson'`` or ``'auto'`` (per market:
            ``distribution_family``).
        exclude_features: Features the model must not see (the model-only variant excludes
            :data:`~nbaprops.features.definitions.MARKET_FEATURES`).
        feature_version: Train on every feature of this version instead (``None``: the list above).
    """

    system_id: ClassVar[str] = "catboost"
    features: ClassVar[tuple[str, ...]] = FEATURES_V2
    model_file: ClassVar[str] = MODEL_FILE
    library: ClassVar[str] = "CatBoost"
    load_errors: ClassVar[tuple[type[Exception], ...]] = (CatBoostError,)

    model_: CatBoostRegressor

    def __init__(self, iterations: int = 1500, learning_rate: float = 0.07, depth: int = 6,
                 l2_leaf_reg: float = 3.8, subsample: float = 0.72, border_count: int = 128,
                 early_stopping_rounds: int = 50, holdout_frac: float = 0.15, thread_count: int = 2,
                 random_state: int = 42, family: str = "auto",
                 exclude_features: tuple[str, ...] = (), feature_version: str | None = None) -> None:
        super().__init__(early_stopping_rounds=early_stopping_rounds, holdout_frac=holdout_frac,
                         thread_count=thread_count, random_state=random_state, family=family,
                         exclude_features=exclude_features, feature_version=feature_version)
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.subsample = subsample
        self.border_count = border_count

    def _fit_model(self, X_train: pd.DataFrame, y_train: FloatArray, X_hold: pd.DataFrame,
                   y_hold: FloatArray) -> int:
        model = CatBoostRegressor(
            iterations=self.iterations, learning_rate=self.learning_rate, depth=self.depth,
            l2_leaf_reg=self.l2_leaf_reg, bootstrap_type="Bernoulli", subsample=self.subsample,
            border_count=self.border_count, loss_function="RMSE", eval_metric="RMSE",
            od_type="Iter", od_wait=self.early_stopping_rounds, use_best_model=True,
            random_seed=self.random_state, thread_count=self.thread_count, allow_writing_files=False,
            verbose=False,
        )
        model.fit(Pool(X_train, y_train), eval_set=Pool(X_hold, y_hold))
        self.model_ = model     # use_best_model: already shrunk to the best iteration
        return int(model.get_best_iteration())

    def _predict_model(self, feats: pd.DataFrame) -> npt.ArrayLike:
        return self.model_.predict(feats, thread_count=self.thread_count)

    def _model_bytes(self) -> bytes:
        # The .cbm embeds a training timestamp and GUID; hash only the trees, borders and bias so
        # the model version is a function of the learned model alone.
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "model.json"
            self.model_.save_model(str(path), format="json")
            dump = json.loads(path.read_text(encoding="utf-8"))
        dump.pop("model_info", None)
        return json.dumps(dump, sort_keys=True).encode()

    def _write_model(self, path: Path) -> None:
        self.model_.save_model(str(path), format="cbm")

    def _read_model(self, path: Path) -> None:
        model = CatBoostRegressor()
        model.load_model(str(path), format="cbm")
        self.model_ = model
