"""The line watcher against the replay Odds API server (real recorded quotes of ../shared/data).

A day of scheduled pulls stores exactly the expected snapshots; a watcher killed with SIGKILL and
restarted loses and duplicates nothing; a rejected key, a spent quota and a refused budget stop it
with a clear message and nothing stored half; the key never reaches storage, logs or errors; the
closing quote is the last pre-tip quote and an in-play quote is never used as one.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import pytest
import stamina
from pydantic import SecretStr

from crash import CRASH_STATUS, preamble
from nbaprops.config import Settings, load_settings
from nbaprops.errors import BudgetExceededError, SourceError
from nbaprops.ingest.reference import load_players, load_teams
from nbaprops.ingest.replay_odds import RecordedOdds, ReplayOddsServer
from nbaprops.ingest.sources.base import secret_pattern
from nbaprops.ingest.sources.odds_api import OddsApiLive, flatten_event_odds
from nbaprops.ingest.watch import (
    Budget,
    DuePull,
    SimClock,
    Slot,
    WatchPlan,
    WatchReport,
    closing_quotes,
    day_start_at,
    pull_event,
    watch_date,
)
from nbaprops.warehouse import connect

pytestmark = pytest.mark.integration

ODDS_FILE = "lines/odds_api_2024-03_to_2024-05.parquet"
#: a key with characters that URL-encoding, JSON and base64 all change
KEY = "sk-Replay/Key+9f3b=Zq"
ROOT = Path(__file__).resolve().parents[2]
CLI_MAIN = "import sys; from nbaprops.cli import main; sys.argv[0] = 'nbaprops'; main()"


@pytest.fixture(autouse=True)
def _no_backoff() -> Iterator[None]:
    stamina.set_testing(True, attempts=2)     # no back-off waits; the client tries twice
    yield
    stamina.set_testing(False)


def _warehouse(path: Path, shared: Path) -> duckdb.DuckDBPyConnection:
    con = connect(path)
    load_teams(con, shared / "reference" / "nba_teams.csv")
    load_players(con, shared / "reference" / "nba_players.csv")
    return con


@dataclass
class Rig:
    con: duckdb.DuckDBPyConnection
    server: ReplayOddsServer
    odds: OddsApiLive
    clock: SimClock
    settings: Settings
    landing: Path

    def watch(self, day: dt.date, plan: WatchPlan | None = None, budget: Budget | None = None,
              progress: Callable[[str, int, int], None] | None = None) -> WatchReport:
        return watch_date(self.con, self.odds, day, plan or WatchPlan(), budget or Budget(daily=10_000, monthly=20_000),
                          clock=self.clock.now, sleep=self.clock.sleep, landing_dir=self.landing,
                          progress=progress or (lambda *_: None))


@contextmanager
def rig(tmp_path: Path, shared: Path, day: dt.date, *, client_key: str = KEY, **server_kw: object) -> Iterator[Rig]:
    recorded = RecordedOdds.load(shared / ODDS_FILE, day, day)
    con = _warehouse(tmp_path / "w.duckdb", shared)
    start = day_start_at(day, WatchPlan())
    with ReplayOddsServer(recorded, api_key=KEY, clock=start, **server_kw) as server:  # type: ignore[arg-type]
        settings = load_settings(db=tmp_path / "w.duckdb", odds_api_key=client_key, odds_api_base_url=server.base_url)
        clock = SimClock(start, lambda t: setattr(server, "clock", t))
        odds = OddsApiLive(settings, now=clock.now, attempts=2, wait_initial_s=0.0, wait_max_s=0.0)
        try:
            yield Rig(con, server, odds, clock, settings, tmp_path / "landing")
        finally:
            odds.close()
            con.close()


# ----------------------------------------------------------------------------------------- checks
def _expected_fetch_times(tip: dt.datetime, first_quote: dt.datetime, day: dt.date) -> list[dt.datetime]:
    """The schedule written out: every 2 h from 10:00 ET, and T-90/T-30/T-10; a slot before the event was
    listed is served at the first cadence step or offset after it was (missed slots collapse)."""
    ten_et = dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.timezone(dt.timedelta(hours=-4))).astimezone(dt.UTC)
    slots = {ten_et + dt.timedelta(hours=2 * k) for k in range(12)} | {tip - dt.timedelta(minutes=m) for m in (90, 30, 10)}
    slots = {s for s in slots if s < tip}
    wake_points = sorted(slots)
    # the watcher looks at cadence steps (and slots of listed events): an event listed between two of them
    # is first pulled at the next wake point at or after its listing
    return [s for s in wake_points if s >= first_quote] if wake_points else []


def _quote_keys_at(shared: Path, event_ids: list[str], times: dict[str, list[dt.datetime]]) -> set[tuple[str, str, str, dt.datetime]]:
    """(event, book, player, quote time) of every points outcome the recorded file shows at each pull time:
    per (event, book) the latest quote at or before the pull."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(f"""
        SELECT id, "bookmakers.key", outcomes_description, CAST("bookmakers.markets.last_update" AS TIMESTAMPTZ) lu
        FROM read_parquet('{shared / ODDS_FILE}')
        WHERE "bookmakers.markets.key" = 'player_points' AND list_contains(?, id)""", [event_ids]).fetchall()
    con.close()
    by_group: dict[tuple[str, str], dict[dt.datetime, set[str]]] = {}
    for eid, book, player, lu in rows:
        by_group.setdefault((eid, book), {}).setdefault(lu.astimezone(dt.UTC), set()).add(player)
    out = set()
    for (eid, book), quotes in by_group.items():
        for at in times[eid]:
            seen = [q for q in quotes if q <= at]
            if seen:
                latest = max(seen)
                out |= {(eid, book, player, latest) for player in quotes[latest]}
    return out


def _stored_keys(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str, str, dt.datetime]]:
    rows = con.execute("SELECT event_id, sportsbook, player_name, quoted_at FROM prop_line_snapshots").fetchall()
    return {(e, b, p, q.astimezone(dt.UTC)) for e, b, p, q in rows}


def _keys_of_pulls(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str, str, dt.datetime]]:
    """(event, book, player, quote time) of every points outcome in the stored bodies of the committed pulls."""
    keys = set()
    bodies = con.execute("""SELECT w.body FROM line_watch_pulls p JOIN raw_payloads w USING (payload_id)""").fetchall()
    for (body,) in bodies:
        flat = flatten_event_odds(body)
        for row in flat[flat["bookmakers.markets.key"] == "player_points"].itertuples(index=False):
            keys.add((row.id, row[ODDS_BOOK], row.outcomes_description,
                      dt.datetime.fromisoformat(str(row[ODDS_LAST]).replace("Z", "+00:00"))))
    return keys


def _assert_whole_pulls(con: duckdb.DuckDBPyConnection) -> None:
    """Every stored event-odds payload has its pull record and slots, every pull its payload, and the
    snapshots are exactly the quotes of the committed pulls' payloads: nothing is stored half."""
    payloads = {r[0] for r in con.execute("SELECT payload_id FROM raw_payloads WHERE endpoint = 'event_odds'").fetchall()}
    pulls = {r[0] for r in con.execute("SELECT payload_id FROM line_watch_pulls").fetchall()}
    slotted = {r[0] for r in con.execute("SELECT DISTINCT payload_id FROM line_watch_slots").fetchall()}
    assert payloads == pulls == slotted
    assert _stored_keys(con) == _keys_of_pulls(con)
    dup = con.execute("""SELECT count(*) - count(DISTINCT (source, event_id, sportsbook, market, player_name, quoted_at))
                         FROM prop_line_snapshots""").fetchall()[0][0]
    assert dup == 0


