"""Live ingest of one date: the schedule, last week's box scores and today's points lines.

For a date D, from sources behind the phase-1 Protocols (live upstreams, or saved payloads to replay):

    scoreboards of D-7..D (ScoreboardV3)  -> games            (status scheduled/final, tip-off, scores)
    PlayerGameLogs of D-7..D-1            -> player_boxscores (source 'nba_api_playergamelogs', no shot
                                             zones) + official_player_game_logs (+ players not yet known)
    Odds API events of D + each event's player_points odds
                                          -> flattened like the bulk file -> <db dir>/landing/*.parquet
                                          -> the bulk loader (prop_line_snapshots) -> player ids resolved

Every payload lands untouched in ``raw_payloads`` first. Each table write is one transaction, and a
re-run lands the same rows again: games are upserted, box scores are replaced by key (rows from a
bulk file, which carry shot zones, are never overwritten by the poorer live rows), and line
snapshots are keyed by (event, book, player, market, quote time).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from nbaprops.config import Settings
from nbaprops.errors import BudgetExceededError, InputError, SourceError
from nbaprops.ingest.injuries import ReportSource, fetch_latest_report
from nbaprops.ingest.lines import load_odds_api_lines, resolve_snapshot_players
from nbaprops.ingest.names import player_lookup
from nbaprops.ingest.sources.base import (
    GameLogSource,
    OddsSource,
    RawPayload,
    ScheduleSource,
    SnapshotStore,
    land_payload,
)
from nbaprops.ingest.sources.nba_stats import parse_player_game_logs, parse_scoreboard_v3
from nbaprops.ingest.sources.odds_api import flatten_event_odds, parse_events
from nbaprops.warehouse.connection import transaction

__all__ = ["GAME_LOG_SOURCE", "LOOKBACK_DAYS", "SCOREBOARD_SOURCE", "LiveIngestReport", "LiveSources",
           "ingest_live", "make_sources", "missing_live_settings", "odds_window", "upsert_games",
           "upsert_player_game_logs"]

log = logging.getLogger(__name__)

SCOREBOARD_SOURCE = "nba_api_scoreboardv3"
GAME_LOG_SOURCE = "nba_api_playergamelogs"
LOOKBACK_DAYS = 7
EASTERN = ZoneInfo("America/New_York")
# games.season_type -> the SeasonType stats.nba.com's PlayerGameLogs takes (NBA Cup group and knockout
# games are regular-season games there; the Cup final counts nowhere and has no logs).
_API_SEASON_TYPE = {"Regular Season": "Regular Season", "NBA Cup": "Regular Season", "Playoffs": "Playoffs",
                    "PlayIn": "PlayIn"}
# the third digit of an NBA game id
_SEASON_TYPE_SQL = """CASE substr({g}, 3, 1) WHEN '1' THEN 'Preseason' WHEN '2' THEN 'Regular Season'
    WHEN '3' THEN 'All-Star' WHEN '4' THEN 'Playoffs' WHEN '5' THEN 'PlayIn' WHEN '6' THEN 'NBA Cup'
    ELSE 'Other' END"""
_SEASON_YEAR_SQL = "(2000 + CAST(substr({g}, 4, 2) AS INTEGER))"
_COUNTING = ("pts", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast", "stl", "blk",
             "tov", "pf")
_ZONES = ("fga_rim", "fgm_rim", "fga_paint", "fgm_paint", "fga_mid", "fgm_mid", "fga_c3", "fgm_c3", "fb_fga",
          "avg_shot_dist")


@dataclass
class LiveSources:
    """The upstreams of a daily ingest (live or snapshot implementations); ``injuries`` (the official
    injury report) is optional."""

    schedule: ScheduleSource
    logs: GameLogSource
    odds: OddsSource
    injuries: ReportSource | None = None

    def close(self) -> None:
        """Close the sources that hold a connection pool (the live Odds API client, the report fetcher)."""
        for src in {id(s): s for s in (self.schedule, self.logs, self.odds, self.injuries) if s is not None}.values():
            close = getattr(src, "close", None)
            if callable(close):
                close()


def missing_live_settings(settings: Settings) -> list[str]:
    """Settings the live path needs that are not set, as ``NBAPROPS_X: what it is for`` lines."""
    missing = []
    key = settings.odds_api_key.get_secret_value().strip() if settings.odds_api_key else ""
    if not key:
        missing.append("NBAPROPS_ODDS_API_KEY: The Odds API key, to fetch today's player-points lines "
                       "(https://the-odds-api.com)")
    return missing


def make_sources(settings: Settings, *, replay: Path | None = None, store_dir: Path | None = None) -> LiveSources:
    """Live sources (saving every payload under ``store_dir`` for replay), or saved payloads from ``replay``.

    Args:
        settings: pacing, timeouts, the Odds API key and budget.
        replay: a directory of payload snapshots (``SnapshotStore`` layout) to read instead of the network.
        store_dir: where live payloads are also saved (so a day can be replayed with ``--replay``).

    Returns:
        The sources.
    """
    from nbaprops.ingest.sources.injury_report import InjuryReportLive, InjuryReportSnapshot
    from nbaprops.ingest.sources.nba_stats import NbaStatsLive, NbaStatsSnapshot
    from nbaprops.ingest.sources.odds_api import OddsApiLive, OddsApiSnapshot

    if replay is not None:
        nba_snap = NbaStatsSnapshot(replay)
        reports = InjuryReportSnapshot(replay)
        # a replay of a day saved before injury reports were fetched has none: nothing to replay, no warning
        return LiveSources(nba_snap, nba_snap, OddsApiSnapshot(replay), reports if reports.has_reports() else None)
    store = SnapshotStore(store_dir) if store_dir is not None else None
    nba = NbaStatsLive(settings, store=store)
    return LiveSources(nba, nba, OddsApiLive(settings, store=store), InjuryReportLive(settings, store=store))


def odds_window(game_date: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The UTC commence-time window of a US/Eastern game date (its events)."""
    start = dt.datetime.combine(game_date, dt.time(0, 0), tzinfo=EASTERN)
    end = dt.datetime.combine(game_date, dt.time(23, 59, 59), tzinfo=EASTERN)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


