"""A TaskQueue on Redis streams: a coordinator on one machine, ``nbaprops worker`` processes on others.

Everything travels through the broker as bytes, so workers need no shared filesystem, only a copy of
the model registry (checked: the unit carries the SHA-256 of the model set's manifest):

    coordinator                          Redis                               worker (nbaprops worker)
    submit(run_unit, unit) --XADD--> <stream> (group <group>) --XREADGROUP--> run_unit(unit)
                                                                              |
    results() <--XREAD-- <result_prefix>:<token> <--XADD result + XACK + XDEL (one MULTI)

* A unit message is ``meta`` (JSON: the unit's scalar fields, package version, manifest SHA-256), and
  ``rows`` / ``history`` (parquet bytes). No pickle crosses the broker.
* A result message is ``meta`` (JSON: the :class:`UnitResult` without its path) and ``parquet`` (the
  staged rows). The coordinator writes ``<staging>/<batch>/unit-XXXXX.parquet`` itself, atomically
  (tmp + ``os.replace``), so a unit delivered twice rewrites the same file: no duplicate rows.
* At-least-once: a worker acks a unit in the same MULTI that adds its result. A worker killed mid-unit
  leaves the entry pending; once it has been idle ``visibility_s`` another worker takes it with
  XAUTOCLAIM (a live worker keeps its own entry fresh with XCLAIM JUSTID, so a slow unit is not
  stolen). The coordinator keeps the first result per unit and ignores later ones.
* Stall: no result for ``stall_after_s`` seconds *and* no worker heartbeat within ``worker_ttl_s``
  -> the status hook hears ``stalled`` (the coordinator writes it to ``prediction_batches``); the
  units stay queued and the batch carries on when a worker appears. After ``give_up_after_s`` of
  stall (if set) :class:`QueueStalledError` is raised and the units are withdrawn.
* A unit whose coordinator is gone (its ``<reply>:alive`` key expired) is dropped by workers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import io
import json
import os
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pandas as pd

from nbaprops._version import __version__
from nbaprops.errors import NbapropsError, QueueStalledError
from nbaprops.markets import POINTS
from nbaprops.models.registry import MANIFEST
from nbaprops.predict.queue import StatusHook
from nbaprops.predict.worker import UnitResult, WorkUnit, run_unit

if TYPE_CHECKING:
    import redis
    from redis.typing import EncodableT, FieldT

    #: The fields of a stream entry as written (``xadd``) and as read back (binary client).
    Fields = dict[FieldT, EncodableT]
    #: An XREAD / XREADGROUP reply: ``[(stream, [(entry id, fields), ...]), ...]``.
    StreamReply = list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes] | None]]]]

__all__ = ["DEFAULT_GROUP", "DEFAULT_RESULTS", "DEFAULT_STREAM", "PROTOCOL", "RedisStreamQueue",
           "alive_key", "as_bytes", "connect_redis", "decode_result", "decode_unit", "encode_result", "encode_unit",
           "ensure_group", "manifest_sha256", "redacted", "server_time", "sync", "workers_key"]

DEFAULT_STREAM = "nbaprops:units"
DEFAULT_GROUP = "workers"
DEFAULT_RESULTS = "nbaprops:results"
PROTOCOL = "1"
RESULT_TTL_S = 86_400          # an orphaned result stream (coordinator died) expires after a day
FUNCTIONS: dict[str, Callable[[WorkUnit], UnitResult]] = {"nbaprops.predict.worker.run_unit": run_unit}

T = TypeVar("T")


def sync(value: T | Awaitable[T]) -> T:
    """Narrow a redis-py reply: its methods are typed ``T | Awaitable[T]`` (shared with the asyncio
    client), the synchronous client always returns ``T``."""
    if inspect.isawaitable(value):
        raise TypeError("the synchronous redis client returned an awaitable")
    return value


def as_bytes(value: object) -> bytes:
    """An entry id or key as bytes (the binary client returns bytes; a str is encoded)."""
    if isinstance(value, bytes):
        return value
    return str(value).encode()


def connect_redis(url: str) -> redis.Redis:
    """A binary-safe client for ``url`` that answers PING, or a one-line :class:`NbapropsError`.

    Args:
        url: ``redis://[:password@]host:port/db`` (``rediss://`` for TLS).
    """
    try:
        import redis
    except ImportError:
        raise NbapropsError("the Redis queue needs the optional extra: pip install 'nbaprops[redis]'") from None
    try:
        client = redis.Redis.from_url(url, decode_responses=False, socket_connect_timeout=5,
                                      health_check_interval=30)
        sync(client.ping())
    except (redis.RedisError, ValueError) as exc:
        raise NbapropsError(f"cannot reach the Redis broker at {redacted(url)}: {exc}") from None
    return client


def redacted(url: str) -> str:
    """``url`` without its password (for messages and logs)."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def ensure_group(client: redis.Redis, stream: str, group: str) -> None:
    """Create the stream and its consumer group if missing; entries added before a worker exists wait
    in the stream (the group reads from the stream's start, so nothing queued is skipped)."""
    import redis

    try:
        sync(client.xgroup_create(stream, group, id="0", mkstream=True))
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def workers_key(stream: str) -> str:
    """Sorted set of worker name -> last heartbeat (broker clock, seconds)."""
    return f"{stream}:workers"


