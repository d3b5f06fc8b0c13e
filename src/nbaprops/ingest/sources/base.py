"""Raw payloads, their landing in ``raw_payloads``, secret scrubbing and the source Protocols.

Phase 1 (ingest sources) fetches upstream responses and lands them untouched. Every fetch returns a
:class:`RawPayload`; parsing lives in separate pure functions of the source modules, so a payload
can be re-parsed later from the warehouse or from a snapshot file without calling the upstream.

Secrets never reach storage or logs: :class:`RawPayload` scrubs its ``params`` and ``headers`` on
construction (see :func:`scrub_params` and :func:`scrub_headers`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import quote, quote_plus

import duckdb

from nbaprops.errors import InputError, SourceError

__all__ = [
    "MASK",
    "GameLogSource",
    "OddsSource",
    "Pacer",
    "RawPayload",
    "ScheduleSource",
    "SnapshotStore",
    "land_payload",
    "mask",
    "payload_from_json",
    "payload_to_json",
    "redact",
    "scrub_headers",
    "scrub_params",
    "secret_pattern",
]

#: Query/param names whose values are secrets: dropped from stored params.
SECRET_PARAM_NAMES = frozenset({"apikey", "api_key", "key", "token", "access_token", "secret", "password"})
#: Header names (lower case) that carry credentials or session state: dropped from stored headers.
_SECRET_HEADER_RE = re.compile(r"cookie|authorization|api[-_]?key|token|secret|session", re.IGNORECASE)
#: ``apiKey=...`` (and friends) inside URLs or free text.
_SECRET_IN_TEXT_RE = re.compile(r"(?i)\b(api_?key|key|token|access_token)=([^&\s\"'<>]+)")
MASK = "***"


def scrub_params(params: Mapping[str, object]) -> dict[str, str]:
    """Return a copy of request parameters that is safe to store and log.

    Secret parameters (``apiKey``, ``api_key``, ``key``, ``token`` ..., compared case-insensitively)
    are removed; cookie-ish names are removed too. ``None`` values are dropped (``requests`` does
    not send them either); every other value is turned into ``str``.

    Args:
        params: request parameters as sent upstream.

    Returns:
        A new ``dict[str, str]`` without secrets.
    """
    out: dict[str, str] = {}
    for name, value in params.items():
        if value is None:
            continue
        if name.lower() in SECRET_PARAM_NAMES or _SECRET_HEADER_RE.search(name):
            continue
        out[str(name)] = str(value)
    return out


def scrub_headers(headers: Mapping[str, object]) -> dict[str, str]:
    """Return response/request headers without cookies, authorization or key material.

    Header names are lower-cased (HTTP header names are case-insensitive), so the stored JSON has
    one spelling per header.

    Args:
        headers: any header mapping (``httpx.Headers``, ``dict`` ...).

    Returns:
        A new ``dict[str, str]`` with lower-case names and no secret-bearing headers.
    """
    return {str(k).lower(): redact(str(v)) for k, v in headers.items()
            if not _SECRET_HEADER_RE.search(str(k))}


def _char_forms(ch: str) -> list[str]:
    """Regex alternatives for one character of a secret as it may appear in stored or logged text."""
    raw = ch.encode("utf-8")
    hexes = ["".join(f"%{b:02x}" for b in raw), "".join(f"%25{b:02x}" for b in raw)]   # URL-encoded, twice
    forms = [re.escape(ch), *(f"(?i:{re.escape(h)})" for h in hexes)]
    if ch == " ":
        forms.append(re.escape("+"))                       # quote_plus / form encoding
    if ch == "/":
        forms.append(re.escape("\\/"))                   # JSON's optional escape of "/"
    if len(raw) == 1 and not ch.isalnum():
        escaped = re.escape("\\u" + f"{ord(ch):04x}")
        forms.append(f"(?i:{escaped})")                     # JSON \uXXXX escape
    return forms


@lru_cache(maxsize=32)
def secret_pattern(secret: str) -> re.Pattern[str]:
    """A regex matching ``secret`` in every encoding it may take on its way to storage or a log: as is,
    URL-encoded (``quote``, ``quote_plus``, any case of the hex digits, or encoded twice), JSON-escaped,
    and base64 (standard and URL-safe, with or without padding)."""
    spelled = "".join("(?:" + "|".join(_char_forms(ch)) + ")" for ch in secret)
    b64 = {base64.b64encode(secret.encode()).decode(), base64.urlsafe_b64encode(secret.encode()).decode()}
    b64 |= {b.rstrip("=") for b in b64}
    literal = sorted({quote(secret, safe=""), quote(secret), quote_plus(secret), *b64}, key=len, reverse=True)
    return re.compile("|".join([spelled, *(re.escape(x) for x in literal if len(x) >= 4)]))


def mask(text: str, *secrets: str | None) -> str:
    """Replace every occurrence of each secret (in any of the encodings of :func:`secret_pattern`) by ``***``.

    Args:
        text: the text to clean (a body, a header value, a message).
        *secrets: the secret values (``None`` and ``""`` are ignored).
    """
    for secret in secrets:
        if secret:
            text = secret_pattern(secret).sub(MASK, text)
    return text


def redact(text: str, *secrets: str | None) -> str:
    """Mask secrets in free text (URLs, error messages, log lines).

    ``apiKey=...``-style query fragments are always masked; each non-empty string in ``secrets`` is
    masked wherever it occurs, raw or encoded (:func:`mask`).

    Args:
        text: the text to clean.
        *secrets: literal secret values to mask (``None`` and ``""`` are ignored).

    Returns:
        The text with every secret replaced by ``***``.
    """
    return mask(_SECRET_IN_TEXT_RE.sub(lambda m: f"{m.group(1)}={MASK}", text), *secrets)


def _utc(ts: datetime, what: str) -> datetime:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise InputError(f"{what} must be timezone-aware (UTC), got naive {ts.isoformat()}", field=what)
    return ts.astimezone(UTC)


@dataclass(frozen=True)
class RawPayload:
    """One upstream response exactly as it landed.

    ``params`` and ``headers`` are scrubbed of secrets on construction and ``fetched_at`` is
    normalised to UTC (a naive datetime is rejected with :class:`InputError`).
    """

    source: str
    endpoint: str
    params: dict[str, str]
    fetched_at: datetime
    status_code: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", scrub_params(self.params))
        object.__setattr__(self, "headers", scrub_headers(self.headers))
        object.__setattr__(self, "fetched_at", _utc(self.fetched_at, "fetched_at"))

    @property
    def params_json(self) -> str:
        """The params as canonical JSON (sorted keys, compact)."""
        return json.dumps(self.params, sort_keys=True, separators=(",", ":"))

    @property
    def payload_id(self) -> str:
        """sha256 hex of ``source|endpoint|sorted params json|fetched_at iso``."""
        key = f"{self.source}|{self.endpoint}|{self.params_json}|{self.fetched_at.isoformat()}"
        return hashlib.sha256(key.encode("utf-8")).hexdigest()

    @property
    def body_sha256(self) -> str:
        """sha256 hex of the UTF-8 body."""
        return hashlib.sha256(self.body.encode("utf-8")).hexdigest()


def land_payload(con: duckdb.DuckDBPyConnection, payload: RawPayload) -> str:
    """Insert a payload into ``raw_payloads`` (a second landing of the same payload is a no-op).

    Args:
        con: an open warehouse connection with the ``raw_payloads`` table.
        payload: the payload to store; params and headers are stored as JSON text.

    Returns:
        The ``payload_id``.
    """
    pid = payload.payload_id
    con.execute(
        "INSERT OR IGNORE INTO raw_payloads (payload_id, source, endpoint, params, fetched_at, status_code,"
        " headers, body, body_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [pid, payload.source, payload.endpoint, payload.params_json, payload.fetched_at,
         payload.status_code, json.dumps(payload.headers, sort_keys=True), payload.body,
         payload.body_sha256],
    )
    return pid


def payload_to_json(payload: RawPayload) -> str:
    """Serialise a payload (the snapshot file format).

    Args:
        payload: the payload.

    Returns:
        JSON text with keys source, endpoint, params, fetched_at (ISO UTC), status_code, headers, body.
    """
    return json.dumps({
        "source": payload.source, "endpoint": payload.endpoint, "params": payload.params,
        "fetched_at": payload.fetched_at.isoformat(), "status_code": payload.status_code,
        "headers": payload.headers, "body": payload.body,
    }, sort_keys=True, indent=1)


def payload_from_json(text: str, *, file: str | None = None) -> RawPayload:
    """Read a payload written by :func:`payload_to_json`.

    Args:
        text: the JSON text.
        file: the file name, for error messages.

    Returns:
        The payload.

    Raises:
        InputError: the text is not a payload document (names the missing field).
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON ({exc.msg} at line {exc.lineno})", file=file) from None
    if not isinstance(doc, dict):
        raise InputError("a payload snapshot must be a JSON object", file=file)
    for name in ("source", "endpoint", "params", "fetched_at", "status_code", "body"):
        if name not in doc:
            raise InputError("missing from the payload snapshot", file=file, field=name)
    try:
        fetched_at = datetime.fromisoformat(doc["fetched_at"])
    except (TypeError, ValueError):
        raise InputError(f"not an ISO timestamp: {doc['fetched_at']!r}", file=file,
                         field="fetched_at") from None
    return RawPayload(source=str(doc["source"]), endpoint=str(doc["endpoint"]),
                      params={str(k): str(v) for k, v in dict(doc["params"]).items()},
                      fetched_at=fetched_at, status_code=int(doc["status_code"]),
                      headers={str(k): str(v) for k, v in dict(doc.get("headers") or {}).items()},
                      body=str(doc["body"]))


