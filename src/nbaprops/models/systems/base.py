"""Base class, predictive distribution and learned spread shared by every prediction system.

Every system is a scikit-learn style estimator (``fit`` returns ``self``; learned attributes end in
``_``) that predicts the *mean* of a player's points and, through a learned spread model, a full
predictive distribution so that P(points over the line) is honest.

Rows a system cannot predict (no scoring history yet, no usable history for similarity, every
ensemble member missing) get a NaN mean and a NaN scale. Callers must mark those rows (e.g.
``is_fallback`` / no prediction); nothing is silently defaulted.

Persistence: ``save(directory)`` writes ``params.json`` (constructor params, learned params, spread,
feature names, model version) and, for the tree models, the native model file next to it.
"""

from __future__ import annotations

import hashlib
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats
from scipy.optimize import nnls
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from nbaprops.errors import InputError, MissingColumnsError, ModelError

__all__ = [
    "FORMAT_VERSION",
    "HISTORY_COLUMNS",
    "META_COLUMNS",
    "MIN_SCALE",
    "PARAMS_FILE",
    "SCORING_HISTORY_COLUMNS",
    "Family",
    "FloatArray",
    "PointsDistribution",
    "PointsSystem",
    "count_distribution",
    "SpreadModel",
    "chronological_split",
    "day_index",
    "numeric_column",
    "read_params_file",
    "validate_history",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Family = Literal["normal", "negbin", "poisson"]

FORMAT_VERSION = 1
PARAMS_FILE = "params.json"
#: Smallest standard deviation (points) a spread model may give; a real points distribution is
#: never narrower than this and a tiny scale would make P(over) absurdly confident.
MIN_SCALE = 1.0
META_COLUMNS: tuple[str, ...] = ("player_id", "game_date", "game_id", "team_abbr", "opponent_abbr", "is_home")
HISTORY_COLUMNS: tuple[str, ...] = (
    "player_id", "game_date", "pts", "minutes", "opponent_abbr", "is_home", "days_rest", "opp_def_rating",
)
#: A row with none of these is a player without any scoring history: no system predicts it.
SCORING_HISTORY_COLUMNS: tuple[str, ...] = ("points_avg_last_5", "points_avg_last_10", "points_avg_season")
#: The families a spread model chooses among (``family='auto'``).
_FAMILIES: tuple[str, ...] = ("normal", "negbin")
#: Every family a distribution may have: the count families (Poisson, negative binomial) are the ones
#: of low-count markets (``nbaprops.markets.Market.count_like``: threes, blocks, steals, turnovers).
_ALL_FAMILIES: tuple[str, ...] = ("normal", "negbin", "poisson")


# --------------------------------------------------------------------------------------- helpers
def numeric_column(frame: pd.DataFrame, column: str) -> FloatArray:
    """Return a column as float64 with NaN for missing, non-numeric and infinite values.

    Args:
        frame: The input frame.
        column: Column name; must exist.

    Returns:
        A float64 array of ``len(frame)``.
    """
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.array(values, dtype=np.float64, copy=True)
    values[~np.isfinite(values)] = np.nan
    return values


def day_index(dates: pd.Series | pd.Index | npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Convert calendar dates to integer day numbers (days since 1970-01-01).

    Args:
        dates: Dates as ``datetime.date``, strings, Timestamps (tz-aware ones use their local date)
            or ``datetime64``.

    Returns:
        An int64 array.

    Raises:
        InputError: If any date is missing or unparseable.
    """
    series = pd.Series(pd.to_datetime(pd.Series(np.asarray(dates, dtype=object)), errors="coerce"))
    if series.isna().any():
        raise InputError("game_date has missing or unparseable values", field="game_date")
    if getattr(series.dt, "tz", None) is not None:
        series = series.dt.tz_localize(None)
    days = series.dt.normalize().to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    return days.astype(np.int64)


def chronological_split(game_date: pd.Series, holdout_frac: float) -> tuple[BoolArray, BoolArray]:
    """Split rows by date: the last ``holdout_frac`` of rows (whole dates) form the holdout.

    All rows of one date fall on the same side, so a holdout never shares a slate with training.

    Args:
        game_date: Date of each row.
        holdout_frac: Wanted share of rows in the holdout, in (0, 1).

    Returns:
        ``(train_mask, holdout_mask)`` boolean arrays.

    Raises:
        ModelError: If the rows span fewer than two dates.
    """
    if not 0.0 < holdout_frac < 1.0:
        raise ValueError(f"holdout_frac must be in (0, 1), got {holdout_frac}")
    days = day_index(game_date)
    unique = np.unique(days)
    if unique.size < 2:
        raise ModelError("a chronological split needs rows from at least two dates")
    ordered = np.sort(days)
    position = min(int(math.floor(days.size * (1.0 - holdout_frac))), days.size - 1)
    cutoff = max(ordered[position], unique[1])
    holdout = days >= cutoff
    return ~holdout, holdout


def validate_history(history: pd.DataFrame) -> pd.DataFrame:
    """Check and normalise a player-history frame (past games of the players).

    Args:
        history: Frame with at least ``player_id, game_date, pts`` (the other
            :data:`HISTORY_COLUMNS` are used when present).

    Returns:
        A copy with ``day`` (int day number) added, rows without points dropped.

    Raises:
        MissingColumnsError: If a required column is absent.
    """
    missing = [c for c in ("player_id", "game_date", "pts") if c not in history.columns]
    if missing:
        raise MissingColumnsError(f"history lacks columns {missing}", field=missing[0])
    out = history.copy()
    out["pts"] = numeric_column(out, "pts")
    out = out.loc[np.isfinite(out["pts"].to_numpy())].reset_index(drop=True)
    out["day"] = day_index(out["game_date"]) if len(out) else np.zeros(0, dtype=np.int64)
    return out


def read_params_file(directory: str | Path) -> dict[str, Any]:
    """Read the ``params.json`` of a saved system.

    Args:
        directory: The directory given to :meth:`PointsSystem.save`.

    Returns:
        The parsed JSON payload.

    Raises:
        ModelError: If the file is missing or unreadable.
    """
    path = Path(directory) / PARAMS_FILE
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read saved system at {path}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise ModelError(f"{path} is not a format-{FORMAT_VERSION} nbaprops system file")
    return cast(dict[str, Any], payload)


# ---------------------------------------------------------------------------- distribution
@dataclass(frozen=True)
class PointsDistribution:
    """Predictive distribution of integer points, one per row.

    Families:
        * ``normal``: a normal N(mean, scale²) rounded to the nearest integer and censored at 0,
          i.e. P(X <= k) = Φ((k + 0.5 - mean) / scale) for k >= 0.
        * ``negbin``: a negative binomial with the given mean and standard deviation ``scale``
          (variance = scale²); Poisson when scale² <= mean.
        * ``poisson``: a Poisson with the given mean (``scale`` is sqrt(mean), kept for the shape);
          a mean of 0 is a point mass at 0.

    The count families are exact on integers: P(X > k + 0.5) = P(X >= k + 1), so P(over 0.5) is
    1 - P(0), and a whole-number line k has push mass P(X == k) (:meth:`p_push`). Build one with
    :func:`count_distribution`.

    NaN ``mean`` or ``scale`` marks a row without a prediction; every probability of it is NaN.

    Attributes:
        mean: Expected points.
        scale: Standard deviation of points.
        family: ``'normal'`` or ``'negbin'``.
    """

    mean: FloatArray
    scale: FloatArray
    family: Family = "normal"

    def __post_init__(self) -> None:
        if self.family not in _ALL_FAMILIES:
            raise ValueError(f"unknown family {self.family!r}")
        mean = np.asarray(self.mean, dtype=np.float64)
        scale = np.asarray(self.scale, dtype=np.float64)
        if mean.shape != scale.shape:
            raise ValueError(f"mean {mean.shape} and scale {scale.shape} differ in shape")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "scale", scale)

    @property
    def valid(self) -> BoolArray:
        """Rows with a finite mean and a positive finite scale (Poisson: a finite mean >= 0)."""
        if self.family == "poisson":
            return np.isfinite(self.mean) & (self.mean >= 0)
        return np.isfinite(self.mean) & np.isfinite(self.scale) & (self.scale > 0)

    def _negbin_params(self) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray]:
        mu = np.clip(np.nan_to_num(self.mean, nan=1.0), 1e-6, None)
        var = np.nan_to_num(self.scale, nan=1.0) ** 2
        poisson = var <= mu * (1.0 + 1e-9)
        safe_var = np.where(poisson, mu * 2.0, var)
        n = mu**2 / (safe_var - mu)
        p = mu / safe_var
        return mu, n, p, poisson

    def cdf(self, k: npt.ArrayLike) -> FloatArray:
        """P(X <= k) for integer ``k`` (broadcast against the rows).

        Args:
            k: Integer-valued thresholds.

        Returns:
            Probabilities, NaN for invalid rows.
        """
        return 1.0 - self.sf(k)

    def sf(self, k: npt.ArrayLike) -> FloatArray:
        """P(X > k) for integer ``k`` (broadcast against the rows).

        Args:
            k: Integer-valued thresholds.

        Returns:
            Probabilities, NaN for invalid rows.
        """
        kk = np.broadcast_to(np.asarray(k, dtype=np.float64), self.mean.shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            if self.family == "normal":
                out = stats.norm.sf((kk + 0.5 - self.mean) / self.scale)
            elif self.family == "poisson":
                out = stats.poisson.sf(kk, np.clip(np.nan_to_num(self.mean, nan=0.0), 0.0, None))
            else:
                mu, n, p, poisson = self._negbin_params()
                out = np.where(poisson, stats.poisson.sf(kk, mu), stats.nbinom.sf(kk, n, p))
        out = np.where(kk < 0, 1.0, np.asarray(out, dtype=np.float64))
        return np.where(self.valid, out, np.nan)

    def pmf(self, k: npt.ArrayLike) -> FloatArray:
        """P(X == k) for integer ``k`` (broadcast against the rows).

        Args:
            k: Integer-valued points.

        Returns:
            Probabilities, NaN for invalid rows.
        """
        kk = np.broadcast_to(np.asarray(k, dtype=np.float64), self.mean.shape)
        return np.where(kk < 0, 0.0, self.sf(kk - 1.0) - self.sf(kk))

    def log_pmf(self, k: npt.ArrayLike) -> FloatArray:
        """log P(X == k), floored at log(1e-12) so one surprise does not dominate a mean."""
        return np.log(np.clip(self.pmf(k), 1e-12, None))

    def p_push(self, line: npt.ArrayLike) -> FloatArray:
        """P(X == line): the push mass of a whole-number line, 0 for any other line.

        Args:
            line: Line per row (or a scalar broadcast to all rows).

        Returns:
            Probabilities; NaN where the line or the prediction is missing.
        """
        ln = np.broadcast_to(np.asarray(line, dtype=np.float64), self.mean.shape)
        finite = np.isfinite(ln)
        safe = np.where(finite, ln, 0.0)
        whole = safe == np.floor(safe)
        out = np.where(whole, self.pmf(np.floor(safe)), 0.0)
        return np.where(finite & self.valid, out, np.nan)

    def p_over(self, line: npt.ArrayLike) -> FloatArray:
        """Probability that the player goes over ``line``, honest for integer points.

        * Non-integer line (e.g. 20.5): P(X > line) = P(X >= floor(line) + 1).
        * Whole line (e.g. 20.0): a push (X == line) refunds the stake, so the probability that
          matters for the bet is P(X > line | no push) = P(X > line) / (1 - P(X == line)).

        Args:
            line: Line per row (or a scalar broadcast to all rows).

        Returns:
            Probabilities in [0, 1]; NaN where the line or the prediction is missing.
        """
        return p_over_no_push(self, line)


def count_distribution(mean: npt.ArrayLike, variance: npt.ArrayLike | None = None) -> PointsDistribution:
    """The predictive distribution of a low count (threes, blocks, steals, turnovers).

    Args:
        mean: Expected count per row.
        variance: Variance per row; None for a Poisson (variance = mean). A variance above the mean
            gives a negative binomial (over-dispersed); at or below the mean, the Poisson.

    Returns:
        A ``poisson`` or ``negbin`` :class:`PointsDistribution`.
    """
    mu = np.asarray(mean, dtype=np.float64)
    if variance is None:
        with np.errstate(invalid="ignore"):
            return PointsDistribution(mu, np.sqrt(np.clip(mu, 0.0, None)), "poisson")
    var = np.broadcast_to(np.asarray(variance, dtype=np.float64), mu.shape)
    with np.errstate(invalid="ignore"):
        return PointsDistribution(mu, np.sqrt(np.clip(var, 0.0, None)), "negbin")


def p_over_no_push(dist: Any, line: npt.ArrayLike) -> FloatArray:
    """P(X > line | no push) of a distribution over whole points with ``mean``, ``valid``, ``sf`` and
    ``pmf`` (:class:`PointsDistribution`, ``DiscretePointsDistribution``): P(X >= floor(line) + 1) for
    a half-point line; divided by 1 - P(X == line) for a whole line, whose push refunds the stake.
    NaN where the line or the prediction is missing."""
    ln = np.broadcast_to(np.asarray(line, dtype=np.float64), dist.mean.shape)
    finite = np.isfinite(ln)
    safe = np.where(finite, ln, 0.0)
    floor = np.floor(safe)
    p_gt = dist.sf(floor)
    push = np.where(safe == floor, dist.pmf(floor), 0.0)
    denom = 1.0 - push
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(denom > 0, p_gt / denom, np.nan)
    out = np.clip(out, 0.0, 1.0)
    return np.where(finite & dist.valid, out, np.nan)


# ------------------------------------------------------------------------------------ spread
@dataclass(frozen=True)
class SpreadModel:
    """Learned standard deviation of points as a function of the predicted mean.

    ``scale = max(min_scale, a + b * sqrt(mean))`` with ``a, b >= 0`` fitted by non-negative least
    squares of ``|y - mean| * sqrt(pi / 2)`` (for a normal error E|r| = sigma * sqrt(2 / pi)) on
    held-out rows. The family (normal vs negative binomial) is the one with the higher mean
    held-out log-likelihood when ``family='auto'``. ``family='poisson'`` (low counts) is
    ``a=0, b=1, min_scale=0``: the Poisson's own sd, sqrt(mean).

    Attributes:
        a: Intercept (points).
        b: Coefficient of sqrt(mean).
        family: Distribution family used by :meth:`distribution`.
        min_scale: Floor of the scale.
        n_rows: Held-out rows the fit used.
    """

    a: float
    b: float
    family: Family = "normal"
    min_scale: float = MIN_SCALE
    n_rows: int = 0

    def scale(self, mean: npt.ArrayLike) -> FloatArray:
        """Standard deviation for each predicted mean (NaN where the mean is NaN)."""
        mu = np.asarray(mean, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            s = self.a + self.b * np.sqrt(np.clip(mu, 0.0, None))
        return np.where(np.isfinite(mu), np.maximum(s, self.min_scale), np.nan)

    def distribution(self, mean: npt.ArrayLike) -> PointsDistribution:
        """The predictive distribution for the given means."""
        mu = np.asarray(mean, dtype=np.float64)
        return PointsDistribution(mean=mu, scale=self.scale(mu), family=self.family)

    @classmethod
    def fit(cls, mean: npt.ArrayLike, y: npt.ArrayLike, *, family: str = "auto",
            min_rows: int = 20, min_scale: float = MIN_SCALE) -> SpreadModel:
        """Fit the spread on held-out predictions.

        Args:
            mean: Predicted means on rows the point model did not train on.
            y: Actual points of the same rows.
            family: ``'normal'``, ``'negbin'``, ``'poisson'`` or ``'auto'`` (normal or negbin,
                whichever has the higher held-out log-likelihood). ``'poisson'`` learns nothing:
                its scale is sqrt(mean). The family of each market is
                :func:`nbaprops.models.systems.families.distribution_family`.
            min_rows: Fewest finite rows accepted.
            min_scale: Floor of the scale.

        Returns:
            The fitted spread model.

        Raises:
            ModelError: If fewer than ``min_rows`` rows have a finite prediction and outcome.
        """
        mu = np.asarray(mean, dtype=np.float64)
        yy = np.asarray(y, dtype=np.float64)
        ok = np.isfinite(mu) & np.isfinite(yy)
        if int(ok.sum()) < min_rows:
            raise ModelError(f"only {int(ok.sum())} held-out rows to learn the spread (need {min_rows})")
        mu, yy = mu[ok], yy[ok]
        if family == "poisson":  # no spread to learn: sd = sqrt(mean) (a=0, b=1, no floor)
            return cls(a=0.0, b=1.0, family="poisson", min_scale=0.0, n_rows=int(ok.sum()))
        design = np.column_stack([np.ones_like(mu), np.sqrt(np.clip(mu, 0.0, None))])
        target = np.abs(yy - mu) * math.sqrt(math.pi / 2.0)
        coef, _ = nnls(design, target)
        a, b = float(coef[0]), float(coef[1])
        if family == "auto":
            k = np.clip(np.round(yy), 0, None)
            scores = {}
            for fam in _FAMILIES:
                dist = PointsDistribution(mu, np.maximum(a + b * design[:, 1], min_scale), cast(Family, fam))
                scores[fam] = float(np.mean(dist.log_pmf(k)))
            chosen = max(scores, key=lambda f: scores[f])
        elif family in _FAMILIES:
            chosen = family
        else:
            raise ValueError(f"unknown family {family!r}")
        return cls(a=a, b=b, family=cast(Family, chosen), min_scale=min_scale, n_rows=int(ok.sum()))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        return {"a": self.a, "b": self.b, "family": self.family, "min_scale": self.min_scale,
                "n_rows": self.n_rows}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SpreadModel:
        """Inverse of :meth:`to_dict`."""
        return cls(a=float(data["a"]), b=float(data["b"]), family=cast(Family, data["family"]),
                   min_scale=float(data["min_scale"]), n_rows=int(data.get("n_rows", 0)))


# ------------------------------------------------------------------------------------ system
class PointsSystem(BaseEstimator, ABC):
    """Abstract points prediction system.

    Subclasses set ``system_id`` and ``required_columns``, implement :meth:`fit` and
    :meth:`_predict_mean` and, when they learn anything beyond the spread, the JSON hooks
    :meth:`_learned_to_json` / :meth:`_learned_from_json` (and :meth:`_save_native` /
    :meth:`_load_native` for native model files).

    Fitted attributes common to every system: ``spread_`` (:class:`SpreadModel`),
    ``feature_names_``, ``training_info_`` and ``model_version_``.
    """

    system_id: ClassVar[str]
    required_columns: ClassVar[tuple[str, ...]] = ()
    #: Whether rows with no scoring history (all of L5/L10/season missing) are unpredictable.
    requires_scoring_history: ClassVar[bool] = True

    spread_: SpreadModel
    feature_names_: list[str]
    training_info_: dict[str, Any]
    model_version_: str

    # ---------------------------------------------------------------- abstract interface
    @abstractmethod
    def fit(self, X: pd.DataFrame, y: pd.Series | npt.ArrayLike) -> Self:
        """Learn the system's parameters and spread from training rows.

        Args:
            X: Feature rows (features, context and meta columns).
            y: Actual points aligned with ``X``.

        Returns:
            ``self``.
        """

    @abstractmethod
    def _predict_mean(self, X: pd.DataFrame) -> FloatArray:
        """Raw mean prediction; NaN where the system cannot predict."""

    # ---------------------------------------------------------------- public API
    def predict(self, X: pd.DataFrame) -> FloatArray:
        """Predicted mean points per row (NaN where the system cannot predict; never negative).

        Args:
            X: Rows to predict.

        Returns:
            A float64 array of ``len(X)``.
        """
        self._check_fitted()
        self._check_columns(X)
        mean = np.asarray(self._predict_mean(X), dtype=np.float64).copy()
        if self.requires_scoring_history:
            mean[~self._has_scoring_history(X)] = np.nan
        mean[~np.isfinite(mean)] = np.nan
        return np.where(np.isnan(mean), np.nan, np.maximum(mean, 0.0))

    def predict_distribution(self, X: pd.DataFrame) -> PointsDistribution:
        """Predictive distribution per row (mean from :meth:`predict`, scale from ``spread_``).

        Args:
            X: Rows to predict.

        Returns:
            The :class:`PointsDistribution`.
        """
        return self.spread_.distribution(self.predict(X))

    @property
    def model_version(self) -> str:
        """``<system_id>-<sha256 prefix of the learned parameters>``; stable across save/load."""
        self._check_fitted()
        return self.model_version_

    def market_inputs(self) -> frozenset[str]:
        """The line- or price-derived inputs (``MARKET_FEATURES``) the system reads; empty when its
        forecast is model-only already (moving_average, zone_matchup and similarity read none)."""
        return frozenset()

    def save(self, directory: str | Path) -> Path:
        """Persist the fitted system into ``directory`` (created if needed).

        Args:
            directory: Target directory.

        Returns:
            Path of the written ``params.json``.
        """
        self._check_fitted()
        target = Path(directory)
        target.mkdir(parents=True, exist_ok=True)
        native = self._save_native(target)
        payload = {
            "format_version": FORMAT_VERSION,
            "system_id": self.system_id,
            "class": type(self).__name__,
            "params": self._json_params(),
            "learned": self._learned_to_json(),
            "spread": self.spread_.to_dict(),
            "feature_names": list(self.feature_names_),
            "training_info": self.training_info_,
            "model_version": self.model_version_,
            "native_model": native,
        }
        path = target / PARAMS_FILE
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, directory: str | Path) -> Self:
        """Load a system written by :meth:`save`.

        Args:
            directory: Directory given to :meth:`save`.

        Returns:
            The fitted system.

        Raises:
            ModelError: If the files are missing or belong to another system.
        """
        payload = read_params_file(directory)
        if payload.get("system_id") != cls.system_id:
            raise ModelError(f"{directory} holds system {payload.get('system_id')!r}, not {cls.system_id!r}")
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in payload["params"].items()}
        system = cls(**params)
        system._learned_from_json(payload["learned"])
        native = payload.get("native_model")
        if native:
            native_path = Path(directory) / native
            if not native_path.is_file():
                raise ModelError(f"native model file {native_path} is missing")
            system._load_native(native_path)
        system.spread_ = SpreadModel.from_dict(payload["spread"])
        system.feature_names_ = list(payload["feature_names"])
        system.training_info_ = dict(payload.get("training_info") or {})
        system.model_version_ = str(payload["model_version"])
        return system

    # ---------------------------------------------------------------- hooks
    def _learned_to_json(self) -> dict[str, Any]:
        return {}

    def _learned_from_json(self, data: Mapping[str, Any]) -> None:
        return None

    def _save_native(self, directory: Path) -> str | None:
        return None

    def _load_native(self, path: Path) -> None:
        return None

    def _native_bytes(self) -> bytes:
        return b""

    # ---------------------------------------------------------------- helpers for subclasses
    def _json_params(self) -> dict[str, Any]:
        params = self.get_params(deep=False)
        clean: dict[str, Any] = {}
        for key, value in params.items():
            if isinstance(value, tuple):
                value = list(value)
            try:
                json.dumps(value)
            except TypeError as exc:
                raise ModelError(f"constructor parameter {key!r} is not JSON-serialisable") from exc
            clean[key] = value
        return clean

    def _check_columns(self, X: pd.DataFrame) -> None:
        missing = [c for c in self.required_columns if c not in X.columns]
        if missing:
            raise MissingColumnsError(f"{self.system_id} needs columns {missing}", field=missing[0])

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_version_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit() or load() first")

    @staticmethod
    def _has_scoring_history(X: pd.DataFrame) -> BoolArray:
        present = [c for c in SCORING_HISTORY_COLUMNS if c in X.columns]
        if not present:
            return np.zeros(len(X), dtype=bool)
        stacked = np.column_stack([np.isfinite(numeric_column(X, c)) for c in present])
        return np.asarray(stacked.any(axis=1), dtype=np.bool_)

    def _prepare_xy(self, X: pd.DataFrame, y: pd.Series | npt.ArrayLike) -> tuple[pd.DataFrame, FloatArray]:
        """Check columns and alignment; drop rows without a finite outcome."""
        self._check_columns(X)
        yy = np.asarray(y, dtype=np.float64).reshape(-1)
        if yy.shape[0] != len(X):
            raise InputError(f"y has {yy.shape[0]} rows but X has {len(X)}", field="y")
        keep = np.isfinite(yy)
        if not keep.any():
            raise ModelError(f"{self.system_id}: no training rows with a finite outcome")
        return X.loc[keep].reset_index(drop=True), yy[keep]

    def _finish_fit(self, *, X: pd.DataFrame, spread_mean: FloatArray, spread_y: FloatArray,
                    feature_names: list[str], family: str, extra_info: Mapping[str, Any] | None = None) -> None:
        """Fit the spread, record training info and derive the model version."""
        self.spread_ = SpreadModel.fit(spread_mean, spread_y, family=family)
        self.feature_names_ = list(feature_names)
        info: dict[str, Any] = {"n_rows": len(X)}
        if "game_date" in X.columns and len(X):
            days = day_index(X["game_date"])
            info["date_min"] = str(np.datetime64(int(days.min()), "D"))
            info["date_max"] = str(np.datetime64(int(days.max()), "D"))
        info.update(extra_info or {})
        self.training_info_ = info
        digest = hashlib.sha256()
        digest.update(json.dumps({"params": self._json_params(), "learned": self._learned_to_json(),
                                  "spread": self.spread_.to_dict(), "features": self.feature_names_},
                                 sort_keys=True).encode())
        digest.update(self._native_bytes())
        self.model_version_ = f"{self.system_id}-{digest.hexdigest()[:12]}"
