"""The Redis-streams queue with real ``nbaprops worker`` processes on a real ``redis-server``.

One broker per module (``redis-server`` on 127.0.0.1, a free port, no persistence), one warehouse
copy and one model set (``train_models(..., 2024-04-10)``), and the single-process (inline) run of
the 2024-04-10 slate as the reference. ``NBAPROPS_TEST_REDIS_URL`` points the tests at an existing
broker instead. Every test uses its own stream, so they share nothing.

Proves: 3 workers with one SIGKILLed while it holds a unit give exactly the inline rows (the unit is
redelivered, no key twice); a batch with no worker is reported ``stalled`` (not complete) and
completes with every row when a worker appears; a unit's second result is dropped.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest

import nbaprops.predict.coordinator as coordinator
from crash import preamble
from nbaprops.config import Settings
from nbaprops.models.training import train_models
from nbaprops.predict.coordinator import BatchResult, start_batch
from nbaprops.predict.queue import InlineQueue
from nbaprops.predict.worker import UnitResult, WorkUnit, run_unit
from nbaprops.warehouse import connect

pytestmark = pytest.mark.integration

DAY = dt.date(2024, 4, 10)
KEY = ["game_id", "player_id", "system_id", "line_key"]
VOLATILE = ["batch_id", "created_at"]       # differ between any two runs by construction
CLI = "from nbaprops.cli import main; main()"
SMALL_UNITS = 10                            # ~17 units for the slate, so a kill lands mid-batch


# ------------------------------------------------------------------------------------- helpers
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBAPROPS_")}
    return {**env, **extra}


def _wait(cond: Callable[[], Any], timeout: float, what: str, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _batch_rows(con: duckdb.DuckDBPyConnection, batch_id: str) -> pd.DataFrame:
    df = con.execute("SELECT * FROM player_prop_predictions WHERE batch_id = ?", [batch_id]).df()
    return df.drop(columns=VOLATILE).sort_values(KEY).reset_index(drop=True)


def _assert_same_rows(got: pd.DataFrame, want: pd.DataFrame) -> None:
    dup = got[got.duplicated(KEY, keep=False)]
    assert dup.empty, f"{len(dup)} rows share a key:\n{dup[KEY].head()}"
    assert len(got) == len(want)
    pd.testing.assert_frame_equal(got, want, check_exact=True)


@dataclass
class Broker:
    url: str
    client: Any                                  # redis.Redis


@dataclass
class Slate:
    db: Path
    settings: Settings
    reference: pd.DataFrame                      # the inline run's rows (sorted by key)
    units: int                                   # units of the slate at SMALL_UNITS


@dataclass
class Workers:
    """``nbaprops worker`` subprocesses of one test, with their stderr logs."""

    url: str
    stream: str
    dir: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, n: int, *, sleep_s: float = 0.0, visibility_s: float = 3.0) -> None:
        """``sleep_s``: each worker sleeps that long after taking a unit (tests/crash.py), so a kill lands
        while it holds one."""
        for _ in range(n):
            log = (self.dir / f"worker-{len(self.procs)}.log").open("wb")
            self.procs.append(subprocess.Popen(
                [sys.executable, "-c", preamble(slow_units_s=sleep_s) + CLI, "worker", "--redis-url", self.url,
                 "--stream", self.stream, "--visibility-timeout", str(visibility_s), "--idle-exit", "90"],
                stdout=log, stderr=subprocess.STDOUT, env=_env()))

    def by_pid(self, pid: int) -> subprocess.Popen[bytes] | None:
        return next((p for p in self.procs if p.pid == pid), None)

    def log(self, i: int) -> str:
        return (self.dir / f"worker-{i}.log").read_text(errors="replace")

    def stop(self) -> None:
        for p in self.procs:                 # only the processes this test started
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class Coordinator(threading.Thread):
    """``start_batch`` with a given queue in a thread (its own connection), like a coordinator process."""

    def __init__(self, slate: Slate, queue: Any) -> None:
        super().__init__(daemon=True)
        self.slate, self.queue = slate, queue
        self.result: BatchResult | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        con = connect(self.slate.db)
        try:
            self.result = start_batch(con, self.slate.settings, DAY, queue=self.queue)
        except BaseException as exc:   # reported by finish()
            self.error = exc
        finally:
            con.close()

    def finish(self, timeout: float) -> BatchResult:
        self.join(timeout)
        assert not self.is_alive(), f"the batch did not finish within {timeout:.0f}s"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


# ------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    """A private ``redis-server`` on 127.0.0.1 (no persistence), stopped at the end of the module;
    or the broker at ``NBAPROPS_TEST_REDIS_URL`` when set (each test uses its own stream there)."""
    if os.environ.get("CI"):
        import redis  # a dev dependency: CI fails loudly without it
    else:
        redis = pytest.importorskip("redis", reason="the redis client is missing: pip install -e '.[dev]'")
    external = os.environ.get("NBAPROPS_TEST_REDIS_URL")
    if external:
        client = redis.Redis.from_url(external)
        client.ping()
        yield Broker(external, client)
        client.close()
        return
    exe = shutil.which("redis-server")
    if exe is None:
        reason = "redis-server is not on PATH (apt-get install -y redis-server)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must install it (.ci/run)")
        pytest.skip(reason)
    d = tmp_path_factory.mktemp("redis")
    port = _free_port()
    log = (d / "redis.log").open("wb")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(d)], stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)

    def up() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            assert proc.poll() is None, f"redis-server exited: {(d / 'redis.log').read_text()}"
            return False

    try:
        _wait(up, 15, "redis-server to answer PING")
        yield Broker(url, client)
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def slate(warehouse_copy: Path) -> Slate:
    """A model set trained before DAY and the single-process (inline) run of DAY as the reference."""
    models = warehouse_copy.parent / "models"
    settings = Settings(db=warehouse_copy, model_dir=models)
    con = connect(warehouse_copy)
    try:
        # the current season only: ~2x faster to train, and the reference run uses the same models
        train_models(con, models, DAY, since=dt.date(2023, 10, 1))
        ref = start_batch(con, settings, DAY, queue=InlineQueue())
        assert ref.status == "complete" and ref.rows > 0 and ref.failed_players == 0
        rows = _batch_rows(con, ref.batch_id)
    finally:
        con.close()
    units = -(-ref.expected_players // SMALL_UNITS)
    return Slate(warehouse_copy, settings, rows, units)


@pytest.fixture
def workers(broker: Broker, tmp_path: Path) -> Iterator[Workers]:
    w = Workers(broker.url, f"test:{uuid.uuid4().hex[:8]}:units", tmp_path)
    yield w
    w.stop()


@pytest.fixture
def small_units(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coordinator, "UNIT_SIZE", SMALL_UNITS)


def _queue(broker: Broker, stream: str, **kw: Any) -> Any:
    from nbaprops.predict.redis_queue import RedisStreamQueue

    return RedisStreamQueue(broker.url, stream=stream, **kw)


# ------------------------------------------------------------------------------------- tests
@pytest.mark.usefixtures("small_units")
def test_three_workers_one_killed_mid_unit_give_exactly_the_single_process_rows(
        broker: Broker, slate: Slate, workers: Workers) -> None:
    from nbaprops.predict.redis_queue import workers_key

    workers.start(3, sleep_s=0.5, visibility_s=3.0)
    _wait(lambda: broker.client.zcard(workers_key(workers.stream)) >= 3, 60, "3 workers to heartbeat")
    q = _queue(broker, workers.stream)
    coord = Coordinator(slate, q)
    coord.start()

    # kill -9 a worker while it holds a unit, after the batch has made progress
    def holder() -> tuple[str, int] | None:
        if coord.error is not None or not broker.client.xlen(q.reply_stream):
            return None
        info = broker.client.xpending(workers.stream, "workers")
        for c in info.get("consumers") or []:
            if int(c["pending"]) > 0:
                return c["name"].decode(), int(c["name"].decode().split(":")[1])
        return None

    name, pid = _wait(holder, 60, "a worker holding a unit mid-batch", step=0.05)
    victim = workers.by_pid(pid)
    assert victim is not None, f"consumer {name} is not one of this test's workers"
    held = broker.client.xpending_range(workers.stream, "workers", "-", "+", 10, consumername=name)
    assert held, "the victim held no unit when killed"
    victim.send_signal(signal.SIGKILL)
    assert victim.wait(timeout=10) == -signal.SIGKILL

    result = coord.finish(120)
    assert result.status == "complete", result.as_dict()
    assert result.failed_players == 0 and result.expected_players == slate.reference["player_id"].nunique()
    con = connect(slate.db)
    try:
        got = _batch_rows(con, result.batch_id)
        units_done = con.execute("SELECT units_total, units_done FROM prediction_batches WHERE batch_id = ?",
                                 [result.batch_id]).fetchone()
    finally:
        con.close()
    _assert_same_rows(got, slate.reference)
    assert units_done == (slate.units, slate.units)

    # the killed worker's unit was taken over by a survivor, and nothing is left on the broker
    survivors = [i for i, p in enumerate(workers.procs) if p is not victim]
    assert any("reclaimed" in workers.log(i) for i in survivors), [workers.log(i)[-2000:] for i in survivors]
    assert broker.client.xlen(workers.stream) == 0
    assert int(broker.client.xpending(workers.stream, "workers")["pending"]) == 0
    assert not broker.client.exists(q.reply_stream)


@pytest.mark.usefixtures("small_units")
def test_batch_without_worker_is_stalled_then_completes_when_a_worker_appears(
        broker: Broker, slate: Slate, workers: Workers) -> None:
    q = _queue(broker, workers.stream, stall_after_s=1.5, worker_ttl_s=3.0, poll_s=0.25)
    coord = Coordinator(slate, q)
    coord.start()
    con = connect(slate.db)
    try:
        def stalled() -> tuple[str, str, str | None] | None:
            row = con.execute("""SELECT batch_id, status, error FROM prediction_batches WHERE game_date = ?
                                 ORDER BY started_at DESC LIMIT 1""", [DAY]).fetchone()
            return row if row and row[1] == "stalled" else None

        batch_id, status, error = _wait(stalled, 60, "the batch to be reported stalled", step=0.2)
        assert error and "no live worker" in error, error
        assert coord.is_alive() and coord.result is None, "a batch with no worker must not complete"
        # nothing consumed, nothing lost: every unit is still queued
        assert broker.client.xlen(workers.stream) == slate.units
        assert con.execute("SELECT count(*) FROM player_prop_predictions WHERE batch_id = ?",
                           [batch_id]).fetchone() == (0,)

        workers.start(1)
        result = coord.finish(120)
        final = con.execute("SELECT status, error FROM prediction_batches WHERE batch_id = ?", [batch_id]).fetchone()
        got = _batch_rows(con, batch_id)
    finally:
        con.close()
    assert result.batch_id == batch_id and result.status == "complete", result.as_dict()
    assert final == ("complete", None)
    assert q.stalls == 1
    _assert_same_rows(got, slate.reference)

    workers.stop()                            # SIGTERM: a clean exit after the current unit
    assert workers.procs[0].returncode == 0, workers.log(0)[-2000:]


def test_a_units_second_result_is_dropped(broker: Broker, slate: Slate, tmp_path: Path) -> None:
    """At-least-once delivery may give a unit two results: the first wins, its file is written once."""
    from nbaprops.predict.redis_queue import decode_unit, encode_result
    from nbaprops.predict.slate import load_slate

    stream = f"test:{uuid.uuid4().hex[:8]}:units"
    q = _queue(broker, stream, stall_after_s=30.0)
    con = connect(slate.db)
    try:
        rows, history = load_slate(con, DAY)
    finally:
        con.close()
    for i in (0, 1):      # fallback units (no model): fast, and enough to exercise the transport
        q.submit(run_unit, WorkUnit("b-dup", i, rows.iloc[5 * i:5 * i + 5].reset_index(drop=True), history.iloc[:0],
                                    str(slate.settings.model_path), None, "test: fallback rows",
                                    str(tmp_path / "staging"), 1.0, 0.02))
    entries = broker.client.xrange(stream, "-", "+")
    assert len(entries) == 2
    done = []
    for _msg_id, fields in entries:
        unit, reply_to, _ = decode_unit(fields, str(tmp_path / "worker"))
        pd.testing.assert_frame_equal(unit.rows, rows.iloc[5 * unit.unit_id:5 * unit.unit_id + 5].reset_index(drop=True),
                                      check_exact=True)
        res = run_unit(unit)
        assert res.path and not res.error
        done.append((res, Path(res.path).read_bytes()))
    (r0, p0), (r1, p1) = done
    for res, payload, who in ((r0, p0, "w1"), (r0, p0, "w2"), (r1, p1, "w1")):   # unit 0 answered twice
        broker.client.xadd(reply_to, encode_result(res, "b-dup", payload, who))
    try:
        got: list[UnitResult] = list(q.results())
    finally:
        q.close()
    assert sorted(r.unit_id for r in got) == [0, 1] and q.duplicates == 1
    staged = pd.concat([pd.read_parquet(r.path) for r in got if r.path], ignore_index=True)
    assert len(staged) == r0.rows + r1.rows and not staged.duplicated(KEY).any()
    assert not broker.client.exists(reply_to) and broker.client.xlen(stream) == 0