class SnapshotStore:
    """A directory of payload snapshots, one file per (source, endpoint, params).

    The file name is ``<source>__<endpoint>__<sha256(params json)[:16]>.json`` so a snapshot
    source can find the file a live source would have fetched for the same request.
    """

    def __init__(self, directory: Path | str) -> None:
        """Args:
            directory: the snapshot directory (created on the first :meth:`save`).
        """
        self.directory = Path(directory)

    def path_for(self, source: str, endpoint: str, params: Mapping[str, object]) -> Path:
        """The snapshot file for a request (it may not exist)."""
        clean = scrub_params(params)
        digest = hashlib.sha256(json.dumps(clean, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
        safe_endpoint = re.sub(r"[^A-Za-z0-9_.-]+", "_", endpoint)
        return self.directory / f"{source}__{safe_endpoint}__{digest[:16]}.json"

    def save(self, payload: RawPayload) -> Path:
        """Write a payload to its snapshot file (overwriting an older snapshot of the same request).

        Args:
            payload: the payload.

        Returns:
            The file written.
        """
        path = self.path_for(payload.source, payload.endpoint, payload.params)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(payload_to_json(payload), encoding="utf-8")
        tmp.replace(path)
        return path

    def load(self, source: str, endpoint: str, params: Mapping[str, object]) -> RawPayload:
        """Read the snapshot of a request.

        Raises:
            SourceError: no snapshot of that request exists (names the file and the params).
            InputError: the file is not a payload snapshot.
        """
        path = self.path_for(source, endpoint, params)
        if not path.is_file():
            raise SourceError(f"no {source} snapshot for {endpoint} {scrub_params(params)} "
                              f"(expected file {path})")
        payload = payload_from_json(path.read_text(encoding="utf-8"), file=str(path))
        if (payload.source, payload.endpoint) != (source, endpoint):
            raise InputError(f"snapshot holds {payload.source}/{payload.endpoint}, expected {source}/{endpoint}",
                             file=str(path))
        return payload


class Pacer:
    """Keeps successive calls at least ``min_interval_s`` apart on a monotonic clock.

    The clock and the sleep function are injectable so tests run instantly and deterministically.
    """

    def __init__(self, min_interval_s: float, *, clock: Callable[[], float] | None = None,
                 sleep: Callable[[float], object] | None = None) -> None:
        """Args:
            min_interval_s: minimum seconds between the starts of two calls.
            clock: a zero-argument callable returning monotonic seconds (default ``time.monotonic``).
            sleep: a one-argument callable that sleeps that many seconds (default ``time.sleep``).
        """
        if min_interval_s < 0:
            raise ValueError("min_interval_s must be >= 0")
        self.min_interval_s = float(min_interval_s)
        self._clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._last: float | None = None

    def wait(self) -> float:
        """Sleep until the next call may start, then mark the call as started.

        Returns:
            Seconds slept (0.0 when no wait was needed).
        """
        slept = 0.0
        now = float(self._clock())
        if self._last is not None:
            remaining = self._last + self.min_interval_s - now
            if remaining > 0:
                self._sleep(remaining)
                slept = remaining
                now = float(self._clock())
                # A coarse or early-waking sleep: top up until the interval has really passed.
                while now < self._last + self.min_interval_s:
                    extra = self._last + self.min_interval_s - now
                    self._sleep(extra)
                    slept += extra
                    now = float(self._clock())
        self._last = now
        return slept


@runtime_checkable
class ScheduleSource(Protocol):
    """The slate of games for a date (stats.nba.com ScoreboardV3 or a snapshot of it)."""

    def fetch_scoreboard(self, game_date: date) -> RawPayload:
        """Fetch the scoreboard of one US/Eastern game date."""
        ...


@runtime_checkable
class GameLogSource(Protocol):
    """Player and team game logs (stats.nba.com PlayerGameLogs / LeagueGameLog or snapshots)."""

    def fetch_player_game_logs(self, season: str, date_from: date | None = None,
                               date_to: date | None = None, *,
                               season_type: str = "Regular Season") -> RawPayload:
        """Fetch every player's game log rows of a season, optionally within a date range."""
        ...

    def fetch_league_game_log(self, season: str, *, season_type: str = "Regular Season") -> RawPayload:
        """Fetch the league (team) game log of a season."""
        ...


@runtime_checkable
class OddsSource(Protocol):
    """Sportsbook player-prop odds (The Odds API v4 or snapshots)."""

    def fetch_events(self, date_from: datetime, date_to: datetime) -> RawPayload:
        """Upcoming/current events with commence time in ``[date_from, date_to]`` (UTC)."""
        ...

    def fetch_event_odds(self, event_id: str, markets: tuple[str, ...] = ("player_points",),
                         regions: str = "us") -> RawPayload:
        """Current odds of one event for the given markets and regions."""
        ...

    def fetch_historical_events(self, at: datetime) -> RawPayload:
        """The events list as it was at ``at`` (UTC)."""
        ...

    def fetch_historical_event_odds(self, event_id: str, at: datetime,
                                    markets: tuple[str, ...] = ("player_points",),
                                    regions: str = "us") -> RawPayload:
        """One event's odds as they were at ``at`` (UTC)."""
        ...
