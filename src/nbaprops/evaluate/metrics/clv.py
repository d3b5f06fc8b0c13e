"""Closing-line value: did the bet beat the book's last pre-tip quote (in points, and in probability)?

Two views (``docs/market.md``):

* against the chosen book's own close (``clv_points``, ``clv_prob``, ``clv_ev``: :func:`clv_rows`);
* against the **consensus** of the books (:func:`consensus_clv_rows`): for every prediction with a line
  (its side: the recommendation, else the side of P(over)), the move of the consensus line and of the
  fair P(side) at its line from prediction time to the close, and the EV of the price taken (the best
  price of the side) at the closing fair probability. ``moved`` marks the rows whose close is a later
  snapshot than the market the prediction saw (CLV is only informative there).
"""

from __future__ import annotations

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
    slate_dates,
)
from nbaprops.evaluate.metrics.betting import clustered_bootstrap
from nbaprops.odds import american_to_decimal, devig_two_way, implied_probability

__all__ = ["CONSENSUS_CLV_COLUMNS", "clv", "clv_rows", "consensus_clv", "consensus_clv_rows", "mean_ci"]

#: Columns :func:`consensus_clv_rows` needs (closing_* from grading, the rest from the prediction).
CONSENSUS_CLV_COLUMNS = ("consensus_line", "market_p_over", "consensus_at", "closing_consensus_line",
                         "closing_p_over", "closing_at")


def clv_rows(graded_with_closing: pd.DataFrame) -> pd.DataFrame:
    """Per-bet closing-line value columns.

    Needs ``closing_line``; ``closing_over_price`` / ``closing_under_price`` are optional.

    Adds ``clv_points`` (OVER: closing - line; UNDER: line - closing; positive = beat the close) on bets
    with a closing line, and, where the close is at the same line with both prices and the bet price was
    posted (not assumed), ``clv_prob`` = de-vigged closing P(side) - break-even of the price taken and
    ``clv_ev`` = de-vigged closing P(side) x decimal price taken - 1 (expected ROI if the close is fair).
    """
    out = graded_with_closing.copy()
    is_bet = as_bool(out["is_bet"])
    side = out["recommendation"].to_numpy(dtype=object)
    line, close = as_float(out["line"]), as_float(out["closing_line"])
    sign = np.where(side == "OVER", 1.0, np.where(side == "UNDER", -1.0, np.nan))
    out["clv_points"] = np.where(is_bet & ~np.isnan(close), sign * (close - line), np.nan)

    n = len(out)
    clv_prob = np.full(n, np.nan)
    clv_ev = np.full(n, np.nan)
    if {"closing_over_price", "closing_under_price"} <= set(out.columns):
        co, cu = as_float(out["closing_over_price"]), as_float(out["closing_under_price"])
        assumed = as_bool(out["price_assumed"]) if "price_assumed" in out.columns else np.zeros(n, dtype=bool)
        price = as_float(out["price_taken"])
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
    for key, g in groups(rows_df, by):
        pts = as_float(g["clv_points"])
        pts = pts[~np.isnan(pts)]
        prob = as_float(g["clv_prob"])
        ev = as_float(g["clv_ev"])
        keep = ~np.isnan(prob)
        rows.append({
            **key,
            "n_points": int(pts.size),
            "mean_clv_points": nanmean(pts),
            "share_positive_points": nanmean((pts > 0).astype(float)),
            "share_negative_points": nanmean((pts < 0).astype(float)),
            "n_prob": int(keep.sum()),
            "mean_clv_prob": nanmean(prob[keep]),
            "share_positive_prob": nanmean((prob[keep] > 0).astype(float)),
            "mean_clv_ev": nanmean(ev[keep]),
        })
    return frame(rows, by)


