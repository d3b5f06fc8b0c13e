"""Shared base of the gradient-boosted tree systems (CatBoost, XGBoost).

What they share: a fixed, ordered feature list read as floats (missing, non-numeric and infinite
values become NaN and are passed to the library as missing, never imputed); a chronological
early-stopping split (the latest ``holdout_frac`` of the training rows, whole dates, never a random
split); a model shrunk to its best iteration; a spread learned on the held-out rows (their only use
in training was choosing the number of trees); and a native model file saved next to
``params.json``. A concrete system says only what differs: its feature list, its library's
training call, prediction, serialisation and file name. See ``docs/systems.md``.

``exclude_features`` drops features from the list the trees see; the model-only variant of a system
(``exclude_features`` = :data:`~nbaprops.features.definitions.MARKET_FEATURES`) is trained this way.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd

from nbaprops.errors import InputError, MissingColumnsError, ModelError
from nbaprops.features.definitions import FEATURE_VERSIONS, MARKET_FEATURES
from nbaprops.models.systems.base import FloatArray, PointsSystem, chronological_split, numeric_column

__all__ = ["BoostedTreeSystem", "feature_matrix"]


def feature_matrix(X: pd.DataFrame, features: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """Float frame of the named features in order; missing, non-numeric and infinite values -> NaN.

    Args:
        X: Input rows.
        features: Feature names (all must be columns of ``X``).

    Returns:
        A new float64 DataFrame with a fresh RangeIndex.
    """
    return pd.DataFrame({name: numeric_column(X, name) for name in features}, columns=list(features))


class BoostedTreeSystem(PointsSystem):
    """A boosted-tree regressor of points on a fixed feature list, NaN allowed.

    Subclasses set :attr:`features`, :attr:`model_file`, :attr:`library` and :attr:`load_errors`,
    take ``early_stopping_rounds, holdout_frac, thread_count, random_state, family, feature_version``
    in their constructor (passing them to ``super().__init__``) and implement :meth:`_fit_model`,
    :meth:`_predict_model`, :meth:`_model_bytes`, :meth:`_write_model` and :meth:`_read_model`.

    Args:
        early_stopping_rounds: Patience on the held-out RMSE.
        holdout_frac: Share of the latest training dates used for early stopping and spread.
        thread_count: CPU threads for training and prediction.
        random_state: Seed.
        family: Spread family: ``'normal'``, ``'negbin'``, ``'poisson'`` or ``'auto'`` (per market:
            ``distribution_family``).
        exclude_features: Features the model must not see (e.g. the market ones).
        feature_version: Train on every feature of this feature version (in its order) instead of
            the class's :attr:`features`; a fitted model predicts from the names it was trained on.
    """

    #: The model's inputs when no feature version is given, in the order the trees see them.
    features: ClassVar[tuple[str, ...]]
    #: Name of the native model file inside the saved directory.
    model_file: ClassVar[str]
    #: Library name used in error messages.
    library: ClassVar[str]
    #: Exceptions the library raises on an unreadable model file.
    load_errors: ClassVar[tuple[type[Exception], ...]] = ()

    best_iteration_: int

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "features" in cls.__dict__:
            cls.required_columns = (*cls.features, "game_date")

    def __init__(self, *, early_stopping_rounds: int, holdout_frac: float, thread_count: int,
                 random_state: int, family: str, exclude_features: tuple[str, ...] = (),
                 feature_version: str | None = None) -> None:
        if feature_version is not None and feature_version not in FEATURE_VERSIONS:
            raise InputError(f"unknown feature version {feature_version!r}; known: {sorted(FEATURE_VERSIONS)}",
                             field="feature_version")
        self.early_stopping_rounds = early_stopping_rounds
        self.holdout_frac = holdout_frac
        self.thread_count = thread_count
        self.random_state = random_state
        self.family = family
        self.exclude_features = tuple(exclude_features)
        self.feature_version = feature_version

    @property
    def input_features(self) -> tuple[str, ...]:
        """The features the trees see: every feature of the instance's feature version (else
        :attr:`features`) minus ``exclude_features``, in order."""
        names = self.features if self.feature_version is None else FEATURE_VERSIONS[self.feature_version]
        dropped = set(self.exclude_features)    # names the system never had are simply absent
        return tuple(f for f in names if f not in dropped)

    def market_inputs(self) -> frozenset[str]:
        """The line- and price-derived features the trees see."""
        return frozenset(self.input_features) & MARKET_FEATURES

    def _check_columns(self, X: pd.DataFrame) -> None:
        names = self.feature_names_ if hasattr(self, "feature_names_") else self.input_features
        missing = [c for c in (*names, "game_date") if c not in X.columns]
        if missing:
            raise MissingColumnsError(f"{self.system_id} needs columns {missing}", field=missing[0])

    # ---------------------------------------------------------------- library hooks
    @abstractmethod
    def _fit_model(self, X_train: pd.DataFrame, y_train: FloatArray, X_hold: pd.DataFrame,
                   y_hold: FloatArray) -> int:
        """Train with early stopping on the held-out rows, keep the model shrunk to its best
        iteration, and return that iteration (0-based)."""

    @abstractmethod
    def _predict_model(self, feats: pd.DataFrame) -> npt.ArrayLike:
        """Raw predictions of the fitted model for a non-empty feature frame."""

    @abstractmethod
    def _model_bytes(self) -> bytes:
        """Bytes that identify the learned trees (hashed into the model version)."""

    @abstractmethod
    def _write_model(self, path: Path) -> None:
        """Write the native model file."""

    @abstractmethod
    def _read_model(self, path: Path) -> None:
        """Read the native model file written by :meth:`_write_model`."""

    # ---------------------------------------------------------------- shared behaviour
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
        names = self.input_features
        if not names:
            raise ModelError(f"{self.system_id}: every feature is excluded")
        feats = feature_matrix(X, names)
        self.best_iteration_ = self._fit_model(feats.loc[train], yy[train], feats.loc[hold], yy[hold])
        spread_mean = self._raw_predict(feats.loc[hold].reset_index(drop=True))
        self._finish_fit(X=X, spread_mean=spread_mean, spread_y=yy[hold], feature_names=list(names),
                         family=self.family, extra_info={"n_holdout": int(hold.sum()),
                                                         "best_iteration": self.best_iteration_})
        return self

    def _raw_predict(self, feats: pd.DataFrame) -> FloatArray:
        if len(feats) == 0:
            return np.zeros(0)
        return np.asarray(self._predict_model(feats), dtype=np.float64).reshape(-1)

    def _predict_mean(self, X: pd.DataFrame) -> FloatArray:
        return self._raw_predict(feature_matrix(X, self.feature_names_))

    def _learned_to_json(self) -> dict[str, Any]:
        return {"best_iteration": self.best_iteration_}

    def _learned_from_json(self, data: Mapping[str, Any]) -> None:
        self.best_iteration_ = int(data["best_iteration"])

    def _native_bytes(self) -> bytes:
        return self._model_bytes()

    def _save_native(self, directory: Path) -> str:
        self._write_model(directory / self.model_file)
        return self.model_file

    def _load_native(self, path: Path) -> None:
        try:
            self._read_model(path)
        except self.load_errors as exc:
            raise ModelError(f"cannot load {self.library} model {path}: {exc}") from exc
