"""Small XGBoost boosters of the minutes and points-per-minute models: one training call (early
stopping on the latest dates) and one text form to store them in a JSON document.

They are shallow (depth 4, 64 bins) and train in seconds on one thread; on a machine whose cores
are busy a second OpenMP thread made a round ten times slower (measured on the shared 2-core
machine: 0.01 s vs 0.14 s per round on 58k rows), so their owner defaults to one thread."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import xgboost as xgb

__all__ = ["booster_from_text", "booster_to_text", "predict_booster", "train_booster"]


def train_booster(objective: str, feats: pd.DataFrame, y: npt.ArrayLike, fit: npt.NDArray[np.bool_],
                  hold: npt.NDArray[np.bool_], *, weight: npt.ArrayLike | None = None, thread_count: int = 2,
                  random_state: int = 42, max_rounds: int = 400) -> xgb.Booster:
    """A shallow hist booster fitted on the ``fit`` rows, early-stopped on the ``hold`` rows and cut to
    its best iteration (missing values are routed by the trees, never imputed)."""
    yy = np.asarray(y, dtype=np.float64)
    ww = None if weight is None else np.asarray(weight, dtype=np.float64)
    dfit = xgb.QuantileDMatrix(feats.loc[fit], label=yy[fit], weight=None if ww is None else ww[fit], max_bin=64,
                               nthread=thread_count)
    dhold = xgb.QuantileDMatrix(feats.loc[hold], label=yy[hold], weight=None if ww is None else ww[hold], ref=dfit, max_bin=64,
                                nthread=thread_count)
    params: dict[str, Any] = {
        "objective": objective, "tree_method": "hist", "max_depth": 4, "eta": 0.15, "min_child_weight": 20,
        "max_bin": 64, "subsample": 0.8, "colsample_bytree": 0.8, "lambda": 1.0, "nthread": thread_count,
        "seed": random_state, "verbosity": 0}
    booster = xgb.train(params, dfit, num_boost_round=max_rounds, evals=[(dhold, "hold")],
                        early_stopping_rounds=30, verbose_eval=False)
    return booster[: booster.best_iteration + 1]


def predict_booster(booster: xgb.Booster, feats: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Predictions of a booster for a feature frame (empty frame: empty array)."""
    if len(feats) == 0:
        return np.zeros(0)
    return np.asarray(booster.inplace_predict(feats), dtype=np.float64).reshape(-1)


def booster_to_text(booster: xgb.Booster) -> str:
    """The booster as base64 of its UBJSON model (deterministic for a given model)."""
    return base64.b64encode(bytes(booster.save_raw(raw_format="ubj"))).decode("ascii")


def booster_from_text(text: str, thread_count: int) -> xgb.Booster:
    """Inverse of :func:`booster_to_text`; raises ``xgboost.core.XGBoostError`` or ``ValueError`` on bad input."""
    booster = xgb.Booster()
    booster.load_model(bytearray(base64.b64decode(text)))
    booster.set_param({"nthread": thread_count})
    return booster
