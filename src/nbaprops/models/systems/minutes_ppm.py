"""Minutes times points-per-minute: points composed from a minutes distribution and a scoring rate.

``points = minutes x ppm``, where

* minutes follow the :class:`~nbaprops.models.systems.minutes_model.MinutesModel` mixture (a small-role mass below
  10 minutes and a truncated normal for a real role), from point-in-time role, rest and availability
  features;
* ``ppm`` starts from the player's points per minute over his last 10 games (``ppm_avg_last_10``)
  shrunk towards the league's rate by the minutes behind it:
  ``ppm0 = (ppm_l10 * M + k * ppm_league) / (M + k)`` with ``M = minutes_avg_last_10 *
  min(10, games_played_season)`` and ``k`` (minutes of prior weight) learned; a shallow booster then
  predicts the game's rate (points / minutes, weighted by minutes) from ``ppm0`` and the scoring,
  matchup and (v3) usage-vacated features (:data:`PPM_INPUTS`), so a scorer's rate moves with the
  opponent and with the shots his absent teammates leave; the rate is NaN where ``ppm_avg_last_10``
  is;
* given ``m`` minutes, points are a rounded normal with mean ``ppm * m`` and variance
  ``v1 * ppm * m + v2 * (ppm * m)^2`` (``v1, v2 >= 0`` learned on the training rows' actual minutes).

The predictive distribution is the mixture of those over the one-minute cells of the minutes
distribution (:class:`~nbaprops.models.systems.discrete.DiscretePointsDistribution`), so a bench
player who may play 4 minutes or 20 gets a P(over) that counts the 4-minute games, where a normal
around his mean would not.

Feature version: with rows of ``v2_33features`` (the served version) the minutes model reads the
v2 role, rest and form features; trained with ``feature_version='v3_availability'`` (``nbaprops train
--feature-version v3_availability``) it also reads the availability features. It reads no line or
price, so its model-only forecast is itself.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
import xgboost as xgb
from scipy.optimize import nnls
from scipy.special import ndtr

import nbaprops.models.systems.minutes_model as minutes_model
from nbaprops.errors import InputError, MissingColumnsError, ModelError
from nbaprops.features.definitions import CONTEXT_COLUMNS, FEATURE_VERSIONS, FEATURES_V2
from nbaprops.models.boosters import booster_from_text, booster_to_text, predict_booster, train_booster
from nbaprops.models.systems.base import (
    BoolArray,
    FloatArray,
    PointsSystem,
    chronological_split,
    numeric_column,
)
from nbaprops.models.systems.discrete import MAX_POINTS, DiscretePointsDistribution

__all__ = ["PPM_INPUTS", "RATE_COLUMNS", "MinutesPpmSystem", "ppm_inputs"]

#: Columns the shrunk rate needs.
RATE_COLUMNS: tuple[str, ...] = ("ppm_avg_last_10", "minutes_avg_last_10", "games_played_season")
#: Inputs of the rate booster besides the shrunk rate, where the rows' feature version has them.
PPM_INPUTS: tuple[str, ...] = (
    "ppm_avg_last_10", "minutes_avg_last_10", "points_avg_last_5", "points_avg_last_10", "points_avg_season",
    "points_std_last_10", "usage_spike_score", "recent_trend", "opponent_def_rating", "opponent_pace", "team_pace",
    "team_off_rating", "pace_score", "shot_zone_mismatch_score", "pct_paint", "pct_mid_range", "pct_three",
    "pct_free_throw", "home_away", "back_to_back", "playoff_game", "avg_points_vs_opponent", "games_vs_opponent",
    "fga_share_last_10", "teammates_out", "vacated_fga_share", "vacated_points_share", "starters_missing",
    "opp_players_out", "opp_vacated_points_share", "games_played_season",
)
_SHRUNK = "ppm_shrunk"
#: Games shorter than this are left out of the rate's fit (a 1-minute rate is noise).
_RATE_MIN_MINUTES = 3.0
NATIVE_FILE = "minutes_model.json"
_K_GRID: tuple[float, ...] = (0.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0)
_MIN_POINT_SD = 0.5


def ppm_inputs(feature_version: str | None) -> tuple[str, ...]:
    """The rate booster's inputs for rows of ``feature_version`` (``None``: the v2 ones)."""
    names = set(FEATURE_VERSIONS[feature_version] if feature_version else FEATURES_V2) | set(CONTEXT_COLUMNS)
    return (_SHRUNK, *(f for f in PPM_INPUTS if f in names))


