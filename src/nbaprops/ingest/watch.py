"""Line capture on a schedule: ``nbaprops watch`` polls The Odds API event odds of a slate (docs/market-watch.md).

For the events of a US/Eastern game date, each event is pulled at its *slots*: every ``cadence`` from
``day_start`` (US/Eastern) until tip-off, and at each ``offset`` before tip-off (T-90, T-30, T-10 by
default). A slot is served by a pull made at or after its time and before tip-off; several slots that
came due together (the watcher was down, or an event was first listed late) are served by one pull.
At tip-off an event is done: no pull is made at or after it.

Each pull is stored whole or not at all: in ONE transaction its raw payload (``raw_payloads``, the key
redacted), its parsed quotes (``prop_line_snapshots`` through the bulk loader, :mod:`nbaprops.ingest.lines`,
so the ingest contract and the snapshot key apply), its pull record (``line_watch_pulls``) and the
slots it served (``line_watch_slots``). A killed watcher restarted later re-reads the served slots and
goes on: a committed pull is never lost nor pulled again, and a snapshot (event, book, market, player,
quote time) is stored once however many pulls saw it.

The quota is read from the response headers: a pull is refused, before it is sent, when it would take
the requests spent today (the sum of ``x-requests-last`` of today's pulls) over the daily budget, or
``x-requests-used`` over the monthly budget, or cost more than ``x-requests-remaining``. A refusal, a
rejected key (401) or a spent quota stops the watcher with a message that names the pulls it skipped
(also kept in ``line_watch_skips``).

The schedule (:func:`event_slots`, :func:`due_pulls`, :func:`next_wake`) is pure; the loop
(:func:`watch_date`) takes its clock and sleep from the caller, so tests and the replay demo
(:class:`SimClock` driving :mod:`nbaprops.ingest.replay_odds`) run a whole day without waiting.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
from pydantic import SecretStr

from nbaprops.config import Settings
from nbaprops.errors import BudgetExceededError, InputError, SettingsError, SourceError, WarehouseError
from nbaprops.ingest.lines import load_odds_api_lines, resolve_snapshot_players
from nbaprops.ingest.live import odds_window
from nbaprops.ingest.sources.base import RawPayload, land_payload
from nbaprops.ingest.sources.odds_api import flatten_event_odds, parse_events
from nbaprops.pretip import is_pre_tip
from nbaprops.progress import Progress, no_progress
from nbaprops.warehouse.connection import transaction

__all__ = ["Budget", "DuePull", "SimClock", "Slot", "WatchPlan", "WatchReport", "budget_refusal", "closing_quotes",
           "due_pulls", "event_slots", "next_wake", "pull_event", "run_watch", "served_slots", "watch_date",
           "watch_status"]

log = logging.getLogger(__name__)

EASTERN = ZoneInfo("America/New_York")


class WatchedOdds(Protocol):
    """What the watcher needs of an Odds API client (:class:`~nbaprops.ingest.sources.odds_api.OddsApiLive`)."""

    quota_remaining: int | None
    quota_used: int | None

    def fetch_events(self, date_from: dt.datetime, date_to: dt.datetime) -> RawPayload: ...

    def fetch_event_odds(self, event_id: str, markets: tuple[str, ...] = ("player_points",),
                         regions: str = "us", bookmakers: tuple[str, ...] = ()) -> RawPayload: ...


# ----------------------------------------------------------------------------------------- the plan
@dataclass(frozen=True)
class WatchPlan:
    """What to pull and when: markets, books (or a region), the cadence, the pre-tip offsets, the day start."""

    markets: tuple[str, ...] = ("player_points",)
    books: tuple[str, ...] = ()
    regions: str = "us"
    cadence: dt.timedelta = dt.timedelta(minutes=120)
    offsets: tuple[dt.timedelta, ...] = (dt.timedelta(minutes=90), dt.timedelta(minutes=30), dt.timedelta(minutes=10))
    day_start: dt.time = dt.time(10, 0)

    def __post_init__(self) -> None:
        if not self.markets:
            raise InputError("watch needs at least one market", field="markets")
        if self.cadence <= dt.timedelta(0):
            raise InputError("the cadence must be positive", field="cadence")
        if any(o <= dt.timedelta(0) for o in self.offsets):
            raise InputError("offsets are before tip-off: each must be positive", field="offsets")
        object.__setattr__(self, "markets", tuple(sorted(set(self.markets))))
        object.__setattr__(self, "books", tuple(sorted(set(self.books))))
        object.__setattr__(self, "offsets", tuple(sorted(set(self.offsets), reverse=True)))

    @classmethod
    def from_settings(cls, settings: Settings, *, markets: tuple[str, ...] | None = None,
                      books: tuple[str, ...] | None = None) -> WatchPlan:
        hh, mm = (int(x) for x in settings.odds_watch_day_start.split(":"))
        return cls(markets=markets or ("player_points",), books=books or (),
                   cadence=dt.timedelta(minutes=settings.odds_watch_cadence_min),
                   offsets=tuple(dt.timedelta(minutes=m) for m in settings.odds_watch_offsets_min),
                   day_start=dt.time(hh, mm))

    @property
    def markets_key(self) -> str:
        return ",".join(self.markets)

    @property
    def books_key(self) -> str:
        return ",".join(self.books)

    @property
    def cost(self) -> int:
        """Requests one event-odds pull costs: markets x regions (with books: one region per 10 books)."""
        regions = math.ceil(len(self.books) / 10) if self.books else len([r for r in self.regions.split(",") if r])
        return len(self.markets) * max(1, regions)


@dataclass(frozen=True)
class Budget:
    """Requests the watcher may spend per US/Eastern day, and the monthly ``x-requests-used`` ceiling."""

    daily: int
    monthly: int

    @classmethod
    def from_settings(cls, settings: Settings) -> Budget:
        return cls(daily=settings.odds_daily_budget, monthly=settings.odds_monthly_budget)


@dataclass(frozen=True)
class Slot:
    """One scheduled pull of one event."""

    event_id: str
    at: dt.datetime
    kind: str          # cadence | T-<minutes>
    tipoff_at: dt.datetime


@dataclass(frozen=True)
class DuePull:
    """The slots of one event due now (served by one pull)."""

    event_id: str
    tipoff_at: dt.datetime
    slots: tuple[Slot, ...]

    @property
    def slot(self) -> Slot:
        """The latest slot served (its time and kind name the pull)."""
        return self.slots[-1]

    def describe(self) -> str:
        return f"{self.event_id} {self.slot.kind} ({self.slot.at:%Y-%m-%d %H:%M}Z, tip {self.tipoff_at:%H:%M}Z)"


def _utc(ts: dt.datetime) -> dt.datetime:
    if ts.tzinfo is None:
        raise InputError(f"must be timezone-aware: {ts.isoformat()}", field="time")
    return ts.astimezone(dt.UTC)


def day_start_at(game_date: dt.date, plan: WatchPlan) -> dt.datetime:
    """The first cadence slot of ``game_date`` (``plan.day_start`` US/Eastern) in UTC."""
    return dt.datetime.combine(game_date, plan.day_start, tzinfo=EASTERN).astimezone(dt.UTC)


def event_slots(event_id: str, tipoff_at: dt.datetime, game_date: dt.date, plan: WatchPlan) -> list[Slot]:
    """Every slot of one event, in time order: each cadence step from the day start, and each offset before
    tip-off; all strictly before tip-off (an offset slot wins when both fall on the same minute)."""
    tip = _utc(tipoff_at)
    kinds: dict[dt.datetime, str] = {}
    at = day_start_at(game_date, plan)
    while at < tip:
        kinds[at] = "cadence"
        at += plan.cadence
    for off in plan.offsets:
        at = tip - off
        kinds[at] = f"T-{int(off.total_seconds() // 60)}"
    return [Slot(event_id, at, kind, tip) for at, kind in sorted(kinds.items()) if is_pre_tip(at, tip)]


def due_pulls(events: Mapping[str, dt.datetime], now: dt.datetime, game_date: dt.date, plan: WatchPlan,
              served: set[tuple[str, dt.datetime]]) -> list[DuePull]:
    """The pulls due at ``now``: per event not yet tipped off, its unserved slots at or before ``now``
    (one pull serves them all); earliest tip-off first."""
    now = _utc(now)
    out = []
    for eid, tip in events.items():
        if not is_pre_tip(now, _utc(tip)):
            continue
        slots = tuple(s for s in event_slots(eid, tip, game_date, plan) if s.at <= now and (eid, s.at) not in served)
        if slots:
            out.append(DuePull(eid, _utc(tip), slots))
    return sorted(out, key=lambda p: (p.tipoff_at, p.event_id))


def next_wake(events: Mapping[str, dt.datetime], now: dt.datetime, game_date: dt.date, plan: WatchPlan,
              served: set[tuple[str, dt.datetime]]) -> dt.datetime | None:
    """When the watcher must next look: the earliest unserved slot after ``now`` of an event not yet
    tipped off; with no event listed yet, the next cadence step of the game date (events may still be
    listed). None when there is nothing left to pull."""
    now = _utc(now)
    if not events:
        at = day_start_at(game_date, plan)
        end = dt.datetime.combine(game_date + dt.timedelta(days=1), dt.time(0, 0), tzinfo=EASTERN).astimezone(dt.UTC)
        while at <= now:
            at += plan.cadence
        return at if at < end else None
    upcoming = [s.at for eid, tip in events.items() if now < _utc(tip)
                for s in event_slots(eid, tip, game_date, plan) if s.at > now and (eid, s.at) not in served]
    return min(upcoming) if upcoming else None


# ----------------------------------------------------------------------------------------- state
def served_slots(con: duckdb.DuckDBPyConnection, game_date: dt.date, plan: WatchPlan) -> set[tuple[str, dt.datetime]]:
    """The (event, slot time) already served for these markets and books (a restart resumes from here)."""
    rows = con.execute("""SELECT event_id, slot_at FROM line_watch_slots
                          WHERE game_date = ? AND markets = ? AND books = ?""",
                       [game_date, plan.markets_key, plan.books_key]).fetchall()
    return {(str(e), _utc(t)) for e, t in rows}


def last_fetch(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> dt.datetime | None:
    """The fetch time of the newest pull stored for the date (where a replayed watch resumes)."""
    row = con.execute("SELECT max(fetched_at) FROM line_watch_pulls WHERE game_date = ?", [game_date]).fetchall()[0]
    return _utc(row[0]) if row and row[0] is not None else None


def spent_today(con: duckdb.DuckDBPyConnection, now: dt.datetime) -> int:
    """Requests the watcher's pulls cost on the US/Eastern day of ``now`` (their ``x-requests-last``)."""
    day = _utc(now).astimezone(EASTERN).date()
    lo = dt.datetime.combine(day, dt.time(0, 0), tzinfo=EASTERN)
    hi = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=EASTERN)
    row = con.execute("""SELECT coalesce(sum(requests_last), 0) FROM line_watch_pulls
                         WHERE fetched_at >= ? AND fetched_at < ?""", [lo, hi]).fetchall()[0]
    return int(row[0]) if row else 0


