"""The phase registry: the one declaration of the pipeline and the only place its order lives.

A date goes through the phases in this order (``nbaprops run --date D``)::

    ingest      bulk files (--data DIR), saved payloads (--replay DIR) or the live upstreams
    watch       (only when named: --only watch) one pass of the line watcher's due pulls (docs/market-watch.md)
    analytics   player_game_summary, team_game_summary, upcoming_player_game_context
    precompute  team_defense, player_scoring_profile, player_daily_cache, composite_factors,
                player_availability, feature_values, then the versioned feature_store and the
                other markets' stat features (market_feature_values)
    predict     player_prop_predictions (one batch: coordinator, line gate, systems, consolidation)
    grade       prediction_grades of the previous game date
    verify      post-run checks of the date (no table)

Each :class:`Phase` says which tables it writes, what its inputs are and how that is checked (its
gate), how far back it rebuilds, which date it records (the date itself or the previous game date)
and the function that runs it (:mod:`nbaprops.pipeline.phases`). The backfill (analytics and
precompute over a date range), the daily runner, ``status`` (which of a date's builds are complete),
the gates, ``verify`` (every phase of the date has a run record) and ``doctor`` (every table the
registry writes exists) all read this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from nbaprops.pipeline import phases
from nbaprops.pipeline.builds import (
    ANALYTICS,
    BUILDS,
    FEATURE_STORE,
    MARKET_FEATURES,
    PRECOMPUTE,
    Build,
    build,
    builds_of,
)

if TYPE_CHECKING:
    from nbaprops.pipeline.phases import PhaseContext

__all__ = ["BUILDS", "DEFAULT_PHASE_NAMES", "LOOKBACK_DAYS", "PHASES", "PHASE_NAMES", "Build", "Phase", "build", "builds_of", "phase",
           "written_tables"]

#: How many days before D the analytics and precompute phases rebuild in the daily run (late box
#: scores and corrections of the last week flow into rolling features).
LOOKBACK_DAYS = 7


@dataclass(frozen=True)
class Phase:
    """One phase of the daily pipeline."""

    name: str
    summary: str
    writes: tuple[str, ...]
    gate: str
    run: Callable[[PhaseContext], None]
    lookback_days: int = 0
    builds: tuple[Build, ...] = ()
    #: ``date``: the phase works on and records D; ``previous``: the latest earlier game date
    target: Literal["date", "previous"] = "date"
    #: skipped when it already completed for the date (verify always runs)
    skip_when_done: bool = True
    #: runs only when named (``nbaprops run --only watch``), never in the default run; verify does not expect it
    optional: bool = False


PHASES: tuple[Phase, ...] = (
    Phase("ingest", "land bulk files, saved payloads or live upstream data", gate="none (it brings the inputs)",
          writes=("games", "player_boxscores", "official_player_game_logs", "team_boxscores", "team_game_advanced",
                  "team_game_linescores", "prop_line_snapshots", "prop_line_alternates", "unmatched_player_names",
                  "raw_payloads", "raw_files", "quarantine_rows"),
          run=phases.ingest),
    Phase("watch", "one pass of the scheduled line capture: the Odds API pulls due now for the slate",
          gate="none (the Odds API key and the daily/monthly budgets)",
          writes=("line_watch_pulls", "line_watch_slots", "line_watch_skips", "prop_line_snapshots",
                  "prop_line_alternates", "raw_payloads", "raw_files", "quarantine_rows"),
          run=phases.watch, skip_when_done=False, optional=True),
    Phase("analytics", "per player-game and team-game summaries and the upcoming-game context",
          gate="games for D exist; every final game of D-7..D-1 has player box scores",
          writes=ANALYTICS.tables, run=phases.analytics, lookback_days=LOOKBACK_DAYS, builds=(ANALYTICS,)),
    Phase("precompute", "point-in-time aggregates, the versioned feature store and every market's stat features",
          gate="analytics rows for every date with games in D-7..D",
          writes=PRECOMPUTE.tables + FEATURE_STORE.tables + MARKET_FEATURES.tables, run=phases.precompute,
          lookback_days=LOOKBACK_DAYS, builds=(PRECOMPUTE, FEATURE_STORE, MARKET_FEATURES)),
    Phase("predict", "a prediction batch for the slate of D",
          gate="feature-store rows of the served version for D; no points line is a warning (NO_LINE)",
          writes=("player_prop_predictions", "prediction_batches", "prediction_skips", "line_quarantine"),
          run=phases.predict),
    Phase("grade", "grade the previous game date against its box scores",
          gate="predictions exist; every game of the date is final with box scores",
          writes=("prediction_grades",), run=phases.grade, target="previous"),
    Phase("verify", "post-run checks of D and data freshness", gate="none", writes=(), run=phases.verify,
          skip_when_done=False),
)

PHASE_NAMES: tuple[str, ...] = tuple(p.name for p in PHASES)
#: the phases of a plain ``nbaprops run`` (the optional ones run only when named)
DEFAULT_PHASE_NAMES: tuple[str, ...] = tuple(p.name for p in PHASES if not p.optional)


def phase(name: str) -> Phase:
    """The phase called ``name``.

    Raises:
        KeyError: no such phase (the message lists the phases).
    """
    for p in PHASES:
        if p.name == name:
            return p
    raise KeyError(f"unknown phase {name!r}; phases: {', '.join(PHASE_NAMES)}")


def written_tables() -> tuple[str, ...]:
    """Every table a phase writes, in phase order, without repeats."""
    seen: dict[str, None] = {}
    for p in PHASES:
        for t in p.writes:
            seen.setdefault(t, None)
    return tuple(seen)
