"""Run the phases: load bulk files, then analytics and precompute for a date range.

Every phase is a function of (connection, date range) that replaces its partition atomically, so
a backfill loop, a daily run or the API call the same thing and a re-run never duplicates rows.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from nbaprops.config import Settings
from nbaprops.errors import PhaseGateError
from nbaprops.features.definitions import FEATURE_VERSIONS
from nbaprops.features.store import build_feature_store
from nbaprops.ingest import boxscores, lines, reference
from nbaprops.ingest.sources.files import DataFile, discover
from nbaprops.progress import Progress, no_progress
from nbaprops.warehouse.connection import replace_partition

__all__ = ["ANALYTICS_TABLES", "buildable_range", "PRECOMPUTE_TABLES", "BackfillReport", "load_files", "run_phases",
           "set_book_priority", "date_status"]

ANALYTICS_TABLES = ("player_game_summary", "team_game_summary", "upcoming_player_game_context")
PRECOMPUTE_TABLES = ("team_defense", "player_scoring_profile", "player_daily_cache", "composite_factors",
                     "feature_values")
FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)



@dataclass
class BackfillReport:
    """What a backfill loaded, skipped and built."""

    loaded: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    lines: dict[str, dict[str, int]] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)
    void_lines: int = 0
    phases: dict[str, int] = field(default_factory=dict)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"loaded": self.loaded, "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
                "lines": self.lines, "names": self.names, "void_lines": self.void_lines, "phases": self.phases,
                "date_from": str(self.date_from) if self.date_from else None,
                "date_to": str(self.date_to) if self.date_to else None, "seconds": round(self.seconds, 2)}


def set_book_priority(con: duckdb.DuckDBPyConnection, books: list[str]) -> None:
    """Load the sportsbook preference used to choose a player's line (temp table for the session)."""
    con.execute("CREATE TEMP TABLE IF NOT EXISTS book_priority (sportsbook VARCHAR, priority INTEGER)")
    con.execute("DELETE FROM book_priority")
    if books:
        con.executemany("INSERT INTO book_priority VALUES (?, ?)", [(b, i) for i, b in enumerate(books)])


def _record_file(con: duckdb.DuckDBPyConnection, df: DataFile, n: int) -> None:
    from nbaprops.ingest.sources.files import file_sha256

    con.execute("INSERT OR REPLACE INTO raw_files VALUES (?, ?, ?, ?, now())",
                [str(df.path), df.kind, file_sha256(df.path), n])


def load_files(con: duckdb.DuckDBPyConnection, data_dir: Path, report: BackfillReport,
               progress: Progress = no_progress) -> None:
    """Load every recognised file under ``data_dir``; unknown files are reported, not loaded."""
    files = discover(con, data_dir)
    known = [f for f in files if f.kind]
    for f in files:
        if not f.kind:
            report.skipped.append((str(f.path), f.reason))
            con.execute("DELETE FROM quarantine_rows WHERE file = ? AND file_row IS NULL", [str(f.path)])
            con.execute("INSERT INTO quarantine_rows VALUES ('files', ?, NULL, NULL, ?, NULL, now())",
                        [str(f.path), f"file not loaded: {f.reason}"])
    by_kind: dict[str, list[DataFile]] = {}
    for f in known:
        by_kind.setdefault(str(f.kind), []).append(f)
    total = len(known)
    done = 0
    single = {"teams": reference.load_teams, "players": reference.load_players,
              "team_game_logs": boxscores.load_team_game_logs, "team_advanced": boxscores.load_team_advanced,
              "linescores": boxscores.load_linescores, "player_boxscores": boxscores.load_player_boxscores}
    for kind, group in by_kind.items():
        if kind in single:
            for f in group:
                progress(f"load {f.path.name}", done, total)
                n = single[kind](con, f.path)
                _record_file(con, f, n)
                report.loaded[kind] = report.loaded.get(kind, 0) + n
                done += 1
        elif kind == "official_game_log":
            progress(f"load {len(group)} official game logs", done, total)
            report.loaded[kind] = boxscores.load_official_game_log(con, [f.path for f in group])
            done += len(group)
        elif kind == "odds_api_lines":
            for f in group:
                progress(f"load {f.path.name}", done, total)
                stats = lines.load_odds_api_lines(con, f.path)
                _record_file(con, f, stats["rows"])
                report.lines[str(f.path)] = stats
                done += 1
        elif kind == "bettingpros":
            progress(f"load {len(group)} BettingPros files", done, total)
            report.lines["bettingpros"] = lines.load_bettingpros(con, [f.path for f in group])
            done += len(group)
    progress("resolve player names", done, total)
    report.names = lines.resolve_snapshot_players(con)


def _run_record(con: duckdb.DuckDBPyConnection, phase: str, lo: dt.date, hi: dt.date) -> str:
    run_id = uuid.uuid4().hex
    con.execute("INSERT INTO phase_runs VALUES (?, ?, ?, ?, now(), NULL, NULL, 'running', NULL)",
                [run_id, phase, lo, hi])
    return run_id


def _finish(con: duckdb.DuckDBPyConnection, run_id: str, status: str, n: int | None, error: str | None) -> None:
    con.execute("UPDATE phase_runs SET finished_at = now(), status = ?, n_rows = ?, error = ? WHERE run_id = ?",
                [status, n, error, run_id])


