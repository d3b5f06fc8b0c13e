"""The one definition of a **pre-tip** quote (issue 11): what a prediction, a closing line, the line
history and the line-movement features may use.

A quote is pre-tip when

* it is timed (``quote_basis = 'quoted_at'``) and made **strictly before** tip-off: ``quoted_at <
  tip-off``, the tip-off being the quote's own (The Odds API's ``commence_time``, stored in
  ``prop_line_snapshots.tipoff_at``) else the schedule's (``games.tipoff_at``). A quote made at the
  tip-off minute or later is in-play: never a closing or a prediction-time quote; or
* it is a source's ``closing`` row (BettingPros: the final pre-tip line, time unknown).

The SQL spellings: :func:`pre_tip_sql` (the Python-built queries); the same rule is written out in the
``line_quotes`` view (``sql/schema/010_line_history.sql``) and the phases
``upcoming_player_game_context.sql``, ``market_feature_values.sql`` and ``line_movement.sql`` (plain SQL files, transpiled for
Spark), and ``tests/unit/test_pretip.py`` holds every spelling equal on quotes at, before and after
tip-off. The watcher (``ingest.watch``) schedules pulls with :func:`is_pre_tip`.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["is_pre_tip", "pre_tip_sql"]


def is_pre_tip(quoted_at: dt.datetime, tipoff_at: dt.datetime) -> bool:
    """True when a quote (or a pull) made at ``quoted_at`` is before the tip-off (strictly)."""
    return quoted_at < tipoff_at


def pre_tip_sql(alias: str = "s", schedule_tipoff: str | None = None) -> str:
    """The SQL condition of a pre-tip quote of ``prop_line_snapshots`` aliased ``alias``.

    Args:
        alias: the quote table's alias ("" for none).
        schedule_tipoff: an expression of the schedule's tip-off (``g.tipoff_at``) when the query joins
            ``games``; without it the quote's own tip-off only (the loaders store one on every timed
            quote whose game has a known tip-off).
    """
    a = f"{alias}." if alias else ""
    tip = f"coalesce({a}tipoff_at, {schedule_tipoff})" if schedule_tipoff else f"{a}tipoff_at"
    return (f"({a}quote_basis = 'closing' OR ({a}quote_basis = 'quoted_at' AND {a}quoted_at IS NOT NULL"
            f" AND {a}quoted_at < {tip}))")
