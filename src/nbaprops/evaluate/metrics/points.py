"""Point-forecast metrics: MAE, RMSE, bias and R^2 of predicted points, next to the line's MAE on the same rows."""

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

__all__ = ["points_metrics"]


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


def points_metrics(graded: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """MAE, RMSE, bias and R^2 of predicted points, with the line's MAE on the same rows.

    Args:
        graded: output of ``grade_predictions``.
        by: grouping columns (empty for one overall row).

    Returns:
        One row per group: ``n_all, mae_all, rmse_all, bias_all, r2_all`` on every non-void row with a
        prediction; ``n_line, mae_line, rmse_line, bias_line, r2_line`` on the subset with a valid line;
        ``line_mae, line_rmse, line_bias`` (line minus actual) on exactly the ``n_line`` rows; and
        ``mae_minus_line`` (negative = model beats the line).
    """
    rows: list[dict[str, Any]] = []
    for key, g in groups(graded, by):
        pred, actual, line = as_float(g["predicted_points"]), as_float(g["actual_points"]), as_float(g["line"])
        base = ~as_bool(g["is_void"]) & ~np.isnan(pred) & ~np.isnan(actual)
        on_line = base & valid_line(g) & ~np.isnan(line)
        rec: dict[str, Any] = dict(key)
        rec.update(_error_stats(pred[base], actual[base], "all"))
        rec.update(_error_stats(pred[on_line], actual[on_line], "line"))
        line_err = line[on_line] - actual[on_line]
        rec["line_mae"] = nanmean(np.abs(line_err))
        rec["line_rmse"] = float(np.sqrt(np.mean(line_err**2))) if line_err.size else math.nan
        rec["line_bias"] = nanmean(line_err)
        rec["mae_minus_line"] = rec["mae_line"] - rec["line_mae"]
        rows.append(rec)
    return frame(rows, by)
