"""Benchmark: the API under 200 concurrent clients, and whether /health stays fast meanwhile.

Usage: python bench/api_load.py [--db PATH] [--data ../shared/data] [--date 2024-04-10]
                                [--clients 200] [--procs 2] [--seconds 20] [--max-requests 300000]
                                [--port 0]

Without ``--db`` a warehouse is built in a temporary directory through the CLI (``backfill --data``,
``train --until DATE``, ``predict --date DATE``); with ``--db`` a model set is trained and the date
predicted only when missing. Then ``nbaprops serve`` is started on 127.0.0.1 (only there) and, for
``--seconds``, ``--clients`` concurrent clients (half on ``/slate?date=D``, half on
``/predictions?date=D``; one httpx.AsyncClient each, spread over ``--procs`` processes) request as
fast as they can while a separate process probes ``/health`` every 20 ms on its own connection. Prints::

    health n=... p50_ms=... p90_ms=... p99_ms=... max_ms=... errors=... goal_p99_ms=100
    /predictions n=... req_s=... errors=... p50_ms=... p99_ms=... goal_req_s=300
    /slate n=... req_s=... errors=... p50_ms=... p99_ms=... goal_req_s=100

Bounded: it stops after ``--seconds`` (at most 120) or ``--max-requests``, whichever comes first, and
always stops the server it started. The load generator shares the machine with the server, so the
rates are a floor for what the server does alone.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"     # the only address this bench talks to
MAX_SECONDS = 120.0
GOALS = {"health_p99_ms": 100.0, "/predictions": 300.0, "/slate": 100.0}


def _cli(*args: str) -> str:
    """Run ``nbaprops ARGS`` with this interpreter (the same nbaprops the bench imports)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "nbaprops", *args], capture_output=True, text=True, env=env,
                          timeout=1800, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"nbaprops {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def prepare(db: Path | None, data: Path, date: str, work: Path) -> Path:
    """A warehouse with a served model set and predictions for ``date`` (built when ``db`` is None)."""
    import json

    if db is None:
        db = work / "nbaprops.duckdb"
        t0 = time.perf_counter()
        _cli("--db", str(db), "backfill", "--data", str(data), "--json")
        print(f"built {db} from {data} in {time.perf_counter() - t0:.0f}s", flush=True)
    models = json.loads(_cli("--db", str(db), "models", "--json"))
    if not any(m.get("served") for m in models):
        _cli("--db", str(db), "train", "--until", date, "--json")
        print(f"trained a model set until {date}", flush=True)
    if not _complete(db, date):
        rows = json.loads(_cli("--db", str(db), "predict", "--date", date, "--json"))
        print(f"predicted {date}: {rows['rows']} rows (batch {rows['batch_id']})", flush=True)
    return db


