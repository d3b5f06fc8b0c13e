"""Benchmark: a full prediction slate on the Redis-streams backend with N ``nbaprops worker`` processes.

Usage: python bench/predict_slate_redis.py [--db PATH] [--data ../shared/data] [--workers 1,2,4] [--runs 3]
                                           [--date D] [--unit-size N] [--redis-url URL]

Uses the same warehouse as ``bench/predict_slate.py`` (built from ``--data`` when missing, a model set
trained when none is served). Without ``--redis-url`` it starts a private ``redis-server`` on a free
127.0.0.1 port (needs ``redis-server`` on PATH) and stops it at the end. For each worker count it
starts that many ``nbaprops worker`` processes on a fresh stream, warms them (every worker has run a
unit, so models are loaded), then times start -> consolidated and prints:

    slate 2024-04-14 players=... rows=... backend=inline workers=1 units=... median_s=... rows_per_s=... runs=3
    slate 2024-04-14 players=... rows=... backend=redis workers=2 units=... median_s=... rows_per_s=... runs=3

The inline line is the single-process baseline on the same machine. Workers compete with the
coordinator for this machine's cores; on several machines the figure scales with them.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from predict_slate import _timed, ensure_warehouse, largest_slate_date  # bench/predict_slate.py (same folder)

import nbaprops.predict.coordinator as coordinator
from nbaprops.config import Settings
from nbaprops.models.registry import served_model_set
from nbaprops.models.training import train_models
from nbaprops.predict.coordinator import BatchResult, start_batch
from nbaprops.predict.queue import InlineQueue
from nbaprops.predict.redis_queue import RedisStreamQueue, connect_redis, workers_key

ROOT = Path(__file__).resolve().parents[1]
CLI = "from nbaprops.cli import main; main()"


def ensure_model(con: duckdb.DuckDBPyConnection, settings: Settings, until: dt.date) -> str:
    served = served_model_set(settings.model_path, required=False)
    if served:
        return served
    t0 = time.perf_counter()
    manifest = train_models(con, settings.model_path, until, thread_count=settings.threads)
    print(f"trained {manifest['model_set']} (until {until}) in {time.perf_counter() - t0:.1f}s", flush=True)
    return str(manifest["model_set"])


@contextmanager
def redis_server(url: str | None) -> Iterator[str]:
    """``url`` as given, or a private redis-server on a free 127.0.0.1 port for the block."""
    if url:
        yield url
        return
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is not on PATH: install it (apt-get install -y redis-server) or pass --redis-url")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    d = tempfile.mkdtemp(prefix="nbaprops-bench-redis-")
    proc = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", d], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        for _ in range(100):
            try:
                connect_redis(url).close()
                break
            except Exception:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        shutil.rmtree(d, ignore_errors=True)


@contextmanager
def worker_pool(url: str, stream: str, n: int, model_dir: Path, logdir: Path) -> Iterator[list[Path]]:
    """``n`` ``nbaprops worker`` processes on ``stream``; yields their log files; SIGTERM at the end."""
    procs: list[subprocess.Popen[bytes]] = []
    logs = [logdir / f"{stream.replace(':', '_')}-{i}.log" for i in range(n)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBAPROPS_")}
    try:
        for log in logs:
            procs.append(subprocess.Popen(
                [sys.executable, "-c", CLI, "worker", "--redis-url", url, "--stream", stream,
                 "--model-dir", str(model_dir), "--idle-exit", "900"],
                stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env))
        client = connect_redis(url)
        deadline = time.monotonic() + 120
        while int(client.zcard(workers_key(stream))) < n:
            if time.monotonic() > deadline:
                raise SystemExit(f"{n} workers did not start; see {logdir}")
            time.sleep(0.2)
        client.close()
        yield logs
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def timed(fn: Callable[[], BatchResult], runs: int) -> tuple[float, BatchResult]:
    """Median wall seconds of ``runs`` batches, and the last result (which must be complete)."""
    def checked() -> BatchResult:
        res = fn()
        if res.status != "complete":
            raise SystemExit(f"batch {res.batch_id} ended {res.status}")
        return res

    median, res = _timed(checked, runs)
    return median, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "nbaprops-bench" / "warehouse.duckdb")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    ap.add_argument("--runs", type=int, default=3, help="timed batches per figure (after warm-up)")
    ap.add_argument("--date", type=dt.date.fromisoformat, default=None, help="slate date (default: largest)")
    ap.add_argument("--unit-size", type=int, default=coordinator.UNIT_SIZE, help="players per work unit")
    ap.add_argument("--redis-url", default=os.environ.get("NBAPROPS_REDIS_URL"),
                    help="an existing broker (default: start a private redis-server)")
    ap.add_argument("--threads", type=int, default=2, help="DuckDB threads")
    args = ap.parse_args()
    counts = [int(w) for w in str(args.workers).split(",") if w.strip()]
    coordinator.UNIT_SIZE = args.unit_size

    settings = Settings(db=args.db, model_dir=args.db.parent / "models", threads=args.threads)
    con = ensure_warehouse(args.db, args.data, args.threads)
    logdir = Path(tempfile.mkdtemp(prefix="nbaprops-bench-workers-"))
    try:
        d = args.date or largest_slate_date(con)[0]
        model_set = ensure_model(con, settings, d)
        print(f"warehouse {args.db} model_set={model_set} date={d} runs={args.runs} unit_size={args.unit_size} "
              f"cpus={os.cpu_count()}", flush=True)

        def line(backend: str, n: int, median: float, res: BatchResult, units: int) -> None:
            print(f"slate {d} players={res.expected_players} rows={res.rows} backend={backend} workers={n} "
                  f"units={units} median_s={median:.3f} rows_per_s={res.rows / median:,.0f} runs={args.runs}",
                  flush=True)

        start_batch(con, settings, d, queue=InlineQueue())         # warm-up
        median, res = timed(lambda: start_batch(con, settings, d, queue=InlineQueue()), args.runs)
        units = -(-res.expected_players // args.unit_size)
        line("inline", 1, median, res, units)

        with redis_server(args.redis_url) as url:
            for n in counts:
                stream = f"bench:{uuid.uuid4().hex[:8]}:units"

                def batch(stream: str = stream) -> BatchResult:
                    return start_batch(con, settings, d, queue=RedisStreamQueue(url, stream=stream))

                with worker_pool(url, stream, n, settings.model_path, logdir) as logs:
                    for _ in range(6):       # warm-up until every worker has loaded the models
                        batch()
                        if all("unit " in log.read_text(errors="replace") for log in logs):
                            break
                    median, res = timed(batch, args.runs)
                line("redis", n, median, res, units)
    finally:
        con.close()
        shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    main()
