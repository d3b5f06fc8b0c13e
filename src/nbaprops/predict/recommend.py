"""Turning a calibrated P(over) into OVER / UNDER / PASS / NO_LINE, and the probability calibrator.

One rule for every system (the reference had six different gates and confidence scales,
REFERENCE_SYSTEM.md §3.10, §11.4, §11.16):

* ``NO_LINE`` where there is no line.
* side = OVER if P(over) > 0.5 else UNDER.
* EV per unit staked at the posted price of that side: ``p_side * (decimal - 1) - (1 - p_side)``.
* The side is recommended only if the predicted mean is at least ``min_edge`` points beyond the
  line *in the direction of the side* and ``EV >= min_ev``; otherwise ``PASS``. (Requiring the edge
  to point the same way as the side is stricter than ``|mean - line| >= min_edge``: a skewed
  distribution can put the mean above the line while P(over) < 0.5, and such a row is a PASS.)
* A row without a usable probability or price is a PASS (EV cannot be computed).
* ``confidence = max(p_over, 1 - p_over)``: the calibrated probability of the side taken, 0-1 for
  every system; NaN where there is no line or no probability.

Thresholds are parameters (:class:`RecommendConfig`); they are to be chosen on validation periods.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.isotonic import IsotonicRegression

from nbaprops.errors import ModelError
from nbaprops.odds import american_to_decimal

__all__ = [
    "NO_LINE",
    "OVER",
    "PASS",
    "UNDER",
    "Calibrator",
    "RecommendConfig",
    "expected_value",
    "recommend",
]

FloatArray = npt.NDArray[np.float64]
StrArray = npt.NDArray[np.object_]

OVER = "OVER"
UNDER = "UNDER"
PASS = "PASS"
NO_LINE = "NO_LINE"


@dataclass(frozen=True)
class RecommendConfig:
    """Thresholds of :func:`recommend`.

    Attributes:
        min_edge: Points the mean must clear the line by, in the direction of the side.
        min_ev: Minimum expected profit per unit staked at the posted price.
    """

    min_edge: float = 1.0
    min_ev: float = 0.02


_DEFAULT = RecommendConfig()


def expected_value(p_side: npt.ArrayLike, price: npt.ArrayLike) -> FloatArray:
    """Expected profit per unit staked: ``p * (decimal - 1) - (1 - p)``.

    Args:
        p_side: Probability the side wins (conditional on no push).
        price: American odds of the side.

    Returns:
        EV per unit; NaN where the probability or the price is invalid.
    """
    p = np.asarray(p_side, dtype=np.float64)
    dec = np.asarray(american_to_decimal(price), dtype=np.float64)
    return np.asarray(p * (dec - 1.0) - (1.0 - p), dtype=np.float64)


def recommend(mean: npt.ArrayLike, p_over_model: npt.ArrayLike, line: npt.ArrayLike,
              over_price: npt.ArrayLike, under_price: npt.ArrayLike, *,
              min_edge: float = _DEFAULT.min_edge,
              min_ev: float = _DEFAULT.min_ev) -> tuple[StrArray, FloatArray, FloatArray]:
    """Recommendation, confidence and EV per row (see the module docstring for the rule).

    Args:
        mean: Predicted mean points.
        p_over_model: Calibrated P(over the line), push-conditional for whole lines.
        line: The posted line (NaN: no line).
        over_price: American odds of the over.
        under_price: American odds of the under.
        min_edge: Minimum directional edge in points.
        min_ev: Minimum EV per unit staked.

    Returns:
        ``(recommendation, confidence, ev)``: object array of 'OVER'/'UNDER'/'PASS'/'NO_LINE',
        confidence in [0, 1] (NaN without a line or probability), EV of the side taken (NaN when it
        cannot be computed).
    """
    mu = np.asarray(mean, dtype=np.float64).reshape(-1)
    n = mu.shape[0]
    p = np.broadcast_to(np.asarray(p_over_model, dtype=np.float64), (n,))
    ln = np.broadcast_to(np.asarray(line, dtype=np.float64), (n,))
    po = np.broadcast_to(np.asarray(over_price, dtype=np.float64), (n,))
    pu = np.broadcast_to(np.asarray(under_price, dtype=np.float64), (n,))

    has_line = np.isfinite(ln)
    has_p = has_line & np.isfinite(p)
    is_over = p > 0.5
    p_side = np.where(is_over, p, 1.0 - p)
    ev = np.where(has_p, expected_value(p_side, np.where(is_over, po, pu)), np.nan)
    edge = np.where(is_over, mu - ln, ln - mu)
    with np.errstate(invalid="ignore"):
        take = has_p & np.isfinite(edge) & (edge >= min_edge) & np.isfinite(ev) & (ev >= min_ev)
    rec = np.full(n, PASS, dtype=object)
    rec[take & is_over] = OVER
    rec[take & ~is_over] = UNDER
    rec[~has_line] = NO_LINE
    confidence = np.where(has_p, np.clip(p_side, 0.0, 1.0), np.nan)
    return rec, confidence, ev


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1.0 - q)), dtype=np.float64)


class Calibrator:
    """Monotone map from a system's raw P(over) to a calibrated P(over).

    ``method='platt'`` (default) fits a logistic regression on logit(raw p): two parameters, smooth,
    and never pushes a sparse extreme bin to 0 or 1 (isotonic does, which made P(over) = 0.001 for a
    7-point edge). ``method='isotonic'`` keeps the step-function fit.

    Fit it on a chronological holdout the system did not train on (the caller chooses the rows);
    pushes and voids must be excluded (outcome NaN rows are dropped). Outputs are clipped to
    ``[clip, 1 - clip]`` so log-loss stays finite. Persisted as JSON of the isotonic thresholds and
    applied by linear interpolation between them (the same rule as
    ``IsotonicRegression(out_of_bounds='clip').predict``), so a loaded calibrator is identical.

    Args:
        clip: Distance kept from 0 and 1.
        min_rows: Fewest rows accepted by :meth:`fit`.
    """

    def __init__(self, clip: float = 1e-3, min_rows: int = 50, method: str = "platt") -> None:
        if method not in ("platt", "isotonic"):
            raise ModelError(f"unknown calibration method {method!r}")
        self.clip = clip
        self.min_rows = min_rows
        self.method = method
        self.coef_: tuple[float, float] | None = None
        self.x_thresholds_: FloatArray | None = None
        self.y_thresholds_: FloatArray | None = None
        self.n_rows_: int = 0

    def fit(self, p_raw: npt.ArrayLike, went_over: npt.ArrayLike) -> Self:
        """Fit on raw probabilities and outcomes (1 over, 0 under, NaN push/void -> dropped).

        Args:
            p_raw: Raw P(over) from a system.
            went_over: Outcome per row.

        Returns:
            ``self``.

        Raises:
            ModelError: If fewer than ``min_rows`` usable rows.
        """
        x = np.asarray(p_raw, dtype=np.float64).reshape(-1)
        y = np.asarray(went_over, dtype=np.float64).reshape(-1)
        ok = np.isfinite(x) & np.isfinite(y)
        if int(ok.sum()) < self.min_rows:
            raise ModelError(f"calibrator: {int(ok.sum())} usable rows (need {self.min_rows})")
        self.n_rows_ = int(ok.sum())
        if self.method == "platt":
            from sklearn.linear_model import LogisticRegression

            z = _logit(x[ok]).reshape(-1, 1)
            lr = LogisticRegression(C=1e6).fit(z, y[ok].astype(int))
            self.coef_ = (float(lr.coef_[0, 0]), float(lr.intercept_[0]))
            grid = np.linspace(0.0, 1.0, 201)
            self.x_thresholds_ = grid
            self.y_thresholds_ = self._platt(grid)
            return self
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        iso.fit(x[ok], y[ok])
        self.x_thresholds_ = np.asarray(iso.X_thresholds_, dtype=np.float64)
        self.y_thresholds_ = np.asarray(iso.y_thresholds_, dtype=np.float64)
        self.n_rows_ = int(ok.sum())
        return self

    def _platt(self, p: FloatArray) -> FloatArray:
        assert self.coef_ is not None
        a, b = self.coef_
        return np.asarray(1.0 / (1.0 + np.exp(-(a * _logit(p) + b))), dtype=np.float64)

    def transform(self, p_raw: npt.ArrayLike) -> FloatArray:
        """Calibrated P(over); NaN stays NaN.

        Args:
            p_raw: Raw P(over).

        Returns:
            Calibrated probabilities in ``[clip, 1 - clip]``.
        """
        if self.x_thresholds_ is None or self.y_thresholds_ is None:
            raise ModelError("calibrator is not fitted")
        x = np.asarray(p_raw, dtype=np.float64)
        finite = np.isfinite(x)
        if self.coef_ is not None:
            out = self._platt(np.where(finite, x, 0.5))
        else:
            out = np.interp(np.where(finite, x, 0.5), self.x_thresholds_, self.y_thresholds_)
        out = np.clip(out, self.clip, 1.0 - self.clip)
        return np.where(finite, out, np.nan)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready representation."""
        if self.x_thresholds_ is None or self.y_thresholds_ is None:
            raise ModelError("calibrator is not fitted")
        out: dict[str, Any] = {"kind": self.method if self.coef_ is not None else "isotonic", "clip": self.clip,
                               "min_rows": self.min_rows, "n_rows": self.n_rows_,
                               "x": self.x_thresholds_.tolist(), "y": self.y_thresholds_.tolist()}
        if self.coef_ is not None:
            out["coef"] = list(self.coef_)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibrator:
        """Inverse of :meth:`to_dict`."""
        kind = data.get("kind")
        if kind not in ("isotonic", "platt"):
            raise ModelError(f"not a calibrator: kind={kind!r}")
        cal = cls(clip=float(data["clip"]), min_rows=int(data.get("min_rows", 50)), method=str(kind))
        if kind == "platt":
            cal.coef_ = (float(data["coef"][0]), float(data["coef"][1]))
        cal.x_thresholds_ = np.asarray(data["x"], dtype=np.float64)
        cal.y_thresholds_ = np.asarray(data["y"], dtype=np.float64)
        cal.n_rows_ = int(data.get("n_rows", 0))
        return cal

    def save(self, path: str | Path) -> Path:
        """Write the calibrator as JSON to ``path``."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.to_dict(), indent=2), encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Calibrator:
        """Read a calibrator written by :meth:`save`."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read calibrator {path}: {exc}") from exc
        return cls.from_dict(data)