def budget_refusal(con: duckdb.DuckDBPyConnection, odds: WatchedOdds, plan: WatchPlan, budget: Budget,
                   now: dt.datetime) -> str | None:
    """Why the next pull must not be sent (None when the budgets allow it)."""
    cost = plan.cost
    spent = spent_today(con, now)
    if spent + cost > budget.daily:
        return (f"the daily Odds API budget of {budget.daily} requests would be exceeded ({spent} spent today, "
                f"a pull costs {cost}; NBAPROPS_ODDS_DAILY_BUDGET)")
    if odds.quota_used is not None and odds.quota_used + cost > budget.monthly:
        return (f"the monthly Odds API budget of {budget.monthly} requests would be exceeded "
                f"(x-requests-used={odds.quota_used}, a pull costs {cost}; NBAPROPS_ODDS_MONTHLY_BUDGET)")
    if odds.quota_remaining is not None and odds.quota_remaining < cost:
        return (f"the Odds API quota is nearly spent (x-requests-remaining={odds.quota_remaining}, a pull costs "
                f"{cost})")
    return None


def _note_skips(con: duckdb.DuckDBPyConnection, game_date: dt.date, plan: WatchPlan, pulls: list[DuePull],
                reason: str, now: dt.datetime) -> None:
    rows = [(s.event_id, s.at, plan.markets_key, plan.books_key, game_date, s.kind, reason, now)
            for p in pulls for s in p.slots]
    if rows:
        with transaction(con) as tx:
            tx.executemany("INSERT OR REPLACE INTO line_watch_skips VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


# ----------------------------------------------------------------------------------------- one pull
@dataclass
class PullResult:
    """What one pull stored."""

    payload_id: str
    event_id: str
    slot_kind: str
    fetched_at: dt.datetime
    outcome_rows: int
    snapshots: int
    cost: int | None


def fetch_slate(con: duckdb.DuckDBPyConnection, odds: WatchedOdds, game_date: dt.date) -> dict[str, dt.datetime]:
    """The events of the game date (id -> tip-off, UTC); the events payload is landed in ``raw_payloads``."""
    start, end = odds_window(game_date)
    payload = odds.fetch_events(start, end)
    land_payload(con, payload)
    events = parse_events(payload.body, source=f"odds events {game_date} ({payload.payload_id[:12]})")
    out: dict[str, dt.datetime] = {}
    for eid, commence in zip(events["id"], events["commence_time"], strict=True):
        if not commence:
            continue
        tip = pd.Timestamp(str(commence))
        tip = tip.tz_localize("UTC") if tip.tzinfo is None else tip.tz_convert("UTC")
        if tip.tz_convert(EASTERN).date() == game_date:
            out[str(eid)] = tip.to_pydatetime()
    return out


def _header_int(payload: RawPayload, name: str) -> int | None:
    value = payload.headers.get(name)
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


def pull_event(con: duckdb.DuckDBPyConnection, odds: WatchedOdds, due: DuePull, game_date: dt.date,
               plan: WatchPlan, landing_dir: Path) -> PullResult:
    """Fetch one event's odds and store payload, quotes, pull record and served slots in one transaction.

    Raises:
        SourceError: the fetch failed (nothing is stored); BudgetExceededError: the quota is spent.
    """
    payload = odds.fetch_event_odds(due.event_id, plan.markets, plan.regions, plan.books)
    flat = flatten_event_odds(payload.body, source=f"event_odds {due.event_id} ({payload.payload_id[:12]})")
    pid = payload.payload_id
    cost = _header_int(payload, "x-requests-last")
    path: Path | None = None
    if len(flat):
        landing_dir.mkdir(parents=True, exist_ok=True)
        path = (landing_dir / f"odds_api_watch_{game_date}_{due.event_id}_{payload.fetched_at:%Y%m%dT%H%M%SZ}_"
                f"{pid[:10]}.parquet").resolve()
        tmp = path.with_suffix(".parquet.tmp")
        flat.to_parquet(tmp, index=False)
        tmp.replace(path)
    counted: dict[str, int] = {}

    def record(tx: duckdb.DuckDBPyConnection) -> None:
        land_payload(tx, payload)
        row = tx.execute("SELECT count(*) FROM prop_line_snapshots WHERE file = ?",
                         [str(path) if path is not None else None]).fetchall()[0]
        counted["snapshots"] = int(row[0]) if row and path is not None else 0
        tx.execute("""INSERT INTO line_watch_pulls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                      ON CONFLICT (payload_id) DO NOTHING""",
                   [pid, game_date, due.event_id, plan.markets_key, plan.books_key, due.slot.at, due.slot.kind,
                    payload.fetched_at, due.tipoff_at, payload.body_sha256, len(flat), counted["snapshots"], cost,
                    _header_int(payload, "x-requests-used"), _header_int(payload, "x-requests-remaining")])
        tx.executemany("INSERT OR IGNORE INTO line_watch_slots VALUES (?, ?, ?, ?, ?, ?, ?)",
                       [(s.event_id, s.at, plan.markets_key, plan.books_key, game_date, s.kind, pid)
                        for s in due.slots])
        tx.execute("DELETE FROM line_watch_skips WHERE event_id = ? AND markets = ? AND books = ? AND "
                   "list_contains(?, slot_at)", [due.event_id, plan.markets_key, plan.books_key,
                                                 [s.at for s in due.slots]])

    if path is not None:
        load_odds_api_lines(con, path, also=record)
    else:
        with transaction(con) as tx:
            record(tx)
    return PullResult(pid, due.event_id, due.slot.kind, payload.fetched_at, len(flat), counted["snapshots"], cost)


# ----------------------------------------------------------------------------------------- the loop
@dataclass
class WatchReport:
    """What one watch of a date did."""

    game_date: dt.date
    plan: WatchPlan
    events: int = 0
    pulls: list[PullResult] = field(default_factory=list)
    #: pulls refused or not made: "<event> <slot> (<time>, tip ...): reason"
    skipped: list[str] = field(default_factory=list)
    #: why the watcher stopped early (None: the slate is done, or one pass was asked)
    stopped: str | None = None
    started_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    snapshots: int = 0
    quota_remaining: int | None = None
    quota_used: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"game_date": str(self.game_date), "markets": list(self.plan.markets), "books": list(self.plan.books),
                "events": self.events, "pulls": len(self.pulls),
                "requests_spent": sum(p.cost or 0 for p in self.pulls),
                "snapshots": self.snapshots, "skipped": self.skipped, "stopped": self.stopped,
                "started_at": self.started_at.isoformat() if self.started_at else None,
                "ended_at": self.ended_at.isoformat() if self.ended_at else None,
                "quota_remaining": self.quota_remaining, "quota_used": self.quota_used}


