"""A replay of The Odds API on 127.0.0.1: the event and event-odds endpoints answered from a recorded file.

The recorded file is the Odds API bulk file (``lines/odds_api_*.parquet``: event-odds JSON flattened one
row per outcome, every (event, book, market) quote stamped with its ``bookmakers.markets.last_update``).
At the replay clock time ``T`` the server answers what the recorded data had at or before ``T``:

- ``GET /v4/sports/basketball_nba/events``: the events with a quote at or before ``T`` (filtered by
  ``commenceTimeFrom``/``commenceTimeTo``); costs 0 requests, like the real endpoint.
- ``GET /v4/sports/basketball_nba/events/{id}/odds``: the event with, per bookmaker and market, the
  latest recorded quote at or before ``T`` (``markets``, ``regions`` or ``bookmakers`` filter them);
  costs ``markets x regions`` requests (``bookmakers``: one region per 10 books). 404 for an event not
  listed yet. After tip-off it keeps answering (the recorded in-play quotes), as the API does for live games.

Every answer carries ``x-requests-remaining``/``x-requests-used``/``x-requests-last``. A wrong key is
401 ``INVALID_KEY``; a spent quota is 401 ``OUT_OF_USAGE_CREDITS``; :meth:`ReplayOddsServer.fail_next`
injects 401/429 answers on demand. The clock is set from Python (``server.clock = dt``) or with
``POST /_replay/clock {"at": ISO}``; ``GET /_replay/state`` shows clock and quota.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb

from nbaprops.errors import InputError

__all__ = ["RecordedOdds", "ReplayOddsServer"]

SPORT = "basketball_nba"
_ODDS_PATH = re.compile(rf"^/v4/sports/{SPORT}/events/([A-Za-z0-9_-]{{1,64}})/odds/?$")
_EVENTS_PATH = f"/v4/sports/{SPORT}/events"


def _iso(ts: dt.datetime) -> str:
    return ts.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_ts(text: str, what: str) -> dt.datetime:
    try:
        ts = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"not an ISO timestamp: {text!r}", field=what) from None
    if ts.tzinfo is None:
        raise InputError(f"must be timezone-aware: {text!r}", field=what)
    return ts.astimezone(dt.UTC)


@dataclass
class _Quote:
    at: dt.datetime
    outcomes: list[dict[str, Any]]


@dataclass
class _Event:
    id: str
    sport_title: str
    commence: dt.datetime
    home: str
    away: str
    first_quote: dt.datetime
    titles: dict[str, str] = field(default_factory=dict)
    #: (book, market) -> quotes sorted by time
    quotes: dict[tuple[str, str], list[_Quote]] = field(default_factory=dict)


class RecordedOdds:
    """The recorded quotes of a bulk Odds API file, per event, book and market, in time order."""

    def __init__(self, events: dict[str, _Event]) -> None:
        self.events = events

    @classmethod
    def load(cls, path: Path | str, date_from: dt.date | None = None, date_to: dt.date | None = None) -> RecordedOdds:
        """Read the file (parquet or CSV with the bulk columns), keeping the events whose US/Eastern game
        date is in ``[date_from, date_to]`` (every event when not given).

        Raises:
            InputError: the file cannot be read or lacks a bulk column.
        """
        p = Path(path)
        if not p.is_file():
            raise InputError("no such file", file=str(p))
        reader = "read_parquet" if p.suffix.lower() == ".parquet" else "read_csv_auto"
        lo, hi = date_from or dt.date(1900, 1, 1), date_to or dt.date(2999, 12, 31)
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            rows = con.execute(f"""
                SELECT id, sport_title, CAST(commence_time AS TIMESTAMPTZ) AS ct, home_team, away_team,
                       "bookmakers.key", "bookmakers.title", "bookmakers.markets.key",
                       CAST("bookmakers.markets.last_update" AS TIMESTAMPTZ) AS lu,
                       outcomes_name, outcomes_description, outcomes_price, outcomes_point
                FROM {reader}(?)
                WHERE CAST(timezone('America/New_York', CAST(commence_time AS TIMESTAMPTZ)) AS DATE) BETWEEN ? AND ?
                ORDER BY id, "bookmakers.key", "bookmakers.markets.key", lu""", [str(p), lo, hi]).fetchall()
        except duckdb.Error as exc:
            raise InputError(f"cannot read the recorded Odds API file: {exc}".splitlines()[0], file=str(p)) from None
        finally:
            con.close()
        events: dict[str, _Event] = {}
        grouped: dict[tuple[str, str, str, dt.datetime], list[dict[str, Any]]] = defaultdict(list)
        for (eid, title, ct, home, away, book, book_title, market, lu, side, desc, price, point) in rows:
            if lu is None or ct is None:
                continue
            lu, ct = lu.astimezone(dt.UTC), ct.astimezone(dt.UTC)
            ev = events.get(eid)
            if ev is None:
                ev = events[eid] = _Event(eid, title or "NBA", ct, home, away, lu)
            ev.first_quote = min(ev.first_quote, lu)
            ev.titles[book] = book_title or book
            outcome: dict[str, Any] = {"name": side, "description": desc, "price": price}
            if point is not None and not (isinstance(point, float) and math.isnan(point)):
                outcome["point"] = point
            grouped[(eid, book, market, lu)].append(outcome)
        for (eid, book, market, lu), outcomes in grouped.items():
            events[eid].quotes.setdefault((book, market), []).append(_Quote(lu, outcomes))
        for ev in events.values():
            for qs in ev.quotes.values():
                qs.sort(key=lambda q: q.at)
        return cls(events)

    def listed(self, at: dt.datetime) -> list[_Event]:
        """The events with a quote at or before ``at``, by commence time."""
        return sorted((e for e in self.events.values() if e.first_quote <= at), key=lambda e: (e.commence, e.id))

    def event_body(self, ev: _Event, at: dt.datetime, markets: set[str], books: set[str] | None) -> dict[str, Any]:
        """The event-odds document of ``ev`` as it stood at ``at``."""
        bookmakers: dict[str, dict[str, Any]] = {}
        for (book, market), quotes in sorted(ev.quotes.items()):
            if market not in markets or (books is not None and book not in books):
                continue
            latest = None
            for q in quotes:
                if q.at > at:
                    break
                latest = q
            if latest is None:
                continue
            entry = bookmakers.setdefault(book, {"key": book, "title": ev.titles.get(book, book),
                                                 "last_update": _iso(latest.at), "markets": []})
            entry["last_update"] = max(entry["last_update"], _iso(latest.at))
            entry["markets"].append({"key": market, "last_update": _iso(latest.at), "outcomes": latest.outcomes})
        return {**self.event_head(ev), "bookmakers": list(bookmakers.values())}

    @staticmethod
    def event_head(ev: _Event) -> dict[str, Any]:
        return {"id": ev.id, "sport_key": SPORT, "sport_title": ev.sport_title, "commence_time": _iso(ev.commence),
                "home_team": ev.home, "away_team": ev.away}


class ReplayOddsServer:
    """A threaded HTTP server on 127.0.0.1 answering The Odds API from :class:`RecordedOdds` at a set clock.

    Use as a context manager (or :meth:`start`/:meth:`stop`); ``base_url`` is where it listens.
    """

    def __init__(self, recorded: RecordedOdds, *, api_key: str, clock: dt.datetime,
                 quota_remaining: int = 20_000, quota_used: int = 0, port: int = 0,
                 echo_key_in_errors: bool = False) -> None:
        """Args:
            recorded: the recorded quotes.
            api_key: the only key accepted (any other: 401 INVALID_KEY).
            clock: the replay time (timezone-aware).
            quota_remaining: requests left this month; an answer that would cost more is 401 OUT_OF_USAGE_CREDITS.
            quota_used: requests already used this month.
            port: 0 picks a free port.
            echo_key_in_errors: error bodies quote the request URL (with its key), as some upstreams do:
                a test of the client's redaction.
        """
        self.recorded = recorded
        self._key = api_key
        self._lock = threading.Lock()
        self._clock = _parse_ts(_iso(clock), "clock")
        self.quota_remaining = quota_remaining
        self.quota_used = quota_used
        self.echo_key_in_errors = echo_key_in_errors
        self._failures: list[int] = []
        #: (path, query without the key) of every request answered, in order
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- control

    @property
    def clock(self) -> dt.datetime:
        with self._lock:
            return self._clock

    @clock.setter
    def clock(self, value: dt.datetime) -> None:
        if value.tzinfo is None:
            raise InputError("the replay clock must be timezone-aware", field="clock")
        with self._lock:
            self._clock = value.astimezone(dt.UTC)

    def fail_next(self, status: int, times: int = 1) -> None:
        """Answer the next ``times`` API requests with ``status`` (401 or 429)."""
        if status not in (401, 429, 500, 503):
            raise ValueError("fail_next takes 401, 429, 500 or 503")
        with self._lock:
            self._failures.extend([status] * times)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ReplayOddsServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="replay-odds", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> ReplayOddsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answers

    def _quota_headers(self, last: int) -> dict[str, str]:
        return {"x-requests-remaining": str(self.quota_remaining), "x-requests-used": str(self.quota_used),
                "x-requests-last": str(last)}

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, dict[str, str], Any]:
        """(status, headers, JSON document) for one request (the HTTP handler's logic, callable directly)."""
        with self._lock:
            key = query.pop("apiKey", "")
            self.requests.append((path, dict(query)))
            now = self._clock
            echo = f" (request {path}?apiKey={key})" if self.echo_key_in_errors else ""
            if self._failures:
                status = self._failures.pop(0)
                code = {401: "INVALID_KEY", 429: "EXCEEDED_FREQ_LIMIT"}.get(status, "SERVER_ERROR")
                return status, self._quota_headers(0), {"message": f"injected failure{echo}", "error_code": code}
            if key != self._key:
                return 401, self._quota_headers(0), {"message": f"API key is not valid{echo}",
                                                     "error_code": "INVALID_KEY"}
            if path.rstrip("/") == _EVENTS_PATH:
                lo = _parse_ts(query["commenceTimeFrom"], "commenceTimeFrom") if "commenceTimeFrom" in query else None
                hi = _parse_ts(query["commenceTimeTo"], "commenceTimeTo") if "commenceTimeTo" in query else None
                events = [self.recorded.event_head(e) for e in self.recorded.listed(now)
                          if (lo is None or e.commence >= lo) and (hi is None or e.commence <= hi)]
                return 200, self._quota_headers(0), events
            m = _ODDS_PATH.match(path)
            if m is None:
                return 404, self._quota_headers(0), {"message": "Unknown path", "error_code": "NOT_FOUND"}
            ev = self.recorded.events.get(m.group(1))
            if ev is None or ev.first_quote > now:
                return 404, self._quota_headers(0), {"message": "Event not found. The event may have expired",
                                                     "error_code": "EVENT_NOT_FOUND"}
            markets = {x for x in query.get("markets", "h2h").split(",") if x}
            books = {x for x in query.get("bookmakers", "").split(",") if x} or None
            regions = math.ceil(len(books) / 10) if books else max(1, len(query.get("regions", "us").split(",")))
            cost = len(markets) * regions
            if self.quota_remaining < cost:
                return 401, self._quota_headers(0), {"message": "Usage quota has been reached",
                                                     "error_code": "OUT_OF_USAGE_CREDITS"}
            self.quota_remaining -= cost
            self.quota_used += cost
            return 200, self._quota_headers(cost), self.recorded.event_body(ev, now, markets, books)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
                return None     # the request line holds the key: never logged

            def _send(self, status: int, headers: dict[str, str], doc: Any) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/_replay/state":
                    self._send(200, {}, {"clock": _iso(server.clock), "quota_remaining": server.quota_remaining,
                                         "quota_used": server.quota_used})
                    return
                try:
                    status, headers, doc = server.answer(parts.path, query)
                except InputError as exc:
                    status, headers, doc = 422, {}, {"message": str(exc), "error_code": "INVALID_PARAMETER"}
                self._send(status, headers, doc)

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("content-length") or 0)
                try:
                    doc = json.loads(self.rfile.read(length) or b"{}")
                    if parts.path == "/_replay/clock":
                        server.clock = _parse_ts(str(doc["at"]), "at")
                    elif parts.path == "/_replay/fail":
                        server.fail_next(int(doc["status"]), int(doc.get("times", 1)))
                    else:
                        self._send(404, {}, {"message": "Unknown path"})
                        return
                except (ValueError, KeyError, InputError) as exc:
                    self._send(422, {}, {"message": str(exc)})
                    return
                self._send(200, {}, {"clock": _iso(server.clock)})

        return Handler