def check_inputs(con: duckdb.DuckDBPyConnection, phase: str, lo: dt.date, hi: dt.date) -> None:
    """Refuse a phase whose inputs for the dates are missing; the message names table and dates."""
    needs = {"analytics": [("games", "game_date")],
             "precompute": [("upcoming_player_game_context", "game_date")],
             "feature_store": [("feature_values", "game_date")]}[phase]
    for table, col in needs:
        missing = con.execute(f"""SELECT list(DISTINCT g.game_date ORDER BY g.game_date) FROM games g
            WHERE g.game_date BETWEEN ? AND ?
              AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.{col} = g.game_date)""", [lo, hi]).fetchone()
        dates = missing[0] if missing and missing[0] else []
        if dates:
            shown = ", ".join(str(d) for d in dates[:5]) + (" ..." if len(dates) > 5 else "")
            raise PhaseGateError(f"{phase} for {lo}..{hi} needs {table} rows for {len(dates)} date(s) with games: "
                                 f"{shown}; run the earlier phase first (nbaprops backfill / run)")


def run_phases(con: duckdb.DuckDBPyConnection, settings: Settings, lo: dt.date, hi: dt.date,
               phases: tuple[str, ...] = ("analytics", "precompute", "feature_store"),
               as_of: dt.datetime | None = None, progress: Progress = no_progress) -> dict[str, int]:
    """Run the analytics, precompute and feature-store phases for dates in [lo, hi]."""
    set_book_priority(con, settings.book_priority)
    params = {"rotation_min_minutes": settings.rotation_min_minutes, "as_of": as_of or FAR_FUTURE}
    steps: list[tuple[str, str]] = []
    if "analytics" in phases:
        steps += [("analytics", t) for t in ANALYTICS_TABLES]
    if "precompute" in phases:
        steps += [("precompute", t) for t in PRECOMPUTE_TABLES]
    if "feature_store" in phases:
        steps.append(("feature_store", "feature_store"))
    counts: dict[str, int] = {}
    gated: set[str] = set()
    for i, (phase, table) in enumerate(steps):
        if phase not in gated:
            check_inputs(con, phase, lo, hi)
            gated.add(phase)
        progress(f"{phase}: {table}", i, len(steps))
        run_id = _run_record(con, f"{phase}:{table}", lo, hi)
        t0 = time.perf_counter()
        try:
            if table == "feature_store":
                n = build_feature_store(con, lo, hi)
            else:
                n = replace_partition(con, table, lo, hi, params)
                if table == "player_game_summary":
                    lines.mark_void_lines(con, lo, hi)
        except Exception as exc:
            _finish(con, run_id, "failed", None, str(exc)[:2000])
            raise
        _finish(con, run_id, "ok", n, None)
        counts[table] = n
        _ = time.perf_counter() - t0
    progress("done", len(steps), len(steps))
    return counts


def buildable_range(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date] | None:
    """Dates the warehouse can build features for: from the first player box score to the last box
    score, line or scheduled game (team-only history before that has no player rows)."""
    row = con.execute("""SELECT min(d), max(d) FROM (
        SELECT game_date AS d FROM player_boxscores
        UNION ALL SELECT game_date FROM prop_line_snapshots
        UNION ALL SELECT game_date FROM games WHERE status = 'scheduled')""").fetchone()
    lo_row = con.execute("SELECT min(game_date) FROM player_boxscores").fetchone()
    if not row or row[1] is None or not lo_row or lo_row[0] is None:
        return None
    return lo_row[0], row[1]


def date_status(con: duckdb.DuckDBPyConnection, lo: dt.date, hi: dt.date) -> list[dict[str, Any]]:
    """Per date with games: row counts per phase and whether the date is complete."""
    rows = con.execute("""
        WITH d AS (SELECT game_date, count(*) AS games FROM games WHERE game_date BETWEEN ? AND ? GROUP BY 1)
        SELECT d.game_date, d.games,
          (SELECT count(*) FROM player_boxscores b WHERE b.game_date = d.game_date) AS boxscores,
          (SELECT count(*) FROM prop_line_snapshots s WHERE s.game_date = d.game_date AND s.market = 'player_points') AS points_lines,
          (SELECT count(*) FROM player_game_summary p WHERE p.game_date = d.game_date) AS player_game_summary,
          (SELECT count(*) FROM team_game_summary p WHERE p.game_date = d.game_date) AS team_game_summary,
          (SELECT count(*) FROM upcoming_player_game_context p WHERE p.game_date = d.game_date) AS upcoming_context,
          (SELECT count(*) FROM player_daily_cache p WHERE p.cache_date = d.game_date) AS player_daily_cache,
          (SELECT count(*) FROM team_defense p WHERE p.analysis_date = d.game_date) AS team_defense,
          (SELECT count(*) FROM feature_store p WHERE p.game_date = d.game_date) AS feature_store
        FROM d ORDER BY d.game_date""", [lo, hi]).df()
    out = []
    for r in rows.to_dict("records"):
        r["game_date"] = str(r["game_date"])[:10]
        checks = {
            "analytics": (r["boxscores"] == 0 or r["player_game_summary"] == r["boxscores"])
                         and r["upcoming_context"] > 0,
            "precompute": r["player_daily_cache"] == r["upcoming_context"] and r["team_defense"] == 2 * r["games"],
            "feature_store": r["feature_store"] == len(FEATURE_VERSIONS) * r["upcoming_context"] > 0,
        }
        r.update({f"{k}_complete": bool(v) for k, v in checks.items()})
        r["complete"] = all(checks.values())
        out.append({str(k): (int(v) if hasattr(v, "item") and not isinstance(v, bool) else v) for k, v in r.items()})
    return out