class SimClock:
    """A clock whose ``sleep`` advances time at once (and tells ``on_change``, e.g. a replay server's clock)."""

    def __init__(self, start: dt.datetime, on_change: Callable[[dt.datetime], None] | None = None) -> None:
        self._now = _utc(start)
        self._on_change = on_change
        if on_change is not None:
            on_change(self._now)

    def now(self) -> dt.datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=max(0.0, seconds))
        if self._on_change is not None:
            self._on_change(self._now)


def _stop_message(what: str, skipped: list[DuePull], done: int) -> str:
    names = "; ".join(p.describe() for p in skipped[:10])
    more = f" and {len(skipped) - 10} more" if len(skipped) > 10 else ""
    return (f"watch stopped: {what}. {done} pull(s) stored before stopping; skipped {len(skipped)} due pull(s)"
            + (f": {names}{more}" if skipped else ""))


def watch_date(con: duckdb.DuckDBPyConnection, odds: WatchedOdds, game_date: dt.date, plan: WatchPlan,
               budget: Budget, *, clock: Callable[[], dt.datetime], sleep: Callable[[float], None],
               landing_dir: Path, progress: Progress = no_progress, once: bool = False) -> WatchReport:
    """Watch the slate of ``game_date`` until its last tip-off (or one pass of the due pulls when ``once``).

    Raises:
        BudgetExceededError: a budget or the quota refuses the next pull (the message names what was skipped).
        SourceError: the API rejected the key (401) or failed after its retries; nothing of that pull is stored.
    """
    report = WatchReport(game_date, plan, started_at=clock())
    events: dict[str, dt.datetime] = {}
    try:
        while True:
            events = fetch_slate(con, odds, game_date)
            report.events = max(report.events, len(events))
            due = due_pulls(events, clock(), game_date, plan, served_slots(con, game_date, plan))
            for i, d in enumerate(due):
                now = clock()
                if now >= d.tipoff_at:
                    report.skipped.append(f"{d.describe()}: tip-off passed before the pull")
                    _note_skips(con, game_date, plan, [d], "tip-off passed before the pull", now)
                    continue
                reason = budget_refusal(con, odds, plan, budget, now)
                if reason is not None:
                    _note_skips(con, game_date, plan, due[i:], reason, now)
                    report.skipped += [f"{p.describe()}: refused" for p in due[i:]]
                    raise BudgetExceededError(_stop_message(f"refused the next pull: {reason}", due[i:],
                                                            len(report.pulls)))
                try:
                    res = pull_event(con, odds, d, game_date, plan, landing_dir)
                except SourceError as exc:
                    if not isinstance(exc, BudgetExceededError) and "answered HTTP 404" in str(exc):
                        # the event is gone (postponed, or no longer listed): skip it, watch the others
                        _note_skips(con, game_date, plan, [d], str(exc), clock())
                        report.skipped.append(f"{d.describe()}: {exc}")
                        continue
                    _note_skips(con, game_date, plan, due[i:], str(exc), clock())
                    report.skipped += [f"{p.describe()}: not pulled" for p in due[i:]]
                    raise type(exc)(_stop_message(str(exc), due[i:], len(report.pulls))) from None
                report.pulls.append(res)
                progress(f"pulled {d.describe()}: {res.outcome_rows} outcomes, {res.snapshots} snapshots, "
                         f"cost {res.cost}, quota remaining {odds.quota_remaining}",
                         len(report.pulls), len(report.pulls) + len(due) - i - 1)
            if once:
                break
            wake = next_wake(events, clock(), game_date, plan, served_slots(con, game_date, plan))
            if wake is None:
                break
            delay = (wake - clock()).total_seconds()
            if delay > 0:
                sleep(delay)
    except SourceError as exc:
        report.stopped = str(exc)
        raise
    finally:
        report.ended_at = clock()
        report.quota_remaining, report.quota_used = odds.quota_remaining, odds.quota_used
        if report.pulls:
            resolve_snapshot_players(con, game_date, game_date)
        if events:
            row = con.execute("SELECT count(*) FROM prop_line_snapshots WHERE source = 'odds_api' AND "
                              "list_contains(?, event_id)", [list(events)]).fetchall()[0]
            report.snapshots = int(row[0]) if row else 0
    return report


