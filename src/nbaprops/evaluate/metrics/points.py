"""Point-forecast metrics: MAE, RMSE, bias and R^2 of predicted points, next to the line's MAE on the same rows.

Two forecasts per system are scored against the line: the stored (market-blended) ``predicted_points``
and, where the rows carry it, ``model_only_points`` (the same system from inputs without any line or
price). Each difference with the line's MAE comes with a paired 95% bootstrap interval that resamples
slate dates (all rows of a date together; the forecast and the line always on the same rows).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from nbaprops.evaluate.metrics._frames import (
    DEFAULT_BY,
    as_bool,
    as_float,
    date_resamples,
    frame,
    groups,
    nanmean,
    slate_dates,
    valid_line,
)

__all__ = ["paired_mae_difference", "points_metrics"]


def _error_stats(pred: np.ndarray, actual: np.ndarray, prefix: str) -> dict[str, Any]:
    err = pred - actual
    n = int(err.size)
    if n == 0:
        return {f"n_{prefix}": 0, f"mae_{prefix}": math.nan, f"rmse_{prefix}": math.nan,
                f"bias_{prefix}": math.nan, f"r2_{prefix}": math.nan}
    sst = float(np.sum((actual - actual.mean()) ** 2))
    return {
        f"n_{prefix}": n,
        f"mae_{prefix}": float(np.mean(np.abs(err))),
        f"rmse_{prefix}": float(np.sqrt(np.mean(err**2))),
        f"bias_{prefix}": float(np.mean(err)),
        f"r2_{prefix}": 1.0 - float(np.sum(err**2)) / sst if sst > 0 else math.nan,
    }


def paired_mae_difference(dates: Any, pred: npt.ArrayLike, line: npt.ArrayLike, actual: npt.ArrayLike, *,
                          n_boot: int = 1000, seed: int = 0, ci: float = 0.95) -> dict[str, float]:
    """MAE of a forecast minus the line's MAE on the same rows, with a paired slate-date bootstrap.

    Each replicate draws slate dates with replacement and recomputes both MAEs on the rows of the
    drawn dates, so the forecast and the line are always scored on the same rows and the props of one
    slate (correlated) move together. Work is on per-date sums: O(n_boot x n_dates).

    Args:
        dates: slate date of each row.
        pred: the forecast (points) per row.
        line: the book line per row.
        actual: actual points per row.
        n_boot: replicates (0 disables the interval; bounds are NaN).
        seed: RNG seed (fixed: the same inputs give the same interval).
        ci: central interval mass.

    Returns:
        ``diff`` (negative = the forecast beats the line), ``ci_low``, ``ci_high``, ``n`` rows and
        ``n_dates``.
    """
    p, ln, y = (np.asarray(as_float(v), dtype=float) for v in (pred, line, actual))
    d = np.abs(p - y) - np.abs(ln - y)
    out = {"diff": nanmean(d), "ci_low": math.nan, "ci_high": math.nan, "n": int(d.size), "n_dates": 0}
    if d.size == 0:
        return out
    codes, uniques = pd.factorize(pd.Series(dates), use_na_sentinel=False)
    k = len(uniques)
    out["n_dates"] = k
    if n_boot <= 0 or k == 0:
        return out
    s_d = np.bincount(codes, weights=d, minlength=k)
    n_d = np.bincount(codes, minlength=k).astype(float)
    reps = np.empty(n_boot)
    for start, stop, idx in date_resamples(k, n_boot, seed):
        reps[start:stop] = s_d[idx].sum(axis=1) / n_d[idx].sum(axis=1)
    alpha = (1.0 - ci) / 2.0
    out["ci_low"], out["ci_high"] = (float(v) for v in np.percentile(reps, [100 * alpha, 100 * (1 - alpha)]))
    return out


def points_metrics(graded: pd.DataFrame, by: Sequence[str] = DEFAULT_BY, *, n_boot: int = 1000, seed: int = 0,
                   ci: float = 0.95) -> pd.DataFrame:
    """MAE, RMSE, bias and R^2 of predicted points, with the line's MAE on the same rows.

    Args:
        graded: output of ``grade_predictions`` (a ``model_only_points`` column adds the model-only
            figures; without it they are NaN).
        by: grouping columns (empty for one overall row).
        n_boot: bootstrap replicates of the paired intervals (0 disables them).
        seed: RNG seed of the bootstrap.
        ci: interval mass (0.95).

    Returns:
        One row per group: ``n_all, mae_all, rmse_all, bias_all, r2_all`` on every non-void row with a
        prediction; ``n_line, mae_line, rmse_line, bias_line, r2_line`` on the subset with a valid line;
        ``line_mae, line_rmse, line_bias`` (line minus actual) on exactly the ``n_line`` rows;
        ``mae_minus_line`` (negative = model beats the line) with its paired slate-date bootstrap
        interval ``mae_minus_line_ci_low/high`` and ``n_dates_line``. The model-only counterparts:
        ``n_all_model_only, mae_all_model_only``; ``n_line_model_only, mae_line_model_only`` (the
        model-only MAE on valid-line rows that have a model-only forecast), ``line_mae_model_only``
        (the line's MAE on exactly those rows) and ``mae_model_only_minus_line`` with
        ``mae_model_only_minus_line_ci_low/high``.
    """
    rows: list[dict[str, Any]] = []
    for key, g in groups(graded, by):
        pred, actual, line = as_float(g["predicted_points"]), as_float(g["actual_points"]), as_float(g["line"])
        mo = as_float(g["model_only_points"]) if "model_only_points" in g.columns else np.full(len(g), np.nan)
        dates = slate_dates(g)
        played = ~as_bool(g["is_void"]) & ~np.isnan(actual)
        base = played & ~np.isnan(pred)
        on_line = base & valid_line(g) & ~np.isnan(line)
        rec: dict[str, Any] = dict(key)
        rec.update(_error_stats(pred[base], actual[base], "all"))
        rec.update(_error_stats(pred[on_line], actual[on_line], "line"))
        line_err = line[on_line] - actual[on_line]
        rec["line_mae"] = nanmean(np.abs(line_err))
        rec["line_rmse"] = float(np.sqrt(np.mean(line_err**2))) if line_err.size else math.nan
        rec["line_bias"] = nanmean(line_err)
        rec["mae_minus_line"] = rec["mae_line"] - rec["line_mae"]
        blended = paired_mae_difference(dates[on_line], pred[on_line], line[on_line], actual[on_line],
                                        n_boot=n_boot, seed=seed, ci=ci)
        rec["mae_minus_line_ci_low"], rec["mae_minus_line_ci_high"] = blended["ci_low"], blended["ci_high"]
        rec["n_dates_line"] = blended["n_dates"]

        mo_all = played & ~np.isnan(mo)
        mo_line = mo_all & valid_line(g) & ~np.isnan(line)
        rec["n_all_model_only"] = int(mo_all.sum())
        rec["mae_all_model_only"] = nanmean(np.abs(mo[mo_all] - actual[mo_all]))
        rec["n_line_model_only"] = int(mo_line.sum())
        rec["mae_line_model_only"] = nanmean(np.abs(mo[mo_line] - actual[mo_line]))
        rec["line_mae_model_only"] = nanmean(np.abs(line[mo_line] - actual[mo_line]))
        model_only = paired_mae_difference(dates[mo_line], mo[mo_line], line[mo_line], actual[mo_line],
                                           n_boot=n_boot, seed=seed, ci=ci)
        rec["mae_model_only_minus_line"] = model_only["diff"]
        rec["mae_model_only_minus_line_ci_low"] = model_only["ci_low"]
        rec["mae_model_only_minus_line_ci_high"] = model_only["ci_high"]
        rows.append(rec)
    return frame(rows, by)