@dataclass
class LiveIngestReport:
    """What one live ingest fetched and wrote."""

    game_date: dt.date
    payloads: int = 0
    games: int = 0
    slate_games: int = 0
    boxscores_written: int = 0
    boxscores_kept: int = 0
    players_added: int = 0
    events: int = 0
    event_odds: int = 0
    line_rows: int = 0
    lines: dict[str, int] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)
    landing_file: str | None = None
    #: the injury report fetched and landed (ingest.injuries.fetch_latest_report), None when not fetched
    injury_report: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        """Rows written (games + box scores + line snapshots)."""
        return self.games + self.boxscores_written + int(self.lines.get("snapshots", 0))

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["game_date"] = str(self.game_date)
        return d


def _tx(con: duckdb.DuckDBPyConnection, statements: list[tuple[str, list[object]]]) -> None:
    with transaction(con) as tx:
        for sql, args in statements:
            tx.execute(sql, args)


def upsert_games(con: duckdb.DuckDBPyConnection, board: pd.DataFrame) -> int:
    """Upsert parsed ScoreboardV3 rows into ``games``.

    New games get season, season type and year from the game id. A known game keeps its source and
    its tip-off (unless the game moved to another date), takes the scoreboard's scores, and never
    goes back from ``final``. A live (in-progress) game is stored as ``scheduled``: not final yet.

    Args:
        con: warehouse connection.
        board: rows of :func:`~nbaprops.ingest.sources.nba_stats.parse_scoreboard_v3`.

    Returns:
        The number of games written.
    """
    if board.empty:
        return 0
    frame = board.drop_duplicates("game_id", keep="last").copy()
    frame["home_pts"] = frame["home_pts"].astype("float64")
    frame["away_pts"] = frame["away_pts"].astype("float64")
    # an own cursor: DuckDB refuses register() while the caller's connection has an unfetched result
    con = con.cursor()
    con.register("_live_board", frame)
    try:
        season_year = _SEASON_YEAR_SQL.format(g="s.game_id")
        _tx(con, [(f"""INSERT INTO games (game_id, game_date, season, season_year, season_type,
                home_team_id, home_abbr, away_team_id, away_abbr, home_pts, away_pts, neutral_site, tipoff_at,
                status, source)
            SELECT s.game_id, CAST(s.game_date AS DATE),
                   CAST({season_year} AS VARCHAR) || '-' || lpad(CAST(({season_year} + 1) % 100 AS VARCHAR), 2, '0'),
                   {season_year}, {_SEASON_TYPE_SQL.format(g="s.game_id")},
                   s.home_team_id, coalesce(ha.abbreviation, s.home_abbr), s.away_team_id,
                   coalesce(aa.abbreviation, s.away_abbr), CAST(s.home_pts AS INTEGER), CAST(s.away_pts AS INTEGER),
                   NULL, s.tipoff_at, CASE WHEN s.status = 'final' THEN 'final' ELSE 'scheduled' END, ?
            FROM _live_board s
            LEFT JOIN team_aliases ha ON ha.alias = upper(s.home_abbr)
            LEFT JOIN team_aliases aa ON aa.alias = upper(s.away_abbr)
            ON CONFLICT (game_id) DO UPDATE SET
                game_date = EXCLUDED.game_date,
                tipoff_at = CASE WHEN games.tipoff_at IS NULL OR games.game_date <> EXCLUDED.game_date
                                 THEN EXCLUDED.tipoff_at ELSE games.tipoff_at END,
                status = CASE WHEN games.status = 'final' THEN 'final' ELSE EXCLUDED.status END,
                home_pts = coalesce(EXCLUDED.home_pts, games.home_pts),
                away_pts = coalesce(EXCLUDED.away_pts, games.away_pts)""", [SCOREBOARD_SOURCE])])
    finally:
        con.unregister("_live_board")
        con.close()
    return len(frame)


