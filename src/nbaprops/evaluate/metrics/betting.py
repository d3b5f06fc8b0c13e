"""Betting metrics, and the one definition of a betting record: bets, hit rate and ROI.

The definition
--------------

* A **bet** is an OVER/UNDER recommendation on a real, validated book line. The grader
  (:func:`nbaprops.evaluate.grading.grade_predictions`) gives exactly those rows a ``result`` of WIN, LOSS,
  PUSH or VOID; every other row is NO_BET.
* **bets** = wins + losses + pushes (:data:`SETTLED_RESULTS`); a VOID (the player did not play) is refunded
  and counted apart.
* **hit rate** = wins / (wins + losses): pushes and voids are never in the denominator; NaN when no bet
  was decided.
* **ROI** = profit units / bets, 1 unit staked at the posted price of the side taken (a win pays
  ``decimal - 1``, a loss -1, a push 0; :func:`nbaprops.odds.profit_units`); NaN when there is no bet. A
  settled bet without a stored profit counts 0 (the grader always stores one).

:class:`BetRecord` holds the counts and derives ``bets``, ``hit_rate`` and ``roi``; :func:`hit_rate` and
:func:`roi` are the two formulas (scalars or arrays). They are used by

* the report and the CLI, through :func:`betting_metrics` (``metrics.json``, ``report.md``, the bootstrap);
* the dashboard's performance page (:func:`nbaprops.queries.dashboard.load_performance`), per system,
  month and date and cumulatively;
* and the same definition is implemented in SQL by the warehouse views ``performance_valid_lines_only``
  and ``system_daily_performance`` (``warehouse/sql/schema/004_monitoring_views.sql``):
  ``CAST(wins AS DOUBLE) / NULLIF(wins + losses, 0)`` and ``profit_units / NULLIF(bets, 0)``, with bets and
  ``coalesce(profit_units, 0.0)`` summed over WIN/LOSS/PUSH. The views also re-check
  ``is_bet AND has_valid_line AND line_source = 'ACTUAL_PROP'``, which the grader already guarantees for
  every row with a WIN/LOSS/PUSH/VOID result.

``tests/integration/test_monitoring_shared.py`` grades real predictions and checks that
:func:`betting_metrics`, the dashboard and both views give the same hit rate and ROI (to 1e-9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, overload

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
    slate_dates,
)
from nbaprops.odds import BREAK_EVEN_MINUS_110, american_to_decimal

__all__ = [
    "BET_DEFINITION",
    "HIT_RATE_DEFINITION",
    "ROI_DEFINITION",
    "SETTLED_RESULTS",
    "BetRecord",
    "add_derived_columns",
    "betting_metrics",
    "bucket_metrics",
    "clustered_bootstrap",
    "hit_rate",
    "roi",
]

FloatArray = npt.NDArray[np.float64]

#: Results of a bet that stood (stake at risk, or returned on a push): the ``bets`` of ROI's denominator.
SETTLED_RESULTS: tuple[str, ...] = ("WIN", "LOSS", "PUSH")
#: The definitions in words (``metrics.json`` carries them).
BET_DEFINITION = "OVER/UNDER on a validated ACTUAL_PROP line; bets = wins + losses + pushes"
HIT_RATE_DEFINITION = "wins / (wins + losses); pushes and voids excluded"
ROI_DEFINITION = "profit_units / bets, 1 unit staked at the posted price of the side taken"


# --------------------------------------------------------------------------------------------------
# the definition


@overload
def hit_rate(wins: float, losses: float) -> float: ...
@overload
def hit_rate(wins: FloatArray, losses: FloatArray) -> FloatArray: ...
def hit_rate(wins: float | FloatArray, losses: float | FloatArray) -> float | FloatArray:
    """Hit rate: ``wins / (wins + losses)``; NaN where no bet was decided.

    Args:
        wins: bets won (scalar or array).
        losses: bets lost, same shape.

    Returns:
        A float for scalars, else an array.
    """
    w = np.asarray(wins, dtype=np.float64)
    decided = w + np.asarray(losses, dtype=np.float64)
    out = np.divide(w, decided, out=np.full(decided.shape, np.nan), where=decided > 0)
    return float(out) if out.ndim == 0 else out


@overload
def roi(profit_units: float, bets: float) -> float: ...
@overload
def roi(profit_units: FloatArray, bets: FloatArray) -> FloatArray: ...
def roi(profit_units: float | FloatArray, bets: float | FloatArray) -> float | FloatArray:
    """Return on investment: ``profit_units / bets`` (1 unit per bet); NaN where there is no bet.

    Args:
        profit_units: units won or lost over the bets (scalar or array).
        bets: wins + losses + pushes, same shape.

    Returns:
        A float for scalars, else an array.
    """
    p = np.asarray(profit_units, dtype=np.float64)
    n = np.asarray(bets, dtype=np.float64)
    out = np.divide(p, n, out=np.full(np.broadcast(p, n).shape, np.nan), where=n > 0)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True, kw_only=True)
class BetRecord:
    """Wins, losses, pushes, voids and profit of a set of bets; ``bets``, ``hit_rate`` and ``roi`` derive.

    Records add up (``a + b``), which is how cumulative figures are built.
    """

    wins: int = 0
    losses: int = 0
    pushes: int = 0
    voids: int = 0
    profit_units: float = 0.0

    @property
    def bets(self) -> int:
        """Wins + losses + pushes (voids are not bets that stood)."""
        return self.wins + self.losses + self.pushes

    @property
    def hit_rate(self) -> float:
        """``wins / (wins + losses)``; NaN with no decided bet."""
        return hit_rate(float(self.wins), float(self.losses))

    @property
    def roi(self) -> float:
        """``profit_units / bets``; NaN with no bet."""
        return roi(float(self.profit_units), float(self.bets))

    def __add__(self, other: BetRecord) -> BetRecord:
        return BetRecord(wins=self.wins + other.wins, losses=self.losses + other.losses,
                         pushes=self.pushes + other.pushes, voids=self.voids + other.voids,
                         profit_units=self.profit_units + other.profit_units)

    @classmethod
    def from_results(cls, result: Any, profit_units: Any) -> BetRecord:
        """The record of graded rows.

        Args:
            result: the grader's ``result`` per row (WIN, LOSS, PUSH, VOID, NO_BET).
            profit_units: the grader's ``profit_units`` per row (summed over settled rows; missing as 0).

        Returns:
            The counts and the profit of the rows.
        """
        res = np.asarray(result, dtype=object)
        profit = as_float(profit_units)
        settled = np.isin(res, SETTLED_RESULTS)
        return cls(wins=int((res == "WIN").sum()), losses=int((res == "LOSS").sum()),
                   pushes=int((res == "PUSH").sum()), voids=int((res == "VOID").sum()),
                   profit_units=float(np.nansum(profit[settled])))


# --------------------------------------------------------------------------------------------------
# betting metrics of graded frames


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
    w_d = np.bincount(codes, weights=as_bool(won).astype(float), minlength=k)
    l_d = np.bincount(codes, weights=as_bool(lost).astype(float), minlength=k)
    p_d = np.bincount(codes, weights=np.nan_to_num(as_float(profit), nan=0.0), minlength=k)
    n_d = np.bincount(codes, minlength=k).astype(float)
    hits = np.empty(n_boot)
    rois = np.empty(n_boot)
    for start, stop, idx in date_resamples(k, n_boot, seed):
        hits[start:stop] = hit_rate(w_d[idx].sum(axis=1), l_d[idx].sum(axis=1))
        rois[start:stop] = roi(p_d[idx].sum(axis=1), n_d[idx].sum(axis=1))
    alpha = (1.0 - ci) / 2.0
    q = [100 * alpha, 100 * (1 - alpha)]
    out = dict(nan)
    if np.isfinite(hits).any():
        out["hit_rate_ci_low"], out["hit_rate_ci_high"] = (float(v) for v in np.nanpercentile(hits, q))
    if np.isfinite(rois).any():
        out["roi_ci_low"], out["roi_ci_high"] = (float(v) for v in np.nanpercentile(rois, q))
        out["p_roi_le_0"] = float(np.mean(rois[np.isfinite(rois)] <= 0))
    return out


def _bet_stats(g: pd.DataFrame, n_boot: int, seed: int, ci: float) -> dict[str, Any]:
    result = g["result"].to_numpy(dtype=object)
    profit_all = as_float(g["profit_units"])
    record = BetRecord.from_results(result, profit_all)
    won, lost = result == "WIN", result == "LOSS"
    stood = np.isin(result, SETTLED_RESULTS)
    price = as_float(g["price_taken"])[won | lost]
    rec: dict[str, Any] = {
        "bets": record.bets,
        "wins": record.wins,
        "losses": record.losses,
        "pushes": record.pushes,
        "voids": record.voids,
        "hit_rate": record.hit_rate,
        "profit_units": record.profit_units,
        "roi": record.roi,
        "break_even": 1.0 / float(np.mean(american_to_decimal(price))) if price.size else math.nan,
        "break_even_minus_110": BREAK_EVEN_MINUS_110,
        "price_assumed": int(as_bool(g["price_assumed"])[stood].sum()) if "price_assumed" in g.columns else 0,
        "n_dates": 0,
    }
    rec["hit_rate_minus_break_even"] = rec["hit_rate"] - rec["break_even"]
    # the same bets settled at the chosen book's posted price instead of the best price (line shopping)
    rec["roi_posted"] = (float(np.nansum(as_float(g["profit_units_posted"])[stood])) / record.bets
                         if "profit_units_posted" in g.columns and record.bets else math.nan)
    if record.bets:
        dates = slate_dates(g)[stood]
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
        ``hit_rate`` and ``roi`` (:class:`BetRecord`: wins / (wins + losses), profit / bets), ``profit_units``, ``break_even``
        (from the prices actually taken), ``break_even_minus_110`` (0.5238), ``hit_rate_minus_break_even``,
        ``price_assumed`` (bets priced at an assumed -110), ``n_dates``, ``hit_rate_ci_low/high``,
        ``roi_ci_low/high``, ``p_roi_le_0`` and ``roi_posted`` (the same bets at the posted price of the
        chosen book, when ``profit_units_posted`` is present; ``roi`` is at the price taken: the best).
    """
    rows = [{**key, **_bet_stats(g, n_boot, seed, ci)} for key, g in groups(graded, by)]
    return frame(rows, by)


