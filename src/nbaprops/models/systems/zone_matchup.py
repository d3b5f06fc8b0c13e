"""Zone matchup: recent scoring adjusted by how the opponent defends the player's shot zones.

The old zone matchup system applied one overall defensive rating to every zone with hand-set
multipliers (``docs/systems.md``, "zone_matchup"). Here each zone uses the opponent's *zone-level* FG% allowed
versus league (``opp_*_fg_pct_vs_league``), weighted by the player's share of attempts there, and
the size of every effect is learned by ridge regression of ``pts - base`` where
``base = points_avg_last_10`` (season average when L10 is missing).

Terms (each scaled by ``base`` so that a 30-point scorer moves more than a 5-point one):

* ``paint``  = base * pct_paint * opp_paint_fg_pct_vs_league
* ``mid``    = base * pct_mid_range * opp_mid_fg_pct_vs_league
* ``three``  = base * pct_three * opp_three_fg_pct_vs_league
* ``ft``     = base * pct_free_throw * (opp_points_allowed_avg / league mean - 1)
* ``pace``   = base * ((team_pace + opponent_pace) / 2 / team_pace - 1)  (expected pace change)
* ``home``   = is_home - 0.5
* ``revert`` = points_avg_season - base  (regression of a hot/cold L10 toward the season)

A term whose inputs are missing is set to its training mean, i.e. it contributes the average
adjustment and no matchup-specific one.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.linear_model import Ridge

from nbaprops.errors import ModelError
from nbaprops.models.systems.base import FloatArray, PointsSystem, chronological_split, numeric_column

__all__ = ["ZONE_TERMS", "ZoneMatchupSystem"]

ZONE_TERMS: tuple[str, ...] = ("paint", "mid", "three", "ft", "pace", "home", "revert")


class ZoneMatchupSystem(PointsSystem):
    """Base scoring plus a learned zone-defence, pace, venue and mean-reversion adjustment.

    Args:
        alpha: Ridge penalty on the standardised terms.
        holdout_frac: Share of the latest training dates held out to learn the spread (the
            coefficients are then refitted on all rows).
        family: Spread family: ``'normal'``, ``'negbin'``, ``'poisson'`` or ``'auto'`` (per market:
            ``distribution_family``).
    """

    system_id: ClassVar[str] = "zone_matchup"
    required_columns: ClassVar[tuple[str, ...]] = (
        "game_date", "is_home", "points_avg_last_10", "points_avg_season",
        "pct_paint", "pct_mid_range", "pct_three", "pct_free_throw", "opponent_pace", "team_pace",
        "opp_paint_fg_pct_vs_league", "opp_mid_fg_pct_vs_league", "opp_three_fg_pct_vs_league",
        "opp_points_allowed_avg",
    )

    ppa_center_: float
    term_mean_: FloatArray
    term_scale_: FloatArray
    coef_: FloatArray
    intercept_: float

    def __init__(self, alpha: float = 10.0, holdout_frac: float = 0.15, family: str = "auto") -> None:
        self.alpha = alpha
        self.holdout_frac = holdout_frac
        self.family = family

    @staticmethod
    def _base(X: pd.DataFrame) -> FloatArray:
        l10 = numeric_column(X, "points_avg_last_10")
        season = numeric_column(X, "points_avg_season")
        return np.where(np.isfinite(l10), l10, season)

    def _terms(self, X: pd.DataFrame, base: FloatArray, ppa_center: float) -> FloatArray:
        col = lambda name: numeric_column(X, name)  # noqa: E731
        team_pace = col("team_pace")
        with np.errstate(invalid="ignore", divide="ignore"):
            pace_change = np.where(team_pace > 0, (team_pace + col("opponent_pace")) / 2.0 / team_pace - 1.0,
                                   np.nan)
            ppa_rel = col("opp_points_allowed_avg") / ppa_center - 1.0
        season = col("points_avg_season")
        terms = np.column_stack([
            base * col("pct_paint") * col("opp_paint_fg_pct_vs_league"),
            base * col("pct_mid_range") * col("opp_mid_fg_pct_vs_league"),
            base * col("pct_three") * col("opp_three_fg_pct_vs_league"),
            base * col("pct_free_throw") * ppa_rel,
            base * pace_change,
            col("is_home") - 0.5,
            np.where(np.isfinite(season), season - base, 0.0),
        ])
        terms[~np.isfinite(terms)] = np.nan
        return terms

    def _standardise(self, terms: FloatArray, mean: FloatArray, scale: FloatArray) -> FloatArray:
        filled = np.where(np.isfinite(terms), terms, mean[None, :])
        return (filled - mean[None, :]) / scale[None, :]

    def _fit_params(self, X: pd.DataFrame, y: FloatArray) -> tuple[float, FloatArray, FloatArray, FloatArray, float]:
        base = self._base(X)
        ok = np.isfinite(base)
        if int(ok.sum()) < 10:
            raise ModelError("zone_matchup: too few rows with a scoring base to fit")
        ppa = numeric_column(X, "opp_points_allowed_avg")
        ppa_center = float(np.nanmean(ppa)) if np.isfinite(ppa).any() else 110.0
        terms = self._terms(X.loc[ok], base[ok], ppa_center)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-missing term: handled below
            mean = np.nan_to_num(np.nanmean(terms, axis=0))
            scale = np.nanstd(terms, axis=0)
        scale = np.where(np.isfinite(scale) & (scale > 1e-9), scale, 1.0)
        z = self._standardise(terms, mean, scale)
        ridge = Ridge(alpha=self.alpha)
        ridge.fit(z, y[ok] - base[ok])
        return (ppa_center, np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64),
                np.asarray(ridge.coef_, dtype=np.float64), float(ridge.intercept_))

    def _apply(self, X: pd.DataFrame, params: tuple[float, FloatArray, FloatArray, FloatArray, float]) -> FloatArray:
        ppa_center, mean, scale, coef, intercept = params
        base = self._base(X)
        z = self._standardise(self._terms(X, base, ppa_center), mean, scale)
        # row-wise (not a BLAS product): the same row gives the same bits in any batch (discrete.py)
        return np.asarray(base + intercept + (z * coef).sum(axis=1), dtype=np.float64)

    def fit(self, X: pd.DataFrame, y: pd.Series | npt.ArrayLike) -> Self:
        """Learn the adjustment coefficients and the spread.

        Args:
            X: Training rows.
            y: Actual points.

        Returns:
            ``self``.
        """
        X, yy = self._prepare_xy(X, y)
        train, hold = chronological_split(X["game_date"], self.holdout_frac)
        holdout_params = self._fit_params(X.loc[train].reset_index(drop=True), yy[train])
        spread_mean = self._apply(X.loc[hold].reset_index(drop=True), holdout_params)
        (self.ppa_center_, self.term_mean_, self.term_scale_, self.coef_,
         self.intercept_) = self._fit_params(X, yy)
        self._finish_fit(X=X, spread_mean=spread_mean, spread_y=yy[hold], feature_names=list(ZONE_TERMS),
                         family=self.family, extra_info={"n_holdout": int(hold.sum())})
        return self

    def _predict_mean(self, X: pd.DataFrame) -> FloatArray:
        return self._apply(X, (self.ppa_center_, self.term_mean_, self.term_scale_, self.coef_,
                               self.intercept_))

    def _learned_to_json(self) -> dict[str, Any]:
        return {
            "ppa_center": self.ppa_center_,
            "intercept": self.intercept_,
            "terms": {t: {"mean": float(m), "scale": float(s), "coef": float(c)}
                      for t, m, s, c in zip(ZONE_TERMS, self.term_mean_, self.term_scale_, self.coef_,
                                            strict=True)},
        }

    def _learned_from_json(self, data: Mapping[str, Any]) -> None:
        self.ppa_center_ = float(data["ppa_center"])
        self.intercept_ = float(data["intercept"])
        terms = data["terms"]
        self.term_mean_ = np.array([float(terms[t]["mean"]) for t in ZONE_TERMS])
        self.term_scale_ = np.array([float(terms[t]["scale"]) for t in ZONE_TERMS])
        self.coef_ = np.array([float(terms[t]["coef"]) for t in ZONE_TERMS])
