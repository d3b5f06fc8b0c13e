"""stats.nba.com via nba_api: the slate (ScoreboardV3) and game logs (PlayerGameLogs, LeagueGameLog).

Two implementations of :class:`~nbaprops.ingest.sources.base.ScheduleSource` and
:class:`~nbaprops.ingest.sources.base.GameLogSource`:

- :class:`NbaStatsLive` calls stats.nba.com through nba_api's HTTP client, paced (at least
  ``settings.nba_stats_min_interval_s`` between calls) and retried on transient failures; the
  response text lands untouched in a :class:`RawPayload`.
- :class:`NbaStatsSnapshot` reads payloads saved earlier (by :class:`SnapshotStore`) from a directory.

The parsers (:func:`parse_scoreboard_v3`, :func:`parse_player_game_logs`,
:func:`parse_player_game_log_csv`) are pure functions of the payload body or file.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import stamina
from nba_api.stats.endpoints.leaguegamelog import LeagueGameLog
from nba_api.stats.endpoints.playergamelogs import PlayerGameLogs
from nba_api.stats.endpoints.scoreboardv3 import ScoreboardV3

from nbaprops.config import Settings
from nbaprops.errors import (
    InputError,
    MissingColumnsError,
    SourceError,
    TransientUpstreamError,
    UnreadableFileError,
)
from nbaprops.ingest.sources.base import Pacer, RawPayload, SnapshotStore, scrub_params

__all__ = [
    "GAME_LOG_COLUMNS",
    "SCOREBOARD_COLUMNS",
    "SOURCE",
    "NbaRequester",
    "NbaStatsLive",
    "NbaStatsSnapshot",
    "league_game_log_params",
    "nba_api_requester",
    "parse_player_game_log_csv",
    "parse_player_game_logs",
    "parse_scoreboard_v3",
    "player_game_logs_params",
    "scoreboard_params",
]

log = logging.getLogger(__name__)

SOURCE = "nba_stats"
EASTERN = ZoneInfo("America/New_York")

SCOREBOARD_COLUMNS = ["game_id", "game_date", "tipoff_at", "home_team_id", "home_abbr", "away_team_id",
                      "away_abbr", "status", "home_pts", "away_pts"]
_COUNTING = ["pts", "fgm", "fga", "fg3m", "fg3a", "ftm", "fta", "oreb", "dreb", "reb", "ast", "stl", "blk",
             "tov", "pf"]
GAME_LOG_COLUMNS = ["game_id", "player_id", "game_date", "matchup", "team_abbr", "opp_abbr", "is_home", "wl",
                    "minutes", *_COUNTING, "plus_minus"]
# Upstream (upper-cased) header -> our column, for the counting stats and plus-minus.
_INT_FIELDS = {c.upper(): c for c in _COUNTING} | {"PLUS_MINUS": "plus_minus"}
_REQUIRED_LOG_FIELDS = ["GAME_ID", "PLAYER_ID", "GAME_DATE", "MATCHUP", "WL", "MIN", *_INT_FIELDS]
_MATCHUP_RE = re.compile(r"^\s*([A-Z]{2,4})\s+(vs\.?|@)\s+([A-Z]{2,4})\s*$")
_SEASON_RE = re.compile(r"^(\d{4})-(\d{2})$")
_STATUS = {1: "scheduled", 2: "live", 3: "final"}
# The string dtype this pandas infers for text (object in pandas 2, str in pandas 3).
_STR = pd.Series(["x"]).dtype

#: ``(endpoint, params, timeout_s) -> (http status, response text)``; the only I/O of NbaStatsLive.
NbaRequester = Callable[[str, Mapping[str, str], float], tuple[int, str]]


# --------------------------------------------------------------------------- request parameters


def _check_season(season: str) -> str:
    m = _SEASON_RE.match(season)
    if not m or (int(m.group(1)) + 1) % 100 != int(m.group(2)):
        raise InputError(f"season must look like '2023-24', got {season!r}", field="season")
    return season


def _mdy(d: date | None) -> str:
    return d.strftime("%m/%d/%Y") if d is not None else ""


def scoreboard_params(game_date: date) -> dict[str, str]:
    """Query parameters nba_api's ScoreboardV3 sends for a date.

    Args:
        game_date: the US/Eastern game date.

    Returns:
        The parameters (``GameDate`` as YYYY-MM-DD, ``LeagueID``).
    """
    ep = ScoreboardV3(game_date=game_date.isoformat(), get_request=False)
    return scrub_params(ep.parameters)


def player_game_logs_params(season: str, date_from: date | None = None, date_to: date | None = None, *,
                            season_type: str = "Regular Season") -> dict[str, str]:
    """Query parameters nba_api's PlayerGameLogs sends (all players of a season).

    Args:
        season: season like ``"2023-24"``.
        date_from: first game date (inclusive), or ``None``.
        date_to: last game date (inclusive), or ``None``.
        season_type: ``"Regular Season"``, ``"Playoffs"``, ``"PlayIn"`` ...

    Returns:
        The parameters, ``None`` values dropped.
    """
    ep = PlayerGameLogs(season_nullable=_check_season(season), season_type_nullable=season_type,
                        date_from_nullable=_mdy(date_from), date_to_nullable=_mdy(date_to), get_request=False)
    return scrub_params(ep.parameters)


def league_game_log_params(season: str, *, season_type: str = "Regular Season") -> dict[str, str]:
    """Query parameters nba_api's LeagueGameLog sends (team rows of a season).

    Args:
        season: season like ``"2023-24"``.
        season_type: ``"Regular Season"``, ``"Playoffs"`` ...

    Returns:
        The parameters.
    """
    ep = LeagueGameLog(season=_check_season(season), season_type_all_star=season_type,
                       player_or_team_abbreviation="T", get_request=False)
    return scrub_params(ep.parameters)


# --------------------------------------------------------------------------- live source


def nba_api_requester(endpoint: str, params: Mapping[str, str], timeout_s: float) -> tuple[int, str]:
    """Send one request with nba_api's stats.nba.com HTTP client (its headers and session).

    The endpoint classes' ``get_request()`` would also parse the response (and fail on an error page
    before we see the status); this calls the same ``NBAStatsHTTP.send_api_request`` directly and
    returns the untouched text.

    Args:
        endpoint: nba_api endpoint name, e.g. ``"scoreboardv3"``.
        params: query parameters.
        timeout_s: per-request timeout in seconds.

    Returns:
        ``(status_code, response_text)``.
    """
    from nba_api.stats.library.http import NBAStatsHTTP

    response = NBAStatsHTTP().send_api_request(endpoint=endpoint, parameters=dict(params), timeout=timeout_s)
    status = getattr(response, "_status_code", None)
    return (int(status) if status is not None else 200), str(response.get_response() or "")


class NbaStatsLive:
    """Live stats.nba.com source (ScoreboardV3, PlayerGameLogs, LeagueGameLog), paced and retried."""

    source = SOURCE

    def __init__(self, settings: Settings, *, requester: NbaRequester | None = None,
                 pacer: Pacer | None = None, attempts: int = 4, wait_initial_s: float = 1.0,
                 wait_max_s: float = 20.0, now: Callable[[], datetime] | None = None,
                 store: SnapshotStore | None = None) -> None:
        """Args:
            settings: uses ``nba_stats_min_interval_s`` and ``http_timeout_s``.
            requester: the HTTP call (default :func:`nba_api_requester`); tests inject a fake.
            pacer: call pacing (default: a monotonic :class:`Pacer` at the settings interval).
            attempts: maximum attempts per fetch (transient failures are retried).
            wait_initial_s: first backoff wait; grows exponentially with jitter up to ``wait_max_s``.
            wait_max_s: maximum backoff wait.
            now: clock for ``fetched_at`` (default ``datetime.now(UTC)``).
            store: when given, every fetched payload is also saved there (for later replay).
        """
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self._requester = requester or nba_api_requester
        self._pacer = pacer or Pacer(settings.nba_stats_min_interval_s)
        self._timeout_s = settings.http_timeout_s
        self._attempts = attempts
        self._wait_initial_s = wait_initial_s
        self._wait_max_s = wait_max_s
        self._now = now or (lambda: datetime.now(UTC))
        self._store = store

    def fetch_scoreboard(self, game_date: date) -> RawPayload:
        """Fetch ScoreboardV3 for a US/Eastern date.

        Args:
            game_date: the game date.

        Returns:
            The untouched response.

        Raises:
            SourceError: stats.nba.com failed (after retries for transient failures).
        """
        return self._fetch("scoreboardv3", scoreboard_params(game_date))

    def fetch_player_game_logs(self, season: str, date_from: date | None = None,
                               date_to: date | None = None, *,
                               season_type: str = "Regular Season") -> RawPayload:
        """Fetch PlayerGameLogs (every player's rows) for a season, optionally within dates.

        Args:
            season: season like ``"2023-24"``.
            date_from: first game date (inclusive) or ``None``.
            date_to: last game date (inclusive) or ``None``.
            season_type: ``"Regular Season"``, ``"Playoffs"`` ...

        Returns:
            The untouched response.

        Raises:
            SourceError: stats.nba.com failed.
            InputError: the season is malformed.
        """
        return self._fetch("playergamelogs",
                           player_game_logs_params(season, date_from, date_to, season_type=season_type))

    def fetch_league_game_log(self, season: str, *, season_type: str = "Regular Season") -> RawPayload:
        """Fetch LeagueGameLog (one row per team per game) for a season.

        Args:
            season: season like ``"2023-24"``.
            season_type: ``"Regular Season"``, ``"Playoffs"`` ...

        Returns:
            The untouched response.

        Raises:
            SourceError: stats.nba.com failed.
            InputError: the season is malformed.
        """
        return self._fetch("leaguegamelog", league_game_log_params(season, season_type=season_type))

    # -- internals

    def _fetch(self, endpoint: str, params: dict[str, str]) -> RawPayload:
        payload: RawPayload | None = None
        try:
            for attempt in stamina.retry_context(on=TransientUpstreamError, attempts=self._attempts, timeout=None,
                                                 wait_initial=self._wait_initial_s, wait_max=self._wait_max_s):
                with attempt:
                    payload = self._attempt(endpoint, params)
        except TransientUpstreamError as exc:
            raise SourceError(f"stats.nba.com {endpoint} {params} failed after {self._attempts} attempt(s): "
                              f"{exc}. The site throttles and blocks cloud IPs; retry later or use a "
                              f"snapshot directory.") from None
        assert payload is not None  # the loop either set it or raised
        if self._store is not None:
            self._store.save(payload)
        return payload

    def _attempt(self, endpoint: str, params: dict[str, str]) -> RawPayload:
        self._pacer.wait()
        try:
            status, text = self._requester(endpoint, params, self._timeout_s)
        except OSError as exc:  # requests' ConnectionError/Timeout are OSErrors
            log.warning("stats.nba.com %s: %s, will retry", endpoint, type(exc).__name__)
            raise TransientUpstreamError(f"{type(exc).__name__}: {exc}") from None
        except Exception as exc:
            raise SourceError(f"stats.nba.com {endpoint} {params} failed: {type(exc).__name__}: {exc}") from None
        fetched_at = self._now()
        if status == 429 or status >= 500:
            raise TransientUpstreamError(f"HTTP {status}")
        if status != 200:
            raise SourceError(f"stats.nba.com {endpoint} {params} answered HTTP {status}: {text[:200]!r}")
        if not text.strip():
            raise TransientUpstreamError("HTTP 200 with an empty body")
        try:
            json.loads(text)
        except json.JSONDecodeError:
            raise SourceError(f"stats.nba.com {endpoint} {params} answered HTTP 200 with a non-JSON body: "
                              f"{text[:200]!r}") from None
        log.info("stats.nba.com %s %s: %d bytes", endpoint, params, len(text))
        return RawPayload(source=SOURCE, endpoint=endpoint, params=params, fetched_at=fetched_at,
                          status_code=status, headers={}, body=text)


class NbaStatsSnapshot:
    """The same Protocols as :class:`NbaStatsLive`, served from saved payload files."""

    source = SOURCE

    def __init__(self, directory: Path | str) -> None:
        """Args:
            directory: a directory written by :class:`SnapshotStore` (e.g. ``NbaStatsLive(store=...)``).
        """
        self.store = SnapshotStore(directory)

    def fetch_scoreboard(self, game_date: date) -> RawPayload:
        """Load the saved ScoreboardV3 payload of a date (SourceError when none was saved)."""
        return self.store.load(SOURCE, "scoreboardv3", scoreboard_params(game_date))

    def fetch_player_game_logs(self, season: str, date_from: date | None = None,
                               date_to: date | None = None, *,
                               season_type: str = "Regular Season") -> RawPayload:
        """Load the saved PlayerGameLogs payload of exactly these arguments."""
        return self.store.load(SOURCE, "playergamelogs",
                               player_game_logs_params(season, date_from, date_to, season_type=season_type))

    def fetch_league_game_log(self, season: str, *, season_type: str = "Regular Season") -> RawPayload:
        """Load the saved LeagueGameLog payload of a season."""
        return self.store.load(SOURCE, "leaguegamelog", league_game_log_params(season, season_type=season_type))


# --------------------------------------------------------------------------- parsers


def _load_json(body: str, what: str) -> Any:
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON ({exc.msg} at line {exc.lineno} col {exc.colno})", file=what) from None


def _utc_ts(value: object, what: str, row: int, field: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(str(value))
    except (TypeError, ValueError):
        raise InputError(f"unparseable timestamp {value!r}", file=what, row=row, field=field) from None
    if ts is pd.NaT:
        raise InputError(f"unparseable timestamp {value!r}", file=what, row=row, field=field)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def parse_scoreboard_v3(body: str, *, source: str = "scoreboardv3") -> pd.DataFrame:
    """Parse a ScoreboardV3 response into one row per game.

    Args:
        body: the response text (``{"meta": ..., "scoreboard": {"games": [...]}}``).
        source: a label for error messages (file name or payload id).

    Returns:
        Columns :data:`SCOREBOARD_COLUMNS`: ``game_id`` (10-digit str), ``game_date`` (``date``, US/Eastern
        date of tip-off), ``tipoff_at`` (UTC timestamp), team ids (int64) and tricodes, ``status``
        (``scheduled`` | ``live`` | ``final``), ``home_pts``/``away_pts`` (nullable Int64, NA before tip-off).

    Raises:
        InputError: the body is not a scoreboard, or a game lacks a field (names the game row and field).
    """
    doc = _load_json(body, source)
    board = doc.get("scoreboard") if isinstance(doc, dict) else None
    if not isinstance(board, dict) or not isinstance(board.get("games"), list):
        raise InputError("not a ScoreboardV3 response (no scoreboard.games list)", file=source, field="scoreboard")
    rows: list[dict[str, object]] = []
    for i, game in enumerate(board["games"], start=1):
        def need(obj: Mapping[str, Any], key: str, prefix: str = "", *, _i: int = i) -> Any:
            if not isinstance(obj, Mapping) or obj.get(key) in (None, ""):
                raise InputError("missing value", file=source, row=_i, field=prefix + key)
            return obj[key]

        game_id = str(need(game, "gameId"))
        if not game_id.isdigit():
            raise InputError(f"game id {game_id!r} is not numeric", file=source, row=i, field="gameId")
        tip = _utc_ts(need(game, "gameTimeUTC"), source, i, "gameTimeUTC")
        try:
            status = _STATUS[int(need(game, "gameStatus"))]
        except (KeyError, ValueError):
            raise InputError(f"unknown gameStatus {game.get('gameStatus')!r} (expected 1, 2 or 3)",
                             file=source, row=i, field="gameStatus") from None
        home, away = game.get("homeTeam") or {}, game.get("awayTeam") or {}
        row: dict[str, object] = {
            "game_id": game_id.zfill(10),
            "game_date": tip.tz_convert(EASTERN).date(),
            "tipoff_at": tip,
            "home_team_id": int(need(home, "teamId", "homeTeam.")),
            "home_abbr": str(need(home, "teamTricode", "homeTeam.")),
            "away_team_id": int(need(away, "teamId", "awayTeam.")),
            "away_abbr": str(need(away, "teamTricode", "awayTeam.")),
            "status": status,
            "home_pts": None,
            "away_pts": None,
        }
        if status != "scheduled":
            row["home_pts"] = int(need(home, "score", "homeTeam."))
            row["away_pts"] = int(need(away, "score", "awayTeam."))
        rows.append(row)
    df = pd.DataFrame(rows, columns=SCOREBOARD_COLUMNS)
    return df.astype({"game_id": _STR, "home_team_id": "int64", "away_team_id": "int64", "home_abbr": _STR,
                      "away_abbr": _STR, "status": _STR, "home_pts": "Int64", "away_pts": "Int64",
                      "tipoff_at": "datetime64[ns, UTC]", "game_date": "object"})


def parse_player_game_logs(body: str, *, source: str = "playergamelogs") -> pd.DataFrame:
    """Parse a PlayerGameLogs response (``resultSets[].headers/rowSet``) into :data:`GAME_LOG_COLUMNS`.

    Args:
        body: the response text.
        source: a label for error messages (file name or payload id).

    Returns:
        One row per player game: ``game_id`` (10-digit str), ``player_id`` (int64), ``game_date``
        (``date``), ``matchup``, ``team_abbr``, ``opp_abbr``, ``is_home`` (bool), ``wl``, ``minutes``
        (float64), counting stats and ``plus_minus`` (int64).

    Raises:
        InputError: not a PlayerGameLogs response, missing columns, or a bad value (names row and field;
            rows are numbered from 1 in ``rowSet`` order).
    """
    doc = _load_json(body, source)
    sets = doc.get("resultSets", doc.get("resultSet")) if isinstance(doc, dict) else None
    if isinstance(sets, dict):
        sets = [sets]
    if not isinstance(sets, list) or not sets:
        raise InputError("not a stats.nba.com result-set response (no resultSets)", file=source,
                         field="resultSets")
    chosen = next((s for s in sets if isinstance(s, dict) and s.get("name") == "PlayerGameLogs"), sets[0])
    try:
        raw = pd.DataFrame(chosen["rowSet"], columns=[str(h).upper() for h in chosen["headers"]], dtype=object)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"malformed result set: {exc}", file=source, field="rowSet") from None
    return _normalise_logs(raw, source=source, date_format="ISO8601", first_row=1)


def parse_player_game_log_csv(path: Path | str) -> pd.DataFrame:
    """Parse an official single-player PlayerGameLog CSV (as nba_api returns it) into :data:`GAME_LOG_COLUMNS`.

    Args:
        path: a file like ``nba_api_playergamelog_2023-24/201939_2023-24.csv`` (``GAME_DATE`` like
            ``"APR 14, 2024"``, ``MATCHUP`` ``"GSW vs. UTA"`` = home, ``"GSW @ UTA"`` = away).

    Returns:
        The normalised rows (an empty, correctly typed frame for a header-only file).

    Raises:
        UnreadableFileError: the file cannot be read.
        MissingColumnsError: required columns are absent (lists them).
        InputError: a bad value (names the file, the line number and the field).
    """
    p = Path(path)
    try:
        raw = pd.read_csv(p, dtype=str, keep_default_na=True)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise UnreadableFileError(f"cannot read CSV: {exc}", file=str(p)) from None
    raw.columns = [str(c).strip().upper() for c in raw.columns]
    # first data row is line 2 of the file
    return _normalise_logs(raw, source=str(p), date_format="%b %d, %Y", first_row=2)


def _minutes(value: object) -> float:
    text = str(value).strip()
    if ":" in text:
        mm, ss = text.split(":", 1)
        return int(mm) + int(ss) / 60.0
    return float(text)


def _normalise_logs(raw: pd.DataFrame, *, source: str, date_format: str, first_row: int) -> pd.DataFrame:
    missing = [c for c in _REQUIRED_LOG_FIELDS if c not in raw.columns]
    if missing:
        raise MissingColumnsError(f"missing columns {missing}; found {list(raw.columns)}", file=source)
    raw = raw.reset_index(drop=True)

    def bad(idx: int, field: str, why: str) -> InputError:
        return InputError(f"{why}: {raw.at[idx, field]!r}", file=source, row=idx + first_row, field=field)

    def check(mask: Any, field: str, why: str) -> None:
        hits = np.flatnonzero(np.asarray(mask, dtype=bool))
        if len(hits):
            raise bad(int(hits[0]), field, why)

    out: dict[str, Any] = {}
    gid = raw["GAME_ID"].astype(object).map(lambda v: "" if pd.isna(v) else str(v).strip())
    check(~gid.str.fullmatch(r"\d{1,10}").fillna(False).astype(bool), "GAME_ID", "not a game id")
    out["game_id"] = pd.Series([v.zfill(10) for v in gid], dtype=_STR)

    pid = pd.to_numeric(raw["PLAYER_ID"], errors="coerce")
    check(pid.isna() | (pid != pid.round()), "PLAYER_ID", "not a player id")
    out["player_id"] = pid.astype("int64")

    dates = pd.to_datetime(raw["GAME_DATE"].astype(object), format=date_format, errors="coerce")
    check(dates.isna(), "GAME_DATE", "unparseable date")
    out["game_date"] = pd.Series(dates.dt.date, dtype=object)

    teams, opps, homes = [], [], []
    for i, m in enumerate(raw["MATCHUP"].astype(object)):
        parsed = _MATCHUP_RE.match(str(m)) if not pd.isna(m) else None
        if parsed is None:
            raise bad(i, "MATCHUP", "matchup is not 'TEAM vs. OPP' or 'TEAM @ OPP'")
        teams.append(parsed.group(1))
        opps.append(parsed.group(3))
        homes.append(parsed.group(2).startswith("vs"))
    out["matchup"] = pd.Series([str(m).strip() for m in raw["MATCHUP"]], dtype=_STR)
    if "TEAM_ABBREVIATION" in raw.columns:
        abbr = raw["TEAM_ABBREVIATION"].astype(object)
        teams = [str(a) if not pd.isna(a) else t for a, t in zip(abbr, teams, strict=True)]
    out["team_abbr"] = pd.Series(teams, dtype=_STR)
    out["opp_abbr"] = pd.Series(opps, dtype=_STR)
    out["is_home"] = pd.Series(homes, dtype="bool")
    out["wl"] = pd.Series([None if pd.isna(v) else str(v) for v in raw["WL"].astype(object)], dtype=_STR)

    minutes = []
    for i, v in enumerate(raw["MIN"].astype(object)):
        try:
            minutes.append(_minutes(v) if not pd.isna(v) else float("nan"))
        except ValueError:
            raise bad(i, "MIN", "not minutes") from None
    out["minutes"] = pd.Series(minutes, dtype="float64")

    for upstream, col in _INT_FIELDS.items():
        num = pd.to_numeric(raw[upstream], errors="coerce")
        check(num.isna() | (num != num.round()), upstream, "not an integer")
        out[col] = num.astype("int64")

    return pd.DataFrame({c: out[c].reset_index(drop=True) for c in GAME_LOG_COLUMNS})
