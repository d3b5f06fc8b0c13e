"""The Odds API v4: NBA events and player-prop odds (live and historical), behind :class:`OddsSource`.

:class:`OddsApiLive` sends the key (from settings only) as the ``apiKey`` query parameter and
never lets it reach a :class:`RawPayload`, a log record or an exception message. It records the
quota headers, refuses calls beyond ``settings.odds_api_budget`` requests per process (or when the
quota is spent), retries 429/5xx/transport failures with stamina and fails fast on 401.

:func:`flatten_event_odds` turns an event-odds body into exactly the columns and dtypes of the bulk
file ``lines/odds_api_2024-03_to_2024-05.parquet``, so live and bulk lines share one ingest path.
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

import httpx
import numpy as np
import pandas as pd
import stamina

from nbaprops.config import Settings
from nbaprops.errors import BudgetExceededError, InputError, SourceError, TransientUpstreamError
from nbaprops.ingest.sources.base import RawPayload, SnapshotStore, mask, redact
from nbaprops.odds import check_american

__all__ = [
    "EVENT_COLUMNS",
    "ODDS_COLUMNS",
    "QUOTA_HEADERS",
    "SOURCE",
    "SPORT",
    "OddsApiLive",
    "OddsApiSnapshot",
    "event_odds_params",
    "events_params",
    "flatten_event_odds",
    "historical_event_odds_params",
    "historical_events_params",
    "parse_events",
]

log = logging.getLogger(__name__)

SOURCE = "odds_api"
SPORT = "basketball_nba"
EASTERN = ZoneInfo("America/New_York")
QUOTA_HEADERS = ("x-requests-remaining", "x-requests-used", "x-requests-last")
_KEEP_HEADERS = frozenset({*QUOTA_HEADERS, "content-type", "date"})
_EVENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MARKET_RE = re.compile(r"^[a-z0-9_]+$")

#: The columns (in order) of the bulk flattened file and of :func:`flatten_event_odds`.
ODDS_COLUMNS = ["outcomes_name", "outcomes_description", "outcomes_price", "outcomes_point", "id", "sport_key",
                "sport_title", "commence_time", "home_team", "away_team", "bookmakers.key", "bookmakers.title",
                "bookmakers.last_update", "bookmakers.markets.key", "bookmakers.markets.last_update", "file_date"]
EVENT_COLUMNS = ["id", "sport_key", "sport_title", "commence_time", "home_team", "away_team"]
# The string dtype this pandas infers for text, which is also what read_parquet returns
# (object in pandas 2, str in pandas 3).
_STR = pd.Series(["x"]).dtype
_NUMERIC = {"outcomes_price": "int64", "outcomes_point": "float64", "bookmakers.last_update": "float64"}


# --------------------------------------------------------------------------- request parameters


def _iso_z(ts: datetime, field: str) -> str:
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise InputError(f"must be timezone-aware, got naive {ts.isoformat()}", field=field)
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _markets(markets: tuple[str, ...]) -> str:
    if not markets or any(not _MARKET_RE.match(m) for m in markets):
        raise InputError(f"markets must be non-empty Odds API market keys, got {markets!r}", field="markets")
    return ",".join(markets)


def _event_id(event_id: str) -> str:
    if not _EVENT_ID_RE.match(event_id):
        raise InputError(f"not an Odds API event id: {event_id!r}", field="event_id")
    return event_id


def events_params(date_from: datetime, date_to: datetime) -> dict[str, str]:
    """Query parameters of ``/v4/sports/basketball_nba/events`` (without the key).

    Args:
        date_from: earliest commence time (aware; sent as UTC ``...Z``).
        date_to: latest commence time (aware).

    Returns:
        The parameters.
    """
    return {"commenceTimeFrom": _iso_z(date_from, "date_from"), "commenceTimeTo": _iso_z(date_to, "date_to"),
            "dateFormat": "iso"}


def event_odds_params(markets: tuple[str, ...] = ("player_points",), regions: str = "us",
                      bookmakers: tuple[str, ...] = ()) -> dict[str, str]:
    """Query parameters of ``/v4/sports/basketball_nba/events/{id}/odds`` (without the key).

    ``bookmakers`` (book keys), when given, replaces ``regions`` (the API then ignores regions and
    charges one region per 10 books).
    """
    if bookmakers:
        if any(not _MARKET_RE.match(b) for b in bookmakers):
            raise InputError(f"bookmakers must be Odds API bookmaker keys, got {bookmakers!r}", field="bookmakers")
        return {"markets": _markets(markets), "bookmakers": ",".join(bookmakers), "oddsFormat": "american",
                "dateFormat": "iso"}
    return {"markets": _markets(markets), "regions": regions, "oddsFormat": "american", "dateFormat": "iso"}


def historical_events_params(at: datetime) -> dict[str, str]:
    """Query parameters of ``/v4/historical/sports/basketball_nba/events`` (without the key)."""
    return {"date": _iso_z(at, "at"), "dateFormat": "iso"}


def historical_event_odds_params(at: datetime, markets: tuple[str, ...] = ("player_points",),
                                 regions: str = "us") -> dict[str, str]:
    """Query parameters of ``/v4/historical/sports/basketball_nba/events/{id}/odds`` (without the key)."""
    return {"date": _iso_z(at, "at"), **event_odds_params(markets, regions)}


# --------------------------------------------------------------------------- live source


class _RedactSecretsFilter(logging.Filter):
    """Masks ``apiKey=...`` and every key in use (raw or encoded) in records of loggers we do not own
    (httpx logs every request URL) and of this module."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to fix
            return True
        clean = redact(message, *sorted(self.secrets, key=len, reverse=True))
        if clean != message:
            record.msg, record.args = clean, None
        return True


