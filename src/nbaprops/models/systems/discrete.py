"""A predictive distribution of integer points given by its probability table, one row per player-game.

The minutes-times-points-per-minute system (``minutes_ppm``) predicts points as a mixture over
minutes; its distribution has no closed form, so it is held as the probabilities of 0, 1, ...,
:data:`MAX_POINTS` points (the last cell holds the tail). It answers the same questions as
:class:`~nbaprops.models.systems.base.PointsDistribution` (``mean``, ``scale``, ``valid``, ``sf``,
``cdf``, ``pmf``, ``log_pmf``, ``p_push``, ``p_over``) so calibration, recommendations and metrics use
it unchanged. A row of NaN is a row without a prediction; every probability of it is NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from nbaprops.models.systems.base import BoolArray, FloatArray, p_over_no_push

__all__ = ["MAX_POINTS", "DiscretePointsDistribution"]

#: Largest point total held separately; P(X >= MAX_POINTS) sits in the last cell.
MAX_POINTS = 90


@dataclass(frozen=True)
class DiscretePointsDistribution:
    """Points distribution given by ``pmf[i, k] = P(X_i == k)`` for k = 0..MAX_POINTS.

    Attributes:
        table: ``(n, MAX_POINTS + 1)`` probabilities; each valid row sums to 1; NaN rows are invalid.
        mean: Expected points per row (from the table).
        scale: Standard deviation per row (from the table).
        family: Always ``'discrete'``.
    """

    table: FloatArray
    mean: FloatArray = field(init=False)
    scale: FloatArray = field(init=False)
    family: Literal["discrete"] = field(default="discrete", init=False)
    _cum: FloatArray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        table = np.asarray(self.table, dtype=np.float64)
        if table.ndim != 2 or table.shape[1] != MAX_POINTS + 1:
            raise ValueError(f"a points table has {MAX_POINTS + 1} columns, got shape {table.shape}")
        ok = np.asarray(np.isfinite(table).all(axis=1), dtype=np.bool_)
        table = np.where(ok[:, None], np.clip(table, 0.0, None), np.nan)
        total = table.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            table = table / total
        points = np.arange(MAX_POINTS + 1, dtype=np.float64)
        # row-wise sums, not ``table @ points``: a BLAS matrix-vector product may sum a row in a different
        # order depending on its position in the batch and on the thread count, so the same player's
        # forecast would differ in the last digits between a serial run and a worker's batch
        mean = (table * points).sum(axis=1)
        var = np.clip((table * points**2).sum(axis=1) - mean**2, 0.0, None)
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "mean", np.asarray(mean, dtype=np.float64))
        object.__setattr__(self, "scale", np.asarray(np.sqrt(var), dtype=np.float64))
        object.__setattr__(self, "_cum", np.cumsum(table, axis=1))

    @property
    def valid(self) -> BoolArray:
        """Rows with a distribution."""
        return np.asarray(np.isfinite(self.mean), dtype=np.bool_)

    def _at(self, matrix: FloatArray, k: npt.ArrayLike, below: float, above: float) -> FloatArray:
        kk = np.broadcast_to(np.asarray(k, dtype=np.float64), self.mean.shape)
        idx = np.clip(np.floor(np.nan_to_num(kk, nan=0.0)), 0, MAX_POINTS).astype(np.int64)
        out = matrix[np.arange(len(idx)), idx] if len(idx) else np.zeros(0)
        out = np.where(kk < 0, below, np.where(kk > MAX_POINTS, above, out))
        return np.where(self.valid & np.isfinite(kk), out, np.nan)

    def cdf(self, k: npt.ArrayLike) -> FloatArray:
        """P(X <= k) for integer ``k`` (broadcast against the rows); NaN for invalid rows."""
        return self._at(self._cum, k, 0.0, 1.0)

    def sf(self, k: npt.ArrayLike) -> FloatArray:
        """P(X > k) for integer ``k`` (broadcast against the rows); NaN for invalid rows."""
        return 1.0 - self.cdf(k)

    def pmf(self, k: npt.ArrayLike) -> FloatArray:
        """P(X == k) for integer ``k`` (broadcast against the rows); NaN for invalid rows."""
        return self._at(self.table, k, 0.0, 0.0)

    def log_pmf(self, k: npt.ArrayLike) -> FloatArray:
        """log P(X == k), floored at log(1e-12) as :meth:`PointsDistribution.log_pmf`."""
        return np.log(np.clip(self.pmf(k), 1e-12, None))

    def p_push(self, line: npt.ArrayLike) -> FloatArray:
        """P(X == line) for a whole-number line, 0 for any other line; NaN where line or row missing."""
        ln = np.broadcast_to(np.asarray(line, dtype=np.float64), self.mean.shape)
        finite = np.isfinite(ln)
        safe = np.where(finite, ln, 0.0)
        out = np.where(safe == np.floor(safe), self.pmf(safe), 0.0)
        return np.where(finite & self.valid, out, np.nan)

    def p_over(self, line: npt.ArrayLike) -> FloatArray:
        """P(X > line | no push), the probability that matters for an over bet (see
        :meth:`PointsDistribution.p_over`); NaN where the line or the prediction is missing."""
        return p_over_no_push(self, line)