def _names_from_logs(body: str) -> dict[int, str]:
    """player_id -> PLAYER_NAME from a PlayerGameLogs body (the parser keeps ids only)."""
    try:
        doc = json.loads(body)
        sets = doc.get("resultSets", doc.get("resultSet"))
        sets = [sets] if isinstance(sets, dict) else sets
        chosen = next((s for s in sets if s.get("name") == "PlayerGameLogs"), sets[0])
        heads = [str(h).upper() for h in chosen["headers"]]
        i_id, i_name = heads.index("PLAYER_ID"), heads.index("PLAYER_NAME")
        return {int(r[i_id]): str(r[i_name]) for r in chosen["rowSet"] if r[i_name]}
    except (ValueError, KeyError, TypeError, AttributeError, IndexError, StopIteration):
        return {}


def upsert_player_game_logs(con: duckdb.DuckDBPyConnection, logs: pd.DataFrame, date_from: dt.date,
                            date_to: dt.date, names: dict[int, str] | None = None) -> dict[str, int]:
    """Write parsed PlayerGameLogs rows of [date_from, date_to] as box scores (zone columns NULL).

    A (game, player) that already has a row from another source (a bulk file with shot zones) keeps
    it; rows this loader wrote before are replaced. Players missing from ``players`` are added with
    the name the log gives, so their book lines can be resolved.

    Args:
        con: warehouse connection.
        logs: rows of :func:`~nbaprops.ingest.sources.nba_stats.parse_player_game_logs`.
        date_from: first date to write.
        date_to: last date to write.
        names: player_id -> name (from the same payload).

    Returns:
        ``{"written": n, "kept": n, "players_added": n}``.
    """
    frame = logs[(logs["game_date"] >= date_from) & (logs["game_date"] <= date_to)].copy()
    if frame.empty:
        return {"written": 0, "kept": 0, "players_added": 0}
    frame["player_name"] = [(names or {}).get(int(p)) for p in frame["player_id"]]
    frame["name_lookup"] = [player_lookup(n) if n else None for n in frame["player_name"]]
    frame["game_date"] = pd.to_datetime(frame["game_date"]).dt.date
    con = con.cursor()      # see upsert_games
    con.register("_live_logs", frame)
    try:
        kept_row = con.execute("""SELECT count(*) FROM _live_logs l JOIN player_boxscores b
            ON b.game_id = l.game_id AND b.player_id = l.player_id AND b.source <> ?""", [GAME_LOG_SOURCE]).fetchall()[0]
        # fetchall, not fetchone: DuckDB refuses unregister() while a result is not fully fetched
        before = con.execute("SELECT count(*) FROM players").fetchall()[0]
        counts = ", ".join(f"CAST(l.{c} AS INTEGER) AS {c}" for c in _COUNTING)
        zones = ", ".join(f"NULL AS {z}" for z in _ZONES)
        season_year = _SEASON_YEAR_SQL.format(g="l.game_id")
        season = (f"CAST({season_year} AS VARCHAR) || '-' || lpad(CAST(({season_year} + 1) % 100 AS VARCHAR), 2, '0')")
        src: list[object] = [GAME_LOG_SOURCE]
        _tx(con, [
            ("""INSERT OR IGNORE INTO players (player_id, full_name, first_name, last_name, player_lookup, is_active)
                SELECT l.player_id, any_value(l.player_name), split_part(any_value(l.player_name), ' ', 1),
                       nullif(trim(substr(any_value(l.player_name),
                                          length(split_part(any_value(l.player_name), ' ', 1)) + 1)), ''),
                       any_value(l.name_lookup), TRUE
                FROM _live_logs l WHERE l.player_name IS NOT NULL GROUP BY l.player_id""", []),
            ("""DELETE FROM player_boxscores b USING _live_logs l
                WHERE b.game_id = l.game_id AND b.player_id = l.player_id AND b.source = ?""", src),
            (f"""INSERT INTO player_boxscores BY NAME
                SELECT l.game_id, l.player_id, CAST(l.game_date AS DATE) AS game_date,
                       coalesce(g.season, {season}) AS season,
                       coalesce(g.season_type, {_SEASON_TYPE_SQL.format(g="l.game_id")}) AS season_type,
                       coalesce(l.player_name, p.full_name) AS player_name, t.team_id,
                       coalesce(ta.abbreviation, l.team_abbr) AS team_abbr,
                       coalesce(oa.abbreviation, l.opp_abbr) AS opp_abbr,
                       l.is_home, NULL AS starter, l.minutes, {counts}, {zones}, ? AS source
                FROM _live_logs l
                LEFT JOIN games g ON g.game_id = l.game_id
                LEFT JOIN players p ON p.player_id = l.player_id
                LEFT JOIN team_aliases ta ON ta.alias = upper(l.team_abbr)
                LEFT JOIN team_aliases oa ON oa.alias = upper(l.opp_abbr)
                LEFT JOIN teams t ON t.abbreviation = coalesce(ta.abbreviation, l.team_abbr)
                WHERE NOT EXISTS (SELECT 1 FROM player_boxscores b
                                  WHERE b.game_id = l.game_id AND b.player_id = l.player_id)""", src),
            ("""DELETE FROM official_player_game_logs o USING _live_logs l
                WHERE o.game_id = l.game_id AND o.player_id = l.player_id AND o.source = ?""", src),
            (f"""INSERT INTO official_player_game_logs BY NAME
                SELECT l.game_id, l.player_id, CAST(l.game_date AS DATE) AS game_date,
                       substr(l.game_id, 3, 1) || CAST({season_year} AS VARCHAR) AS season_id, l.matchup,
                       l.team_abbr, l.opp_abbr, l.is_home, l.wl, l.minutes, {counts},
                       CAST(l.plus_minus AS INTEGER) AS plus_minus, ? AS source
                FROM _live_logs l
                WHERE NOT EXISTS (SELECT 1 FROM official_player_game_logs o
                                  WHERE o.game_id = l.game_id AND o.player_id = l.player_id)""", src),
        ])
        after = con.execute("SELECT count(*) FROM players").fetchall()[0]
    finally:
        con.unregister("_live_logs")
        con.close()
    kept = int(kept_row[0])
    added = int(after[0]) - int(before[0])
    return {"written": len(frame) - kept, "kept": kept, "players_added": added}


