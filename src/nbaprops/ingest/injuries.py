"""Load the NBA's official injury reports into ``injury_reports`` (migration 005).

Three inputs, one landing path:

- a report PDF (:func:`load_injury_report`), parsed by :mod:`nbaprops.ingest.sources.injury_report`;
- a fetched report (:func:`load_injury_payload`), landed in ``raw_payloads`` in the same transaction;
- a bulk CSV archive of reports (:func:`load_injury_archive`, format in ``docs/injury-reports.md``),
  recognised by its columns by ``backfill``; PDFs under an ``injuries/`` folder of the data directory
  are loaded by ``backfill`` too (:func:`load_injury_pdfs`).

A report is identified by its ``report_time``: loading a report again (from any file) replaces that
report's rows, and loading a file again replaces what that file landed, so re-runs never duplicate.
Team names resolve through ``team_aliases`` (else the report's full names,
:data:`~nbaprops.ingest.sources.injury_report.TEAM_NAMES`); player names ("Last, First") resolve to
``player_id`` like book names (:func:`nbaprops.ingest.names.resolve_player_names`), an unresolved
name keeps ``player_id`` NULL. Rows for unknown teams, rows whose team is not in their matchup and
lines the parser could not read go to ``quarantine_rows`` with the file, row, field and reason. A file
that is not a PDF, or a PDF without the report table, raises :class:`~nbaprops.errors.InputError`
naming the file before anything is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pandas as pd

from nbaprops.errors import InputError, MissingColumnsError, MissingReportError, UnreadableFileError
from nbaprops.ingest.names import load_aliases, normalize_team_abbr, player_lookup, resolve_player_names
from nbaprops.ingest.sources.base import RawPayload, land_payload
from nbaprops.ingest.sources.files import file_sha256
from nbaprops.ingest.sources.injury_report import (
    EASTERN,
    NOT_YET_SUBMITTED,
    SOURCE,
    STATUSES,
    TEAM_NAMES,
    InjuryReport,
    first_last,
    normalize_status,
    parse_injury_report,
    pdf_bytes,
    report_slots,
    report_url,
)
from nbaprops.warehouse.connection import transaction
from nbaprops.warehouse.injuries import latest_report_status, latest_report_time

__all__ = [
    "ARCHIVE_COLUMNS",
    "PDF_KIND",
    "InjuryPdfLoad",
    "latest_report_status",
    "latest_report_time",
    "load_injury_archive",
    "load_injury_csv",
    "load_injury_payload",
    "load_injury_pdfs",
    "load_injury_report",
    "fetch_latest_report",
]

#: The columns of the bulk CSV archive (docs/injury-reports.md); ``kind`` ``injury_reports`` in files.KINDS.
ARCHIVE_COLUMNS = ("report_time", "game_date", "game_time", "matchup", "team", "player_name", "status", "reason")
#: ``raw_files.kind`` of a loaded report PDF.
PDF_KIND = "injury_report_pdf"

_MATCHUP_RE = re.compile(r"^([A-Z]{2,4})@([A-Z]{2,4})$")
_INSERT_COLUMNS = ("report_time", "game_date", "game_time", "matchup", "team_abbr", "player_name",
                   "player_lookup", "player_id", "match_method", "status", "reason", "source_file", "file_row")


@dataclass
class _Candidate:
    """One row to land, as read from a PDF or a CSV line (before validation)."""

    file_row: int | None
    report_time: dt.datetime | None
    game_date: dt.date | None
    game_time: str | None
    matchup: str | None
    team: str | None
    player_name: str | None
    status: str | None
    reason: str | None
    raw: dict[str, Any]
    problem: tuple[str, str] | None = None   # (field, reason) found while reading


@dataclass
class InjuryPdfLoad:
    """What :func:`load_injury_pdfs` did: rows landed, quarantined, files unchanged, per-file stats, files refused."""

    reports: int = 0
    rows: int = 0             # rows landed, plus the rows stored from unchanged files
    quarantined: int = 0
    unchanged: int = 0
    files: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: list[tuple[str, str]] = field(default_factory=list)


# --------------------------------------------------------------------------- inputs -> candidates


def _blank(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    text = re.sub(r"\s+", " ", str(value)).strip()
    return text or None


def _report_candidates(report: InjuryReport) -> list[_Candidate]:
    out = [_Candidate(r.file_row, r.report_time, r.game_date, r.game_time, r.matchup, r.team, r.player_name,
                      r.status, r.reason, {**r.as_dict(), "report_time": r.report_time.isoformat(),
                                           "game_date": r.game_date.isoformat()})
           for r in report.rows]
    out += [_Candidate(p.file_row, report.report_time, None, None, None, None, None, None, None, p.raw,
                       (p.field, p.reason)) for p in report.problems]
    return out


def _parse_time(text: str | None, cache: dict[str, dt.datetime | None]) -> dt.datetime | None:
    if text is None:
        return None
    if text not in cache:
        try:
            ts = pd.Timestamp(text)
        except (ValueError, TypeError):
            cache[text] = None
        else:
            if pd.isna(ts):
                cache[text] = None
            else:
                ts = ts.tz_localize(EASTERN) if ts.tzinfo is None else ts
                cache[text] = ts.tz_convert("UTC").to_pydatetime()
    return cache[text]


def _parse_date(text: str | None, cache: dict[str, dt.date | None]) -> dt.date | None:
    if text is None:
        return None
    if text not in cache:
        value: dt.date | None = None
        for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
            try:
                value = dt.datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
        cache[text] = value
    return cache[text]


def _archive_candidates(path: Path) -> list[_Candidate]:
    file = str(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            missing = [c for c in ARCHIVE_COLUMNS if c not in header]
            if not header:
                raise UnreadableFileError("empty file (no header line)", file=file)
            if missing:
                raise MissingColumnsError(f"missing columns {missing} for an injury report archive "
                                          f"(docs/injury-reports.md)", file=file, field=missing[0])
            reader.fieldnames = header
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise UnreadableFileError(f"cannot read: {exc}".splitlines()[0], file=file) from exc
    times: dict[str, dt.datetime | None] = {}
    dates: dict[str, dt.date | None] = {}
    out: list[_Candidate] = []
    for line_no, row in enumerate(rows, start=2):  # line 1 is the header
        raw = {k: row.get(k) for k in ARCHIVE_COLUMNS}
        values = {k: _blank(row.get(k)) for k in ARCHIVE_COLUMNS}
        report_time = _parse_time(values["report_time"], times)
        game_date = _parse_date(values["game_date"], dates)
        problem: tuple[str, str] | None = None
        if report_time is None:
            problem = ("report_time", f"not a timestamp: {values['report_time']!r} (ISO 8601; naive = US/Eastern)")
        elif game_date is None:
            problem = ("game_date", f"not a YYYY-MM-DD date: {values['game_date']!r}")
        reason = values["reason"]
        status_text = values["status"]
        if status_text is None and reason is not None and normalize_status(reason) == NOT_YET_SUBMITTED:
            status_text, reason = reason, None
        status = normalize_status(status_text)
        if problem is None and status is None:
            problem = ("status", f"unknown status {status_text!r} (expected one of {', '.join(STATUSES)} "
                                 f"or {NOT_YET_SUBMITTED})")
        out.append(_Candidate(line_no, report_time, game_date, values["game_time"], values["matchup"],
                              values["team"], values["player_name"], status,
                              None if status == NOT_YET_SUBMITTED else reason, raw, problem))
    return out


# --------------------------------------------------------------------------- validation and landing


def _team_map(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Upper-case team name/abbreviation -> abbreviation: team_aliases, then the report's full names."""
    mapping = {name.upper(): abbr for name, abbr in TEAM_NAMES.items()}
    mapping |= {abbr: abbr for abbr in TEAM_NAMES.values()}
    mapping |= {str(a): str(b) for a, b in con.execute("SELECT alias, abbreviation FROM team_aliases").fetchall()}
    return mapping


