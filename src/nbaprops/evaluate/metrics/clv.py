"""Closing-line value: did the bet beat the book's last pre-tip quote (in points, and in probability)?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nbaprops.evaluate.metrics._frames import DEFAULT_BY, as_bool, as_float, frame, groups, nanmean
from nbaprops.odds import american_to_decimal, devig_two_way, implied_probability

__all__ = ["clv", "clv_rows"]


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
