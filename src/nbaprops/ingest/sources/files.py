"""Bulk-file source: find the data files in a directory and say what each one is.

Each kind is recognised by its columns (not only by its name), so any file in a known format
works, e.g. a new season's Odds API export.
"""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from nbaprops.errors import MissingColumnsError, UnreadableFileError

__all__ = ["KINDS", "DataFile", "discover", "file_columns", "file_sha256", "reader_sql"]

# kind -> columns that identify it (all must be present)
KINDS: dict[str, frozenset[str]] = {
    "players": frozenset({"player_id", "full_name", "first_name", "last_name", "is_active"}),
    "teams": frozenset({"team_id", "abbreviation", "full_name", "city", "nickname"}),
    "team_game_logs": frozenset({"game_id", "game_date", "season", "game_type", "team_abbreviation_home",
                                 "team_abbreviation_road", "pts_home", "pts_road", "fga_home", "fga_road"}),
    "team_advanced": frozenset({"game_id", "possessions_home", "possessions_road", "minutes_home",
                                "minutes_road", "team_abbreviation_home"}),
    "linescores": frozenset({"game_id", "pts_qtr1_home", "pts_qtr1_road", "pts_ot_total_home"}),
    "player_boxscores": frozenset({"season", "season_type", "game_id", "game_date", "player_id", "team",
                                   "opp_team", "home_away", "MIN", "PTS", "FGA", "FTA", "TOV"}),
    "official_game_log": frozenset({"SEASON_ID", "Player_ID", "Game_ID", "GAME_DATE", "MATCHUP", "MIN",
                                    "PTS"}),
    "odds_api_lines": frozenset({"outcomes_name", "outcomes_description", "outcomes_price",
                                 "outcomes_point", "id", "commence_time", "home_team", "away_team",
                                 "bookmakers.key", "bookmakers.markets.key",
                                 "bookmakers.markets.last_update"}),
    "bettingpros": frozenset({"player", "team", "line", "over_odds", "under_odds", "sportsbook",
                              "market_id"}),
    # the bulk archive of official injury reports (docs/injury-reports.md, ingest/injuries.py)
    "injury_reports": frozenset({"report_time", "game_date", "game_time", "matchup", "team", "player_name",
                                 "status", "reason"}),
}

# Load order: reference tables, then games, then player rows, then lines (which need all of them).
LOAD_ORDER = ("teams", "players", "team_game_logs", "team_advanced", "linescores", "player_boxscores",
              "official_game_log", "injury_reports", "odds_api_lines", "bettingpros")

_DATE_IN_NAME = re.compile(r"(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True)
class DataFile:
    """One recognised input file."""

    path: Path
    kind: str | None          # None = not a known format (reported, not loaded)
    reason: str = ""

    @property
    def date_in_name(self) -> str | None:
        m = _DATE_IN_NAME.search(self.path.name)
        return m.group(1) if m else None


def reader_sql(path: Path) -> str:
    """A DuckDB table expression reading the file as landed (every CSV column as text)."""
    p = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        return f"read_parquet('{p}')"
    return f"read_csv('{p}', header = true, all_varchar = true, sample_size = -1)"


def file_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """Column names of a CSV (its header line) or parquet file, or UnreadableFileError."""
    try:
        if path.suffix.lower() == ".parquet":
            return [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader_sql(path)}").fetchall()]
        with path.open("rb") as fh:        # the header line only: a bad byte further down is a row's problem
            first = fh.readline().decode("utf-8-sig")
        if "\x00" in first:
            raise UnreadableFileError("cannot read: binary data (a NUL byte) in the header line", file=str(path))
        header = next(csv.reader([first]), None)
    except (duckdb.Error, OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UnreadableFileError(f"cannot read: {exc}".splitlines()[0], file=str(path)) from exc
    if not header:
        raise UnreadableFileError("empty file (no header line)", file=str(path))
    return [h.strip() for h in header]


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def classify(con: duckdb.DuckDBPyConnection, path: Path) -> DataFile:
    """Recognise a file by its columns."""
    try:
        cols = set(file_columns(con, path))
    except UnreadableFileError as exc:
        return DataFile(path, None, str(exc).removeprefix(f"file {path}: "))
    for kind in LOAD_ORDER:
        if KINDS[kind] <= cols:
            if kind == "bettingpros" and not DataFile(path, kind).date_in_name:
                return DataFile(path, None, "BettingPros file without a YYYY-MM-DD date in its name")
            return DataFile(path, kind)
    # near misses get a precise message
    best = max(KINDS, key=lambda k: len(KINDS[k] & cols))
    missing = sorted(KINDS[best] - cols)
    if len(KINDS[best] & cols) >= 3:
        return DataFile(path, None, f"looks like {best} but lacks columns {missing}")
    return DataFile(path, None, "not a known nbaprops input format")


def discover(con: duckdb.DuckDBPyConnection, root: Path) -> list[DataFile]:
    """Every CSV/parquet file under ``root``, classified, in load order."""
    if not root.exists():
        raise UnreadableFileError("directory does not exist", file=str(root))
    root = root.resolve()     # one spelling per file (relative or absolute, with or without ..)
    paths = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in {".csv", ".parquet"})
    files = [classify(con, p) for p in paths]
    order = {k: i for i, k in enumerate(LOAD_ORDER)}
    return sorted(files, key=lambda f: (order.get(f.kind or "", 99), str(f.path)))


def require_columns(con: duckdb.DuckDBPyConnection, path: Path, kind: str) -> None:
    """Raise MissingColumnsError naming the file and the missing columns."""
    missing = sorted(KINDS[kind] - set(file_columns(con, path)))
    if missing:
        raise MissingColumnsError(f"missing columns {missing} for a {kind} file", file=str(path))