def _land(con: duckdb.DuckDBPyConnection, payload: RawPayload, report: LiveIngestReport) -> RawPayload:
    land_payload(con, payload)
    report.payloads += 1
    return payload


def report_fetch_time(game_date: dt.date, now: dt.datetime) -> dt.datetime:
    """The latest injury report time to fetch for a run of ``game_date``: now, but never after the
    date's end (US/Eastern): a run of a past date fetches that date's last reports."""
    end = dt.datetime.combine(game_date, dt.time(23, 59), tzinfo=EASTERN)
    return min(now.astimezone(dt.UTC), end.astimezone(dt.UTC)).astimezone(EASTERN)


def ingest_live(con: duckdb.DuckDBPyConnection, game_date: dt.date, sources: LiveSources, *,
                landing_dir: Path, lookback_days: int = LOOKBACK_DAYS,
                now: dt.datetime | None = None) -> LiveIngestReport:
    """Fetch, land and load one date (see the module docstring).

    Args:
        con: warehouse connection.
        game_date: the US/Eastern date to ingest (its slate and lines; box scores of the days before).
        sources: the upstreams (or their snapshots).
        landing_dir: where the flattened odds parquet of this fetch is written.
        lookback_days: how many days of scoreboards and box scores before ``game_date`` to (re)load.
        now: the clock, for the injury report to fetch (:func:`report_fetch_time`; default: now).

    Returns:
        What was fetched and written; ``warnings`` lists events whose odds could not be fetched and an
        injury report that could not be fetched or read (neither stops the ingest).

    Raises:
        SourceError: a scoreboard, the game logs or the events list could not be fetched.
    """
    report = LiveIngestReport(game_date)
    lo = game_date - dt.timedelta(days=lookback_days)
    hi = game_date - dt.timedelta(days=1)

    boards = []
    for i in range(lookback_days + 1):
        day = lo + dt.timedelta(days=i)
        payload = _land(con, sources.schedule.fetch_scoreboard(day), report)
        boards.append(parse_scoreboard_v3(payload.body, source=f"scoreboardv3 {day} ({payload.payload_id[:12]})"))
    board = pd.concat(boards, ignore_index=True) if boards else pd.DataFrame()
    report.games = upsert_games(con, board)
    report.slate_games = int((board["game_date"] == game_date).sum()) if len(board) else 0

    wanted = con.execute("""SELECT DISTINCT season, season_type FROM games
                            WHERE game_date BETWEEN ? AND ? AND status = 'final' ORDER BY 1, 2""", [lo, hi]).fetchall()
    calls = sorted({(str(season), _API_SEASON_TYPE[str(st)]) for season, st in wanted if str(st) in _API_SEASON_TYPE})
    frames, names = [], {}
    for season, season_type in calls:
        payload = _land(con, sources.logs.fetch_player_game_logs(season, lo, hi, season_type=season_type), report)
        frames.append(parse_player_game_logs(payload.body, source=f"playergamelogs {season} {season_type} "
                                                                  f"({payload.payload_id[:12]})"))
        names.update(_names_from_logs(payload.body))
    if frames:
        stats = upsert_player_game_logs(con, pd.concat(frames, ignore_index=True), lo, hi, names)
        report.boxscores_written, report.boxscores_kept = stats["written"], stats["kept"]
        report.players_added = stats["players_added"]

    start, end = odds_window(game_date)
    events_payload = _land(con, sources.odds.fetch_events(start, end), report)
    events = parse_events(events_payload.body, source=f"odds events {game_date}")
    report.events = len(events)
    flat, fetched = [], []
    for event_id in events["id"]:
        try:
            payload = _land(con, sources.odds.fetch_event_odds(str(event_id)), report)
        except BudgetExceededError as exc:
            report.warnings.append(f"odds of the remaining events not fetched: {exc}")
            break
        except SourceError as exc:
            report.warnings.append(f"odds of event {event_id} not fetched: {exc}")
            continue
        flat.append(flatten_event_odds(payload.body, source=f"event_odds {event_id}"))
        fetched.append(payload)
        report.event_odds += 1
    rows = pd.concat(flat, ignore_index=True) if flat else pd.DataFrame()
    report.line_rows = len(rows)
    if len(rows):
        # one file per fetch (named by its newest payload time and content): re-loading it replaces its rows
        newest = max(p.fetched_at for p in fetched)
        digest = hashlib.sha256("".join(p.body_sha256 for p in fetched).encode()).hexdigest()[:10]
        landing_dir.mkdir(parents=True, exist_ok=True)
        path = landing_dir / f"odds_api_{game_date}_{newest:%Y%m%dT%H%M%SZ}_{digest}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        rows.to_parquet(tmp, index=False)
        tmp.replace(path)
        report.landing_file = str(path)
        report.lines = load_odds_api_lines(con, path)
        report.names = resolve_snapshot_players(con, game_date, game_date)
    elif report.events:
        report.warnings.append(f"no player_points odds for the {report.events} event(s) of {game_date}")
    if sources.injuries is not None:
        at = report_fetch_time(game_date, now or dt.datetime.now(dt.UTC))
        try:
            report.injury_report = fetch_latest_report(con, sources.injuries, at)
            report.payloads += 1
        except (SourceError, InputError) as exc:
            report.warnings.append(f"injury report not fetched: {exc}")
    return report