def _key_forms(key: str) -> list[str]:
    b = key.encode()
    return [key, quote(key, safe=""), quote_plus(key), base64.b64encode(b).decode(),
            base64.urlsafe_b64encode(b).decode(), base64.b64encode(b).decode().rstrip("=")]


def _assert_key_absent(con: duckdb.DuckDBPyConnection, texts: list[str], files: list[Path]) -> None:
    pattern = secret_pattern(KEY)
    cols = con.execute("""SELECT table_name, column_name FROM information_schema.columns
                          WHERE table_schema = 'main' AND data_type = 'VARCHAR'""").fetchall()
    checked = 0
    for table, column in cols:
        for (value,) in con.execute(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL').fetchall():
            checked += 1
            assert not pattern.search(value), f"the key is stored in {table}.{column}"
            assert not any(form in value for form in _key_forms(KEY)), f"the key is stored in {table}.{column}"
    assert checked > 0
    for text in texts:
        assert not pattern.search(text) and not any(form in text for form in _key_forms(KEY))
    for f in (f for f in files if f.is_file()):
        data = f.read_bytes()
        assert not any(form.encode() in data for form in _key_forms(KEY)), f"the key is in {f}"


# ----------------------------------------------------------------------------------------- tests
def test_a_day_of_pulls_stores_exactly_the_expected_snapshots(tmp_path: Path, shared_data: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    day = dt.date(2024, 4, 25)          # 3 events, quoted on 3 different days before tip-off
    caplog.set_level(logging.DEBUG)
    with rig(tmp_path, shared_data, day) as r:
        report = r.watch(day)
        events = r.server.recorded.events
        assert report.events == 3 and report.stopped is None and not report.skipped

        # the pulls are the schedule: cadence from 10:00 ET, T-90/-30/-10, nothing at or after tip-off
        pulls = r.con.execute("SELECT event_id, fetched_at, slot_kind, tipoff_at FROM line_watch_pulls").fetchall()
        times: dict[str, list[dt.datetime]] = {}
        for eid, fetched, _, tip in pulls:
            assert fetched < tip
            times.setdefault(eid, []).append(fetched.astimezone(dt.UTC))
        for eid, ev in events.items():
            assert sorted(times[eid]) == _expected_fetch_times(ev.commence, ev.first_quote, day), eid
            kinds = {k for e, _, k, _ in pulls if e == eid}
            assert {"T-90", "T-30", "T-10"} <= kinds
        assert len(pulls) == len(report.pulls) == sum(len(v) for v in times.values())

        # the snapshots are exactly the quotes each pull saw (one per event, book, player and quote time)
        expected = _quote_keys_at(shared_data, list(events), times)
        stored = _stored_keys(r.con)
        assert stored == expected
        n = r.con.execute("SELECT count(*) FROM prop_line_snapshots").fetchall()[0][0]
        assert n == len(expected) == report.snapshots
        # opening vs closing: the slate was quoted on several days, so players have several quote times
        multi = r.con.execute("""SELECT count(*) FROM (SELECT event_id, sportsbook, player_name FROM prop_line_snapshots
                                 GROUP BY ALL HAVING count(DISTINCT quoted_at) > 1)""").fetchall()[0][0]
        assert multi > 0
        # every payload landed with its fetch time, its pull and its hash
        rows = r.con.execute("""SELECT p.fetched_at, w.fetched_at, p.body_sha256, w.body_sha256 FROM raw_payloads p
                                JOIN line_watch_pulls w USING (payload_id)""").fetchall()
        assert len(rows) == len(pulls) and all(a == b and c == d for a, b, c, d in rows)
        _assert_whole_pulls(r.con)
        assert "HTTP Request" in caplog.text          # httpx logged the request URLs ...
        _assert_key_absent(r.con, [caplog.text], list(r.landing.glob("*")))   # ... without the key

        # a second watch of the finished day pulls nothing and stores nothing twice
        before = r.con.execute("SELECT count(*) FROM prop_line_snapshots").fetchall()[0][0]
        again = r.watch(day)
        assert again.pulls == []
        assert r.con.execute("SELECT count(*) FROM prop_line_snapshots").fetchall()[0][0] == before


def _watch_cmd(db: Path, shared: Path, day: dt.date) -> list[str]:
    return [sys.executable, "-m", "nbaprops", "--db", str(db), "watch", "--date", str(day),
            "--replay", str(shared / ODDS_FILE)]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBAPROPS_")}
    env.update(PYTHONPATH=str(ROOT / "src"), NBAPROPS_ODDS_API_KEY=KEY, COLUMNS="200")
    return env


def _snapshot_state(con: duckdb.DuckDBPyConnection) -> tuple[set[tuple[object, ...]], set[str], set[tuple[object, ...]]]:
    snaps = set(con.execute("""SELECT snapshot_id, event_id, sportsbook, player_name, quoted_at, line, over_price,
                                      under_price FROM prop_line_snapshots""").fetchall())
    pulls = {r[0] for r in con.execute("SELECT payload_id FROM line_watch_pulls").fetchall()}
    slots = set(con.execute("SELECT event_id, slot_at, payload_id FROM line_watch_slots").fetchall())
    return snaps, pulls, slots


def test_kill_9_mid_watch_and_restart_loses_and_duplicates_nothing(tmp_path: Path, shared_data: Path) -> None:
    day = dt.date(2024, 4, 11)          # 5 events, about 25 pulls
    killed_db, whole_db = tmp_path / "killed" / "w.duckdb", tmp_path / "whole" / "w.duckdb"
    for db in (killed_db, whole_db):
        db.parent.mkdir()
        _warehouse(db, shared_data).close()

    # 1. killed right before the COMMIT of the first pull (tests/crash.py): nothing of it is stored
    crash_argv = [sys.executable, "-c", preamble(crash_in="line_watch_pulls") + CLI_MAIN,
                  *_watch_cmd(killed_db, shared_data, day)[3:]]
    crashed = subprocess.run(crash_argv, env=_env(), capture_output=True, text=True, cwd=tmp_path, timeout=600)
    assert crashed.returncode == CRASH_STATUS, crashed.stderr[-2000:]
    con = connect(killed_db)
    assert [con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in
            ("line_watch_pulls", "line_watch_slots", "prop_line_snapshots")] == [0, 0, 0]
    assert con.execute("SELECT count(*) FROM raw_payloads WHERE endpoint = 'event_odds'").fetchall()[0][0] == 0
    con.close()

    # 2. SIGKILLed from outside after its 9th pull, in the middle of the 10th
    proc = subprocess.Popen(_watch_cmd(killed_db, shared_data, day), env=_env(), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, cwd=tmp_path)
    assert proc.stderr is not None
    pulled = 0
    for line in proc.stderr:
        if ": pulled " in line:
            pulled += 1
            if pulled == 9:
                os.kill(proc.pid, signal.SIGKILL)     # in the middle of the next pull
                break
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL, "the watcher finished before it could be killed"
    con = connect(killed_db)
    stored_before = con.execute("SELECT count(*) FROM line_watch_pulls").fetchall()[0][0]
    con.close()
    assert 9 <= stored_before <= 10          # what was committed before the kill

    # 3. restarted: it finishes the day
    done = subprocess.run(_watch_cmd(killed_db, shared_data, day), env=_env(), capture_output=True, text=True,
                          cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    whole = subprocess.run(_watch_cmd(whole_db, shared_data, day), env=_env(), capture_output=True, text=True,
                           cwd=tmp_path, timeout=600)
    assert whole.returncode == 0, whole.stderr[-2000:]

    a, b = connect(killed_db), connect(whole_db)
    try:
        snaps_a, pulls_a, slots_a = _snapshot_state(a)
        snaps_b, pulls_b, slots_b = _snapshot_state(b)
        assert len(pulls_b) >= 15
        assert pulls_a == pulls_b            # the same pulls (payload ids hash the fetch time): none lost, none twice
        assert slots_a == slots_b
        assert snaps_a == snaps_b            # the same snapshots, each once
        for con in (a, b):
            _assert_whole_pulls(con)
        _assert_key_absent(a, [done.stderr, done.stdout], list((killed_db.parent / "landing").rglob("*")))
    finally:
        a.close()
        b.close()


def test_a_rejected_key_stops_the_watcher_with_nothing_stored(tmp_path: Path, shared_data: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    day = dt.date(2024, 4, 17)
    caplog.set_level(logging.DEBUG)
    with rig(tmp_path, shared_data, day, client_key=KEY[::-1], echo_key_in_errors=True) as r:
        with pytest.raises(SourceError) as err:
            r.watch(day)
        assert "rejected the key (HTTP 401" in str(err.value)
        assert r.con.execute("SELECT count(*) FROM line_watch_pulls").fetchall()[0][0] == 0
        assert r.con.execute("SELECT count(*) FROM prop_line_snapshots").fetchall()[0][0] == 0
        wrong = KEY[::-1]
        assert wrong not in str(err.value) and quote(wrong, safe="") not in str(err.value)
        assert wrong not in caplog.text and quote(wrong, safe="") not in caplog.text


def test_a_401_mid_day_stops_with_a_clear_message_and_whole_pulls_only(tmp_path: Path, shared_data: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    day = dt.date(2024, 4, 17)
    caplog.set_level(logging.DEBUG)
    with rig(tmp_path, shared_data, day, echo_key_in_errors=True) as r:
        def inject(_: str, done: int, __: int) -> None:
            if done == 3:
                r.server.fail_next(401)
        with pytest.raises(SourceError) as err:
            r.watch(day, progress=inject)
        msg = str(err.value)
        assert "rejected the key (HTTP 401" in msg and "3 pull(s) stored before stopping" in msg and "skipped" in msg
        assert r.con.execute("SELECT count(*) FROM line_watch_pulls").fetchall()[0][0] == 3
        assert r.con.execute("SELECT count(*) FROM line_watch_skips").fetchall()[0][0] >= 1
        _assert_whole_pulls(r.con)
        _assert_key_absent(r.con, [msg, caplog.text], list(r.landing.glob("*")))


def test_a_429_is_retried_and_a_persistent_one_stops_the_watcher(tmp_path: Path, shared_data: Path) -> None:
    day = dt.date(2024, 4, 17)
    with rig(tmp_path, shared_data, day) as r:
        def throttle(_: str, done: int, __: int) -> None:
            if done == 1:
                r.server.fail_next(429)          # once: the client's retry gets through
            if done == 3:
                r.server.fail_next(429, times=2)  # as many times as the client tries: the watcher stops
        with pytest.raises(SourceError) as err:
            r.watch(day, progress=throttle)
        assert "failed after 2 attempt(s): HTTP 429" in str(err.value)
        assert "3 pull(s) stored before stopping" in str(err.value)
        assert r.con.execute("SELECT count(*) FROM line_watch_pulls").fetchall()[0][0] == 3
        _assert_whole_pulls(r.con)


def test_a_failure_inside_the_pull_transaction_stores_nothing_of_it(tmp_path: Path, shared_data: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import nbaprops.ingest.watch as watch_mod

    day = dt.date(2024, 4, 17)
    real = watch_mod.land_payload
    calls = {"odds": 0}

    def flaky(con: duckdb.DuckDBPyConnection, payload: object) -> str:
        if getattr(payload, "endpoint", "") == "event_odds":
            calls["odds"] += 1
            if calls["odds"] == 4:       # the snapshots of this pull are already written in the transaction
                raise RuntimeError("disk full")
        return real(con, payload)  # type: ignore[arg-type]

    monkeypatch.setattr(watch_mod, "land_payload", flaky)
    with rig(tmp_path, shared_data, day) as r, pytest.raises(RuntimeError, match="disk full"):
        r.watch(day)
    con = connect(tmp_path / "w.duckdb")
    try:
        assert con.execute("SELECT count(*) FROM line_watch_pulls").fetchall()[0][0] == 3
        _assert_whole_pulls(con)
        # (_assert_whole_pulls: the snapshots are exactly the quotes of the 3 committed pulls)
        assert con.execute("SELECT count(*) FROM prop_line_snapshots").fetchall()[0][0] > 0
    finally:
        con.close()


def test_quota_exhausted_by_the_api_stops_the_watcher(tmp_path: Path, shared_data: Path) -> None:
    day = dt.date(2024, 4, 17)
    with rig(tmp_path, shared_data, day) as r:
        def spend(_: str, done: int, __: int) -> None:
            if done == 1:
                r.server.quota_remaining = 0        # another client spent the month's quota meanwhile
        with pytest.raises(BudgetExceededError) as err:
            r.watch(day, progress=spend)
        # the API's answer (401 OUT_OF_USAGE_CREDITS) stops it
        assert "quota is exhausted" in str(err.value) and "OUT_OF_USAGE_CREDITS" in str(err.value)
        assert "1 pull(s) stored before stopping" in str(err.value) and "skipped 1 due pull(s)" in str(err.value)
        assert r.con.execute("SELECT count(*) FROM line_watch_pulls").fetchall()[0][0] == 1
        _assert_whole_pulls(r.con)
        # restarted, it reads x-requests-remaining=0 from the headers and sends no paid request at all
        sent = len([p for p, _ in r.server.requests if p.endswith("/odds")])
        r.odds.close()
        r.odds = OddsApiLive(r.settings, now=r.clock.now, attempts=2, wait_initial_s=0.0, wait_max_s=0.0)
        with pytest.raises(BudgetExceededError, match=r"quota is nearly spent \(x-requests-remaining=0"):
            r.watch(day)
        assert len([p for p, _ in r.server.requests if p.endswith("/odds")]) == sent
        assert r.con.execute("SELECT count(*) FROM line_watch_pulls").fetchall()[0][0] == 1


def test_budgets_refuse_a_pull_before_it_is_sent_and_say_what_was_skipped(tmp_path: Path, shared_data: Path) -> None:
    day = dt.date(2024, 4, 17)
    with rig(tmp_path / "daily", shared_data, day) as r:
        with pytest.raises(BudgetExceededError) as err:
            r.watch(day, budget=Budget(daily=4, monthly=20_000))
        msg = str(err.value)
        assert "daily Odds API budget of 4 requests would be exceeded (4 spent today" in msg
        assert "skipped" in msg and "cadence" in msg
        odds_calls = [p for p, _ in r.server.requests if p.endswith("/odds")]
        assert len(odds_calls) == 4                  # the refused pull was never sent
        assert r.server.quota_used == 4
        skips = r.con.execute("SELECT count(*) FROM line_watch_skips WHERE reason LIKE '%daily%'").fetchall()[0][0]
        assert skips >= 1
        _assert_whole_pulls(r.con)
    (tmp_path / "monthly").mkdir()
    with rig(tmp_path / "monthly", shared_data, day, quota_used=19_998) as r:
        with pytest.raises(BudgetExceededError, match=r"monthly Odds API budget of 20000 requests would be exceeded "
                                                      r"\(x-requests-used=20000"):
            r.watch(day, budget=Budget(daily=1_000, monthly=20_000))
        assert r.con.execute("SELECT count(*) FROM line_watch_pulls").fetchall()[0][0] == 2


def test_closing_is_the_last_pre_tip_quote_and_in_play_quotes_never_count(tmp_path: Path, shared_data: Path) -> None:
    day = dt.date(2024, 3, 10)          # the recorded file has in-play quotes of this slate
    with rig(tmp_path, shared_data, day) as r:
        r.watch(day)
        assert r.con.execute("SELECT count(*) FROM prop_line_snapshots WHERE quoted_at >= tipoff_at").fetchall()[0][0] == 0
        # land what the API answers after tip-off (in-play quotes) for every event that has some
        in_play = []
        for ev in r.server.recorded.events.values():
            late = [q.at for qs in ev.quotes.values() for q in qs if q.at >= ev.commence]
            if late:
                at = max(late)
                r.clock.sleep((at - r.clock.now()).total_seconds())
                pull_event(r.con, r.odds, DuePull(ev.id, ev.commence, (Slot(ev.id, at, "in-play", ev.commence),)),
                           day, WatchPlan(), r.landing)
                in_play.append(ev.id)
        assert in_play
        n_in_play = r.con.execute("SELECT count(*) FROM prop_line_snapshots WHERE quoted_at >= tipoff_at").fetchall()[0][0]
        assert n_in_play > 0

        closing = closing_quotes(r.con, day)
        assert len(closing) > 0 and not (closing["quoted_at"] >= closing["tipoff_at"]).any()
        # the closing quote of each (event, book, player) is what the last pre-tip pull (T-10) saw
        last_pulls = r.con.execute("""SELECT p.event_id, w.body FROM line_watch_pulls p JOIN raw_payloads w USING (payload_id)
                                      WHERE p.slot_kind = 'T-10'""").fetchall()
        events = r.server.recorded.events
        quoted_pre_tip = {e for e, ev in events.items() if ev.first_quote < ev.commence}
        assert {e for e, _ in last_pulls} == quoted_pre_tip
        # an event the books only quoted in play has in-play snapshots, and no closing quote at all
        only_in_play = set(events) - quoted_pre_tip
        assert only_in_play and only_in_play <= set(in_play)
        assert not set(closing["event_id"]) & only_in_play
        seen: dict[tuple[str, str, str], dt.datetime] = {}
        for _, body in last_pulls:
            flat = flatten_event_odds(body)
            for row in flat.itertuples(index=False):
                key = (row.id, row[ODDS_BOOK], row.outcomes_description)
                seen[key] = dt.datetime.fromisoformat(str(row[ODDS_LAST]).replace("Z", "+00:00"))
        got = {(c.event_id, c.sportsbook, c.player_name): c.quoted_at.to_pydatetime().astimezone(dt.UTC)
               for c in closing.itertuples(index=False)}
        assert set(seen) <= set(got)
        assert {k: got[k] for k in seen} == seen
        # a player the last pull no longer quoted closes at his last earlier quote
        last_fetch = dict(r.con.execute(
            "SELECT event_id, max(fetched_at) FROM line_watch_pulls WHERE slot_kind <> 'in-play' GROUP BY 1").fetchall())
        assert all(got[k] <= last_fetch[k[0]] for k in got)
        # the monitoring view of the pre-tip slate (what a prediction can use) has no in-play quote either
        bad = r.con.execute("""SELECT count(*) FROM points_line_last_quote v JOIN prop_line_snapshots s
                                 ON s.game_date = v.game_date AND s.sportsbook = v.sportsbook
                                AND s.player_lookup = v.player_lookup AND s.quoted_at = v.quoted_at
                               WHERE s.quoted_at >= s.tipoff_at""").fetchall()[0][0]
        assert bad == 0


# positions of bookmakers.key and bookmakers.markets.last_update in flatten_event_odds' columns
ODDS_BOOK = 10
ODDS_LAST = 14


def test_the_watch_phase_of_run_does_one_pass(tmp_path: Path, shared_data: Path) -> None:
    from nbaprops.project import Project

    day = dt.date(2024, 4, 17)
    recorded = RecordedOdds.load(shared_data / ODDS_FILE, day, day)
    _warehouse(tmp_path / "w.duckdb", shared_data).close()
    # the server's clock stands at T-30 of the first game; the phase pulls what is due at the real now,
    # which is long after that slate's tip-offs: it lists the events and pulls nothing
    first_tip = min(e.commence for e in recorded.events.values())
    with ReplayOddsServer(recorded, api_key=KEY, clock=first_tip - dt.timedelta(minutes=30)) as server:
        settings = load_settings(db=tmp_path / "w.duckdb", odds_api_key=KEY, odds_api_base_url=server.base_url)
        with Project(settings) as p:
            report = p.run(day, only=("watch",))
            assert [ph.phase for ph in report.phases] == ["watch"]
            assert report.phases[0].status == "ok", report.phases[0].detail
            assert report.phases[0].detail.startswith("0 pull(s) of 2 event(s)")
            assert [path for path, _ in server.requests] == ["/v4/sports/basketball_nba/events"]
        # without a key the phase fails with the reason
        no_key = load_settings(db=tmp_path / "w.duckdb", odds_api_base_url=server.base_url)
        no_key = no_key.model_copy(update={"odds_api_key": SecretStr("")})
        with Project(no_key) as p:
            report = p.run(day, only=("watch",), force=True)
            assert report.phases[0].status == "failed" and "NBAPROPS_ODDS_API_KEY" in report.phases[0].detail


def test_an_event_that_is_gone_is_skipped_and_the_others_are_watched(tmp_path: Path, shared_data: Path) -> None:
    day = dt.date(2024, 4, 17)
    with rig(tmp_path, shared_data, day) as r:
        gone = min(r.server.recorded.events.values(), key=lambda e: e.commence)
        real_answer = r.server.answer

        def answer(path: str, query: dict[str, str]) -> tuple[int, dict[str, str], object]:
            if gone.id in path:
                query.pop("apiKey", None)
                return 404, {}, {"message": "Event not found", "error_code": "EVENT_NOT_FOUND"}
            return real_answer(path, query)

        r.server.answer = answer  # type: ignore[method-assign]
        report = r.watch(day)
        assert report.stopped is None
        assert {p.event_id for p in report.pulls} == set(r.server.recorded.events) - {gone.id}
        assert report.skipped and all(gone.id in s and "HTTP 404" in s for s in report.skipped)
        skipped = r.con.execute("SELECT DISTINCT event_id FROM line_watch_skips").fetchall()
        assert skipped == [(gone.id,)]
        _assert_whole_pulls(r.con)


def test_the_replay_server_answers_what_was_recorded_at_its_clock(shared_data: Path) -> None:
    import httpx

    day = dt.date(2024, 4, 25)
    recorded = RecordedOdds.load(shared_data / ODDS_FILE, day, day)
    ev = min(recorded.events.values(), key=lambda e: e.first_quote)
    before = ev.first_quote - dt.timedelta(seconds=1)
    with ReplayOddsServer(recorded, api_key=KEY, clock=before, quota_remaining=10) as server, \
            httpx.Client(base_url=server.base_url) as http:
        assert server.base_url.startswith("http://127.0.0.1:") and not server.base_url.endswith(":0")
        odds_path = f"/v4/sports/basketball_nba/events/{ev.id}/odds"
        q = {"apiKey": KEY, "markets": "player_points", "regions": "us", "oddsFormat": "american"}
        assert http.get(odds_path, params=q).status_code == 404          # not quoted yet at the clock
        assert ev.id not in {e["id"] for e in http.get("/v4/sports/basketball_nba/events", params={"apiKey": KEY}).json()}
        # the admin endpoint moves the clock
        at = ev.first_quote.isoformat()
        assert http.post("/_replay/clock", json={"at": at}).json()["clock"] == ev.first_quote.strftime("%Y-%m-%dT%H:%M:%SZ")
        r = http.get(odds_path, params=q)
        assert r.status_code == 200
        assert (r.headers["x-requests-remaining"], r.headers["x-requests-used"], r.headers["x-requests-last"]) == ("9", "1", "1")
        books = r.json()["bookmakers"]
        assert books and all(m["last_update"] <= ev.first_quote.strftime("%Y-%m-%dT%H:%M:%SZ")
                             for b in books for m in b["markets"])
        # a later clock shows later quotes, never ones after it
        server.clock = ev.commence - dt.timedelta(minutes=10)
        later = http.get(odds_path, params=q).json()["bookmakers"]
        stamps = [m["last_update"] for b in later for m in b["markets"]]
        assert max(stamps) > max(m["last_update"] for b in books for m in b["markets"])
        assert max(stamps) <= server.clock.strftime("%Y-%m-%dT%H:%M:%SZ")
        # failures on demand, a wrong key, and the state
        assert http.post("/_replay/fail", json={"status": 429}).status_code == 200
        assert http.get(odds_path, params=q).status_code == 429
        assert http.get(odds_path, params={**q, "apiKey": "nope"}).json()["error_code"] == "INVALID_KEY"
        assert http.get("/_replay/state").json()["quota_used"] == 2