def consensus_clv_rows(graded: pd.DataFrame) -> pd.DataFrame:
    """Per-prediction CLV against the books' consensus (see the module docstring).

    Adds ``clv_side`` (+1 over / -1 under / NaN), ``clv_line_move`` (side x (closing consensus line -
    consensus line at prediction)), ``clv_fair_prob`` (closing fair P(side) at the prediction's line -
    fair P(side) at prediction time), ``clv_ev_close`` (closing fair P(side) x decimal price taken - 1;
    price taken = best price of the side, else the posted one; assumed prices are left out) and
    ``moved`` (close strictly after the prediction's market).
    """
    out = graded.copy()
    n = len(out)
    side_rec = out["recommendation"].to_numpy(dtype=object)
    p = as_float(out["p_over"]) if "p_over" in out.columns else np.full(n, np.nan)
    side = np.where(side_rec == "OVER", 1.0, np.where(side_rec == "UNDER", -1.0,
                    np.where(np.isfinite(p), np.where(p > 0.5, 1.0, -1.0), np.nan)))
    has_line = np.isfinite(as_float(out["line"]))
    side = np.where(has_line, side, np.nan)
    out["clv_side"] = side
    if not set(CONSENSUS_CLV_COLUMNS) <= set(out.columns):
        for c in ("clv_line_move", "clv_fair_prob", "clv_ev_close"):
            out[c] = np.nan
        out["moved"] = False
        return out
    out["clv_line_move"] = side * (as_float(out["closing_consensus_line"]) - as_float(out["consensus_line"]))
    fair_now = np.where(side > 0, as_float(out["market_p_over"]), 1.0 - as_float(out["market_p_over"]))
    fair_close = np.where(side > 0, as_float(out["closing_p_over"]), 1.0 - as_float(out["closing_p_over"]))
    out["clv_fair_prob"] = fair_close - fair_now
    best = as_float(out["best_price"]) if "best_price" in out.columns else np.full(n, np.nan)
    posted = np.where(side > 0, as_float(out["over_price"]), as_float(out["under_price"])) \
        if {"over_price", "under_price"} <= set(out.columns) else np.full(n, np.nan)
    price = np.where(np.isfinite(best), best, posted)
    out["clv_ev_close"] = fair_close * np.asarray(american_to_decimal(price), dtype=np.float64) - 1.0
    now_at = pd.to_datetime(out["consensus_at"], utc=True)
    close_at = pd.to_datetime(out["closing_at"], utc=True)
    out["moved"] = (close_at > now_at).fillna(False).to_numpy(dtype=bool) & has_line
    return out


def mean_ci(dates: Any, values: Any, *, n_boot: int = 1000, seed: int = 0, ci: float = 0.95) -> tuple[float, float]:
    """Slate-clustered percentile bootstrap interval of a per-row mean.

    Reuses :func:`~nbaprops.evaluate.metrics.betting.clustered_bootstrap`: its ROI is a per-row mean
    (profit / rows), so the values go in as "profit" and the ROI interval is the mean's interval.
    """
    v = as_float(values)
    keep = np.isfinite(v)
    if not keep.any() or n_boot <= 0:
        return float("nan"), float("nan")
    d = np.asarray(dates)[keep]
    zeros = np.zeros(int(keep.sum()), dtype=bool)
    res = clustered_bootstrap(d, zeros, zeros, v[keep], n_boot=n_boot, seed=seed, ci=ci)
    return res["roi_ci_low"], res["roi_ci_high"]


def consensus_clv(graded: pd.DataFrame, by: Sequence[str] = DEFAULT_BY, *, n_boot: int = 1000,
                  seed: int = 0) -> pd.DataFrame:
    """Consensus CLV per group and scope, with slate-clustered 95% intervals.

    Scopes: ``predictions`` (every prediction with a line and a side) and ``bets`` (OVER/UNDER bets).
    Per scope: ``n`` (rows with a closing fair probability), ``mean_clv_ev_close`` and its interval
    (all ``n`` rows: the EV of the price taken at the closing fair probability), ``n_moved`` (close
    later than the prediction's market) and on those rows ``mean_clv_line_move``, ``mean_clv_fair_prob``
    (each with its interval) and ``share_positive_fair_prob``.
    """
    rows_df = consensus_clv_rows(graded)
    rows: list[dict[str, Any]] = []
    for key, g in groups(rows_df, by):
        dates = slate_dates(g)
        is_bet = as_bool(g["is_bet"]) if "is_bet" in g.columns else np.zeros(len(g), dtype=bool)
        for scope, mask in (("predictions", np.isfinite(as_float(g["clv_side"]))), ("bets", is_bet)):
            ev = as_float(g["clv_ev_close"])
            have = mask & np.isfinite(ev)
            moved = have & as_bool(g["moved"])
            rec: dict[str, Any] = {**key, "scope": scope, "n": int(have.sum()),
                                   "mean_clv_ev_close": nanmean(ev[have]), "n_moved": int(moved.sum())}
            rec["clv_ev_close_ci_low"], rec["clv_ev_close_ci_high"] = mean_ci(dates[have], ev[have], n_boot=n_boot,
                                                                              seed=seed)
            for col in ("clv_line_move", "clv_fair_prob"):
                v = as_float(g[col])[moved]
                rec[f"mean_{col}"] = nanmean(v)
                rec[f"{col}_ci_low"], rec[f"{col}_ci_high"] = mean_ci(dates[moved], v, n_boot=n_boot, seed=seed)
            fp = as_float(g["clv_fair_prob"])[moved]
            rec["share_positive_fair_prob"] = nanmean((fp[np.isfinite(fp)] > 0).astype(float))
            rows.append(rec)
    return frame(rows, [*by, "scope"])
