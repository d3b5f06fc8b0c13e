"""Blend a system's forecast with the market's, learned walk-forward on out-of-sample line rows.

Sportsbook lines are hard to beat (MAE ~5, near the noise floor), so a forecast that ignores them
is worse than one that knows them. For each system we learn, on validation rows that have a real
pre-tip line and prices (rows the system was not trained on), two small maps:

* points: ``mean' = line + beta * (mean - line)`` with ``beta`` in [0, 1] by least squares;
* probability: ``logit p' = a * logit p_model + b * logit p_market + c`` (logistic regression), kept
  only if it beats the market's own Brier score (by two standard errors) on the latest 30% of those rows when fitted on the
  earlier 70%; otherwise P(over) is the de-vigged market probability (no edge claimed, no bet).

With fewer than :data:`MIN_ROWS` such rows nothing is learned (``fitted_ = False``): the mean is the
system's own and P(over) is the de-vigged market's, because nothing has shown that the model adds to
it. The parameters are never set by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MIN_ROWS", "MarketBlend"]

MIN_ROWS = 300
FloatArray = npt.NDArray[np.float64]


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, 1e-4, 1 - 1e-4)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float64)


class MarketBlend:
    """Learned shrink of a system's mean and P(over) toward the market's."""

    def __init__(self) -> None:
        self.fitted_ = False
        self.beta_ = 1.0
        self.coef_: tuple[float, float, float] = (1.0, 0.0, 0.0)
        self.n_rows_ = 0
        self.prob_source_ = "market_default"
        self.stack_brier_ = float("nan")
        self.market_brier_ = float("nan")

    def fit(self, mean: npt.ArrayLike, p_model: npt.ArrayLike, line: npt.ArrayLike, p_market: npt.ArrayLike,
            actual: npt.ArrayLike) -> MarketBlend:
        """Fit on rows with a line, a market probability and an outcome (pushes are dropped for P)."""
        m = np.asarray(mean, dtype=np.float64)
        pm = np.asarray(p_model, dtype=np.float64)
        ln = np.asarray(line, dtype=np.float64)
        pk = np.asarray(p_market, dtype=np.float64)
        y = np.asarray(actual, dtype=np.float64)
        ok = np.isfinite(m) & np.isfinite(pm) & np.isfinite(ln) & np.isfinite(pk) & np.isfinite(y)
        self.n_rows_ = int(ok.sum())
        if self.n_rows_ < MIN_ROWS:
            return self
        d = m[ok] - ln[ok]
        r = y[ok] - ln[ok]
        denom = float(np.dot(d, d))
        self.beta_ = float(np.clip(np.dot(d, r) / denom, 0.0, 1.0)) if denom > 0 else 0.0
        over = y[ok] > ln[ok]
        push = y[ok] == ln[ok]
        from sklearn.linear_model import LogisticRegression

        x = np.column_stack([_logit(pm[ok][~push]), _logit(pk[ok][~push])])
        t = over[~push].astype(int)
        # Keep the stack only if it beats the market on the latest 30% of these rows (rows arrive in
        # date order) when fitted on the earlier 70%; otherwise P(over) is the market's own.
        cut = int(len(t) * 0.7)
        trial = LogisticRegression(C=1.0).fit(x[:cut], t[:cut])
        p_trial = trial.predict_proba(x[cut:])[:, 1]
        p_mkt = 1.0 / (1.0 + np.exp(-x[cut:, 1]))
        d = (p_trial - t[cut:]) ** 2 - (p_mkt - t[cut:]) ** 2
        self.stack_brier_ = float(np.mean((p_trial - t[cut:]) ** 2))
        self.market_brier_ = float(np.mean((p_mkt - t[cut:]) ** 2))
        # better by more than two standard errors of the paired difference, not by luck
        if float(np.mean(d)) + 2.0 * float(np.std(d, ddof=1)) / np.sqrt(len(d)) < 0.0:
            lr = LogisticRegression(C=1.0).fit(x, t)
            self.coef_ = (float(lr.coef_[0, 0]), float(lr.coef_[0, 1]), float(lr.intercept_[0]))
            self.prob_source_ = "stack"
        else:
            self.coef_ = (0.0, 1.0, 0.0)
            self.prob_source_ = "market"
        self.fitted_ = True
        return self

    def apply(self, mean: npt.ArrayLike, p_model: npt.ArrayLike, line: npt.ArrayLike,
              p_market: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """Blended (mean, P(over)); rows without a line or market price keep the system's values."""
        m = np.asarray(mean, dtype=np.float64)
        pm = np.asarray(p_model, dtype=np.float64)
        ln = np.asarray(line, dtype=np.float64)
        pk = np.asarray(p_market, dtype=np.float64)
        if not self.fitted_:
            # no out-of-sample evidence that the model adds to the market: P(over) is the market's
            return m, np.where(np.isfinite(pk), pk, pm)
        has = np.isfinite(ln) & np.isfinite(pk) & np.isfinite(pm)
        a, b, c = self.coef_
        p_new = 1.0 / (1.0 + np.exp(-(a * _logit(pm) + b * _logit(pk) + c)))
        m_new = np.where(np.isfinite(ln), ln + self.beta_ * (m - ln), m)
        return m_new, np.where(has, p_new, pm)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "market_blend", "fitted": self.fitted_, "beta": self.beta_, "coef": list(self.coef_),
                "n_rows": self.n_rows_, "min_rows": MIN_ROWS, "prob_source": self.prob_source_,
                "holdout_brier_stack": self.stack_brier_, "holdout_brier_market": self.market_brier_}

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=2))
        return path

    @classmethod
    def load(cls, path: Path) -> MarketBlend:
        data = json.loads(path.read_text())
        blend = cls()
        blend.fitted_ = bool(data["fitted"])
        blend.beta_ = float(data["beta"])
        c = data["coef"]
        blend.coef_ = (float(c[0]), float(c[1]), float(c[2]))
        blend.n_rows_ = int(data.get("n_rows", 0))
        blend.prob_source_ = str(data.get("prob_source", "stack"))
        return blend