def alive_key(reply_to: str) -> str:
    """Key a coordinator keeps alive (with a TTL) while it waits for the results on ``reply_to``."""
    return f"{reply_to}:alive"


def server_time(client: redis.Redis) -> float:
    """The broker's clock in seconds: every heartbeat uses it, so machines' clock skew does not matter."""
    sec, usec = sync(client.time())
    return float(sec) + float(usec) / 1e6


def manifest_sha256(model_dir: str, model_set: str | None) -> str | None:
    """SHA-256 of ``<model_dir>/<model_set>/manifest.json`` (None for a fallback unit or no file).

    The manifest lists the SHA-256 of every model file and loading verifies them, so equal manifests
    mean the worker predicts with exactly the coordinator's models.
    """
    if model_set is None:
        return None
    p = Path(model_dir) / model_set / MANIFEST
    return hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None


def _parquet(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    return buf.getvalue()


def _field(fields: dict[bytes, bytes], name: str) -> bytes:
    try:
        return fields[name.encode()]
    except KeyError:
        raise ValueError(f"message has no field {name!r}") from None


# ------------------------------------------------------------------------------------------ codec
def encode_unit(fn: Callable[[Any], Any], unit: WorkUnit, reply_to: str, manifest: str | None
                ) -> Fields:
    """The stream fields of one unit (JSON meta + two parquet frames)."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    if FUNCTIONS.get(name) is not fn:
        raise TypeError(f"the Redis queue only runs {sorted(FUNCTIONS)}, not {name}")
    meta = {"protocol": PROTOCOL, "fn": name, "package_version": __version__, "manifest_sha256": manifest,
            "batch_id": unit.batch_id, "unit_id": unit.unit_id, "model_dir": unit.model_dir,
            "model_set": unit.model_set, "fallback_reason": unit.fallback_reason, "min_edge": unit.min_edge,
            "min_ev": unit.min_ev, "fail_systems": list(unit.fail_systems), "market": unit.market,
            "players": [int(p) for p in unit.rows["player_id"]]}
    return {"reply_to": reply_to, "meta": json.dumps(meta), "rows": _parquet(unit.rows),
            "history": _parquet(unit.history)}


def decode_unit(fields: dict[bytes, bytes], staging_dir: str) -> tuple[WorkUnit, str, dict[str, Any]]:
    """``(unit, reply_to, meta)`` of a unit message; the unit stages into ``staging_dir``.

    Raises:
        ValueError: a field is missing or malformed.
    """
    reply_to = _field(fields, "reply_to").decode()
    meta: dict[str, Any] = json.loads(_field(fields, "meta"))
    rows = pd.read_parquet(io.BytesIO(_field(fields, "rows")))
    history = pd.read_parquet(io.BytesIO(_field(fields, "history")))
    unit = WorkUnit(str(meta["batch_id"]), int(meta["unit_id"]), rows, history, str(meta["model_dir"]),
                    meta["model_set"], meta["fallback_reason"], staging_dir, float(meta["min_edge"]),
                    float(meta["min_ev"]), tuple(meta.get("fail_systems") or ()),
                    str(meta.get("market") or POINTS.key))
    return unit, reply_to, meta


def encode_result(res: UnitResult, batch_id: str, payload: bytes | None, worker: str
                  ) -> Fields:
    """The stream fields of one result: JSON meta and the staged rows as parquet bytes."""
    meta = asdict(res)
    meta.pop("path")
    meta.update(protocol=PROTOCOL, batch_id=batch_id, worker=worker, has_rows=payload is not None)
    return {"meta": json.dumps(meta), "parquet": payload or b""}


def decode_result(fields: dict[bytes, bytes]) -> tuple[str, UnitResult, bytes | None, str]:
    """``(batch_id, result without path, parquet bytes or None, worker name)`` of a result message."""
    meta: dict[str, Any] = json.loads(_field(fields, "meta"))
    res = UnitResult(int(meta["unit_id"]), None, [int(p) for p in meta["players"]], int(meta["rows"]),
                     [(int(p), s, str(why)) for p, s, why in meta.get("skips", [])],
                     dict(meta.get("system_failures", {})), meta.get("error"))
    payload = _field(fields, "parquet") if meta.get("has_rows") else None
    return str(meta["batch_id"]), res, payload, str(meta.get("worker", "?"))


# ------------------------------------------------------------------------------------ coordinator
@dataclass
class _Pending:
    unit: WorkUnit
    fields: Fields
    msg_id: bytes


class RedisStreamQueue:
    """The coordinator side of the Redis backend (implements the ``TaskQueue`` port).

    One instance serves one batch: ``submit`` every unit, iterate ``results()``, then ``close()``
    (``start_batch`` does exactly that). The broker must be reachable from every worker.

    Args:
        url: Redis URL (``redis://host:6379/0``; a password goes in the URL).
        stream: the unit stream shared by coordinators and workers.
        group: the workers' consumer group.
        result_stream: prefix of this queue's private result stream (``<prefix>:<random token>``).
        stall_after_s: seconds without a result, with no live worker, before the batch is stalled.
        give_up_after_s: seconds of stall before :class:`QueueStalledError` (None: wait for a worker
            however long; the coordinator holds the warehouse meanwhile, hence the 1 h default).
        worker_ttl_s: a worker whose last heartbeat is older than this is not live.
        poll_s: how long one blocking read of the result stream waits.
        broker_timeout_s: how long the broker may be unreachable before the batch fails.
    """

    def __init__(self, url: str, stream: str = DEFAULT_STREAM, group: str = DEFAULT_GROUP,
                 result_stream: str = DEFAULT_RESULTS, *, stall_after_s: float = 30.0,
                 give_up_after_s: float | None = 3600.0, worker_ttl_s: float = 10.0, poll_s: float = 1.0,
                 broker_timeout_s: float = 60.0) -> None:
        self.url, self.stream, self.group = url, stream, group
        self.reply_stream = f"{result_stream}:{uuid.uuid4().hex}"
        self.stall_after_s, self.give_up_after_s = stall_after_s, give_up_after_s
        self.worker_ttl_s, self.poll_s, self.broker_timeout_s = worker_ttl_s, poll_s, broker_timeout_s
        self.alive_ttl_s = max(60, int(poll_s * 10))
        self.duplicates = 0              # results dropped because the unit already had one
        self.stalls = 0                  # times the queue went from running to stalled
        self._client = connect_redis(url)
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._done: set[tuple[str, int]] = set()
        self._manifests: dict[tuple[str, str | None], str | None] = {}
        self._hook: StatusHook | None = None
        self._closed = False
        ensure_group(self._client, stream, group)
        self._touch_alive()

    @classmethod
    def from_env(cls, url: str | None = None, **overrides: Any) -> RedisStreamQueue:
        """A queue configured by ``NBAPROPS_REDIS_*`` environment variables, then ``overrides``.

        ``NBAPROPS_REDIS_URL``, ``NBAPROPS_REDIS_STREAM``, ``NBAPROPS_REDIS_GROUP``,
        ``NBAPROPS_REDIS_STALL_S`` and ``NBAPROPS_REDIS_GIVE_UP_S`` (``0`` or ``none``: never give up).

        Raises:
            NbapropsError: no URL, or a variable is not a number.
        """
        env = os.environ
        url = url or env.get("NBAPROPS_REDIS_URL")
        if not url:
            raise NbapropsError("the redis queue needs --redis-url or NBAPROPS_REDIS_URL (redis://host:6379/0)")
        kw: dict[str, Any] = {"stream": env.get("NBAPROPS_REDIS_STREAM", DEFAULT_STREAM),
                              "group": env.get("NBAPROPS_REDIS_GROUP", DEFAULT_GROUP)}
        for var, name in (("NBAPROPS_REDIS_STALL_S", "stall_after_s"), ("NBAPROPS_REDIS_GIVE_UP_S", "give_up_after_s")):
            raw = env.get(var, "").strip().lower()
            if not raw:
                continue
            try:
                kw[name] = None if raw in ("0", "none") and name == "give_up_after_s" else float(raw)
            except ValueError:
                raise NbapropsError(f"{var}={raw!r} is not a number of seconds") from None
        kw.update(overrides)
        return cls(url, **kw)

    # --- TaskQueue port -------------------------------------------------------------------------
    def submit(self, fn: Callable[[Any], Any], unit: Any) -> None:
        """Put one :class:`WorkUnit` on the stream (``fn`` must be ``run_unit``)."""
        if not isinstance(unit, WorkUnit):
            raise TypeError(f"the Redis queue carries WorkUnit, not {type(unit).__name__}")
        key = (unit.batch_id, unit.unit_id)
        if key in self._pending:
            raise ValueError(f"unit {unit.unit_id} of batch {unit.batch_id} was already submitted")
        mkey = (unit.model_dir, unit.model_set)
        if mkey not in self._manifests:
            self._manifests[mkey] = manifest_sha256(unit.model_dir, unit.model_set)
        fields = encode_unit(fn, unit, self.reply_stream, self._manifests[mkey])
        msg_id = as_bytes(sync(self._client.xadd(self.stream, fields)))
        self._pending[key] = _Pending(unit, fields, msg_id)
        self._touch_alive()

    def results(self) -> Iterator[UnitResult]:
        """Yield one result per submitted unit, in completion order; first result per unit wins.

        Raises:
            QueueStalledError: stalled for longer than ``give_up_after_s``.
            NbapropsError: the broker was unreachable for ``broker_timeout_s``.
        """
        import redis

        last_id = b"0-0"
        last_progress = time.monotonic()
        stalled_since: float | None = None
        last_report = 0.0
        down_since: float | None = None
        while len(self._done) < len(self._pending):
            try:
                self._touch_alive()
                reply = cast("StreamReply", sync(self._client.xread(
                    {self.reply_stream: last_id}, count=64, block=max(1, int(self.poll_s * 1000)))))
                if down_since is not None:     # the broker is back: re-queue what it may have lost
                    down_since = None
                    ensure_group(self._client, self.stream, self.group)
                    self._requeue_lost()
                live = self.live_workers()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                now = time.monotonic()
                down_since = down_since or now
                if now - down_since > self.broker_timeout_s:
                    raise NbapropsError(f"the Redis broker at {redacted(self.url)} has been unreachable for "
                                        f"{now - down_since:.0f}s: {exc}") from None
                time.sleep(min(self.poll_s, 1.0))
                continue
            for _stream, entries in reply or []:
                for msg_id, fields in entries:
                    last_id = msg_id
                    res = self._accept(fields) if fields else None
                    if res is not None:
                        last_progress = time.monotonic()
                        yield res
            now = time.monotonic()
            idle = now - last_progress
            if live == 0 and idle >= self.stall_after_s and len(self._done) < len(self._pending):
                if stalled_since is None:
                    stalled_since, last_report = now, now
                    self.stalls += 1
                    self._report("stalled", self._stall_message(idle))
                elif now - last_report >= 30:      # keeps the batch's heartbeat fresh while stalled
                    last_report = now
                    self._report("stalled", self._stall_message(idle))
                if self.give_up_after_s is not None and now - stalled_since >= self.give_up_after_s:
                    raise QueueStalledError(self._stall_message(idle) + f"; gave up after "
                                            f"{self.give_up_after_s:.0f}s, the units were withdrawn")
            elif stalled_since is not None:
                stalled_since = None
                self._report("running", None)

    def close(self) -> None:
        """Withdraw this queue's units (those with a result are normally gone already), delete the
        result stream; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            ids = [p.msg_id for p in self._pending.values()]
            pipe = self._client.pipeline(transaction=False)
            if ids:
                pipe.xdel(self.stream, *ids)
            pipe.delete(self.reply_stream, alive_key(self.reply_stream))
            pipe.execute()
        except Exception:   # noqa: S110 - best effort: workers drop units of a dead coordinator anyway
            pass
        finally:
            self._client.close()

    # --- status ---------------------------------------------------------------------------------
    def set_status_hook(self, hook: StatusHook) -> None:
        """``hook(status, detail)`` hears ``stalled`` (again every 30 s) and ``running`` on recovery."""
        self._hook = hook

    def live_workers(self) -> int:
        """Workers whose heartbeat (broker clock) is younger than ``worker_ttl_s``."""
        now = server_time(self._client)
        return int(sync(self._client.zcount(workers_key(self.stream), now - self.worker_ttl_s, "+inf")))

    def status(self) -> dict[str, Any]:
        """Counts for logs and tests: units submitted, results kept, duplicates dropped, live workers."""
        return {"units": len(self._pending), "done": len(self._done), "duplicates": self.duplicates,
                "stalls": self.stalls, "live_workers": self.live_workers(), "stream": self.stream,
                "reply_stream": self.reply_stream}

    # --- internals ------------------------------------------------------------------------------
    def _accept(self, fields: dict[bytes, bytes]) -> UnitResult | None:
        batch_id, res, payload, worker = decode_result(fields)
        key = (batch_id, res.unit_id)
        if key not in self._pending or key in self._done:
            self.duplicates += 1            # at-least-once: a redelivered unit's second result
            return None
        unit = self._pending[key].unit
        if payload is not None and not res.error:
            d = Path(unit.staging_dir) / batch_id
            d.mkdir(parents=True, exist_ok=True)
            final = d / f"unit-{res.unit_id:05d}.parquet"
            tmp = d / f".unit-{res.unit_id:05d}.{os.getpid()}.{uuid.uuid4().hex[:6]}.tmp"
            tmp.write_bytes(payload)
            os.replace(tmp, final)          # whole or absent; a rewrite replaces, never appends
            res.path = str(final)
        elif res.error:
            res.error = f"[worker {worker}] {res.error}"[:1000]
        self._done.add(key)
        return res

    def _touch_alive(self) -> None:
        sync(self._client.set(alive_key(self.reply_stream), dt.datetime.now(dt.UTC).isoformat(),
                              ex=self.alive_ttl_s))

    def _requeue_lost(self) -> None:
        """Re-add units the broker no longer holds (it restarted without persistence)."""
        for key, p in self._pending.items():
            if key in self._done:
                continue
            if not sync(self._client.xrange(self.stream, p.msg_id, p.msg_id, count=1)):
                pending = sync(self._client.xpending_range(self.stream, self.group, p.msg_id, p.msg_id, 1))
                if not pending:
                    p.msg_id = as_bytes(sync(self._client.xadd(self.stream, p.fields)))

    def _stall_message(self, idle: float) -> str:
        waiting = len(self._pending) - len(self._done)
        return (f"stalled: no result for {idle:.0f}s and no live worker on stream {self.stream} at "
                f"{redacted(self.url)}; {waiting} of {len(self._pending)} units are queued and will run when "
                f"a worker starts (nbaprops worker --redis-url URL)")

    def _report(self, status: str, detail: str | None) -> None:
        if self._hook is not None:
            self._hook(status, detail)