# ----------------------------------------------------------------------------------------- reading
def closing_quotes(con: duckdb.DuckDBPyConnection, game_date: dt.date, market: str = "player_points") -> pd.DataFrame:
    """The closing quote of each (event, book, player) of the date: the last quote strictly before tip-off.

    An in-play quote (quoted at or after tip-off) is never a closing quote; a quote without a time
    (a ``closing``-basis source) is the closing quote of its book.
    """
    return con.execute("""
        SELECT * EXCLUDE (rn) FROM (
            SELECT s.*, row_number() OVER (PARTITION BY s.source, s.event_id, s.sportsbook, s.market, s.player_name
                                           ORDER BY s.quoted_at DESC NULLS FIRST) AS rn
            FROM prop_line_snapshots s
            WHERE s.game_date = ? AND s.market = ?
              AND (s.quote_basis = 'closing' OR (s.quoted_at IS NOT NULL AND s.quoted_at < s.tipoff_at)))
        WHERE rn = 1""", [game_date, market]).df()


def watch_status(con: duckdb.DuckDBPyConnection, game_date: dt.date) -> dict[str, Any]:
    """Pulls, slots served, skips and requests spent for a date (what ``watch --status`` would print)."""
    pulls = con.execute("""SELECT count(*), coalesce(sum(requests_last), 0), count(DISTINCT event_id), max(fetched_at)
                           FROM line_watch_pulls WHERE game_date = ?""", [game_date]).fetchall()[0] or (0, 0, 0, None)
    skips = con.execute("SELECT event_id, slot_at, slot_kind, reason FROM line_watch_skips WHERE game_date = ? "
                        "ORDER BY slot_at", [game_date]).fetchall()
    return {"game_date": str(game_date), "pulls": int(pulls[0]), "requests_spent": int(pulls[1]),
            "events": int(pulls[2]), "last_fetch": pulls[3].isoformat() if pulls[3] else None,
            "skipped": [{"event_id": e, "slot_at": str(t), "slot": k, "reason": r} for e, t, k, r in skips]}


