"""Minutes model: a predictive *distribution* of a player's minutes, from point-in-time features.

A player who appears in a game (a DNP voids a prop, so every training row and every graded bet is a
game he played) either has a real role or a small one: garbage time, a short stint, an early exit.
The model is a two-part mixture:

* ``P(low)``: the probability of a small role, minutes < :data:`LOW_MINUTES`, by a gradient-boosted
  classifier (XGBoost, ``binary:logistic``);
* when he has a role: a normal truncated to [:data:`LOW_MINUTES`, :data:`MAX_MINUTES`] with a mean
  and a standard deviation from two boosted regressors (minutes, and the absolute residual of the
  minutes; E|r| = sd * sqrt(2 / pi) for a normal);
* the small-role minutes follow the training rows' own histogram below :data:`LOW_MINUTES`.

Inputs: only point-in-time features (every feature of a game on D comes from games before D): the
v2 role, rest and form features (:data:`MINUTES_INPUTS`), plus the availability features
(:data:`~nbaprops.features.definitions.AVAILABILITY_FEATURES`) when the rows are in a feature
version that has them (``v3_availability``). No line or price is read. Missing values stay NaN
(XGBoost routes them), nothing is imputed.

No game spread or total exists in the warehouse or in ``../shared/data`` (the line files hold player
props only), so blowout risk is not an input; a game-line source would add it here.

Persistence: the three boosters are bundled into one JSON document (:meth:`MinutesModel.to_json`)
written by the owning system next to its ``params.json``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
import xgboost as xgb
from scipy.special import ndtr

from nbaprops.errors import InputError, ModelError
from nbaprops.features.definitions import (
    AVAILABILITY_FEATURES,
    CONTEXT_COLUMNS,
    FEATURE_VERSIONS,
    MARKET_FEATURES,
)
from nbaprops.models.boosters import booster_from_text, booster_to_text, predict_booster, train_booster
from nbaprops.models.systems.base import FloatArray, chronological_split, numeric_column

__all__ = ["LOW_MINUTES", "MAX_MINUTES", "MINUTE_GRID", "MINUTES_INPUTS", "MinutesDistribution", "MinutesModel",
           "minutes_inputs"]

#: Below this many minutes a game is a "small role" (the low component of the mixture).
LOW_MINUTES = 10.0
#: Upper end of the minutes support (48 + an overtime).
MAX_MINUTES = 53.0
#: Mid-points of the one-minute cells the distribution is discretised on: 0.5, 1.5, ..., 52.5.
MINUTE_GRID: FloatArray = np.arange(0.5, MAX_MINUTES, 1.0)
_LOW_CELLS = int(LOW_MINUTES)

#: Role, rest and form inputs of the v2 feature store (and two context columns) the model reads.
MINUTES_INPUTS: tuple[str, ...] = (
    "minutes_avg_last_10", "minutes_change", "points_avg_last_5", "points_avg_last_10", "points_avg_season",
    "points_std_last_10", "usage_spike_score", "recent_trend", "games_in_last_7_days", "fatigue_score",
    "back_to_back", "rest_advantage", "home_away", "playoff_game", "team_win_pct", "days_rest",
    "games_played_season",
)


def minutes_inputs(feature_version: str | None) -> tuple[str, ...]:
    """The minutes model's inputs for rows of ``feature_version`` (``None``: the v2 inputs only).

    Raises:
        InputError: If the version is unknown.
    """
    if feature_version is None:
        return MINUTES_INPUTS
    if feature_version not in FEATURE_VERSIONS:
        raise InputError(f"unknown feature version {feature_version!r}; known: {sorted(FEATURE_VERSIONS)}",
                         field="feature_version")
    names = set(FEATURE_VERSIONS[feature_version]) | set(CONTEXT_COLUMNS)
    out = tuple(f for f in (*MINUTES_INPUTS, *AVAILABILITY_FEATURES) if f in names)
    assert not set(out) & MARKET_FEATURES
    return out


@dataclass(frozen=True)
class MinutesDistribution:
    """Predicted minutes per row, as weights on :data:`MINUTE_GRID` (rows sum to 1; NaN rows invalid).

    Attributes:
        weights: ``(n, len(MINUTE_GRID))`` probability of each one-minute cell.
        p_low: P(minutes < LOW_MINUTES) per row.
    """

    weights: FloatArray
    p_low: FloatArray

    @property
    def valid(self) -> npt.NDArray[np.bool_]:
        """Rows with a distribution."""
        return np.asarray(np.isfinite(self.weights).all(axis=1), dtype=np.bool_)

    @property
    def mean(self) -> FloatArray:
        """Expected minutes."""
        # row-wise (not a BLAS product): the same row gives the same bits in any batch (discrete.py)
        return np.asarray((self.weights * MINUTE_GRID).sum(axis=1), dtype=np.float64)

    def quantile(self, q: float) -> FloatArray:
        """The ``q`` quantile of minutes (linear within a one-minute cell)."""
        cum = np.cumsum(self.weights, axis=1)
        out = np.full(len(self.weights), np.nan)
        ok = self.valid
        idx = np.clip((cum[ok] < q).sum(axis=1), 0, len(MINUTE_GRID) - 1)
        rows = np.arange(int(ok.sum()))
        before = np.where(idx > 0, cum[ok][rows, np.maximum(idx - 1, 0)], 0.0)
        cell = self.weights[ok][rows, idx]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(cell > 0, (q - before) / cell, 0.5)
        out[ok] = idx + np.clip(frac, 0.0, 1.0)
        return out


class MinutesModel:
    """Two-part mixture of minutes (see the module docstring).

    Args:
        inputs: Feature names read (in order).
        thread_count: CPU threads of the boosters.
        random_state: Seed.
        max_rounds: Upper bound on trees per booster (early stopping on the latest dates picks it).
    """

    def __init__(self, inputs: Sequence[str] = MINUTES_INPUTS, *, thread_count: int = 1, random_state: int = 42,
                 max_rounds: int = 400) -> None:
        self.inputs = tuple(inputs)
        self.thread_count = thread_count
        self.random_state = random_state
        self.max_rounds = max_rounds
        self.boosters: dict[str, xgb.Booster] = {}
        self.low_hist: FloatArray = np.zeros(_LOW_CELLS)
        self.sd_factor = 1.0

    # ---------------------------------------------------------------- fit
    def _matrix(self, X: pd.DataFrame) -> pd.DataFrame:
        missing = [c for c in self.inputs if c not in X.columns]
        if missing:
            raise InputError(f"the minutes model needs columns {missing}", field=missing[0])
        return pd.DataFrame({c: numeric_column(X, c) for c in self.inputs}, columns=list(self.inputs))

    def _train(self, name: str, objective: str, feats: pd.DataFrame, y: FloatArray, fit: npt.NDArray[np.bool_],
               hold: npt.NDArray[np.bool_]) -> None:
        self.boosters[name] = train_booster(objective, feats, y, fit, hold, thread_count=self.thread_count,
                                            random_state=self.random_state, max_rounds=self.max_rounds)

    def fit(self, X: pd.DataFrame, minutes: npt.ArrayLike, *, holdout_frac: float = 0.15) -> Self:
        """Learn the mixture from played games (``minutes`` > 0) and their features.

        Args:
            X: Feature rows with ``game_date``.
            minutes: Minutes played in each row's game.
            holdout_frac: Latest share of dates used for early stopping (then part of nothing else).

        Returns:
            ``self``.

        Raises:
            ModelError: Too few rows, or no rows of one of the two roles.
        """
        mins = np.asarray(minutes, dtype=np.float64)
        keep = np.isfinite(mins) & (mins > 0)
        if int(keep.sum()) < 200:
            raise ModelError(f"the minutes model needs at least 200 played games, got {int(keep.sum())}")
        X = X.loc[keep].reset_index(drop=True)
        mins = np.clip(mins[keep], 0.0, MAX_MINUTES - 1e-6)
        feats = self._matrix(X)
        train, hold = chronological_split(X["game_date"], holdout_frac)
        low = (mins < LOW_MINUTES).astype(np.float64)
        if low.min() == low.max():
            raise ModelError("the minutes model needs games of both small and real roles")
        self._train("low", "binary:logistic", feats, low, train, hold)
        role = mins >= LOW_MINUTES
        self._train("mean", "reg:squarederror", feats, mins, train & role, hold & role)
        resid = np.abs(mins - self._raw("mean", feats))
        self._train("abs_resid", "reg:squarederror", feats, resid, train & role, hold & role)
        # in-sample residuals are optimistic: rescale the spread to the held-out rows' own residuals
        pred_hold = self._raw("abs_resid", feats.loc[hold & role])
        self.sd_factor = float(np.mean(resid[hold & role]) / max(float(np.mean(pred_hold)), 1e-6))
        counts = np.bincount(np.floor(mins[~role]).astype(np.int64), minlength=_LOW_CELLS)[:_LOW_CELLS]
        self.low_hist = np.asarray((counts + 1.0) / (counts.sum() + _LOW_CELLS), dtype=np.float64)
        return self

    # ---------------------------------------------------------------- predict
    def _raw(self, name: str, feats: pd.DataFrame) -> FloatArray:
        return predict_booster(self.boosters[name], feats)

    def predict(self, X: pd.DataFrame) -> MinutesDistribution:
        """The predicted minutes distribution of each row.

        Args:
            X: Feature rows (every input column present; values may be NaN).

        Returns:
            The :class:`MinutesDistribution`.
        """
        if not self.boosters:
            raise ModelError("the minutes model is not fitted")
        feats = self._matrix(X)
        p_low = np.clip(self._raw("low", feats), 1e-4, 1.0 - 1e-4)
        mean = np.clip(self._raw("mean", feats), LOW_MINUTES, MAX_MINUTES)
        sd = np.maximum(self._raw("abs_resid", feats) * self.sd_factor * math.sqrt(math.pi / 2.0), 1.0)
        edges = np.arange(LOW_MINUTES, MAX_MINUTES + 1.0, 1.0)               # the role cells' edges
        z = ndtr((edges[None, :] - mean[:, None]) / sd[:, None])
        cells = np.diff(z, axis=1)
        total = cells.sum(axis=1, keepdims=True)
        role = np.where(total > 1e-12, cells / np.maximum(total, 1e-12), 0.0)
        weights = np.concatenate([p_low[:, None] * self.low_hist[None, :], (1.0 - p_low)[:, None] * role], axis=1)
        weights /= weights.sum(axis=1, keepdims=True)
        return MinutesDistribution(weights=np.asarray(weights, dtype=np.float64), p_low=p_low)

    # ---------------------------------------------------------------- persistence
    def to_json(self) -> dict[str, Any]:
        """JSON-ready form: inputs, settings, the small-role histogram and the boosters (UBJSON, base64)."""
        return {
            "inputs": list(self.inputs), "thread_count": self.thread_count, "random_state": self.random_state,
            "max_rounds": self.max_rounds, "low_minutes": LOW_MINUTES, "low_hist": [float(v) for v in self.low_hist],
            "sd_factor": self.sd_factor,
            "boosters": {k: booster_to_text(b) for k, b in sorted(self.boosters.items())},
        }

    def digest_bytes(self) -> bytes:
        """Bytes identifying the learned model (for the owning system's model version)."""
        return json.dumps(self.to_json(), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MinutesModel:
        """Inverse of :meth:`to_json`.

        Raises:
            ModelError: If the document is not a minutes model of this version.
        """
        try:
            if float(data["low_minutes"]) != LOW_MINUTES:
                raise ModelError(f"saved minutes model uses a low role of {data['low_minutes']} minutes, "
                                 f"this code {LOW_MINUTES}")
            model = cls(tuple(data["inputs"]), thread_count=int(data["thread_count"]),
                        random_state=int(data["random_state"]), max_rounds=int(data["max_rounds"]))
            model.low_hist = np.asarray(data["low_hist"], dtype=np.float64)
            model.sd_factor = float(data["sd_factor"])
            for name, raw in data["boosters"].items():
                model.boosters[name] = booster_from_text(raw, model.thread_count)
        except (KeyError, TypeError, ValueError, xgb.core.XGBoostError) as exc:
            raise ModelError(f"unreadable minutes model: {exc}") from exc
        if set(model.boosters) != {"low", "mean", "abs_resid"}:
            raise ModelError(f"saved minutes model has boosters {sorted(model.boosters)}")
        return model
