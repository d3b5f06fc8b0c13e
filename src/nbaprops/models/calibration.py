"""Calibration of a system's raw P(over): a monotone map fitted on held-out outcomes.

Trained with the systems (:mod:`nbaprops.models.training`), saved in the model set next to them
(:mod:`nbaprops.models.registry`) and applied by the prediction worker to each system's P(over)
before a recommendation is made. Models never import the prediction package.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.isotonic import IsotonicRegression

from nbaprops.errors import ModelError

__all__ = ["Calibrator"]

FloatArray = npt.NDArray[np.float64]


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
