"""Probability-forecast metrics: Brier, log-loss, calibration (ECE, reliability) and AUC of P(over),
each next to the de-vigged market's on exactly the same rows."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nbaprops.evaluate.metrics._frames import (
    DEFAULT_BY,
    as_bool,
    as_float,
    frame,
    groups,
    nanmean,
    valid_line,
)

__all__ = ["brier", "ece", "log_loss", "probability_metrics", "probability_rows", "reliability_table"]

_EPS = 1e-15


def brier(p: Any, y: Any) -> float:
    """Mean squared error of probability ``p`` against the 0/1 outcome ``y`` (NaN when empty)."""
    pa, ya = as_float(p), as_float(y)
    return nanmean((pa - ya) ** 2)


def log_loss(p: Any, y: Any) -> float:
    """Mean negative log-likelihood, with ``p`` clipped to [1e-15, 1 - 1e-15] (NaN when empty)."""
    pa, ya = np.clip(as_float(p), _EPS, 1 - _EPS), as_float(y)
    return nanmean(-(ya * np.log(pa) + (1 - ya) * np.log(1 - pa)))


def _auc(p: np.ndarray, y: np.ndarray) -> float:
    n_pos, n_neg = int(y.sum()), int((1 - y).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = pd.Series(p).rank(method="average").to_numpy()
    return float((ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def reliability_table(p: Any, y: Any, n_bins: int = 10) -> pd.DataFrame:
    """Reliability (calibration) table over equal-width probability bins.

    Args:
        p: predicted probabilities in [0, 1].
        y: 0/1 outcomes, same length.
        n_bins: number of equal-width bins on [0, 1].

    Returns:
        Non-empty bins only, columns ``bin, bin_lower, bin_upper, mean_predicted, observed_rate, count``.
    """
    pa, ya = as_float(p), as_float(y)
    keep = ~np.isnan(pa) & ~np.isnan(ya)
    pa, ya = pa[keep], ya[keep]
    idx = np.clip(np.floor(pa * n_bins).astype(int), 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=pa, minlength=n_bins)
    sum_y = np.bincount(idx, weights=ya, minlength=n_bins)
    nz = count > 0
    bins = np.arange(n_bins)
    return pd.DataFrame({
        "bin": bins[nz],
        "bin_lower": bins[nz] / n_bins,
        "bin_upper": (bins[nz] + 1) / n_bins,
        "mean_predicted": sum_p[nz] / count[nz],
        "observed_rate": sum_y[nz] / count[nz],
        "count": count[nz],
    })


def ece(p: Any, y: Any, n_bins: int = 10) -> float:
    """Expected calibration error: count-weighted mean |mean predicted - observed rate| over bins."""
    table = reliability_table(p, y, n_bins)
    total = int(table["count"].sum())
    if total == 0:
        return math.nan
    gap = np.abs(table["mean_predicted"].to_numpy() - table["observed_rate"].to_numpy())
    return float(np.sum(gap * table["count"].to_numpy()) / total)


def probability_rows(g: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(scorable rows with p_over, the subset that also has market_p_over)."""
    y = g["graded_over"]
    scorable = valid_line(g) & ~as_bool(g["is_void"]) & np.asarray(y.notna(), dtype=bool)
    with_model = scorable & ~np.isnan(as_float(g["p_over"]))
    return with_model, with_model & ~np.isnan(as_float(g["market_p_over"]))


def probability_metrics(graded: pd.DataFrame, by: Sequence[str] = DEFAULT_BY, n_bins: int = 10) -> pd.DataFrame:
    """Brier, log-loss, ECE and AUC of ``p_over`` vs the de-vigged market on the same rows.

    Args:
        graded: output of ``grade_predictions``.
        by: grouping columns.
        n_bins: bins for ECE.

    Returns:
        One row per group with ``n`` (rows with valid line, played, not a push, both probabilities),
        ``over_rate``, ``brier_model``, ``brier_market``, ``brier_const`` (always-0.5 forecast),
        ``brier_skill_vs_market`` (1 - model/market; positive = model better), ``logloss_model``,
        ``logloss_market``, ``ece_model``, ``ece_market``, ``auc_model``, ``auc_market``, and
        ``n_model_only`` / ``brier_model_only`` for scorable rows that had ``p_over`` but no market price.
    """
    rows: list[dict[str, Any]] = []
    for key, g in groups(graded, by):
        with_model, both = probability_rows(g)
        y = as_float(g["graded_over"])
        p, m = as_float(g["p_over"]), as_float(g["market_p_over"])
        yb, pb, mb = y[both], p[both], m[both]
        model_only = with_model & ~both
        bm, bk = brier(pb, yb), brier(mb, yb)
        rows.append({
            **key,
            "n": int(both.sum()),
            "over_rate": nanmean(yb),
            "brier_model": bm,
            "brier_market": bk,
            "brier_const": brier(np.full(yb.size, 0.5), yb),
            "brier_skill_vs_market": 1.0 - bm / bk if bk and not math.isnan(bk) else math.nan,
            "logloss_model": log_loss(pb, yb),
            "logloss_market": log_loss(mb, yb),
            "ece_model": ece(pb, yb, n_bins),
            "ece_market": ece(mb, yb, n_bins),
            "auc_model": _auc(pb, yb),
            "auc_market": _auc(mb, yb),
            "n_model_only": int(model_only.sum()),
            "brier_model_only": brier(p[model_only], y[model_only]),
        })
    return frame(rows, by)