def _validate(candidates: Sequence[_Candidate], teams: dict[str, str]
              ) -> tuple[list[dict[str, Any]], list[tuple[int | None, str, str, dict[str, Any]]]]:
    good: list[dict[str, Any]] = []
    bad: list[tuple[int | None, str, str, dict[str, Any]]] = []
    seen: set[tuple[Any, ...]] = set()
    for c in candidates:
        if c.problem is not None:
            bad.append((c.file_row, c.problem[0], c.problem[1], c.raw))
            continue
        assert c.report_time is not None and c.game_date is not None and c.status is not None
        if c.team is None:
            bad.append((c.file_row, "team", "no team", c.raw))
            continue
        abbr = teams.get(c.team.upper())
        if abbr is None:
            bad.append((c.file_row, "team", f"unknown team {c.team!r}", c.raw))
            continue
        matchup = c.matchup.replace(" ", "").upper() if c.matchup else None
        if matchup is not None:
            m = _MATCHUP_RE.match(matchup)
            if not m:
                bad.append((c.file_row, "matchup", f"not an AWAY@HOME matchup: {c.matchup!r}", c.raw))
                continue
            away, home = normalize_team_abbr(m.group(1)), normalize_team_abbr(m.group(2))
            if abbr not in (away, home):
                bad.append((c.file_row, "team", f"team {c.team!r} ({abbr}) is not in the matchup {matchup}", c.raw))
                continue
            matchup = f"{away}@{home}"
        player = c.player_name
        if c.status == NOT_YET_SUBMITTED and player is not None:
            bad.append((c.file_row, "player_name", "a NOT_YET_SUBMITTED row is a team row: no player", c.raw))
            continue
        if c.status != NOT_YET_SUBMITTED and player is None:
            bad.append((c.file_row, "player_name", f"a {c.status} row without a player name", c.raw))
            continue
        lookup = player_lookup(first_last(player)) if player is not None else None
        if player is not None and not lookup:
            bad.append((c.file_row, "player_name", f"not a player name: {player!r}", c.raw))
            continue
        key = (c.report_time, c.game_date, abbr, lookup)
        if key in seen:
            bad.append((c.file_row, "player_name" if lookup else "team",
                        "duplicate row: the same report already lists this player (or team)", c.raw))
            continue
        seen.add(key)
        good.append({"report_time": c.report_time, "game_date": c.game_date, "game_time": c.game_time,
                     "matchup": matchup, "team_abbr": abbr, "player_name": player, "player_lookup": lookup,
                     "status": c.status, "reason": c.reason, "file_row": c.file_row})
    return good, bad


