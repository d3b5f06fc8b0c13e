"""Similarity: the player's own most similar past games, on real (not fabricated) context.

The old similarity system scored history on an opponent tier that was always "average",
``is_home`` always True and a rest value taken from the *next* game (``docs/systems.md``,
"similarity"). Here each past game carries its real context and the distance between the game to predict
and a past game is::

    d² = ((def_rating - past_def_rating) / def_rating_scale)²
       + ((min(rest, rest_cap) - min(past_rest, rest_cap)) / rest_scale)²
       + home_weight * [is_home != past_is_home]
       + (days between the two games / recency_days)²

(a missing component counts as one unit of mismatch). Only history rows with
``game_date < the row's game_date`` and within ``lookback_days`` are eligible — enforced per row.
The ``n_neighbors`` nearest games give a weighted mean of points (weights 1 / (1 + d²)), which is
blended with ``points_avg_last_10`` by the number of neighbours found ``n``::

    prediction = λ · neighbour_mean + (1 - λ) · points_avg_last_10,   λ = n / (n + shrink_)

where ``shrink_`` is learned on training rows. Fewer than ``min_games`` eligible past games gives
NaN (no prediction).

History is data, not a learned parameter: it is given to :meth:`SimilaritySystem.fit` or
:meth:`SimilaritySystem.set_history` and is not saved with the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from nbaprops.errors import ModelError
from nbaprops.models.systems.base import (
    FloatArray,
    PointsSystem,
    chronological_split,
    day_index,
    numeric_column,
    validate_history,
)

__all__ = ["SimilaritySystem"]

_MAX_CELLS = 2_000_000  # rows x history cells per vectorised block (memory bound)


def _player_key(ids: pd.Series) -> npt.NDArray[np.object_]:
    """Comparable player keys whether ids arrive as int, float, nullable int or string."""
    numeric = pd.to_numeric(ids, errors="coerce")
    if numeric.notna().all() and bool((numeric == np.round(numeric)).all()):
        return np.asarray(numeric.astype("int64").astype(str).to_numpy(), dtype=object)
    return np.asarray(ids.astype(str).to_numpy(), dtype=object)


class SimilaritySystem(PointsSystem):
    """K nearest past games of the same player, blended with the L10 average.

    Args:
        n_neighbors: Neighbours used (K).
        min_games: Fewest eligible past games for a prediction.
        lookback_days: Oldest eligible past game, in days before the row's date.
        def_rating_scale: Opponent defensive-rating difference worth one unit of distance.
        rest_cap: Days of rest above which rest is treated as equal.
        rest_scale: Rest difference (days) worth one unit of distance.
        home_weight: Squared-distance penalty for a venue mismatch.
        recency_days: Age difference worth one unit of distance.
        blend_grid: Candidate values of the shrinkage ``shrink_`` searched during fit.
        holdout_frac: Share of the latest training dates held out to learn the spread.
        family: Spread family: ``'normal'``, ``'negbin'``, ``'poisson'`` or ``'auto'`` (per market:
            ``distribution_family``).
    """

    system_id: ClassVar[str] = "similarity"
    required_columns: ClassVar[tuple[str, ...]] = (
        "player_id", "game_date", "is_home", "days_rest", "opponent_def_rating", "points_avg_last_10",
    )

    #: Past games (even of an earlier season) suffice: a player's first game of a season, with no
    #: season averages yet, is predicted from his >= min_games earlier games.
    requires_scoring_history: ClassVar[bool] = False

    shrink_: float
    history_: pd.DataFrame

    def __init__(self, n_neighbors: int = 20, min_games: int = 5, lookback_days: int = 730,
                 def_rating_scale: float = 4.0, rest_cap: float = 3.0, rest_scale: float = 1.0,
                 home_weight: float = 1.0, recency_days: float = 180.0,
                 blend_grid: tuple[float, ...] = (0.0, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 1e6),
                 holdout_frac: float = 0.15, family: str = "auto") -> None:
        self.n_neighbors = n_neighbors
        self.min_games = min_games
        self.lookback_days = lookback_days
        self.def_rating_scale = def_rating_scale
        self.rest_cap = rest_cap
        self.rest_scale = rest_scale
        self.home_weight = home_weight
        self.recency_days = recency_days
        self.blend_grid = blend_grid
        self.holdout_frac = holdout_frac
        self.family = family

    # ---------------------------------------------------------------- history
    def set_history(self, history: pd.DataFrame) -> Self:
        """Give the system the players' past games (needed after :meth:`load`).

        Args:
            history: Past games with columns ``player_id, game_date, pts`` and, for the context
                distance, ``opp_def_rating, days_rest, is_home`` (missing context counts as a
                mismatch).

        Returns:
            ``self``.
        """
        self.history_ = validate_history(history)
        return self

    # ---------------------------------------------------------------- neighbours
    @staticmethod
    def _mismatch(a: FloatArray, b: FloatArray, scale: float) -> FloatArray:
        d = ((a - b) / scale) ** 2
        return np.where(np.isfinite(d), d, 1.0)

    def neighbour_stats(self, X: pd.DataFrame) -> tuple[FloatArray, FloatArray]:
        """Weighted mean points of each row's nearest past games and how many were found.

        Args:
            X: Rows (need ``player_id, game_date, opponent_def_rating, days_rest, is_home``).

        Returns:
            ``(neighbour_mean, n_found)``; ``n_found`` is the count of eligible past games used
            (at most ``n_neighbors``), and ``neighbour_mean`` is NaN when it is below
            ``min_games``.
        """
        if not hasattr(self, "history_"):
            raise ModelError("similarity needs player history: pass history= to fit() or call set_history()")
        hist = self.history_
        n = len(X)
        neigh = np.full(n, np.nan)
        found = np.zeros(n)
        if n == 0 or len(hist) == 0:
            return neigh, found
        row_day = day_index(X["game_date"]).astype(np.float64)
        row_def = numeric_column(X, "opponent_def_rating")
        row_rest = np.minimum(numeric_column(X, "days_rest"), self.rest_cap)
        row_home = numeric_column(X, "is_home")
        h_day = hist["day"].to_numpy(dtype=np.float64)
        h_pts = hist["pts"].to_numpy(dtype=np.float64)
        nan_h = np.full(len(hist), np.nan)
        h_def = numeric_column(hist, "opp_def_rating") if "opp_def_rating" in hist.columns else nan_h
        h_rest = (np.minimum(numeric_column(hist, "days_rest"), self.rest_cap)
                  if "days_rest" in hist.columns else nan_h)
        h_home = numeric_column(hist, "is_home") if "is_home" in hist.columns else nan_h

        hist_groups = hist.groupby(_player_key(hist["player_id"]), sort=False).indices
        row_groups = X.groupby(_player_key(X["player_id"]), sort=False).indices
        k_max = int(self.n_neighbors)
        for pid, ridx in row_groups.items():
            hidx = hist_groups.get(pid)
            if hidx is None or len(hidx) == 0:
                continue
            hd, hp = h_day[hidx], h_pts[hidx]
            hdef, hrest, hhome = h_def[hidx], h_rest[hidx], h_home[hidx]
            block = max(1, _MAX_CELLS // len(hidx))
            for start in range(0, len(ridx), block):
                r = ridx[start:start + block]
                rd = row_day[r][:, None]
                eligible = (hd[None, :] < rd) & (hd[None, :] >= rd - self.lookback_days)
                d2 = (self._mismatch(row_def[r][:, None], hdef[None, :], self.def_rating_scale)
                      + self._mismatch(row_rest[r][:, None], hrest[None, :], self.rest_scale)
                      + self.home_weight * np.where(
                          np.isfinite(row_home[r][:, None]) & np.isfinite(hhome[None, :]),
                          (row_home[r][:, None] != hhome[None, :]).astype(np.float64), 1.0)
                      + ((rd - hd[None, :]) / self.recency_days) ** 2)
                d2 = np.where(eligible, d2, np.inf)
                k = min(k_max, d2.shape[1])
                if d2.shape[1] > k:
                    sel = np.argpartition(d2, k - 1, axis=1)[:, :k]
                else:
                    sel = np.broadcast_to(np.arange(d2.shape[1]), d2.shape)
                sel_d2 = np.take_along_axis(d2, sel, axis=1)
                usable = np.isfinite(sel_d2)
                w = np.where(usable, 1.0 / (1.0 + np.where(usable, sel_d2, 0.0)), 0.0)
                wsum = w.sum(axis=1)
                with np.errstate(invalid="ignore", divide="ignore"):
                    mean = (w * hp[sel]).sum(axis=1) / wsum
                count = usable.sum(axis=1)
                enough = count >= self.min_games
                neigh[r] = np.where(enough, mean, np.nan)
                found[r] = count
        return neigh, found

    @staticmethod
    def _blend(neigh: FloatArray, found: FloatArray, l10: FloatArray, shrink: float) -> FloatArray:
        lam = found / (found + shrink) if shrink > 0 else np.ones_like(found)
        blended = np.where(np.isfinite(l10), lam * neigh + (1.0 - lam) * l10, neigh)
        return np.where(np.isfinite(neigh), blended, np.nan)

    def _best_shrink(self, neigh: FloatArray, found: FloatArray, l10: FloatArray, y: FloatArray) -> float:
        best, best_err = float(self.blend_grid[0]), np.inf
        for shrink in self.blend_grid:
            pred = self._blend(neigh, found, l10, float(shrink))
            ok = np.isfinite(pred)
            if not ok.any():
                continue
            err = float(np.mean((pred[ok] - y[ok]) ** 2))
            if err < best_err - 1e-12:
                best, best_err = float(shrink), err
        if not np.isfinite(best_err):
            raise ModelError("similarity: no training row has enough past games")
        return best

    # ---------------------------------------------------------------- estimator API
    def fit(self, X: pd.DataFrame, y: pd.Series | npt.ArrayLike, *,
            history: pd.DataFrame | None = None) -> Self:
        """Learn the blend shrinkage and the spread.

        Args:
            X: Training rows.
            y: Actual points.
            history: Past games of the players (required unless :meth:`set_history` was called).

        Returns:
            ``self``.
        """
        if history is not None:
            self.set_history(history)
        X, yy = self._prepare_xy(X, y)
        neigh, found = self.neighbour_stats(X)
        l10 = numeric_column(X, "points_avg_last_10")
        train, hold = chronological_split(X["game_date"], self.holdout_frac)
        shrink = self._best_shrink(neigh[train], found[train], l10[train], yy[train])
        spread_mean = self._blend(neigh[hold], found[hold], l10[hold], shrink)
        self.shrink_ = self._best_shrink(neigh, found, l10, yy)
        self._finish_fit(X=X, spread_mean=spread_mean, spread_y=yy[hold], feature_names=[
            "opponent_def_rating", "days_rest", "is_home", "recency"], family=self.family,
            extra_info={"n_holdout": int(hold.sum()), "n_predictable": int(np.isfinite(neigh).sum())})
        return self

    def _predict_mean(self, X: pd.DataFrame) -> FloatArray:
        neigh, found = self.neighbour_stats(X)
        return self._blend(neigh, found, numeric_column(X, "points_avg_last_10"), self.shrink_)

    def _learned_to_json(self) -> dict[str, Any]:
        return {"shrink": self.shrink_}

    def _learned_from_json(self, data: Mapping[str, Any]) -> None:
        self.shrink_ = float(data["shrink"])
