"""The backfill: load every bulk file of a folder, then run every build over the dates
(:mod:`nbaprops.pipeline.builds`); and what ``status`` reports per date.

Every build replaces its date range atomically, so a backfill, a daily run or the API call the same
thing and a re-run never duplicates rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from nbaprops.config import Settings
from nbaprops.errors import InputError
from nbaprops.features.definitions import FEATURE_VERSIONS
from nbaprops.ingest import boxscores, injuries, lines, reference
from nbaprops.ingest.contract import FileStats, LoadResult, Source
from nbaprops.ingest.sources.files import LOAD_ORDER, discover, file_sha256
from nbaprops.markets import MARKETS
from nbaprops.pipeline.builds import BUILDS, build, run_phases
from nbaprops.progress import Progress, no_progress
from nbaprops.warehouse.connection import transaction

__all__ = ["ANALYTICS_TABLES", "LOADERS", "PRECOMPUTE_TABLES", "BackfillReport", "buildable_range", "date_status",
           "import_lines", "load_files"]

ANALYTICS_TABLES = build("analytics").tables
PRECOMPUTE_TABLES = build("precompute").tables

@dataclass
class BackfillReport:
    """What a backfill loaded, skipped and built.

    ``loaded`` (rows accepted per kind) and ``lines`` count every file of the folder, the ones read now
    and the ones unchanged since an earlier load (their counts come from ``raw_files``): a re-run
    reports what the folder holds, not zero. ``files`` says how many were read and how many were not
    (``unchanged``: same content already loaded; ``same_content``: a copy of another file of the
    folder). ``quarantined`` lists, per file with bad rows, how many and the first one (row, field,
    reason); ``skipped`` the files not loaded at all, with the reason.
    """

    loaded: dict[str, int] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    lines: dict[str, dict[str, int]] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)
    quarantined: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    void_lines: int = 0
    phases: dict[str, int] = field(default_factory=dict)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    seconds: float = 0.0
    #: files read by this load (their problems are news; those of unchanged files were reported when loaded)
    read_now: set[str] = field(default_factory=set, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {"loaded": self.loaded, "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
                "lines": self.lines, "names": self.names, "quarantined": self.quarantined, "files": self.files,
                "void_lines": self.void_lines, "phases": self.phases,
                "date_from": str(self.date_from) if self.date_from else None,
                "date_to": str(self.date_to) if self.date_to else None, "seconds": round(self.seconds, 2)}

    def problems(self, limit: int = 10) -> list[str]:
        """One line per file not loaded, or read by this load and with quarantined rows (at most
        ``limit``, then a count)."""
        out = [f"skipped {f}: {why}" for f, why in self.skipped]
        out += [f"quarantined {q['rows']} row(s) of {f} (see quarantine_rows), first: {q['first']}"
                for f, q in self.quarantined.items() if f in self.read_now]
        return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


Loader = Callable[[duckdb.DuckDBPyConnection, list[Source]], LoadResult]

def _load_injury_archives(con: duckdb.DuckDBPyConnection, sources: list[Source]) -> LoadResult:
    """Injury report archives (CSV, docs/injury-reports.md) in the loaders' shape."""
    result = LoadResult()
    for s in sources:
        try:
            st = injuries.load_injury_archive(con, s.path)
        except InputError as exc:
            result.rejected[str(s.path)] = exc
            continue
        result.files[str(s.path)] = FileStats(rows=int(st["rows"]), loaded=int(st["loaded"]),
                                              quarantined=int(st["quarantined"]))
    return result


LOADERS: dict[str, Loader] = {
    "teams": reference.load_teams_files, "players": reference.load_players_files,
    "team_game_logs": boxscores.load_team_game_logs_files, "team_advanced": boxscores.load_team_advanced_files,
    "linescores": boxscores.load_linescores_files, "player_boxscores": boxscores.load_player_boxscores_files,
    "official_game_log": boxscores.load_official_game_log_files, "odds_api_lines": lines.load_odds_api_files,
    "bettingpros": lines.load_bettingpros_files, "injury_reports": _load_injury_archives,
}


def _skip_file(con: duckdb.DuckDBPyConnection, report: BackfillReport, path: Path, reason: str) -> None:
    """A file not loaded: reported, and one quarantine row for it (replacing the one of an earlier load)."""
    report.skipped.append((str(path), reason))
    try:
        sha: str | None = file_sha256(path)
    except OSError:
        sha = None
    with transaction(con) as tx:
        tx.execute("""DELETE FROM quarantine_rows WHERE file_row IS NULL
                      AND (file = ? OR (file_sha256 IS NOT NULL AND file_sha256 = ?))""", [str(path), sha])
        tx.execute("""INSERT INTO quarantine_rows (source, file, file_row, field, reason, raw, quarantined_at, file_sha256)
                      VALUES ('files', ?, NULL, NULL, ?, NULL, now(), ?)""", [str(path), f"file not loaded: {reason}", sha])


def _loaded_before(con: duckdb.DuckDBPyConnection, kind: str, shas: list[str]) -> dict[str, FileStats]:
    rows = con.execute("""SELECT sha256, stats FROM raw_files
                          WHERE kind = ? AND list_contains(?, sha256) AND stats IS NOT NULL""", [kind, shas]).fetchall()
    return {str(sha): FileStats.from_dict(json.loads(stats)) for sha, stats in rows}


def _count(report: BackfillReport, kind: str, path: str, st: FileStats) -> None:
    if kind == "odds_api_lines":
        report.lines[path] = lines.odds_report(st)
    elif kind != "bettingpros":
        report.loaded[kind] = report.loaded.get(kind, 0) + st.loaded
    if st.quarantined:
        report.quarantined[path] = {"rows": st.quarantined, "first": st.first_problem}