def add_derived_columns(graded: pd.DataFrame) -> pd.DataFrame:
    """Add the slicing columns used by the bucket reports.

    Adds ``abs_edge`` (|edge|, falling back to |predicted - line|), ``month`` ('YYYY-MM'), ``side``
    (the recommendation) and ``confidence_decile`` (1-10, quantile decile of confidence among each
    system's bets (each market's system's when several markets are graded), so uncalibrated or narrow confidence scales still split into ten groups).
    """
    out = graded.copy()
    edge = as_float(out["edge"]) if "edge" in out.columns else np.full(len(out), np.nan)
    fallback = as_float(out["predicted_points"]) - as_float(out["line"])
    out["abs_edge"] = np.abs(np.where(np.isnan(edge), fallback, edge))
    out["month"] = pd.to_datetime(out["game_date"]).dt.strftime("%Y-%m")
    out["side"] = out["recommendation"]
    conf = pd.Series(as_float(out["confidence"]) if "confidence" in out.columns else np.nan, index=out.index)
    bets = as_bool(out["is_bet"]) if "is_bet" in out.columns else np.ones(len(out), dtype=bool)
    keys = out["system_id"] if "system_id" in out.columns else pd.Series(0, index=out.index)
    if "market" in out.columns and out["market"].nunique(dropna=False) > 1:  # within each (market, system)
        keys = out["market"].astype(str) + "|" + keys.astype(str)
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
        values = as_float(graded[column])
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
