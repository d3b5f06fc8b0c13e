"""Metrics over graded predictions, each next to its baseline on the same rows (pure, no database).

Every function takes the frame returned by :func:`nbaprops.evaluate.grading.grade_predictions` and
returns a tidy DataFrame with the ``by`` columns first. :func:`summarize` bundles them into one
JSON-serialisable dict (``metrics.json``) and :func:`leakage_alarms` turns a summary into warnings.

One module per concern:

* :mod:`~nbaprops.evaluate.metrics.points`: MAE, RMSE, bias and R^2 on all non-void rows with a
  prediction, and again on rows with a valid book line where the line's own MAE is computed on exactly
  those rows.
* :mod:`~nbaprops.evaluate.metrics.probability`: Brier, log-loss, ECE, AUC on valid-line, non-void,
  non-push rows that have both ``p_over`` and the de-vigged ``market_p_over``; both forecasts are
  scored on the same rows.
* :mod:`~nbaprops.evaluate.metrics.betting`: **the** definition of bets, hit rate and ROI
  (:class:`BetRecord`; bets = wins + losses + pushes, hit rate = wins / (wins + losses), ROI = profit /
  bets; the dashboard and the warehouse views use the same definition), break-even (1 / mean decimal
  odds taken over decided bets; 52.38% when every price is -110) and slate-clustered bootstrap CIs
  (props on one slate are correlated, so resampling rows would understate the uncertainty).
* :mod:`~nbaprops.evaluate.metrics.clv`: closing-line value.
* :mod:`~nbaprops.evaluate.metrics.summary`: :func:`summarize` and :func:`leakage_alarms`.

Markets: a graded frame of several markets (its ``market`` column) is reported per (market, system):
:func:`market_by` puts ``market`` in front of ``by``, and every record then carries its ``market``
(docs/markets.md, "Grading and the report per market"). A points-only frame reports as before.

Definitions: PEERS_AND_LIMITS.md §3.4, §4.3, §4.4.
"""

from __future__ import annotations

from nbaprops.evaluate.metrics._frames import DEFAULT_BY, MARKET_COLUMN, market_by
from nbaprops.evaluate.metrics.betting import (
    SETTLED_RESULTS,
    BetRecord,
    add_derived_columns,
    betting_metrics,
    bucket_metrics,
    clustered_bootstrap,
    hit_rate,
    roi,
)
from nbaprops.evaluate.metrics.clv import clv, clv_rows
from nbaprops.evaluate.metrics.points import points_metrics
from nbaprops.evaluate.metrics.probability import brier, ece, log_loss, probability_metrics, reliability_table
from nbaprops.evaluate.metrics.summary import EDGE_THRESHOLDS, leakage_alarms, summarize, to_jsonable
from nbaprops.odds import BREAK_EVEN_MINUS_110

__all__ = [
    "BREAK_EVEN_MINUS_110",
    "DEFAULT_BY",
    "MARKET_COLUMN",
    "EDGE_THRESHOLDS",
    "SETTLED_RESULTS",
    "BetRecord",
    "add_derived_columns",
    "betting_metrics",
    "brier",
    "bucket_metrics",
    "clustered_bootstrap",
    "clv",
    "clv_rows",
    "ece",
    "hit_rate",
    "leakage_alarms",
    "log_loss",
    "market_by",
    "points_metrics",
    "probability_metrics",
    "reliability_table",
    "roi",
    "summarize",
    "to_jsonable",
]