def _resolve(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> pd.DataFrame:
    """Add player_id / match_method (names.resolve_player_names, team hint = the row's team)."""
    frame = frame.copy()
    frame["player_id"] = pd.array([None] * len(frame), dtype="Int64")
    frame["match_method"] = pd.Series([None] * len(frame), dtype="object")
    players_rows = frame["player_name"].notna()
    if not players_rows.any():
        return frame
    names = pd.DataFrame({
        "key": frame.index[players_rows],
        "player_name": [first_last(n) for n in frame.loc[players_rows, "player_name"]],
        "game_date": frame.loc[players_rows, "game_date"].to_numpy(),
        "team_hints": [[t] for t in frame.loc[players_rows, "team_abbr"]],
    })
    lo, hi = min(names["game_date"]), max(names["game_date"])
    players = con.execute("SELECT player_id, full_name, first_name, last_name FROM players").df()
    appearances = con.execute("""SELECT player_id, game_date, team_abbr FROM player_boxscores
                                 WHERE game_date BETWEEN ? - INTERVAL 40 DAY AND ? + INTERVAL 40 DAY""",
                              [lo, hi]).df()
    res = resolve_player_names(names, players, appearances, load_aliases()).set_index("key")
    frame.loc[res.index, "player_id"] = res["player_id"]
    frame.loc[res.index, "match_method"] = res["match_method"]
    return frame


def _land_rows(con: duckdb.DuckDBPyConnection, candidates: Sequence[_Candidate], source_file: str, *,
              payload: RawPayload | None = None, raw_file: tuple[str, str] | None = None) -> dict[str, int]:
    """Validate, resolve and land the rows of one file in one transaction.

    Replaces the rows of every report time the file lands a row for and every row an earlier load of the
    same file landed, and the file's quarantined rows.

    Args:
        con: the warehouse.
        candidates: the rows read from the file.
        source_file: the file (or URL) the rows came from.
        payload: a fetched payload to land in ``raw_payloads`` in the same transaction.
        raw_file: ``(kind, sha256)`` to record the file in ``raw_files`` in the same transaction.

    Returns:
        ``rows`` read, ``loaded``, ``quarantined``, ``reports`` (distinct report times), ``players`` (player
        rows), ``not_yet_submitted`` (team rows), ``matched`` / ``unmatched`` (player names).
    """
    good, bad = _validate(candidates, _team_map(con))
    frame = pd.DataFrame(good, columns=[c for c in _INSERT_COLUMNS if c not in ("player_id", "match_method")])
    frame = _resolve(con, frame)
    frame["report_time"] = pd.to_datetime(frame["report_time"], utc=True)
    frame["game_date"] = pd.to_datetime(frame["game_date"])
    frame["source_file"] = source_file
    # the reports this file holds: only times with a row that lands (a file of bad rows never erases a report)
    times = sorted({row["report_time"] for row in good})
    times_frame = pd.DataFrame({"report_time": pd.to_datetime(pd.Series(times, dtype="object"), utc=True)})
    quarantine = [(SOURCE, source_file, row, fld, reason, json.dumps(raw, default=str, sort_keys=True))
                  for row, fld, reason, raw in bad]
    con.register("_inj_rows", frame[list(_INSERT_COLUMNS)])
    con.register("_inj_times", times_frame)
    try:
        with transaction(con) as tx:
            if payload is not None:
                land_payload(tx, payload)
            tx.execute("""DELETE FROM injury_reports
                          WHERE source_file = ? OR report_time IN (SELECT report_time FROM _inj_times)""",
                       [source_file])
            tx.execute("DELETE FROM quarantine_rows WHERE source = ? AND file = ?", [SOURCE, source_file])
            tx.execute(f"""INSERT INTO injury_reports BY NAME
                SELECT CAST(report_time AS TIMESTAMPTZ) AS report_time, CAST(game_date AS DATE) AS game_date,
                       {", ".join(c for c in _INSERT_COLUMNS if c not in ("report_time", "game_date"))},
                       now() AS loaded_at
                FROM _inj_rows""")
            if quarantine:
                sha = raw_file[1] if raw_file is not None else None
                tx.executemany("""INSERT INTO quarantine_rows (source, file, file_row, field, reason, raw,
                                  quarantined_at, file_sha256) VALUES (?, ?, ?, ?, ?, ?, now(), ?)""",
                               [(*q, sha) for q in quarantine])
            if raw_file is not None:
                tx.execute("""INSERT OR REPLACE INTO raw_files (sha256, kind, file_path, n_rows, n_loaded,
                              n_quarantined, stats, loaded_at) VALUES (?, ?, ?, ?, ?, ?, NULL, now())""",
                           [raw_file[1], raw_file[0], source_file, len(candidates), len(frame), len(bad)])
    finally:
        con.unregister("_inj_rows")
        con.unregister("_inj_times")
    players = frame["player_name"].notna()
    matched = int(frame.loc[players, "player_id"].notna().sum())
    return {"rows": len(candidates), "loaded": len(frame), "quarantined": len(bad),
            "reports": int(frame["report_time"].nunique()), "players": int(players.sum()),
            "not_yet_submitted": int((frame["status"] == NOT_YET_SUBMITTED).sum()),
            "matched": matched, "unmatched": int(players.sum()) - matched}


# --------------------------------------------------------------------------- the public loaders


def load_injury_report(con: duckdb.DuckDBPyConnection, source: Path | bytes, *, name: str | None = None,
                       report_time: dt.datetime | None = None,
                       raw_file: tuple[str, str] | None = None) -> dict[str, int]:
    """Parse one report PDF and land it (replacing an earlier load of the same report).

    Args:
        con: the warehouse.
        source: the PDF path or bytes.
        name: the file name or URL (the time in it; the ``source_file`` stored; default the path).
        report_time: the publication time when known from elsewhere (else the title / file name).
        raw_file: ``(kind, sha256)`` to record in ``raw_files``.

    Returns:
        The stats of :func:`_land_rows`.

    Raises:
        InputError: not a PDF, or a PDF without the report table (names the file); nothing is written.
    """
    report = parse_injury_report(source, name=name, report_time=report_time)
    return _land_rows(con, _report_candidates(report), report.file, raw_file=raw_file)


def load_injury_payload(con: duckdb.DuckDBPyConnection, payload: RawPayload) -> dict[str, int]:
    """Land a fetched report (``InjuryReportLive.fetch_report``): the payload and its rows, in one transaction.

    Raises:
        InputError: the payload is not an injury report, or its PDF is malformed (nothing is written).
    """
    pdf = pdf_bytes(payload)
    name_time = payload.params.get("report_time")
    if not name_time:
        raise InputError("injury report payload without its report_time param", field="report_time")
    url = report_url(dt.datetime.fromisoformat(name_time))
    report = parse_injury_report(pdf, name=url)
    return _land_rows(con, _report_candidates(report), report.file, payload=payload)


def load_injury_archive(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, int]:
    """Load a bulk CSV archive of reports (docs/injury-reports.md); stats as :func:`_land_rows`.

    Raises:
        MissingColumnsError: the file lacks an archive column; UnreadableFileError: it cannot be read.
    """
    return _land_rows(con, _archive_candidates(path), str(path))


def load_injury_csv(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    """:func:`load_injury_archive`, returning the rows read (the loader shape ``backfill`` registers)."""
    return load_injury_archive(con, path)["rows"]


def _pdf_paths(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf"
                  and any(part.lower() == "injuries" for part in p.relative_to(data_dir).parts[:-1]))


def _unchanged(con: duckdb.DuckDBPyConnection, file: str, sha256: str) -> int | None:
    """The rows stored from ``file`` when it was loaded with this content, its rows are still the ones stored
    for its report and every player name resolved; else ``None`` (load it again)."""
    row = con.execute("""SELECT count(*), count(*) FILTER (WHERE player_name IS NOT NULL AND player_id IS NULL)
                         FROM injury_reports WHERE source_file = ?
                           AND EXISTS (SELECT 1 FROM raw_files f WHERE f.file_path = ? AND f.kind = ?
                                                                   AND f.sha256 = ?)""",
                      [file, file, PDF_KIND, sha256]).fetchone()
    if not row or not row[0] or row[1]:
        return None
    return int(row[0])


def load_injury_pdfs(con: duckdb.DuckDBPyConnection, data_dir: Path, paths: Iterable[Path] | None = None, *,
                     reload: bool = False) -> InjuryPdfLoad:
    """Load every report PDF under an ``injuries/`` folder of ``data_dir`` (report time from the file name,
    refined by the title). A file that cannot be read is reported in ``skipped`` and quarantined as a whole
    (``file_row`` NULL); the other files still load. A file already loaded with the same content, whose rows
    are still stored and whose names all resolved, is not parsed again (``unchanged``; its stored rows count
    in ``rows``) unless ``reload``.

    Args:
        con: the warehouse.
        data_dir: the bulk data folder.
        paths: the PDFs to load instead of searching ``data_dir``.
        reload: parse and land every file even when unchanged.

    Returns:
        What was loaded and what was refused.
    """
    out = InjuryPdfLoad()
    for path in (sorted(paths) if paths is not None else _pdf_paths(data_dir)):
        file = str(path)
        try:
            sha256 = file_sha256(path)
            stored = None if reload else _unchanged(con, file, sha256)
            if stored is not None:
                out.unchanged += 1
                out.rows += stored  # what the warehouse holds from it: a re-run reports what the first run did
                out.files[file] = {"loaded": stored, "unchanged": 1}
                continue
            stats = load_injury_report(con, path, name=file, raw_file=(PDF_KIND, sha256))
        except (InputError, OSError) as exc:
            reason = f"file not loaded: {exc}"
            out.skipped.append((file, str(exc)))
            with transaction(con) as tx:
                tx.execute("DELETE FROM quarantine_rows WHERE source = ? AND file = ?", [SOURCE, file])
                tx.execute("""INSERT INTO quarantine_rows (source, file, file_row, field, reason, raw,
                              quarantined_at) VALUES (?, ?, NULL, NULL, ?, NULL, now())""", [SOURCE, file, reason])
            continue
        out.files[file] = stats
        out.reports += stats["reports"]
        out.rows += stats["loaded"]
        out.quarantined += stats["quarantined"]
    return out


class ReportSource(Protocol):
    """What :func:`fetch_latest_report` fetches from: ``InjuryReportLive`` or ``InjuryReportSnapshot``."""

    def fetch_report(self, report_time: dt.datetime) -> RawPayload: ...


#: Candidate report times :func:`fetch_latest_report` tries when the source does not say (its
#: ``max_probes``): 24 = a day back before 2025-12-23 (hourly names), 6 hours since (quarter hours).
MAX_PROBES = 24


def fetch_latest_report(con: duckdb.DuckDBPyConnection, source: ReportSource, at: dt.datetime, *,
                        max_probes: int | None = None) -> dict[str, Any]:
    """Fetch and land the latest report published at or before ``at``.

    Tries the candidate report times (:func:`~nbaprops.ingest.sources.injury_report.report_slots`) from
    ``at`` back, newest first; a missing report (HTTP 403/404, not a PDF) moves to the one before, any
    other failure raises. The first report found lands like any other (:func:`load_injury_payload`: the
    payload in ``raw_payloads``, its rows in ``injury_reports`` replacing an earlier load of that report).

    Args:
        con: the warehouse.
        source: the fetcher (live, or saved payloads).
        at: the latest publication time to try (aware, or naive US/Eastern).
        max_probes: how many candidate times to try (default: the source's ``max_probes``, else
            :data:`MAX_PROBES`).

    Returns:
        The stats of the landing plus ``report_time`` (UTC ISO, as printed on the report), ``name_time``
        (the time in the file name, ET ISO), ``url`` and ``probes`` (candidates tried).

    Raises:
        MissingReportError: none of the candidates is published (never read as "nobody is injured").
        SourceError: a fetch failed for another reason (after the fetcher's retries).
        InputError: the report found is malformed: its payload lands in ``raw_payloads`` (to inspect) and
            one ``quarantine_rows`` row names its URL and the reason; no row of it lands.
    """
    slots = report_slots(at, max_probes or int(getattr(source, "max_probes", MAX_PROBES)))
    for n, slot in enumerate(slots, start=1):
        try:
            payload = source.fetch_report(slot)
        except MissingReportError:
            continue
        try:
            stats: dict[str, Any] = dict(load_injury_payload(con, payload))
        except InputError as exc:
            _quarantine_payload(con, payload, report_url(slot), exc)
            raise InputError(f"injury report {report_url(slot)} was not loaded and is quarantined: {exc}",
                             ) from exc
        landed = con.execute("SELECT max(report_time) FROM injury_reports WHERE source_file = ?",
                             [report_url(slot)]).fetchone()
        stats.update(report_time=landed[0].astimezone(dt.UTC).isoformat() if landed and landed[0] else None,
                     name_time=slot.isoformat(), url=report_url(slot), probes=n)
        return stats
    raise MissingReportError(
        f"no injury report published between {slots[-1]:%Y-%m-%d %H:%M} and {slots[0]:%Y-%m-%d %H:%M} ET "
        f"({len(slots)} candidate times tried): not published yet, or the source is unreachable")


def _quarantine_payload(con: duckdb.DuckDBPyConnection, payload: RawPayload, url: str, exc: InputError) -> None:
    """A fetched report that cannot be read: its payload kept, one quarantine row for the whole report."""
    with transaction(con) as tx:
        land_payload(tx, payload)
        tx.execute("DELETE FROM quarantine_rows WHERE source = ? AND file = ?", [SOURCE, url])
        tx.execute("""INSERT INTO quarantine_rows (source, file, file_row, field, reason, raw, quarantined_at)
                      VALUES (?, ?, NULL, NULL, ?, ?, now())""",
                   [SOURCE, url, f"report not loaded: {exc}",
                    json.dumps({"payload_id": payload.payload_id, "params": dict(payload.params)}, sort_keys=True)])