class MinutesPpmSystem(PointsSystem):
    """Points = minutes (a learned distribution) x shrunk points per minute; see the module docstring.

    Args:
        holdout_frac: Share of the latest training dates held out (early stopping of the minutes
            model, the spread fallback).
        thread_count: CPU threads of the boosters (one by default: see ``nbaprops.models.boosters``).
        random_state: Seed.
        feature_version: Feature version of the rows (``None``: the served v2 inputs); with
            ``'v3_availability'`` the minutes model reads the availability features too.
    """

    system_id: ClassVar[str] = "minutes_ppm"
    required_columns: ClassVar[tuple[str, ...]] = (*RATE_COLUMNS, "game_date")

    minutes_: minutes_model.MinutesModel
    ppm_prior_: float
    ppm_k_: float
    var_coef_: FloatArray
    rate_booster_: xgb.Booster

    def __init__(self, holdout_frac: float = 0.15, thread_count: int = 1, random_state: int = 42,
                 feature_version: str | None = None) -> None:
        if feature_version is not None and feature_version not in FEATURE_VERSIONS:
            raise InputError(f"unknown feature version {feature_version!r}; known: {sorted(FEATURE_VERSIONS)}",
                             field="feature_version")
        self.holdout_frac = holdout_frac
        self.thread_count = thread_count
        self.random_state = random_state
        self.feature_version = feature_version

    @property
    def input_features(self) -> tuple[str, ...]:
        """Every column the system reads (the minutes model's inputs, then the rate's)."""
        names = minutes_model.minutes_inputs(self.feature_version)
        rate = tuple(c for c in (*RATE_COLUMNS, *ppm_inputs(self.feature_version)) if c != _SHRUNK)
        return (*names, *dict.fromkeys(c for c in rate if c not in names))

    def _check_columns(self, X: pd.DataFrame) -> None:
        names = self.feature_names_ if hasattr(self, "feature_names_") else self.input_features
        missing = [c for c in (*names, "game_date") if c not in X.columns]
        if missing:
            raise MissingColumnsError(f"{self.system_id} needs columns {missing}", field=missing[0])

    # ---------------------------------------------------------------- points per minute
    @staticmethod
    def _rate_parts(X: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
        ppm = numeric_column(X, "ppm_avg_last_10")
        games = np.clip(np.nan_to_num(numeric_column(X, "games_played_season"), nan=10.0), 1.0, 10.0)
        behind = numeric_column(X, "minutes_avg_last_10") * games
        return ppm, np.where(np.isfinite(behind), np.clip(behind, 0.0, None), 0.0)

    @staticmethod
    def _shrunk(ppm: FloatArray, behind: FloatArray, prior: float, k: float) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (ppm * behind + k * prior) / (behind + k)
        return np.where(behind + k > 0, out, ppm)

    def _rate_frame(self, X: pd.DataFrame) -> tuple[pd.DataFrame, FloatArray]:
        ppm, behind = self._rate_parts(X)
        shrunk = self._shrunk(ppm, behind, self.ppm_prior_, self.ppm_k_)
        names = ppm_inputs(self.feature_version)
        feats = pd.DataFrame({c: shrunk if c == _SHRUNK else numeric_column(X, c) for c in names}, columns=list(names))
        return feats, shrunk

    def rate(self, X: pd.DataFrame) -> FloatArray:
        """The predicted points per minute of each row (NaN where ``ppm_avg_last_10`` is missing)."""
        feats, shrunk = self._rate_frame(X)
        out = np.clip(predict_booster(self.rate_booster_, feats), 0.0, None)
        return np.where(np.isfinite(shrunk), out, np.nan)

    def _fit_rate(self, X: pd.DataFrame, pts: FloatArray, mins: FloatArray, train: BoolArray, hold: BoolArray) -> None:
        ppm, behind = self._rate_parts(X)
        ok = np.isfinite(ppm) & np.isfinite(pts) & np.isfinite(mins) & (mins >= _RATE_MIN_MINUTES)
        if int((ok & train).sum()) < 50 or int((ok & hold).sum()) < 10:
            raise ModelError("minutes_ppm: too few rows with a points-per-minute history to fit")
        fit = ok & train
        self.ppm_prior_ = float(pts[fit].sum() / mins[fit].sum())
        errors = {k: float(np.mean((pts[fit] - self._shrunk(ppm[fit], behind[fit], self.ppm_prior_, k) * mins[fit])
                                   ** 2)) for k in _K_GRID}
        self.ppm_k_ = min(errors, key=lambda k: errors[k])
        feats, _ = self._rate_frame(X)
        with np.errstate(invalid="ignore", divide="ignore"):
            target = np.where(ok, pts / mins, np.nan)
        self.rate_booster_ = train_booster("reg:squarederror", feats, target, fit, ok & hold, weight=mins,
                                           thread_count=self.thread_count, random_state=self.random_state)
        mu = self.rate(X.loc[fit].reset_index(drop=True)) * mins[fit]
        coef, _ = nnls(np.column_stack([mu, mu**2]), (pts[fit] - mu) ** 2)
        self.var_coef_ = np.asarray(coef, dtype=np.float64)

    # ---------------------------------------------------------------- fit / predict
    def fit(self, X: pd.DataFrame, y: pd.Series | npt.ArrayLike) -> Self:
        """Learn the minutes model, the rate's shrinkage and the points-given-minutes spread.

        Args:
            X: Training rows (played games) with ``actual_minutes`` beside the features.
            y: Actual points.

        Returns:
            ``self``.
        """
        X, yy = self._prepare_xy(X, y)
        if "actual_minutes" not in X.columns:
            raise MissingColumnsError("minutes_ppm trains on the minutes played: X needs actual_minutes",
                                      field="actual_minutes")
        mins = numeric_column(X, "actual_minutes")
        train, hold = chronological_split(X["game_date"], self.holdout_frac)
        names = minutes_model.minutes_inputs(self.feature_version)
        self.minutes_ = minutes_model.MinutesModel(names, thread_count=self.thread_count,
                                                   random_state=self.random_state)
        self.minutes_.fit(X, mins, holdout_frac=self.holdout_frac)
        self._fit_rate(X, yy, mins, train, hold)
        hold_rows = X.loc[hold].reset_index(drop=True)
        spread_mean = self._table(hold_rows).mean
        m_hold = self.minutes_.predict(hold_rows).mean
        ok = np.isfinite(m_hold) & np.isfinite(mins[hold])
        self._finish_fit(X=X, spread_mean=spread_mean, spread_y=yy[hold], feature_names=list(self.input_features),
                         family="normal", extra_info={
                             "n_holdout": int(hold.sum()),
                             "holdout_minutes_mae": float(np.mean(np.abs(m_hold[ok] - mins[hold][ok]))),
                             "ppm_prior": self.ppm_prior_, "ppm_k": self.ppm_k_})
        return self

    def _table(self, X: pd.DataFrame) -> DiscretePointsDistribution:
        """The mixture over the minutes cells, for every row (no scoring-history masking)."""
        n = len(X)
        rate = self.rate(X)
        mdist = self.minutes_.predict(X)
        edges = np.arange(MAX_POINTS, dtype=np.float64) + 0.5           # P(X <= k) = Phi((k + .5 - mu) / sd)
        safe_rate = np.nan_to_num(rate, nan=0.0)
        v1, v2 = (float(v) for v in self.var_coef_)
        mixed_cdf = np.zeros((n, MAX_POINTS))      # the mixture's CDF is the weighted sum of the cells' CDFs
        for g, m in enumerate(minutes_model.MINUTE_GRID):
            w = mdist.weights[:, g]
            used = w > 1e-9                      # a cell no row can reach adds nothing
            if not used.any():
                continue
            mu = safe_rate[used] * m
            sd = np.maximum(np.sqrt(v1 * mu + v2 * mu**2), _MIN_POINT_SD)
            mixed_cdf[used] += w[used, None] * ndtr((edges[None, :] - mu[:, None]) / sd[:, None])
        table = np.diff(np.concatenate([np.zeros((n, 1)), mixed_cdf, np.ones((n, 1))], axis=1), axis=1)
        table[~(np.isfinite(rate) & mdist.valid)] = np.nan
        return DiscretePointsDistribution(table)

    def _masked(self, X: pd.DataFrame) -> DiscretePointsDistribution:
        self._check_fitted()
        self._check_columns(X)
        dist = self._table(X)
        if self.requires_scoring_history:
            gone = ~self._has_scoring_history(X)
            if gone.any():
                table = dist.table.copy()
                table[gone] = np.nan
                dist = DiscretePointsDistribution(table)
        return dist

    def _predict_mean(self, X: pd.DataFrame) -> FloatArray:
        return self._masked(X).mean

    def predict_distribution(self, X: pd.DataFrame) -> DiscretePointsDistribution:  # type: ignore[override]
        """The mixture over minutes of each row (see the module docstring); NaN rows where
        :meth:`predict` is NaN."""
        return self._masked(X)

    def predict_minutes(self, X: pd.DataFrame) -> minutes_model.MinutesDistribution:
        """The minutes distribution the points are composed from."""
        self._check_fitted()
        self._check_columns(X)
        return self.minutes_.predict(X)

    # ---------------------------------------------------------------- persistence
    def _learned_to_json(self) -> dict[str, Any]:
        return {"ppm_prior": self.ppm_prior_, "ppm_k": self.ppm_k_,
                "var_coef": [float(v) for v in self.var_coef_]}

    def _learned_from_json(self, data: Mapping[str, Any]) -> None:
        self.ppm_prior_ = float(data["ppm_prior"])
        self.ppm_k_ = float(data["ppm_k"])
        self.var_coef_ = np.asarray([float(v) for v in data["var_coef"]], dtype=np.float64)
        if self.var_coef_.shape != (2,) or not math.isfinite(self.ppm_prior_):
            raise ModelError("minutes_ppm: malformed learned parameters")

    def _native_json(self) -> dict[str, Any]:
        return {"minutes": self.minutes_.to_json(), "rate_booster": booster_to_text(self.rate_booster_)}

    def _native_bytes(self) -> bytes:
        return json.dumps(self._native_json(), sort_keys=True).encode()

    def _save_native(self, directory: Path) -> str:
        (directory / NATIVE_FILE).write_text(json.dumps(self._native_json()), encoding="utf-8")
        return NATIVE_FILE

    def _load_native(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read the minutes model {path}: {exc}") from exc
        self.minutes_ = minutes_model.MinutesModel.from_json(data.get("minutes", {}))
        try:
            self.rate_booster_ = booster_from_text(str(data["rate_booster"]), self.thread_count)
        except (KeyError, ValueError, xgb.core.XGBoostError) as exc:
            raise ModelError(f"unreadable rate booster in {path}: {exc}") from exc
