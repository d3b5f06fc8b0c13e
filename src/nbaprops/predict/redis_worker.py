"""The worker side of the Redis backend: the loop behind ``nbaprops worker``.

Each turn: heartbeat, then take one unit - first a pending one that a dead worker left idle for
``visibility_s`` (XAUTOCLAIM), else a new one (XREADGROUP) - run it with :func:`run_unit` into a
private tmp dir, and in ONE MULTI add the result (with the staged rows as parquet bytes) to the
coordinator's result stream, ack the unit and delete it. While a unit runs, a heartbeat thread keeps
the entry's idle time at zero (XCLAIM JUSTID) so a slow unit is not taken by another worker; a killed
worker stops heartbeating, and its unit is redelivered.

Units are refused with an error result (never run with the wrong code or models) when the
coordinator runs another package version or the worker's copy of the model set differs (manifest
SHA-256). A unit delivered more than ``max_deliveries`` times (it keeps killing workers) fails with an
error result instead of looping forever. Units of a coordinator that is gone are dropped.
"""

from __future__ import annotations

import shutil
import signal
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, cast

from nbaprops._version import __version__
from nbaprops.leases import owner_id
from nbaprops.predict.redis_queue import (
    DEFAULT_GROUP,
    DEFAULT_STREAM,
    FUNCTIONS,
    PROTOCOL,
    RESULT_TTL_S,
    alive_key,
    connect_redis,
    decode_unit,
    encode_result,
    ensure_group,
    manifest_sha256,
    redacted,
    server_time,
    sync,
    workers_key,
)
from nbaprops.predict.worker import UnitResult

if TYPE_CHECKING:
    import redis

    from nbaprops.predict.redis_queue import StreamReply

__all__ = ["StreamWorker", "WorkerStats"]


