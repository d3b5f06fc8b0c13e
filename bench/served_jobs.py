"""One warehouse for the server and the jobs: what it costs.

Starts ``nbaprops serve`` on a built warehouse (127.0.0.1 only), then measures:

* DuckDB's own multi-process mode is not an option: a second process cannot open the file, even
  read-only, while the server holds it (printed as the first row);
* a CLI command run directly (no server) vs handed to the server (``status --date D --json``);
* ``/predictions?date=D`` latency with the server idle and while a delegated
  ``run --date D --only predict --force`` replaces the date's batch, and how many reads failed or saw
  a mix of batches (must be 0).

Usage: python bench/served_jobs.py --db WAREHOUSE [--date 2024-04-10] [--seconds 20]
The warehouse needs a served model set and predictions for the date (``nbaprops train`` + ``predict``).
Bounded: every loop stops after --seconds; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import httpx

KEY = "bench-served-jobs"
CLI = "import sys; from nbaprops.cli import main; sys.argv[0] = 'nbaprops'; main()"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NBAPROPS_")}
    env["NBAPROPS_API_KEY"] = KEY
    return env


def _cli(db: Path, *args: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-c", CLI, "--db", str(db), *args], env=_env(), capture_output=True,
                         text=True, timeout=900, check=False)
    return time.perf_counter() - t0, res.returncode


def _pct(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def _reads(url: str, day: str, seconds: float, stop: threading.Event) -> tuple[list[float], int, int]:
    lat, bad, mixed = [], 0, 0
    end = time.monotonic() + seconds
    with httpx.Client(timeout=60) as c:
        while time.monotonic() < end and not stop.is_set():
            t0 = time.perf_counter()
            r = c.get(f"{url}/predictions", params={"date": day, "limit": 5000})
            lat.append(time.perf_counter() - t0)
            if r.status_code != 200:
                bad += 1
            elif len({it["batch_id"] for it in r.json()["items"]}) != 1:
                mixed += 1
    return lat, bad, mixed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--date", default="2024-04-10")
    ap.add_argument("--seconds", type=float, default=20.0)
    a = ap.parse_args()
    db = a.db.resolve()

    direct_s, rc = _cli(db, "status", "--date", a.date, "--json")
    assert rc == 0, "status failed without a server"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-c", CLI, "--db", str(db), "serve", "--port", str(port)],
                              env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/predictions", params={"date": a.date, "limit": 1}, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        try:
            duckdb.connect(str(db), read_only=True).close()
            second = "opened (unexpected)"
        except duckdb.Error as exc:
            second = f"refused ({type(exc).__name__})"
        print(f"second process, read-only open while served : {second}")

        served_s, rc = _cli(db, "status", "--date", a.date, "--json")
        print(f"status --date --json direct (no server)      : {direct_s:.2f} s")
        print(f"status --date --json through the server     : {served_s:.2f} s (exit {rc})")

        stop = threading.Event()
        idle, bad_i, mixed_i = _reads(url, a.date, min(a.seconds, 10.0), stop)
        out: dict[str, tuple[list[float], int, int]] = {}

        def during() -> None:
            out["r"] = _reads(url, a.date, a.seconds * 10, stop)

        t = threading.Thread(target=during)
        t.start()
        run_s, rc = _cli(db, "run", "--date", a.date, "--only", "predict", "--force", "--json")
        stop.set()
        t.join()
        busy, bad_b, mixed_b = out["r"]
        for name, xs, bad, mixed in (("idle", idle, bad_i, mixed_i), ("during run", busy, bad_b, mixed_b)):
            print(f"/predictions {name:<11}: n={len(xs):4d} p50 {statistics.median(xs) * 1000:6.0f} ms "
                  f"p99 {_pct(xs, 0.99) * 1000:6.0f} ms  errors {bad}  mixed batches {mixed}")
        print(f"run --only predict --force through the server: {run_s:.1f} s (exit {rc})")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