_FILTER = _RedactSecretsFilter()


def _install_log_redaction(secret: str | None = None) -> None:
    if secret:
        _FILTER.secrets.add(secret)
    for logger in (logging.getLogger("httpx"), logging.getLogger("httpcore"), log):
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def _int_header(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value))
    except ValueError:
        return None


class OddsApiLive:
    """The Odds API v4 (``settings.odds_api_base_url``), paid per request: budgeted and key-safe."""

    source = SOURCE

    def __init__(self, settings: Settings, client: httpx.Client | None = None, *, attempts: int = 4,
                 wait_initial_s: float = 1.0, wait_max_s: float = 30.0,
                 now: Callable[[], datetime] | None = None, store: SnapshotStore | None = None) -> None:
        """Args:
            settings: uses ``odds_api_key``, ``odds_api_budget``, ``odds_api_base_url``, ``http_timeout_s``.
            client: an ``httpx.Client`` to use (default: a new one with the settings timeout).
            attempts: maximum attempts per fetch (429/5xx/transport errors are retried).
            wait_initial_s: first backoff wait; exponential with jitter up to ``wait_max_s``.
            wait_max_s: maximum backoff wait.
            now: clock for ``fetched_at`` (default ``datetime.now(UTC)``).
            store: when given, every fetched payload is also saved there (for later replay).
        """
        if attempts < 1:
            raise ValueError("attempts must be >= 1")
        self._settings = settings
        self._base_url = settings.odds_api_base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=settings.http_timeout_s)
        self._attempts = attempts
        self._wait_initial_s = wait_initial_s
        self._wait_max_s = wait_max_s
        self._now = now or (lambda: datetime.now(UTC))
        self._store = store
        self.budget = settings.odds_api_budget
        #: HTTP requests sent by this instance (every attempt counts).
        self.requests_made = 0
        #: The last ``x-requests-remaining`` / ``x-requests-used`` seen, if any.
        self.quota_remaining: int | None = None
        self.quota_used: int | None = None
        #: The last ``x-requests-last`` seen (the cost of the last answered request), if any.
        self.quota_last: int | None = None
        _install_log_redaction(settings.odds_api_key.get_secret_value() if settings.odds_api_key else None)

    # -- OddsSource

    def fetch_events(self, date_from: datetime, date_to: datetime) -> RawPayload:
        """List NBA events with commence time in ``[date_from, date_to]``.

        Args:
            date_from: earliest commence time (timezone-aware).
            date_to: latest commence time (timezone-aware).

        Returns:
            The untouched response (a JSON list of events).

        Raises:
            SourceError: missing/rejected key or the API failed; BudgetExceededError: budget spent.
        """
        return self._get("events", f"/v4/sports/{SPORT}/events", events_params(date_from, date_to), {})

    def fetch_event_odds(self, event_id: str, markets: tuple[str, ...] = ("player_points",),
                         regions: str = "us", bookmakers: tuple[str, ...] = ()) -> RawPayload:
        """Current odds of one event (American prices, ISO dates).

        Args:
            event_id: the Odds API event id.
            markets: market keys, e.g. ``("player_points", "player_rebounds")``.
            regions: bookmaker regions, e.g. ``"us"``.
            bookmakers: book keys; when given they replace ``regions``.

        Returns:
            The untouched response (one event object with ``bookmakers[].markets[].outcomes[]``).

        Raises:
            SourceError: missing/rejected key, unknown event or the API failed;
            BudgetExceededError: budget spent.
        """
        eid = _event_id(event_id)
        return self._get("event_odds", f"/v4/sports/{SPORT}/events/{eid}/odds",
                         event_odds_params(markets, regions, bookmakers), {"event_id": eid})

    def fetch_historical_events(self, at: datetime) -> RawPayload:
        """The events list as it was at ``at`` (``{"timestamp", ..., "data": [...]}``).

        Args:
            at: snapshot time (timezone-aware).

        Returns:
            The untouched response.
        """
        return self._get("historical_events", f"/v4/historical/sports/{SPORT}/events",
                         historical_events_params(at), {})

    def fetch_historical_event_odds(self, event_id: str, at: datetime,
                                    markets: tuple[str, ...] = ("player_points",),
                                    regions: str = "us") -> RawPayload:
        """One event's odds as they were at ``at`` (``{"timestamp", ..., "data": {event}}``).

        Args:
            event_id: the Odds API event id.
            at: snapshot time (timezone-aware).
            markets: market keys.
            regions: bookmaker regions.

        Returns:
            The untouched response.
        """
        eid = _event_id(event_id)
        return self._get("historical_event_odds", f"/v4/historical/sports/{SPORT}/events/{eid}/odds",
                         historical_event_odds_params(at, markets, regions), {"event_id": eid})

    def close(self) -> None:
        """Close the underlying HTTP client."""
        self._client.close()

    # -- internals

    def _api_key(self) -> str:
        key = self._settings.odds_api_key.get_secret_value() if self._settings.odds_api_key else ""
        if not key.strip():
            raise SourceError("The Odds API key is not set: set NBAPROPS_ODDS_API_KEY (environment or .env) "
                              "to fetch live lines, or use the bulk/snapshot odds files")
        return key

    def _get(self, endpoint: str, path: str, query: dict[str, str], extra: dict[str, str]) -> RawPayload:
        key = self._api_key()
        payload: RawPayload | None = None
        failure: str | None = None
        try:
            for attempt in stamina.retry_context(on=TransientUpstreamError, attempts=self._attempts, timeout=None,
                                                 wait_initial=self._wait_initial_s, wait_max=self._wait_max_s):
                with attempt:
                    payload = self._attempt(endpoint, path, query, extra, key)
        except TransientUpstreamError as exc:
            failure = str(exc)
        # raised outside the except block so no exception context (which may hold the URL) is chained
        if failure is not None:
            raise SourceError(f"The Odds API {path} failed after {self._attempts} attempt(s): {failure}")
        assert payload is not None  # the loop either set it or raised
        if self._store is not None:
            self._store.save(payload)
        return payload

    def _check_budget(self) -> None:
        if self.requests_made >= self.budget:
            raise BudgetExceededError(
                f"The Odds API request budget is spent: {self.requests_made} of {self.budget} requests made by "
                f"this process (raise NBAPROPS_ODDS_API_BUDGET to allow more)")
        if self.quota_remaining is not None and self.quota_remaining <= 0:
            raise BudgetExceededError(
                f"The Odds API quota is exhausted (x-requests-remaining={self.quota_remaining}, "
                f"used={self.quota_used}); wait for the monthly reset or upgrade the plan")

    def _attempt(self, endpoint: str, path: str, query: dict[str, str], extra: dict[str, str],
                 key: str) -> RawPayload:
        self._check_budget()
        self.requests_made += 1
        url = self._base_url + path
        transport_error: str | None = None
        try:
            response = self._client.get(url, params={**query, "apiKey": key})
        except httpx.TransportError as exc:
            transport_error = redact(f"{type(exc).__name__}: {exc}", key)
        if transport_error is not None:
            # raised outside the except block: the httpx exception (request URL with the key) is not chained
            log.warning("The Odds API %s: %s, will retry", path, transport_error)
            raise TransientUpstreamError(transport_error)
        fetched_at = self._now()
        self._note_quota(response.headers)
        status = response.status_code
        if status == 200:
            log.info("The Odds API %s %s: %d bytes, quota remaining %s", path, query, len(response.content),
                     self.quota_remaining)
            headers = {k: mask(v, key) for k, v in response.headers.items() if k.lower() in _KEEP_HEADERS}
            # the body is stored and saved as it came, but for the key in any encoding (an upstream
            # that echoes the request URL holds it URL-encoded)
            return RawPayload(source=SOURCE, endpoint=endpoint, params={**extra, **query}, fetched_at=fetched_at,
                              status_code=status, headers=headers, body=mask(response.text, key))
        detail = self._error_detail(response, key)
        if status == 401 and ("OUT_OF_USAGE_CREDITS" in detail or self.quota_remaining == 0):
            raise BudgetExceededError(f"The Odds API quota is exhausted (HTTP 401{detail}; x-requests-remaining="
                                      f"{self.quota_remaining}, used={self.quota_used}): wait for the monthly "
                                      f"reset or upgrade the plan")
        if status == 401:
            raise SourceError(f"The Odds API rejected the key (HTTP 401{detail}): check NBAPROPS_ODDS_API_KEY "
                              f"and the account's quota")
        if status == 429 or status >= 500:
            log.warning("The Odds API %s: HTTP %d%s, will retry", path, status, detail)
            raise TransientUpstreamError(f"HTTP {status}{detail}")
        raise SourceError(f"The Odds API {path} {query} answered HTTP {status}{detail}")

    def _note_quota(self, headers: httpx.Headers) -> None:
        remaining = _int_header(headers.get("x-requests-remaining"))
        if remaining is not None:
            self.quota_remaining = remaining
        used = _int_header(headers.get("x-requests-used"))
        if used is not None:
            self.quota_used = used
        self.quota_last = _int_header(headers.get("x-requests-last"))

    @staticmethod
    def _error_detail(response: httpx.Response, key: str) -> str:
        try:
            doc = response.json()
        except ValueError:
            text = response.text.strip()[:200]
            return f": {redact(text, key)}" if text else ""
        if isinstance(doc, dict):
            parts = [str(doc[k]) for k in ("error_code", "message") if doc.get(k)]
            return f": {redact(' - '.join(parts), key)}" if parts else ""
        return ""