def load_files(con: duckdb.DuckDBPyConnection, data_dir: Path, report: BackfillReport,
               progress: Progress = no_progress) -> None:
    """Load every recognised file under ``data_dir`` (the ingest contract: docs/data-contract.md).

    A file whose content is already loaded is not read again; a file not recognised or with a
    file-level problem is reported (``report.skipped``) and not loaded; a bad row is quarantined.

    Raises:
        InputError: nothing usable was loaded: no data file in the folder, or every file read was
            skipped or had all its rows quarantined (the message names the first file, row and field).
    """
    files = discover(con, data_dir)
    if not files:
        raise InputError(f"no CSV or parquet file under {data_dir}: nothing to load (give the folder of the bulk files)")
    for f in files:
        if not f.kind:
            _skip_file(con, report, f.path, f.reason)
    known = [f for f in files if f.kind]
    total, done = len(known), 0
    rows_read = accepted = 0
    report.files = {"found": len(files), "read": 0, "unchanged": 0, "same_content": 0, "skipped": len(report.skipped)}
    by_kind: dict[str, list[Path]] = {}
    for f in known:
        by_kind.setdefault(str(f.kind), []).append(f.path)
    bp_stats: list[FileStats] = []
    for kind in LOAD_ORDER:
        paths = by_kind.get(kind, [])
        if not paths:
            continue
        sources = [Source(p, file_sha256(p)) for p in paths]
        before = _loaded_before(con, kind, [s.sha256 for s in sources])
        todo: list[Source] = []
        seen: set[str] = set()
        for s in sources:
            if s.sha256 in seen:
                report.files["same_content"] += 1
            elif s.sha256 in before:
                report.files["unchanged"] += 1
                _count(report, kind, s.name, before[s.sha256])
                if kind == "bettingpros":
                    bp_stats.append(before[s.sha256])
            else:
                todo.append(s)
            seen.add(s.sha256)
        done += len(sources) - len(todo)
        if todo:
            progress(f"load {len(todo)} {kind} file(s)" if len(todo) > 1 else f"load {todo[0].path.name}", done, total)
            result = LOADERS[kind](con, todo)
            for path, err in result.rejected.items():
                message = str(err)
                for prefix in (f"file {path}, ", f"file {path}: "):
                    message = message.removeprefix(prefix)
                _skip_file(con, report, Path(path), message)
            for path, st in result.files.items():
                report.read_now.add(path)
                _count(report, kind, path, st)
                if kind == "bettingpros":
                    bp_stats.append(st)
                rows_read += st.rows
                accepted += st.loaded
            report.files["read"] += len(todo)
            done += len(todo)
            if kind in ("teams", "players"):
                _retry_unknown_ids(con)
    if bp_stats:
        report.lines["bettingpros"] = lines.bettingpros_report(bp_stats)
    pdfs = injuries.load_injury_pdfs(con, data_dir)  # injuries/*.pdf: the official reports
    if pdfs.files:
        report.loaded["injury_reports"] = report.loaded.get("injury_reports", 0) + pdfs.rows
        accepted += pdfs.rows
    report.skipped += pdfs.skipped
    report.files["skipped"] = len(report.skipped)
    if report.read_now:
        progress("resolve player names", done, total)
        lines.link_snapshot_games(con)
        lines.resolve_snapshot_players(con)
    report.names = lines.name_counts(con)
    if accepted == 0 and (rows_read > 0 or report.files["unchanged"] == 0):
        raise InputError(_nothing_loaded(data_dir, report))


def _retry_unknown_ids(con: duckdb.DuckDBPyConnection) -> None:
    """The reference changed: files with rows quarantined for an unknown id are read again."""
    with transaction(con) as tx:
        tx.execute("""DELETE FROM raw_files WHERE sha256 IN (
            SELECT DISTINCT file_sha256 FROM quarantine_rows WHERE file_sha256 IS NOT NULL
            AND (reason LIKE 'unknown team%' OR reason LIKE 'unknown player_id%'))""")


def _nothing_loaded(data_dir: Path, report: BackfillReport) -> str:
    first = next(iter(report.problems(limit=3)), "")
    return (f"nothing usable was loaded from {data_dir}: {first}" + (
        f" ({len(report.skipped)} file(s) skipped, {len(report.quarantined)} with quarantined rows; "
        "see quarantine_rows)" if report.skipped or report.quarantined else ""))


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
          (SELECT count(*) FROM feature_store p WHERE p.game_date = d.game_date) AS feature_store,
          (SELECT count(*) FROM market_feature_values p WHERE p.game_date = d.game_date) AS market_feature_values
        FROM d ORDER BY d.game_date""", [lo, hi]).df()
    out = []
    for r in rows.to_dict("records"):
        r["game_date"] = str(r["game_date"])[:10]
        counts = {str(k): v for k, v in r.items()} | {"feature_versions": len(FEATURE_VERSIONS),
                                                       "stat_markets": len(MARKETS) - 1}
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
    src = Source.of(path)
    stats: dict[str, Any] = dict(lines.load_odds_api_lines(con, src))
    span = con.execute("SELECT min(game_date), max(game_date) FROM prop_line_snapshots WHERE file = ?",
                       [src.name]).fetchone()
    if span and span[0] is not None:
        lo, hi = span[0], span[1]
        stats["names"] = lines.resolve_snapshot_players(con, lo, hi)
        has_games = con.execute("SELECT count(*) FROM games WHERE game_date BETWEEN ? AND ?", [lo, hi]).fetchone()
        if has_games and has_games[0]:
            run_phases(con, settings, lo, hi)
        stats["dates"] = [str(lo), str(hi)]
    return stats
