"""The whole evaluation as one JSON-able dict (``metrics.json``), and the leakage alarms on it."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nbaprops.evaluate.metrics._frames import DEFAULT_BY, MARKET_COLUMN, as_bool, as_float, groups, market_by
from nbaprops.evaluate.metrics.betting import (
    BET_DEFINITION,
    HIT_RATE_DEFINITION,
    ROI_DEFINITION,
    SETTLED_RESULTS,
    add_derived_columns,
    betting_metrics,
    bucket_metrics,
)
from nbaprops.evaluate.metrics.clv import CONSENSUS_CLV_COLUMNS, clv, consensus_clv
from nbaprops.evaluate.metrics.points import points_metrics
from nbaprops.evaluate.metrics.probability import probability_metrics, probability_rows, reliability_table
from nbaprops.odds import BREAK_EVEN_MINUS_110

__all__ = [
    "ALARM_EDGE_BUCKET_HIT_RATE",
    "ALARM_EDGE_BUCKET_MIN_BETS",
    "ALARM_HIT_RATE",
    "ALARM_HIT_RATE_MIN_BETS",
    "ALARM_LINE_MAE",
    "ALARM_PROP_MAE",
    "ALARM_R2",
    "EDGE_THRESHOLDS",
    "leakage_alarms",
    "summarize",
    "to_jsonable",
]

EDGE_THRESHOLDS: tuple[float, ...] = (1.0, 2.0, 3.0, 5.0)

# Leakage alarm thresholds (PEERS_AND_LIMITS.md §4.1).
ALARM_PROP_MAE = 4.5
ALARM_HIT_RATE = 0.58
ALARM_HIT_RATE_MIN_BETS = 1000
ALARM_R2 = 0.7
ALARM_LINE_MAE = 4.0
ALARM_EDGE_BUCKET_HIT_RATE = 0.75
ALARM_EDGE_BUCKET_MIN_BETS = 100


def _num(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def _label(rec: Mapping[str, Any], keys: Sequence[str] = (MARKET_COLUMN, "system_id")) -> str:
    parts = [f"{k}={rec[k]}" for k in keys if k in rec]
    return ", ".join(parts) or "all"


def leakage_alarms(summary: Mapping[str, Any], *, min_rows: int = 30) -> list[str]:
    """Warnings for numbers too good to be honest (PEERS_AND_LIMITS.md §4.1).

    Fires when, per system: MAE on prop-line players < 4.5; R^2 > 0.7 (on prop rows or all rows);
    the line's own MAE < 4.0 (lines that close to the outcome suggest synthetic lines); hit rate > 58%
    over >= 1000 bets; or any edge bucket hits >= 75% over >= 100 decided bets. MAE/R^2 checks need
    ``min_rows`` rows so tiny samples do not cry wolf. The two MAE thresholds are points figures:
    they are checked on points records only (a record without ``market``, or ``player_points``);
    R^2, hit-rate and edge-bucket alarms hold for every market.

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
        if rec.get(MARKET_COLUMN, "player_points") != "player_points":
            mae_line = math.nan  # a rebounds MAE of 2 is no leak: the MAE alarms are on the points scale
        if n_line >= min_rows and mae_line < ALARM_PROP_MAE:
            alarms.append(f"[{who}] MAE on prop-line players is {mae_line:.2f} < {ALARM_PROP_MAE} over {n_line} rows: "
                          "honest models sit near the line's ~4.9-5.2; check for leaked features.")
        line_mae = _num(rec.get("line_mae")) if rec.get(MARKET_COLUMN, "player_points") == "player_points" else math.nan
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
        by: grouping columns, normally the system; with several markets in ``graded`` (its ``market``
            column) every record is per (market, ``by``) and carries ``market`` (:func:`market_by`).
        n_boot: bootstrap replicates for every betting cell.
        seed: RNG seed.
        edge_thresholds: cumulative |edge| thresholds.
        n_bins: calibration bins.

    Returns:
        Keys ``schema, counts, date_range, break_even_minus_110, points, probability, reliability,
        betting, buckets (edge, confidence_decile, month, side), clv, consensus_clv, alarms, definitions``.
    """
    by = market_by(graded, by)
    g = add_derived_columns(graded)
    dates = pd.to_datetime(g["game_date"])
    reliability: dict[str, Any] = {}
    for key, sub in groups(g, by):
        with_model, both = probability_rows(sub)
        y = as_float(sub["graded_over"])
        reliability[", ".join(str(key[k]) for k in by) or "all"] = {
            "model": reliability_table(as_float(sub["p_over"])[both], y[both], n_bins),
            "market": reliability_table(as_float(sub["market_p_over"])[both], y[both], n_bins),
        }
    result = g["result"]
    markets = sorted(str(m) for m in g[MARKET_COLUMN].dropna().unique()) if MARKET_COLUMN in g.columns else []
    summary: dict[str, Any] = {
        "schema": "nbaprops.metrics/1",
        "markets": markets,
        "by": list(by),
        "counts": {
            "predictions": len(g),
            "void": int(as_bool(g["is_void"]).sum()),
            "valid_line": int(as_bool(g["has_valid_line"]).sum()) if "has_valid_line" in g.columns else None,
            "bets": int(result.isin(SETTLED_RESULTS).sum()),
            "results": {str(k): int(v) for k, v in result.value_counts().items()},
            "by_market": {str(m): {"predictions": len(sub), "void": int(as_bool(sub["is_void"]).sum()),
                                   "bets": int(sub["result"].isin(SETTLED_RESULTS).sum())}
                          for m, sub in (g.groupby(MARKET_COLUMN, sort=True) if MARKET_COLUMN in g.columns else [])},
        },
        "date_range": [dates.min(), dates.max()] if len(g) else [None, None],
        "break_even_minus_110": BREAK_EVEN_MINUS_110,
        "points": points_metrics(g, by, n_boot=n_boot, seed=seed),
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
        "consensus_clv": (consensus_clv(g, by, n_boot=n_boot, seed=seed)
                          if set(CONSENSUS_CLV_COLUMNS) <= set(g.columns) else None),
        "definitions": {
            "void": "no actuals row, points missing, minutes == 0, or 0 points with unknown minutes",
            "bet": BET_DEFINITION,
            "hit_rate": HIT_RATE_DEFINITION,
            "roi": ROI_DEFINITION,
            "break_even": "1 / mean decimal odds of decided bets (0.5238 at -110)",
            "ci": f"percentile bootstrap, slate dates resampled with replacement, n_boot={n_boot}, seed={seed}",
            "line_mae": "|actual - line| on exactly the rows of mae_line",
            "model_only": "model_only_points: the system's forecast from inputs without any line or price "
                          "(features minus MARKET_FEATURES), before the market blend; mae_line_model_only is "
                          "its MAE on valid-line rows, line_mae_model_only the line's on exactly those rows",
            "mae_minus_line_ci": "paired percentile bootstrap of (forecast MAE - line MAE) on the same rows, "
                                 f"slate dates resampled with replacement, n_boot={n_boot}, seed={seed}; "
                                 "a forecast beats the line only when the whole 95% interval is below zero",
            "probability": "valid line, played, not a push, p_over and market_p_over both present",
            "confidence_decile": "quantile decile of confidence among each system's bets",
            "consensus_clv": "vs the books' consensus (docs/market.md): EV of the price taken at the closing "
                             "fair P(side); line / fair-probability move from prediction time to close on rows "
                             "whose close is a later snapshot",
            "price_taken": "the best price of the side among the books at prediction time (roi); roi_posted "
                           "settles the same bets at the chosen book's posted price",
        },
    }
    out: dict[str, Any] = to_jsonable(summary)
    out["alarms"] = leakage_alarms(out)
    return out