class OddsApiSnapshot:
    """The same :class:`OddsSource` Protocol, served from payloads saved by :class:`SnapshotStore`."""

    source = SOURCE

    def __init__(self, directory: Path | str) -> None:
        """Args:
            directory: a directory written by :class:`SnapshotStore` (e.g. ``OddsApiLive(store=...)``).
        """
        self.store = SnapshotStore(directory)

    def fetch_events(self, date_from: datetime, date_to: datetime) -> RawPayload:
        """Load the saved events list of exactly this window."""
        return self.store.load(SOURCE, "events", events_params(date_from, date_to))

    def fetch_event_odds(self, event_id: str, markets: tuple[str, ...] = ("player_points",),
                         regions: str = "us") -> RawPayload:
        """Load the saved odds of one event for exactly these markets/regions."""
        return self.store.load(SOURCE, "event_odds",
                               {"event_id": _event_id(event_id), **event_odds_params(markets, regions)})

    def fetch_historical_events(self, at: datetime) -> RawPayload:
        """Load the saved historical events list at ``at``."""
        return self.store.load(SOURCE, "historical_events", historical_events_params(at))

    def fetch_historical_event_odds(self, event_id: str, at: datetime,
                                    markets: tuple[str, ...] = ("player_points",),
                                    regions: str = "us") -> RawPayload:
        """Load the saved historical odds of one event at ``at``."""
        return self.store.load(SOURCE, "historical_event_odds",
                               {"event_id": _event_id(event_id),
                                **historical_event_odds_params(at, markets, regions)})


