"""Metrics over graded predictions, each next to its baseline on the same rows (pure, no database).

Every function takes the frame returned by :func:`nbaprops.evaluate.grading.grade_predictions` and
returns a tidy DataFrame with the ``by`` columns first. :func:`summarize` bundles them into one
JSON-serialisable dict (``metrics.json``) and :func:`leakage_alarms` turns a summary into warnings.

Definitions (PEERS_AND_LIMITS.md §3.4, §4.3, §4.4):

* Point metrics on all non-void rows with a prediction, and again on rows with a valid book line where
  the line's own MAE is computed on exactly those rows.
* Probability metrics on valid-line, non-void, non-push rows that have both ``p_over`` and the
  de-vigged ``market_p_over``; both forecasts are scored on the same rows.
* Bets are OVER/UNDER recommendations on valid lines. ``bets`` = wins + losses + pushes (voids are
  refunded and counted apart); hit rate = wins / (wins + losses); ROI = profit / bets; break-even is
  1 / mean(decimal odds taken) over decided bets (52.38% when every price is -110).
* Confidence intervals: percentile bootstrap resampling slate dates with replacement (props on one
  slate are correlated, so resampling rows would understate the uncertainty).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nbaprops.odds import (
    BREAK_EVEN_MINUS_110,
    american_to_decimal,
    devig_two_way,
    implied_probability,
)

__all__ = [
    "BREAK_EVEN_MINUS_110",
    "add_derived_columns",
    "betting_metrics",
    "bucket_metrics",
    "clustered_bootstrap",
    "clv",
    "clv_rows",
    "ece",
    "leakage_alarms",
    "log_loss",
    "points_metrics",
    "probability_metrics",
    "reliability_table",
    "brier",
    "summarize",
    "to_jsonable",
]

DEFAULT_BY: tuple[str, ...] = ("system_id",)
EDGE_THRESHOLDS: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0)
_EPS = 1e-15

# Leakage alarm thresholds (PEERS_AND_LIMITS.md §4.1).
ALARM_PROP_MAE = 4.5
ALARM_HIT_RATE = 0.58
ALARM_HIT_RATE_MIN_BETS = 1000
ALARM_R2 = 0.7
ALARM_LINE_MAE = 4.0
ALARM_EDGE_BUCKET_HIT_RATE = 0.75
ALARM_EDGE_BUCKET_MIN_BETS = 100


# --------------------------------------------------------------------------------------------------
# helpers


def _f(values: Any) -> np.ndarray:
    """Float array with every missing marker (None, NA, NaT-free numerics) as NaN."""
    s = pd.Series(values)
    if s.dtype == "boolean" or s.dtype == bool:
        s = s.astype("Float64")
    return pd.to_numeric(s, errors="coerce").astype("Float64").to_numpy(dtype=float, na_value=np.nan)


def _b(values: Any) -> np.ndarray:
    return np.asarray(pd.Series(values).astype("boolean").fillna(False), dtype=bool)


def _nanmean(x: np.ndarray) -> float:
    return float(np.mean(x)) if x.size else math.nan


def _groups(df: pd.DataFrame, by: Sequence[str]) -> Iterator[tuple[dict[str, Any], pd.DataFrame]]:
    keys = list(by)
    if not keys:
        yield {}, df
        return
    for key, sub in df.groupby(keys, sort=True, dropna=False):
        values = key if isinstance(key, tuple) else (key,)
        yield dict(zip(keys, values, strict=True)), sub


def _frame(rows: list[dict[str, Any]], by: Sequence[str]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=list(by))
    return df


def _valid_line(df: pd.DataFrame) -> np.ndarray:
    if "has_valid_line" in df.columns:
        return _b(df["has_valid_line"])
    return _b(df["line_valid"]) & ~np.isnan(_f(df["line"]))


def _slate_dates(df: pd.DataFrame) -> np.ndarray:
    return np.asarray(pd.to_datetime(df["game_date"]).dt.normalize().to_numpy())


# --------------------------------------------------------------------------------------------------
# point forecasts


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
    for key, g in _groups(graded, by):
        pred, actual, line = _f(g["predicted_points"]), _f(g["actual_points"]), _f(g["line"])
        base = ~_b(g["is_void"]) & ~np.isnan(pred) & ~np.isnan(actual)
        on_line = base & _valid_line(g) & ~np.isnan(line)
        rec: dict[str, Any] = dict(key)
        rec.update(_error_stats(pred[base], actual[base], "all"))
        rec.update(_error_stats(pred[on_line], actual[on_line], "line"))
        line_err = line[on_line] - actual[on_line]
        rec["line_mae"] = _nanmean(np.abs(line_err))
        rec["line_rmse"] = float(np.sqrt(np.mean(line_err**2))) if line_err.size else math.nan
        rec["line_bias"] = _nanmean(line_err)
        rec["mae_minus_line"] = rec["mae_line"] - rec["line_mae"]
        rows.append(rec)
    return _frame(rows, by)


# --------------------------------------------------------------------------------------------------
# probability forecasts


def brier(p: Any, y: Any) -> float:
    """Mean squared error of probability ``p`` against the 0/1 outcome ``y`` (NaN when empty)."""
    pa, ya = _f(p), _f(y)
    return _nanmean((pa - ya) ** 2)


def log_loss(p: Any, y: Any) -> float:
    """Mean negative log-likelihood, with ``p`` clipped to [1e-15, 1 - 1e-15] (NaN when empty)."""
    pa, ya = np.clip(_f(p), _EPS, 1 - _EPS), _f(y)
    return _nanmean(-(ya * np.log(pa) + (1 - ya) * np.log(1 - pa)))


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
    pa, ya = _f(p), _f(y)
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


def _probability_rows(g: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(scorable rows with p_over, the subset that also has market_p_over)."""
    y = g["graded_over"]
    scorable = _valid_line(g) & ~_b(g["is_void"]) & np.asarray(y.notna(), dtype=bool)
    with_model = scorable & ~np.isnan(_f(g["p_over"]))
    return with_model, with_model & ~np.isnan(_f(g["market_p_over"]))


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
    for key, g in _groups(graded, by):
        with_model, both = _probability_rows(g)
        y = _f(g["graded_over"])
        p, m = _f(g["p_over"]), _f(g["market_p_over"])
        yb, pb, mb = y[both], p[both], m[both]
        model_only = with_model & ~both
        bm, bk = brier(pb, yb), brier(mb, yb)
        rows.append({
            **key,
            "n": int(both.sum()),
            "over_rate": _nanmean(yb),
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
    return _frame(rows, by)


# --------------------------------------------------------------------------------------------------
# betting


def clustered_bootstrap(dates: Any, won: Any, lost: Any, profit: Any, *, n_boot: int = 1000, seed: int = 0,
                        ci: float = 0.95) -> dict[str, float]:
    """Percentile bootstrap of hit rate and ROI resampling slate dates with replacement.

    All bets of a resampled date come along together, so within-slate correlation widens the interval
    as it should. Work is done on per-date totals, so cost is O(n_boot x n_dates) regardless of bets.

    Args:
        dates: slate date of each bet (pushes included; they count in ROI's denominator).
        won: bool per bet.
        lost: bool per bet.
        profit: units won/lost per bet (0 for pushes).
        n_boot: bootstrap replicates (0 disables the bootstrap; bounds are NaN).
        seed: RNG seed, fixed for reproducible reports.
        ci: central interval mass.

    Returns:
        ``hit_rate_ci_low/high``, ``roi_ci_low/high`` and ``p_roi_le_0`` (share of replicates with
        ROI <= 0, a one-sided bootstrap p-value for "ROI > 0").
    """
    nan = {"hit_rate_ci_low": math.nan, "hit_rate_ci_high": math.nan, "roi_ci_low": math.nan,
           "roi_ci_high": math.nan, "p_roi_le_0": math.nan}
    codes, uniques = pd.factorize(pd.Series(dates), use_na_sentinel=False)
    k = len(uniques)
    if n_boot <= 0 or k == 0:
        return nan
    w_d = np.bincount(codes, weights=_b(won).astype(float), minlength=k)
    l_d = np.bincount(codes, weights=_b(lost).astype(float), minlength=k)
    p_d = np.bincount(codes, weights=_f(profit), minlength=k)
    n_d = np.bincount(codes, minlength=k).astype(float)
    rng = np.random.default_rng(seed)
    hit = np.empty(n_boot)
    roi = np.empty(n_boot)
    chunk = max(1, 2_000_000 // k)  # bound memory at ~16 MB per index block
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = rng.integers(0, k, size=(stop - start, k))
        wins, decided = w_d[idx].sum(axis=1), (w_d + l_d)[idx].sum(axis=1)
        bets, prof = n_d[idx].sum(axis=1), p_d[idx].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            hit[start:stop] = np.where(decided > 0, wins / decided, np.nan)
            roi[start:stop] = np.where(bets > 0, prof / bets, np.nan)
    alpha = (1.0 - ci) / 2.0
    q = [100 * alpha, 100 * (1 - alpha)]
    out = dict(nan)
    if np.isfinite(hit).any():
        out["hit_rate_ci_low"], out["hit_rate_ci_high"] = (float(v) for v in np.nanpercentile(hit, q))
    if np.isfinite(roi).any():
        out["roi_ci_low"], out["roi_ci_high"] = (float(v) for v in np.nanpercentile(roi, q))
        out["p_roi_le_0"] = float(np.mean(roi[np.isfinite(roi)] <= 0))
    return out


def _bet_stats(g: pd.DataFrame, n_boot: int, seed: int, ci: float) -> dict[str, Any]:
    result = g["result"].to_numpy(dtype=object)
    won, lost, push = result == "WIN", result == "LOSS", result == "PUSH"
    stood = won | lost | push
    wins, losses, pushes = int(won.sum()), int(lost.sum()), int(push.sum())
    bets = wins + losses + pushes
    profit_all = _f(g["profit_units"])
    profit = float(profit_all[stood].sum())
    decided = won | lost
    price = _f(g["price_taken"])[decided]
    rec: dict[str, Any] = {
        "bets": bets,
        "wins": wins,
        "losses": losses,
        "pushes": pushes,
        "voids": int((result == "VOID").sum()),
        "hit_rate": wins / (wins + losses) if wins + losses else math.nan,
        "profit_units": profit,
        "roi": profit / bets if bets else math.nan,
        "break_even": 1.0 / float(np.mean(american_to_decimal(price))) if price.size else math.nan,
        "break_even_minus_110": BREAK_EVEN_MINUS_110,
        "price_assumed": int(_b(g["price_assumed"])[stood].sum()) if "price_assumed" in g.columns else 0,
        "n_dates": 0,
    }
    rec["hit_rate_minus_break_even"] = rec["hit_rate"] - rec["break_even"]
    if bets:
        dates = _slate_dates(g)[stood]
        rec["n_dates"] = int(pd.Series(dates).nunique())
        rec.update(clustered_bootstrap(dates, won[stood], lost[stood], profit_all[stood],
                                       n_boot=n_boot, seed=seed, ci=ci))
    else:
        rec.update(clustered_bootstrap([], [], [], [], n_boot=0))
    return rec


def betting_metrics(graded: pd.DataFrame, by: Sequence[str] = DEFAULT_BY, *, n_boot: int = 1000, seed: int = 0,
                    ci: float = 0.95) -> pd.DataFrame:
    """Bets, wins, losses, pushes, hit rate, ROI and break-even, with slate-clustered bootstrap CIs.

    Args:
        graded: output of ``grade_predictions``.
        by: grouping columns (empty for one overall row).
        n_boot: bootstrap replicates per group (0 disables the CIs).
        seed: RNG seed.
        ci: interval mass (0.95).

    Returns:
        One row per group: ``bets`` (wins + losses + pushes), ``wins, losses, pushes, voids``,
        ``hit_rate`` (wins / (wins + losses)), ``profit_units``, ``roi`` (profit / bets), ``break_even``
        (from the prices actually taken), ``break_even_minus_110`` (0.5238), ``hit_rate_minus_break_even``,
        ``price_assumed`` (bets priced at an assumed -110), ``n_dates``, ``hit_rate_ci_low/high``,
        ``roi_ci_low/high`` and ``p_roi_le_0``.
    """
    rows = [{**key, **_bet_stats(g, n_boot, seed, ci)} for key, g in _groups(graded, by)]
    return _frame(rows, by)


def add_derived_columns(graded: pd.DataFrame) -> pd.DataFrame:
    """Add the slicing columns used by the bucket reports.

    Adds ``abs_edge`` (|edge|, falling back to |predicted - line|), ``month`` ('YYYY-MM'), ``side``
    (the recommendation) and ``confidence_decile`` (1-10, quantile decile of confidence among each
    system's bets, so uncalibrated or narrow confidence scales still split into ten groups).
    """
    out = graded.copy()
    edge = _f(out["edge"]) if "edge" in out.columns else np.full(len(out), np.nan)
    fallback = _f(out["predicted_points"]) - _f(out["line"])
    out["abs_edge"] = np.abs(np.where(np.isnan(edge), fallback, edge))
    out["month"] = pd.to_datetime(out["game_date"]).dt.strftime("%Y-%m")
    out["side"] = out["recommendation"]
    conf = pd.Series(_f(out["confidence"]) if "confidence" in out.columns else np.nan, index=out.index)
    bets = _b(out["is_bet"]) if "is_bet" in out.columns else np.ones(len(out), dtype=bool)
    keys = out["system_id"] if "system_id" in out.columns else pd.Series(0, index=out.index)
    pct = conf.where(bets).groupby(keys).rank(pct=True, method="average")
    out["confidence_decile"] = np.ceil(pct * 10).clip(1, 10).astype("Int64")
    return out


def bucket_metrics(graded: pd.DataFrame, column: str, edges: Sequence[float] | None = None, *,
                   by: Sequence[str] = DEFAULT_BY, cumulative: bool = False, absolute: bool = False,
                   n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Betting metrics sliced by a column.

    Args:
        graded: output of ``grade_predictions`` (``add_derived_columns`` adds abs_edge, month, side,
            confidence_decile).
        column: column to slice on.
        edges: numeric bucket edges. ``None`` treats ``column`` as categorical (one bucket per value).
        by: grouping columns inside each bucket.
        cumulative: with edges, buckets are ``column >= edge`` (overlapping, as edge thresholds are
            usually quoted); otherwise half-open intervals ``[e_i, e_i+1)``.
        absolute: slice on ``|column|``.
        n_boot: bootstrap replicates per cell.
        seed: RNG seed.

    Returns:
        ``betting_metrics`` rows with an extra ``bucket`` column (a label such as ``'>=3'``,
        ``'[1, 2)'`` or the category value), ordered by bucket.
    """
    parts: list[pd.DataFrame] = []
    if edges is None:
        for value, sub in graded.groupby(column, sort=True, dropna=True):
            parts.append(betting_metrics(sub, by, n_boot=n_boot, seed=seed).assign(bucket=str(value)))
    else:
        values = _f(graded[column])
        if absolute:
            values = np.abs(values)
        cuts = [float(e) for e in edges]
        if cumulative:
            masks = [(f">={e:g}", values >= e) for e in cuts]
        else:
            masks = [(f"[{lo:g}, {hi:g})", (values >= lo) & (values < hi)) for lo, hi in zip(cuts, cuts[1:], strict=False)]
        for label, mask in masks:
            parts.append(betting_metrics(graded.loc[mask], by, n_boot=n_boot, seed=seed).assign(bucket=label))
    if not parts:
        return pd.DataFrame(columns=["bucket", *by])
    out = pd.concat([p for p in parts if not p.empty] or parts, ignore_index=True)
    return out[["bucket", *[c for c in out.columns if c != "bucket"]]]


# --------------------------------------------------------------------------------------------------
# closing-line value


def clv_rows(graded_with_closing: pd.DataFrame) -> pd.DataFrame:
    """Per-bet closing-line value columns.

    Needs ``closing_line``; ``closing_over_price`` / ``closing_under_price`` are optional.

    Adds ``clv_points`` (OVER: closing - line; UNDER: line - closing; positive = beat the close) on bets
    with a closing line, and, where the close is at the same line with both prices and the bet price was
    posted (not assumed), ``clv_prob`` = de-vigged closing P(side) - break-even of the price taken and
    ``clv_ev`` = de-vigged closing P(side) x decimal price taken - 1 (expected ROI if the close is fair).
    """
    out = graded_with_closing.copy()
    is_bet = _b(out["is_bet"])
    side = out["recommendation"].to_numpy(dtype=object)
    line, close = _f(out["line"]), _f(out["closing_line"])
    sign = np.where(side == "OVER", 1.0, np.where(side == "UNDER", -1.0, np.nan))
    out["clv_points"] = np.where(is_bet & ~np.isnan(close), sign * (close - line), np.nan)

    n = len(out)
    clv_prob = np.full(n, np.nan)
    clv_ev = np.full(n, np.nan)
    if {"closing_over_price", "closing_under_price"} <= set(out.columns):
        co, cu = _f(out["closing_over_price"]), _f(out["closing_under_price"])
        assumed = _b(out["price_assumed"]) if "price_assumed" in out.columns else np.zeros(n, dtype=bool)
        price = _f(out["price_taken"])
        ok = is_bet & ~assumed & (close == line) & ~np.isnan(co) & ~np.isnan(cu) & ~np.isnan(price)
        if ok.any():
            fair_over = devig_two_way(co[ok], cu[ok])
            fair_side = np.where(side[ok] == "OVER", fair_over, 1.0 - fair_over)
            clv_prob[ok] = fair_side - implied_probability(price[ok])
            clv_ev[ok] = fair_side * american_to_decimal(price[ok]) - 1.0
    out["clv_prob"] = clv_prob
    out["clv_ev"] = clv_ev
    return out


def clv(graded_with_closing: pd.DataFrame, by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """Closing-line value summary where a closing line exists.

    Args:
        graded_with_closing: graded frame with ``closing_line`` (and optionally closing prices).
        by: grouping columns.

    Returns:
        One row per group: ``n_points, mean_clv_points, share_positive_points, share_negative_points``
        and ``n_prob, mean_clv_prob, share_positive_prob, mean_clv_ev`` (see :func:`clv_rows`).
    """
    rows_df = clv_rows(graded_with_closing)
    rows: list[dict[str, Any]] = []
    for key, g in _groups(rows_df, by):
        pts = _f(g["clv_points"])
        pts = pts[~np.isnan(pts)]
        prob = _f(g["clv_prob"])
        ev = _f(g["clv_ev"])
        keep = ~np.isnan(prob)
        rows.append({
            **key,
            "n_points": int(pts.size),
            "mean_clv_points": _nanmean(pts),
            "share_positive_points": _nanmean((pts > 0).astype(float)),
            "share_negative_points": _nanmean((pts < 0).astype(float)),
            "n_prob": int(keep.sum()),
            "mean_clv_prob": _nanmean(prob[keep]),
            "share_positive_prob": _nanmean((prob[keep] > 0).astype(float)),
            "mean_clv_ev": _nanmean(ev[keep]),
        })
    return _frame(rows, by)


# --------------------------------------------------------------------------------------------------
# alarms and the summary


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _label(rec: Mapping[str, Any], keys: Sequence[str] = ("system_id",)) -> str:
    parts = [f"{k}={rec[k]}" for k in keys if k in rec]
    return ", ".join(parts) or "all"


def leakage_alarms(summary: Mapping[str, Any], *, min_rows: int = 30) -> list[str]:
    """Warnings for numbers too good to be honest (PEERS_AND_LIMITS.md §4.1).

    Fires when, per system: MAE on prop-line players < 4.5; R^2 > 0.7 (on prop rows or all rows);
    the line's own MAE < 4.0 (lines that close to the outcome suggest synthetic lines); hit rate > 58%
    over >= 1000 bets; or any edge bucket hits >= 75% over >= 100 decided bets. MAE/R^2 checks need
    ``min_rows`` rows so tiny samples do not cry wolf.

    Args:
        summary: the dict from :func:`summarize` (keys ``points``, ``betting``, ``buckets``).
        min_rows: minimum rows for the MAE and R^2 checks.

    Returns:
        Human-readable messages; empty when nothing looks suspicious.
    """
    alarms: list[str] = []
    for rec in summary.get("points") or []:
        who = _label(rec)
        n_line = int(_num(rec.get("n_line")) or 0)
        mae_line = _num(rec.get("mae_line"))
        if n_line >= min_rows and mae_line < ALARM_PROP_MAE:
            alarms.append(f"[{who}] MAE on prop-line players is {mae_line:.2f} < {ALARM_PROP_MAE} over {n_line} rows: "
                          "honest models sit near the line's ~4.9-5.2; check for leaked features.")
        line_mae = _num(rec.get("line_mae"))
        if n_line >= min_rows and line_mae < ALARM_LINE_MAE:
            alarms.append(f"[{who}] the lines' own MAE is {line_mae:.2f} < {ALARM_LINE_MAE} over {n_line} rows: "
                          "real book lines miss by ~4.9-5.2; check for synthetic or post-game lines.")
        for scope, n_key in (("line", "n_line"), ("all", "n_all")):
            r2 = _num(rec.get(f"r2_{scope}"))
            n = int(_num(rec.get(n_key)) or 0)
            if n >= min_rows and r2 > ALARM_R2:
                alarms.append(f"[{who}] R^2 on {scope} rows is {r2:.3f} > {ALARM_R2} over {n} rows: "
                              "single-game points are too noisy for that; check for leakage.")
    for rec in summary.get("betting") or []:
        bets = int(_num(rec.get("bets")) or 0)
        hr = _num(rec.get("hit_rate"))
        if bets >= ALARM_HIT_RATE_MIN_BETS and hr > ALARM_HIT_RATE:
            alarms.append(f"[{_label(rec)}] hit rate {hr:.1%} > {ALARM_HIT_RATE:.0%} over {bets} bets: "
                          "long-run professionals reach 53-55%; investigate leakage before celebrating.")
    buckets = summary.get("buckets") or {}
    for rec in buckets.get("edge") or []:
        decided = int(_num(rec.get("wins")) or 0) + int(_num(rec.get("losses")) or 0)
        hr = _num(rec.get("hit_rate"))
        if decided >= ALARM_EDGE_BUCKET_MIN_BETS and hr >= ALARM_EDGE_BUCKET_HIT_RATE:
            alarms.append(f"[{_label(rec)}, edge {rec.get('bucket')}] hit rate {hr:.1%} over {decided} decided bets: "
                          "accuracy climbing into the 75-90% range with edge was the reference system's leakage signature.")
    return alarms


def to_jsonable(obj: Any) -> Any:
    """Recursively convert numpy/pandas scalars to Python, NaN/inf/NA to None, timestamps to ISO text."""
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [to_jsonable(r) for r in obj.to_dict(orient="records")]
    if isinstance(obj, list | tuple | np.ndarray | pd.Series):
        return [to_jsonable(v) for v in list(obj)]
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, bool | np.bool_):
        return bool(obj)
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, float | np.floating):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, pd.Timestamp | np.datetime64):
        return pd.Timestamp(obj).isoformat()
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    return obj if isinstance(obj, str) else str(obj)


def summarize(graded: pd.DataFrame, *, by: Sequence[str] = DEFAULT_BY, n_boot: int = 1000, seed: int = 0,
              edge_thresholds: Sequence[float] = EDGE_THRESHOLDS, n_bins: int = 10) -> dict[str, Any]:
    """All metrics as one JSON-serialisable dict (the content of ``metrics.json``).

    Args:
        graded: output of ``grade_predictions``; a ``closing_line`` column (and closing prices) adds CLV.
        by: grouping columns, normally the system.
        n_boot: bootstrap replicates for every betting cell.
        seed: RNG seed.
        edge_thresholds: cumulative |edge| thresholds.
        n_bins: calibration bins.

    Returns:
        Keys ``schema, counts, date_range, break_even_minus_110, points, probability, reliability,
        betting, buckets (edge, confidence_decile, month, side), clv, alarms, definitions``.
    """
    g = add_derived_columns(graded)
    dates = pd.to_datetime(g["game_date"])
    reliability: dict[str, Any] = {}
    for key, sub in _groups(g, by):
        with_model, both = _probability_rows(sub)
        y = _f(sub["graded_over"])
        reliability[", ".join(str(key[k]) for k in by) or "all"] = {
            "model": reliability_table(_f(sub["p_over"])[both], y[both], n_bins),
            "market": reliability_table(_f(sub["market_p_over"])[both], y[both], n_bins),
        }
    result = g["result"]
    summary: dict[str, Any] = {
        "schema": "nbaprops.metrics/1",
        "counts": {
            "predictions": len(g),
            "void": int(_b(g["is_void"]).sum()),
            "valid_line": int(_b(g["has_valid_line"]).sum()) if "has_valid_line" in g.columns else None,
            "bets": int(result.isin(["WIN", "LOSS", "PUSH"]).sum()),
            "results": {str(k): int(v) for k, v in result.value_counts().items()},
        },
        "date_range": [dates.min(), dates.max()] if len(g) else [None, None],
        "break_even_minus_110": BREAK_EVEN_MINUS_110,
        "points": points_metrics(g, by),
        "probability": probability_metrics(g, by, n_bins),
        "reliability": reliability,
        "betting": betting_metrics(g, by, n_boot=n_boot, seed=seed),
        "buckets": {
            "edge": bucket_metrics(g, "abs_edge", edge_thresholds, by=by, cumulative=True, n_boot=n_boot, seed=seed),
            "confidence_decile": bucket_metrics(g, "confidence_decile", by=by, n_boot=n_boot, seed=seed),
            "month": bucket_metrics(g, "month", by=by, n_boot=n_boot, seed=seed),
            "side": bucket_metrics(g, "side", by=by, n_boot=n_boot, seed=seed),
        },
        "clv": clv(g, by) if "closing_line" in g.columns else None,
        "definitions": {
            "void": "no actuals row, points missing, minutes == 0, or 0 points with unknown minutes",
            "bet": "OVER/UNDER on a validated ACTUAL_PROP line; bets = wins + losses + pushes",
            "hit_rate": "wins / (wins + losses); pushes and voids excluded",
            "roi": "profit_units / bets, 1 unit staked at the posted price of the side taken",
            "break_even": "1 / mean decimal odds of decided bets (0.5238 at -110)",
            "ci": f"percentile bootstrap, slate dates resampled with replacement, n_boot={n_boot}, seed={seed}",
            "line_mae": "|actual - line| on exactly the rows of mae_line",
            "probability": "valid line, played, not a push, p_over and market_p_over both present",
            "confidence_decile": "quantile decile of confidence among each system's bets",
        },
    }
    out: dict[str, Any] = to_jsonable(summary)
    out["alarms"] = leakage_alarms(out)
    return out