# ----------------------------------------------------------------------------------------- entry point
def _require_teams(con: duckdb.DuckDBPyConnection) -> None:
    row = con.execute("SELECT count(*) FROM team_aliases").fetchall()[0]
    if not row[0]:
        raise WarehouseError("the warehouse has no teams, so no quote could be matched to its game: load the "
                             "reference data first (`nbaprops backfill --data DIR`)")


def run_watch(con: duckdb.DuckDBPyConnection, settings: Settings, game_date: dt.date, plan: WatchPlan, *,
              landing_dir: Path, replay: Path | None = None, once: bool = False,
              progress: Progress = no_progress, clock: Callable[[], dt.datetime] | None = None,
              sleep: Callable[[float], None] | None = None) -> WatchReport:
    """Watch a date against The Odds API (``settings.odds_api_key``) or, with ``replay``, against a
    :class:`~nbaprops.ingest.replay_odds.ReplayOddsServer` of that recorded file on 127.0.0.1.

    The replay runs on a :class:`SimClock` that starts at the plan's day start (or where a previous
    watch of the date stopped) and jumps from slot to slot: a whole slate in seconds.

    Raises:
        SettingsError: live watch without an Odds API key.
        WarehouseError: no teams loaded yet.
        BudgetExceededError, SourceError: as :func:`watch_date`.
    """
    from nbaprops.ingest.sources.odds_api import OddsApiLive

    _require_teams(con)
    budget = Budget.from_settings(settings)
    if replay is None:
        if settings.odds_api_key is None or not settings.odds_api_key.get_secret_value().strip():
            raise SettingsError("`nbaprops watch` needs The Odds API key: set NBAPROPS_ODDS_API_KEY (environment "
                                "or .env), or run the demo against a recorded file with --replay FILE")
        live_odds = OddsApiLive(settings, now=clock)
        try:
            return watch_date(con, live_odds, game_date, plan, budget, clock=clock or (lambda: dt.datetime.now(dt.UTC)),
                              sleep=sleep or time.sleep, landing_dir=landing_dir, progress=progress, once=once)
        finally:
            live_odds.close()
    from nbaprops.ingest.replay_odds import RecordedOdds, ReplayOddsServer

    recorded = RecordedOdds.load(replay, game_date, game_date)
    key = (settings.odds_api_key.get_secret_value() if settings.odds_api_key is not None else "") \
        or secrets.token_urlsafe(24)
    start = max(day_start_at(game_date, plan), last_fetch(con, game_date) or day_start_at(game_date, plan))
    with ReplayOddsServer(recorded, api_key=key, clock=start) as server:
        sim = SimClock(start, lambda t: setattr(server, "clock", t))
        replay_settings = settings.model_copy(update={"odds_api_base_url": server.base_url,
                                                      "odds_api_key": SecretStr(key)})
        odds = OddsApiLive(replay_settings, now=sim.now, attempts=2, wait_initial_s=0.0, wait_max_s=0.0)
        try:
            return watch_date(con, odds, game_date, plan, budget, clock=sim.now, sleep=sim.sleep,
                              landing_dir=landing_dir, progress=progress, once=once)
        finally:
            odds.close()
