"""An in-memory cache of the responses that only a completed prediction batch decides.

``GET /predictions?date=D&...`` and ``GET /slate?date=D&...`` answer the same bytes for as long as the
latest prediction batch of ``D`` is the same completed batch: its rows were consolidated in one
transaction and nothing else rewrites them while the API holds the warehouse (DuckDB admits one
writing process, and the API's own writes are its batches). So once the latest batch of the date is
``complete`` (or ``complete_with_failures``) a response is kept, keyed by

    (path, raw query string, the date's latest batch id, ...)

and served from memory on the event loop, without DuckDB and without the thread pool. The key also
holds the number of stored rows of the date (a write outside a batch changes it), and for ``/slate``
a marker of every batch of every date, since its date navigation lists the dates with predictions.

* Only 200 responses are kept, and only while no batch of the date is running: a running, stalled,
  failed or missing latest batch bypasses the cache (the handler answers from DuckDB).
* ``/predictions`` answers of a completed batch carry an ``ETag`` (batch id + a hash of the query)
  and ``Cache-Control: public, no-cache`` (store, but revalidate); ``If-None-Match`` with that tag
  gets ``304 Not Modified``. ``/slate`` keeps the page's own ``no-store``: the cache is server-side.
* The batch state of a date is looked up at most once per ``ttl_s`` (one small query), and forgotten
  at once when ``POST /start`` launches a batch (:meth:`ResponseCache.invalidate`). A batch started by
  code sharing the app's connection outside the API is seen within ``ttl_s``.
* Concurrent misses of one key wait for the first (single flight): a burst of 200 clients renders a
  page once.
* Bounded: at most ``max_entries`` responses and ``max_bytes`` of bodies, least recently used first out.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs

import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CACHEABLE_STATUSES", "ResponseCache", "ResponseCacheMiddleware", "Version", "VersionLookup"]

#: Batch statuses whose stored rows are final.
CACHEABLE_STATUSES = frozenset({"complete", "complete_with_failures"})
#: (latest batch id of the date, its status, stored rows of the date, marker of every batch of every date);
#: see ``Project.batch_version``.
Version = tuple[str | None, str | None, int, str]
VersionLookup = Callable[[dt.date], Version]

_PATHS = {"/predictions": True, "/slate": False}   # path -> whether answers carry an ETag


@dataclass(frozen=True)
class _Entry:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes | None


@dataclass(frozen=True)
class _State:
    version: Version
    at: float


class ResponseCache:
    """The cached responses and the batch state of each date (see the module docstring).

    Args:
        lookup: Returns the batch version of a date (runs in a worker thread; may raise).
        ttl_s: How long a date's batch state is reused before it is looked up again.
        max_entries: Most responses kept.
        max_bytes: Most body bytes kept.
    """

    def __init__(self, lookup: VersionLookup, *, ttl_s: float = 1.0, max_entries: int = 512,
                 max_bytes: int = 128 * 1024 * 1024) -> None:
        self._lookup = lookup
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._states: dict[dt.date, _State] = {}
        self._entries: OrderedDict[tuple[str, str, str], _Entry] = OrderedDict()
        self._bytes = 0
        self._locks: dict[dt.date, asyncio.Lock] = {}
        #: keys being rendered right now (their event is set when the render ends)
        self.inflight: dict[tuple[str, str, str], asyncio.Event] = {}
        self._generation = 0
        self.hits = 0
        self.misses = 0

    def invalidate(self) -> None:
        """Forget every date's batch state (a batch was just launched): the next request looks again."""
        self._states.clear()
        self._generation += 1

    def clear(self) -> None:
        """Drop every cached response and batch state."""
        self.invalidate()
        self._entries.clear()
        self._bytes = 0

    async def version(self, game_date: dt.date) -> Version:
        """The batch version of ``game_date`` (looked up again after ``ttl_s``; one lookup at a time per
        date, so a burst of requests after the state expired makes one query, not one each)."""
        st = self._states.get(game_date)
        if st is not None and time.monotonic() - st.at < self.ttl_s:
            return st.version
        lock = self._locks.setdefault(game_date, asyncio.Lock())
        async with lock:
            st = self._states.get(game_date)
            if st is not None and time.monotonic() - st.at < self.ttl_s:
                return st.version
            generation = self._generation
            version = await anyio.to_thread.run_sync(self._lookup, game_date)
            if generation == self._generation:   # not invalidated while it was looked up
                self._states[game_date] = _State(version, time.monotonic())
            return version

    def get(self, key: tuple[str, str, str]) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple[str, str, str], entry: _Entry) -> None:
        if len(entry.body) > self.max_bytes // 4:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._entries[key] = entry
        self._bytes += len(entry.body)
        while self._entries and (len(self._entries) > self.max_entries or self._bytes > self.max_bytes):
            _, dropped = self._entries.popitem(last=False)
            self._bytes -= len(dropped.body)