@dataclass
class WorkerStats:
    """What one worker process did."""

    worker: str
    units: int = 0
    rows: int = 0
    failed_units: int = 0
    reclaimed: int = 0
    dropped: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class StreamWorker:
    """Consume units from ``stream`` as one member of ``group``.

    Args:
        url: Redis URL of the broker.
        stream: the unit stream (same as the coordinator's).
        group: the consumer group.
        model_dir: this machine's model registry (default: the coordinator's path carried by the unit).
        visibility_s: a pending unit idle this long belongs to a dead worker and is taken over.
        max_deliveries: deliveries after which a unit fails instead of being retried.
        block_s: how long one read waits for a new unit.
        log: receives one line per event.
    """

    def __init__(self, url: str, *, stream: str = DEFAULT_STREAM, group: str = DEFAULT_GROUP,
                 model_dir: str | None = None, visibility_s: float = 10.0, max_deliveries: int = 5,
                 block_s: float = 1.0, log: Callable[[str], None] = print) -> None:
        if visibility_s <= 0:
            raise ValueError("visibility_s must be > 0")
        self.url, self.stream, self.group = url, stream, group
        self.model_dir = model_dir
        self.visibility_s, self.max_deliveries, self.block_s = visibility_s, max_deliveries, block_s
        self.heartbeat_s = max(0.2, min(visibility_s / 3, 2.0))
        self.name = f"{owner_id()}:{uuid.uuid4().hex[:6]}"   # host:pid:suffix
        self.log = log
        self.stats = WorkerStats(self.name)
        self._client: redis.Redis = connect_redis(url)
        self._stop = threading.Event()
        self._claim_cursor: bytes | str = "0-0"
        self._last_beat = 0.0
        self._last_sweep = 0.0
        self._manifests: dict[tuple[str, str], str | None] = {}

    # --- lifecycle ------------------------------------------------------------------------------
    def stop(self, *_: Any) -> None:
        """Finish the current unit, then leave the loop (SIGTERM / SIGINT handler)."""
        self._stop.set()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT stop the worker after its current unit (nothing half-done is acked)."""
        def handler(signum: int, frame: FrameType | None) -> None:
            self.stop()
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self, *, once: bool = False, idle_exit_s: float | None = None) -> WorkerStats:
        """Process units until stopped.

        Args:
            once: leave as soon as there is nothing to take (drain and exit).
            idle_exit_s: leave after this many seconds without a unit.
        """
        import redis

        t0 = last_unit = time.monotonic()
        staging = tempfile.mkdtemp(prefix="nbaprops-worker-")
        ensure_group(self._client, self.stream, self.group)
        self.log(f"worker {self.name} on {redacted(self.url)} stream {self.stream} group {self.group} "
                 f"(visibility {self.visibility_s:g}s)")
        try:
            while not self._stop.is_set():
                try:
                    self._beat()
                    msg = self._next()
                    if msg is None:
                        if once or (idle_exit_s is not None and time.monotonic() - last_unit >= idle_exit_s):
                            break
                        continue
                    self._handle(*msg, staging=staging)
                    last_unit = time.monotonic()
                except redis.ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    ensure_group(self._client, self.stream, self.group)   # the broker lost its state
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    self.log(f"broker unreachable ({exc}); retrying")
                    self._stop.wait(2.0)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
            try:
                sync(self._client.zrem(workers_key(self.stream), self.name))
                sync(self._client.xgroup_delconsumer(self.stream, self.group, self.name))
            except redis.RedisError:
                pass
            self._client.close()
        self.stats.seconds = round(time.monotonic() - t0, 3)
        return self.stats

    # --- one turn -------------------------------------------------------------------------------
    def _beat(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_beat >= self.heartbeat_s / 2:
            self._last_beat = now
            key = workers_key(self.stream)
            t = server_time(self._client)
            pipe = self._client.pipeline(transaction=False)
            pipe.zadd(key, {self.name: t})
            pipe.zremrangebyscore(key, "-inf", t - 3600)   # forget workers silent for an hour
            pipe.execute()
        if force or now - self._last_sweep >= 60:
            self._last_sweep = now
            self._sweep()

    def _sweep(self) -> None:
        """Remove group consumers (killed workers) silent for an hour that hold nothing."""
        for c in sync(self._client.xinfo_consumers(self.stream, self.group)):
            name = c["name"].decode() if isinstance(c["name"], bytes) else str(c["name"])
            if int(c["pending"]) == 0 and int(c["idle"]) > 3_600_000 and name != self.name:
                sync(self._client.xgroup_delconsumer(self.stream, self.group, name))

    def _next(self) -> tuple[bytes, dict[bytes, bytes] | None, int] | None:
        """``(message id, fields, deliveries)`` of the next unit, reclaimed ones first."""
        got = sync(self._client.xautoclaim(self.stream, self.group, self.name,
                                           int(self.visibility_s * 1000), self._claim_cursor, count=1))
        self._claim_cursor = got[0]
        if got[1]:
            msg_id, fields = got[1][0]
            info = sync(self._client.xpending_range(self.stream, self.group, msg_id, msg_id, 1))
            deliveries = int(info[0]["times_delivered"]) if info else 2
            self.stats.reclaimed += 1
            self.log(f"reclaimed {msg_id.decode()} (delivery {deliveries}): its worker stopped "
                     f"heartbeating for {self.visibility_s:g}s")
            return msg_id, fields, deliveries
        reply = cast("StreamReply", sync(self._client.xreadgroup(
            self.group, self.name, {self.stream: ">"}, count=1, block=max(1, int(self.block_s * 1000)))))
        for _stream, entries in reply or []:
            for msg_id, fields in entries:
                if fields:          # an entry deleted after delivery comes back without fields
                    return msg_id, fields, 1
                self._finish(msg_id)
        return None

    def _handle(self, msg_id: bytes, fields: dict[bytes, bytes] | None, deliveries: int, *, staging: str) -> None:
        if not fields:
            self._finish(msg_id)
            return
        try:
            unit, reply_to, meta = decode_unit(fields, staging)
        except Exception as exc:
            self.log(f"dropped malformed unit message {msg_id.decode()}: {type(exc).__name__}: {exc}")
            self.stats.dropped += 1
            self._finish(msg_id)
            return
        if not sync(self._client.exists(alive_key(reply_to))):
            self.log(f"dropped unit {unit.unit_id} of {unit.batch_id}: its coordinator is gone")
            self.stats.dropped += 1
            self._finish(msg_id)
            return
        refusal = self._refusal(meta, deliveries, unit.model_set)
        if unit.model_dir and self.model_dir:
            unit = replace(unit, model_dir=self.model_dir)
        if refusal:
            res = UnitResult(unit.unit_id, None, [int(p) for p in meta.get("players", [])], 0, error=refusal)
            self._reply(msg_id, reply_to, unit.batch_id, res, None)
            self.stats.failed_units += 1
            self.log(f"unit {unit.unit_id} of {unit.batch_id} refused: {refusal}")
            return
        t0 = time.perf_counter()
        done = threading.Event()
        beat = threading.Thread(target=self._hold, args=(msg_id, done), daemon=True)
        beat.start()
        try:
            res = FUNCTIONS[str(meta["fn"])](unit)
            payload = None
            if res.path and not res.error:
                p = Path(res.path)
                payload = p.read_bytes()
                p.unlink(missing_ok=True)
        finally:
            done.set()
            beat.join()
        if not sync(self._client.exists(alive_key(reply_to))):
            self.log(f"dropped the result of unit {unit.unit_id} of {unit.batch_id}: its coordinator is gone")
            self.stats.dropped += 1
            self._finish(msg_id)
            return
        self._reply(msg_id, reply_to, unit.batch_id, res, payload)
        self.stats.units += 1
        self.stats.rows += res.rows
        if res.error:
            self.stats.failed_units += 1
        self.log(f"unit {unit.unit_id} of {unit.batch_id}: {len(res.players)} players, {res.rows} rows in "
                 f"{time.perf_counter() - t0:.2f}s{' ERROR ' + res.error if res.error else ''}")

    def _refusal(self, meta: dict[str, Any], deliveries: int, model_set: str | None) -> str | None:
        """Why this worker must not run the unit (None: it may)."""
        if str(meta.get("protocol")) != PROTOCOL or str(meta.get("fn")) not in FUNCTIONS:
            return f"unit protocol {meta.get('protocol')!r}/{meta.get('fn')!r} is not supported by this worker"
        if meta.get("package_version") != __version__:
            return (f"worker runs nbaprops {__version__} but the coordinator runs {meta.get('package_version')}: "
                    "install the same version on every machine")
        if deliveries > self.max_deliveries:
            return f"unit was delivered {deliveries} times and its workers died each time; gave up"
        want = meta.get("manifest_sha256")
        if model_set is not None and want is not None:
            model_dir = self.model_dir or str(meta["model_dir"])
            key = (model_dir, model_set)
            if key not in self._manifests:
                self._manifests[key] = manifest_sha256(model_dir, model_set)
            have = self._manifests[key]
            if have != want:
                what = "is missing" if have is None else "differs from the coordinator's (manifest SHA-256)"
                return (f"model set {model_set} in {model_dir} on {socket.gethostname()} {what}: share or copy "
                        "the model registry (--model-dir)")
        return None

    def _hold(self, msg_id: bytes, done: threading.Event) -> None:
        """While a unit runs: keep its pending entry fresh and this worker's heartbeat alive."""
        import redis

        while not done.wait(self.heartbeat_s):
            try:
                sync(self._client.xclaim(self.stream, self.group, self.name, 0, [msg_id], justid=True))
                t = server_time(self._client)
                sync(self._client.zadd(workers_key(self.stream), {self.name: t}))
            except redis.RedisError as exc:
                self.log(f"heartbeat failed ({exc}); the unit may be redelivered (its result is deduplicated)")

    def _reply(self, msg_id: bytes, reply_to: str, batch_id: str, res: UnitResult, payload: bytes | None) -> None:
        """Add the result, ack and delete the unit in one MULTI: a kill before it leaves the unit pending
        (redelivered), a kill after it leaves nothing to redo."""
        pipe = self._client.pipeline(transaction=True)
        pipe.xadd(reply_to, encode_result(res, batch_id, payload, self.name))
        pipe.expire(reply_to, RESULT_TTL_S)
        pipe.xack(self.stream, self.group, msg_id)
        pipe.xdel(self.stream, msg_id)
        pipe.execute()

    def _finish(self, msg_id: bytes) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.xack(self.stream, self.group, msg_id)
        pipe.xdel(self.stream, msg_id)
        pipe.execute()