def _complete(db: Path, date: str) -> bool:
    """Whether the date's latest prediction batch is complete (its rows are what the API serves)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("""SELECT status FROM prediction_batches WHERE game_date = ?
                             ORDER BY started_at DESC LIMIT 1""", [date]).fetchone()
        return bool(row and str(row[0]).startswith("complete"))
    finally:
        con.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(db: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    env.pop("NBAPROPS_API_KEY", None)
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "nbaprops", "--db", str(db), "serve", "--host", HOST,
                                 "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    with httpx.Client(base_url=f"http://{HOST}:{port}", timeout=5) as c:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
            with suppress(httpx.HTTPError):
                if c.get("/ready").status_code == 200:
                    return proc
            time.sleep(0.3)
    stop_server(proc)
    raise SystemExit(f"the server was not ready within 120 s:\n{log.read_text()[-3000:]}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _probe_health(base: str, seconds: float, every_s: float, out: Any) -> None:
    """In its own process: GET /health every ``every_s`` on one keep-alive connection."""
    lat: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=30) as c:
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                ok = c.get("/health").status_code == 200
            except httpx.HTTPError:
                ok = False
            dt_ = time.perf_counter() - t0
            if ok:
                lat.append(dt_)
            else:
                errors += 1
            time.sleep(max(0.0, every_s - dt_))
    out.send((lat, errors))
    out.close()


async def _load(base: str, paths: list[str], clients: int, seconds: float, max_requests: int
                ) -> dict[str, dict[str, Any]]:
    """``clients`` independent clients (one httpx.AsyncClient and keep-alive connection each, created
    before the clock starts), each on one of ``paths`` (alternating), until the time or the budget is spent.

    One shared AsyncClient with 200 connections measures httpcore's pool instead (its request
    assignment scans every connection: ~80 req/s whatever the server does), hence one client each.
    """
    stats: dict[str, dict[str, Any]] = {p: {"n": 0, "errors": 0, "lat": [], "error_kinds": {}} for p in paths}
    budget = [max_requests]
    pool = [httpx.AsyncClient(base_url=base, timeout=60, verify=False) for _ in range(clients)]
    deadline = time.monotonic() + seconds

    async def client(c: httpx.AsyncClient, path: str) -> None:
        st = stats[path]
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            t0 = time.perf_counter()
            try:
                async with c.stream("GET", path) as r:
                    size = 0
                    async for chunk in r.aiter_raw():    # read every byte, keep none (less client CPU)
                        size += len(chunk)
                ok = r.status_code == 200 and size > 0
                kind = str(r.status_code)
            except httpx.HTTPError as exc:
                ok, kind = False, type(exc).__name__
            if ok:
                st["n"] += 1
                st["lat"].append(time.perf_counter() - t0)
            else:
                st["errors"] += 1
                st["error_kinds"][kind] = st["error_kinds"].get(kind, 0) + 1

    t0 = time.monotonic()
    try:
        await asyncio.gather(*(client(c, paths[i % len(paths)]) for i, c in enumerate(pool)))
    finally:
        elapsed = time.monotonic() - t0
        await asyncio.gather(*(c.aclose() for c in pool))
    for st in stats.values():
        st["seconds"] = elapsed
    return stats


def _load_process(base: str, paths: list[str], clients: int, seconds: float, max_requests: int, out: Any) -> None:
    """One load process: its share of the clients, its stats (and CPU seconds) sent back through ``out``."""
    cpu = time.process_time()
    stats = asyncio.run(_load(base, paths, clients, seconds, max_requests))
    out.send((stats, time.process_time() - cpu))
    out.close()


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def run_load(base: str, paths: list[str], clients: int, seconds: float, max_requests: int, procs: int
             ) -> tuple[dict[str, dict[str, Any]], float]:
    """``clients`` split over ``procs`` processes (one Python process parsing 200 responses of up to
    400 KB is itself the bottleneck); their stats merged per path."""
    ctx = mp.get_context("spawn")
    shares = [clients // procs + (1 if i < clients % procs else 0) for i in range(procs)]
    running = []
    for i, share in enumerate(shares):
        recv, send = ctx.Pipe(duplex=False)
        # each process keeps the half/half split of the paths, starting where the previous one ended
        order = paths[i % len(paths):] + paths[:i % len(paths)]
        proc = ctx.Process(target=_load_process, args=(base, order, share, seconds, max_requests // procs, send))
        proc.start()
        running.append((proc, recv))
    merged: dict[str, dict[str, Any]] = {p: {"n": 0, "errors": 0, "lat": [], "error_kinds": {}, "seconds": 0.0}
                                         for p in paths}
    load_cpu = 0.0
    for proc, recv in running:
        if not recv.poll(seconds + 120):
            proc.kill()
            raise SystemExit("a load process did not report back")
        stats, cpu = recv.recv()
        load_cpu += cpu
        for path, st in stats.items():
            m = merged[path]
            m["n"] += st["n"]
            m["errors"] += st["errors"]
            m["lat"] += st["lat"]
            m["seconds"] = max(m["seconds"], st["seconds"])
            for k, v in st["error_kinds"].items():
                m["error_kinds"][k] = m["error_kinds"].get(k, 0) + v
        proc.join(30)
    return merged, load_cpu


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, help="a built warehouse (default: build one in a tmp dir)")
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--date", default="2024-04-10")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--max-requests", type=int, default=300_000)
    ap.add_argument("--procs", type=int, default=2, help="load-generating processes sharing the clients")
    ap.add_argument("--port", type=int, default=0, help="default: a free port")
    args = ap.parse_args()
    seconds = min(max(args.seconds, 1.0), MAX_SECONDS)
    clients = max(2, min(args.clients, 1000))
    procs = max(1, min(args.procs, clients // 2, 8))

    work = Path(tempfile.mkdtemp(prefix="nbaprops-api-load-"))
    try:
        db = prepare(args.db.resolve() if args.db else None, args.data.resolve(), args.date, work)
        port = args.port or _free_port()
        base = f"http://{HOST}:{port}"
        server = start_server(db, port, work / "server.log")
        try:
            paths = [f"/slate?date={args.date}", f"/predictions?date={args.date}"]
            with httpx.Client(base_url=base, timeout=60) as c:   # warm: models, first render, caches
                for p in paths:
                    r = c.get(p)
                    print(f"warm {p}: {r.status_code}, {len(r.content):,} bytes", flush=True)
            recv, send = mp.Pipe(duplex=False)
            prober = mp.get_context("spawn").Process(target=_probe_health, args=(base, seconds, 0.02, send))
            prober.start()
            server_cpu = _cpu_seconds(server.pid)
            stats, load_cpu = run_load(base, paths, clients, seconds, args.max_requests, procs)
            server_end = _cpu_seconds(server.pid)
            server_cpu = server_end - server_cpu if server_cpu is not None and server_end is not None else None
            lat, health_errors = recv.recv() if recv.poll(seconds + 30) else ([], -1)
            prober.join(10)
        finally:
            stop_server(server)
        print(f"clients={clients} procs={procs} seconds={seconds:.0f} date={args.date} cpus={os.cpu_count()} "
              f"server_cpu_s={'n/a' if server_cpu is None else f'{server_cpu:.1f}'} load_cpu_s={load_cpu:.1f}")
        print(f"health n={len(lat)} p50_ms={_pct(lat, 0.5):.1f} p90_ms={_pct(lat, 0.9):.1f} "
              f"p99_ms={_pct(lat, 0.99):.1f} max_ms={max(lat, default=float('nan')) * 1000:.1f} "
              f"errors={health_errors} goal_p99_ms={GOALS['health_p99_ms']:.0f}")
        for p, st in stats.items():
            name = p.split("?")[0]
            rate = st["n"] / st["seconds"] if st["seconds"] else 0.0
            kinds = ",".join(f"{k}:{v}" for k, v in st["error_kinds"].items()) or "-"
            print(f"{name} n={st['n']} req_s={rate:.1f} errors={st['errors']} ({kinds}) "
                  f"p50_ms={statistics.median(st['lat']) * 1000 if st['lat'] else float('nan'):.1f} "
                  f"p99_ms={_pct(st['lat'], 0.99):.1f} goal_req_s={GOALS[name]:.0f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