# --------------------------------------------------------------------------- parsers


def _load(body: str, what: str) -> tuple[Any, str | None]:
    """JSON-decode a body; unwrap a historical ``{"timestamp", "data"}`` envelope."""
    try:
        doc = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON ({exc.msg} at line {exc.lineno} col {exc.colno})", file=what) from None
    if isinstance(doc, dict) and "data" in doc and "timestamp" in doc:
        return doc["data"], str(doc["timestamp"])
    return doc, None


def _iso_text(value: object) -> str | None:
    """The API's time as ISO text (``dateFormat=unix`` sends epoch seconds)."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(float(value), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _epoch(value: object) -> float:
    """Bookmaker-level ``last_update`` as epoch seconds (NaN when absent, as in the bulk file)."""
    if value is None or value == "":
        return float("nan")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    ts = pd.Timestamp(str(value))
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return float(ts.timestamp())


def _eastern_date(iso: str | None) -> str | None:
    if not iso:
        return None
    ts = pd.Timestamp(iso)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    return str(ts.tz_convert(EASTERN).date())


def flatten_event_odds(body: str, *, file_date: date | str | None = None,
                       source: str = "event_odds") -> pd.DataFrame:
    """Flatten an event-odds response into one row per outcome, in the bulk file's exact shape.

    Accepts a single event object (``/events/{id}/odds``), a list of events (``/odds``), or either
    wrapped in a historical envelope ``{"timestamp": ..., "data": ...}``.

    ``file_date`` is the US/Eastern date of the snapshot, as in the bulk file (where it equals the
    Eastern date of ``bookmakers.markets.last_update`` on every one of its 614,106 rows, while lines
    are often quoted days before tip-off). When not given, it is the Eastern date of the envelope's
    ``timestamp`` (historical), else of each market's ``last_update``, else of ``commence_time``.

    Args:
        body: the response text.
        file_date: the snapshot date to write into ``file_date`` (e.g. the Eastern date of ``fetched_at``).
        source: a label for error messages (file name or payload id).

    Returns:
        Columns :data:`ODDS_COLUMNS` with the bulk parquet's dtypes: text columns as pandas' default string
        dtype, ``outcomes_price`` int64, ``outcomes_point`` and ``bookmakers.last_update`` float64
        (epoch seconds when the API sends it; the bulk file has it all NaN).

    Raises:
        InputError: not an event-odds body, or an outcome lacks a usable price (names row and field).
    """
    doc, snapshot_ts = _load(body, source)
    events = doc if isinstance(doc, list) else [doc]
    fixed_date = str(file_date) if file_date is not None else _eastern_date(snapshot_ts)
    cols: dict[str, list[Any]] = {c: [] for c in ODDS_COLUMNS}
    for e_i, event in enumerate(events):
        if not isinstance(event, dict) or "id" not in event:
            raise InputError("not an Odds API event object (no 'id')", file=source, row=e_i + 1, field="id")
        commence = _iso_text(event.get("commence_time"))
        head = [event.get("id"), event.get("sport_key"), event.get("sport_title"), commence,
                event.get("home_team"), event.get("away_team")]
        for book in event.get("bookmakers") or []:
            book_last = _epoch(book.get("last_update"))
            for market in book.get("markets") or []:
                m_last = _iso_text(market.get("last_update"))
                f_date = fixed_date or _eastern_date(m_last) or _eastern_date(commence)
                for outcome in market.get("outcomes") or []:
                    price = outcome.get("price")
                    row = len(cols["id"]) + 1
                    check_american(price, where="outcomes.price", file=source, rows=row,
                                   hint="request oddsFormat=american")
                    if not isinstance(price, int | float) or isinstance(price, bool) or price != int(price):
                        raise InputError(f"price {price!r} is not an American-odds integer "
                                         f"(request oddsFormat=american)", file=source, row=row,
                                         field="outcomes.price")
                    point = outcome.get("point")
                    values = [outcome.get("name"), outcome.get("description"), int(price),
                              float(point) if point is not None else np.nan, *head, book.get("key"),
                              book.get("title"), book_last, market.get("key"), m_last, f_date]
                    for c, v in zip(ODDS_COLUMNS, values, strict=True):
                        cols[c].append(v)
    return pd.DataFrame({c: pd.Series(v, dtype=_NUMERIC.get(c, _STR)) for c, v in cols.items()})


def parse_events(body: str, *, source: str = "events") -> pd.DataFrame:
    """Parse an events list (live or historical envelope) into :data:`EVENT_COLUMNS`.

    Args:
        body: the response text.
        source: a label for error messages.

    Returns:
        One row per event; ``commence_time`` as ISO UTC text like the bulk file.

    Raises:
        InputError: the body is not a list of events.
    """
    doc, _ = _load(body, source)
    if not isinstance(doc, list):
        raise InputError("an events response must be a JSON list", file=source)
    rows = []
    for i, event in enumerate(doc, start=1):
        if not isinstance(event, Mapping) or not event.get("id"):
            raise InputError("event without an id", file=source, row=i, field="id")
        rows.append([event.get("id"), event.get("sport_key"), event.get("sport_title"),
                     _iso_text(event.get("commence_time")), event.get("home_team"), event.get("away_team")])
    return pd.DataFrame({c: pd.Series([r[j] for r in rows], dtype=_STR) for j, c in enumerate(EVENT_COLUMNS)})