def _game_date(query: bytes) -> dt.date | None:
    """The one ``date=YYYY-MM-DD`` of a query string, or None (the handler then validates it)."""
    try:
        values = parse_qs(query.decode("latin-1"), keep_blank_values=True).get("date")
    except ValueError:
        return None
    if not values or len(values) != 1 or len(values[0]) != 10:
        return None
    try:
        return dt.date.fromisoformat(values[0])
    except ValueError:
        return None


def _etag(batch_id: str, request: str) -> bytes:
    """``"<batch id>-<hash of the request and the date's row count>"`` (only ETag-safe characters)."""
    digest = hashlib.sha256(request.encode()).hexdigest()[:16]
    safe = re.sub(r"[^A-Za-z0-9_.:-]", "_", batch_id)[:80]
    return f'"{safe}-{digest}"'.encode("ascii")


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    tags = [t.strip().removeprefix(b"W/") for t in if_none_match.split(b",")]
    return b"*" in tags or etag in tags


class ResponseCacheMiddleware:
    """Serve ``GET /predictions`` and ``GET /slate`` of a completed batch from a :class:`ResponseCache`.

    Args:
        app: The wrapped ASGI app.
        cache: The cache (shared with the app's state, which invalidates it on ``POST /start``).
    """

    def __init__(self, app: ASGIApp, cache: ResponseCache) -> None:
        self.app = app
        self.cache = cache

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or scope.get("method") != "GET" or path not in _PATHS:
            await self.app(scope, receive, send)
            return
        raw_query: bytes = scope.get("query_string", b"")
        game_date = _game_date(raw_query)
        if game_date is None:
            await self.app(scope, receive, send)
            return
        try:
            version = await self.cache.version(game_date)
        except Exception:     # the warehouse cannot answer: the handler says why
            await self.app(scope, receive, send)
            return
        batch_id, status, rows, marker = version
        if batch_id is None or status not in CACHEABLE_STATUSES:
            await self.app(scope, receive, send)
            return
        query = raw_query.decode("latin-1")
        key = (path, query, f"{batch_id}|{rows}" if _PATHS[path] else f"{batch_id}|{rows}|{marker}")
        etag = _etag(batch_id, f"{path}?{query}|{rows}") if _PATHS[path] else None
        entry = self.cache.get(key)
        while entry is None and key in self.cache.inflight:     # another request is rendering it
            await self.cache.inflight[key].wait()
            entry = self.cache.get(key)
            if entry is None:
                break
        if entry is not None:
            self.cache.hits += 1
            await self._answer(scope, send, entry)
            return
        self.cache.misses += 1
        done = self.cache.inflight.setdefault(key, asyncio.Event())
        try:
            await self._render(scope, receive, send, key, etag, game_date, version)
        finally:
            if self.cache.inflight.get(key) is done:
                del self.cache.inflight[key]
            done.set()

    async def _render(self, scope: Scope, receive: Receive, send: Send, key: tuple[str, str, str],
                      etag: bytes | None, game_date: dt.date, version: Version) -> None:
        """Run the handler, pass its answer on (with the ETag), and keep it when it is a 200."""
        start: Message | None = None
        chunks: list[bytes] = []
        conditional = _if_none_match(scope)

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                entry = _Entry(start["status"], _with_validators(list(start.get("headers", [])), etag),
                               b"".join(chunks), etag)
                if entry.status == 200 and (await self.cache.version(game_date)) == version:
                    self.cache.put(key, entry)
                if entry.status == 200:
                    await self._answer(scope, send, entry, conditional)
                else:
                    await send(start)
                    await send({"type": "http.response.body", "body": entry.body})
                return
            await send(message)

        await self.app(scope, receive, capture)

    @staticmethod
    async def _answer(scope: Scope, send: Send, entry: _Entry, conditional: bytes | None = None) -> None:
        if conditional is None:
            conditional = _if_none_match(scope)
        if entry.etag is not None and conditional is not None and _matches(conditional, entry.etag):
            headers = [(k, v) for k, v in entry.headers if k.lower() in (b"etag", b"cache-control")]
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": entry.status, "headers": entry.headers})
        await send({"type": "http.response.body", "body": entry.body})


def _if_none_match(scope: Scope) -> bytes | None:
    for k, v in scope.get("headers") or []:
        if k.lower() == b"if-none-match":
            return bytes(v)
    return None


def _with_validators(headers: list[tuple[bytes, bytes]], etag: bytes | None) -> list[tuple[bytes, bytes]]:
    if etag is None:
        return headers
    kept = [(k, v) for k, v in headers if k.lower() not in (b"etag", b"cache-control")]
    return [*kept, (b"etag", etag), (b"cache-control", b"public, no-cache")]
