"""The backfill: load every bulk file of a folder, then run every build over the dates
(:mod:`nbaprops.pipeline.builds`); and what ``status`` reports per date.

Every build replaces its date range atomically, so a backfill, a daily run or the API call the same
thing and a re-run never duplicates rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from nbaprops.config import Settings
from nbaprops.errors import InputError
from nbaprops.features.definitions import FEATURE_VERSIONS
from nbaprops.ingest import boxscores, injuries, lines, reference
from nbaprops.ingest.sources.files import DataFile, discover
from nbaprops.pipeline.builds import BUILDS, build, run_phases
from nbaprops.progress import Progress, no_progress

__all__ = ["ANALYTICS_TABLES", "buildable_range", "PRECOMPUTE_TABLES", "BackfillReport", "date_status", "import_lines", "load_files"]

ANALYTICS_TABLES = build("analytics").tables
PRECOMPUTE_TABLES = build("precompute").tables

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
              "linescores": boxscores.load_linescores, "player_boxscores": boxscores.load_player_boxscores,
              "injury_reports": injuries.load_injury_csv}
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
    pdfs = injuries.load_injury_pdfs(con, data_dir)  # injuries/*.pdf: the official reports
    if pdfs.files:
        report.loaded["injury_reports"] = report.loaded.get("injury_reports", 0) + pdfs.rows
    report.skipped += pdfs.skipped
    progress("resolve player names", done, total)
    report.names = lines.resolve_snapshot_players(con)


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
        counts = {str(k): v for k, v in r.items()} | {"feature_versions": len(FEATURE_VERSIONS)}
        checks = {b.name: b.complete(counts) for b in BUILDS}
        r.update({f"{k}_complete": bool(v) for k, v in checks.items()})
        r["complete"] = all(checks.values())
        out.append({str(k): (int(v) if hasattr(v, "item") and not isinstance(v, bool) else v) for k, v in r.items()})
    return out


def import_lines(con: duckdb.DuckDBPyConnection, settings: Settings, path: Path) -> dict[str, Any]:
    """Import any Odds API flattened file (parquet or CSV) and rebuild the phases of its dates."""
    from nbaprops.ingest.sources.files import classify

    f = classify(con, path)
    if f.kind != "odds_api_lines":
        raise InputError(f"{path} is not an Odds API flattened lines file: {f.reason or f.kind}")
    stats: dict[str, Any] = dict(lines.load_odds_api_lines(con, path))
    span = con.execute("SELECT min(game_date), max(game_date) FROM prop_line_snapshots WHERE file = ?",
                       [str(path)]).fetchone()
    if span and span[0] is not None:
        lo, hi = span[0], span[1]
        stats["names"] = lines.resolve_snapshot_players(con, lo, hi)
        has_games = con.execute("SELECT count(*) FROM games WHERE game_date BETWEEN ? AND ?", [lo, hi]).fetchone()
        if has_games and has_games[0]:
            run_phases(con, settings, lo, hi)
        stats["dates"] = [str(lo), str(hi)]
    return stats
