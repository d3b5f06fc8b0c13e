"""The set-based SQL builds of the analytics and precompute phases.

A build writes its tables in order for a date range, each by ``replace_partition`` (delete + insert of
the range in one transaction) or by the feature-store builder, after checking that its input exists
for every date with games in the range. The backfill runs every build over its range; the daily
run's analytics and precompute phases run theirs over D-7..D (see :mod:`nbaprops.pipeline.registry`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import duckdb

from nbaprops.config import Settings
from nbaprops.errors import PhaseGateError
from nbaprops.features.store import build_feature_store
from nbaprops.ingest import lines
from nbaprops.pipeline.gates import finish_record, release_all_abandoned, start_record
from nbaprops.progress import Progress, no_progress
from nbaprops.warehouse.connection import replace_partition

__all__ = ["BUILDS", "BUILD_NAMES", "MARKET_FEATURES", "Build", "build", "builds_of", "check_inputs", "run_phases", "set_book_priority"]

FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Build:
    """A set-based SQL build inside a phase: tables written in order by ``replace_partition`` (or the
    feature-store builder) for a date range, with the input that must exist for every date with games
    before it may run, and how ``status`` judges a date complete."""

    name: str
    tables: tuple[str, ...]
    needs: str
    complete: Callable[[Mapping[str, Any]], bool]
    #: the date column of ``needs``
    needs_column: str = "game_date"


ANALYTICS = Build(
    "analytics", ("player_game_summary", "team_game_summary", "upcoming_player_game_context"), needs="games",
    complete=lambda r: bool((r["boxscores"] == 0 or r["player_game_summary"] == r["boxscores"])
                            and r["upcoming_context"] > 0))
PRECOMPUTE = Build(
    "precompute", ("team_defense", "player_scoring_profile", "player_daily_cache", "composite_factors",
                   "player_availability", "line_movement", "feature_values"), needs="upcoming_player_game_context",
    complete=lambda r: bool(r["player_daily_cache"] == r["upcoming_context"] and r["team_defense"] == 2 * r["games"]))
#: The stat-specific features of every market other than points (issue 12): one row per context row
#: and market (``stat_markets`` = the registry's markets other than points).
MARKET_FEATURES = Build(
    "market_features", ("market_feature_values",), needs="feature_values",
    complete=lambda r: bool(r["market_feature_values"] == r["stat_markets"] * r["upcoming_context"] > 0))
FEATURE_STORE = Build(
    "feature_store", ("feature_store",), needs="feature_values",
    complete=lambda r: bool(r["feature_store"] == r["feature_versions"] * r["upcoming_context"] > 0))

#: Every build in order (the backfill runs them all over its date range).
BUILDS: tuple[Build, ...] = (ANALYTICS, PRECOMPUTE, FEATURE_STORE, MARKET_FEATURES)

#: Their names, in order.
BUILD_NAMES: tuple[str, ...] = tuple(b.name for b in BUILDS)


def build(name: str) -> Build:
    """The build called ``name`` (``analytics``, ``precompute``, ``market_features`` or ``feature_store``)."""
    for b in BUILDS:
        if b.name == name:
            return b
    raise KeyError(f"unknown build {name!r}; builds: {', '.join(b.name for b in BUILDS)}")


def builds_of(names: tuple[str, ...]) -> tuple[Build, ...]:
    """The builds called ``names``, in registry order whatever the order asked."""
    for n in names:
        build(n)
    return tuple(b for b in BUILDS if b.name in names)


def set_book_priority(con: duckdb.DuckDBPyConnection, books: list[str]) -> None:
    """Load the sportsbook preference used to choose a player's line (temp table for the session)."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS book_priority (sportsbook VARCHAR, priority INTEGER)")
    con.execute("DELETE FROM book_priority")
    if books:
        con.executemany("INSERT INTO book_priority VALUES (?, ?)", [(b, i) for i, b in enumerate(books)])


def check_inputs(con: duckdb.DuckDBPyConnection, name: str, lo: dt.date, hi: dt.date) -> None:
    """Refuse the build ``name`` when its input is missing for a date with games in [lo, hi]; the
    message names the table and the dates (the input of each build is declared in the registry)."""
    b = build(name)
    missing = con.execute(f"""SELECT list(DISTINCT g.game_date ORDER BY g.game_date) FROM games g
        WHERE g.game_date BETWEEN ? AND ?
          AND NOT EXISTS (SELECT 1 FROM {b.needs} t WHERE t.{b.needs_column} = g.game_date)""", [lo, hi]).fetchone()
    dates = missing[0] if missing and missing[0] else []
    if dates:
        shown = ", ".join(str(d) for d in dates[:5]) + (" ..." if len(dates) > 5 else "")
        raise PhaseGateError(f"{name} for {lo}..{hi} needs {b.needs} rows for {len(dates)} date(s) with games: "
                             f"{shown}; run the earlier phase first (nbaprops backfill / run)")


def run_phases(con: duckdb.DuckDBPyConnection, settings: Settings, lo: dt.date, hi: dt.date,
               phases: tuple[str, ...] = BUILD_NAMES,
               as_of: dt.datetime | None = None, progress: Progress = no_progress) -> dict[str, int]:
    """Run the builds called ``phases`` (``analytics``, ``precompute``, ``market_features``, ``feature_store``;
    registry order)
    for dates in [lo, hi]. Each table gets a run record ``<build>:<table>`` in ``phase_runs``; records a
    dead process left ``running`` (any phase) are marked ``abandoned`` first."""
    release_all_abandoned(con)
    set_book_priority(con, settings.book_priority)
    params = {"rotation_min_minutes": settings.rotation_min_minutes, "as_of": as_of or FAR_FUTURE}
    steps = [(b.name, t) for b in builds_of(phases) for t in b.tables]
    counts: dict[str, int] = {}
    gated: set[str] = set()
    for i, (name, table) in enumerate(steps):
        if name not in gated:
            check_inputs(con, name, lo, hi)
            gated.add(name)
        progress(f"{name}: {table}", i, len(steps))
        run_id = start_record(con, f"{name}:{table}", lo, hi)
        try:
            if table == "feature_store":
                n = build_feature_store(con, lo, hi)
            else:
                n = replace_partition(con, table, lo, hi, params)
                if table == "player_game_summary":
                    lines.mark_void_lines(con, lo, hi)
        except Exception as exc:
            finish_record(con, run_id, "failed", None, str(exc))
            raise
        finish_record(con, run_id, "ok", n, None)
        counts[table] = n
    progress("done", len(steps), len(steps))
    return counts
