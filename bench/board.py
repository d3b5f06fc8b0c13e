"""Benchmark: the prop board of the largest shared slate (2024-04-14), query and full page render.

Usage: python bench/board.py [--db PATH | --work DIR] [--data ../shared/data] [--date 2024-04-14] [--repeat 20]

Without ``--db`` a warehouse is built in a temporary directory through the CLI (``backfill --data``,
``train --until DATE``, ``predict --date DATE``; see ``bench/api_load.py``'s ``prepare``); with ``--db`` a
model set is trained and the date predicted only when missing; ``--work DIR`` builds (or reuses) the
warehouse in DIR instead of a temporary directory. Then, in this process:

* ``Project.board(DATE)`` (the four queries and the cards) ``--repeat`` times;
* ``GET /board?date=DATE`` through the FastAPI app (TestClient: queries, cards, Jinja render, no
  network) ``--repeat`` times, and once per filter/sort combination the page offers.

Prints::

    board date=... cards=... market_rows=... html_bytes=...
    query  n=... p50_ms=... p90_ms=... max_ms=... cpu_p50_ms=...
    render n=... p50_ms=... p90_ms=... max_ms=... cpu_p50_ms=... rows_per_s=... goal_p90_ms=1000
    filtered n=... p50_ms=... max_ms=...

``rows_per_s`` is market rows (one per player and quoted market) rendered per second at the p50 wall
time. ``cpu_p50_ms`` is the process CPU time per call (all threads: DuckDB's and the handler's), which
other processes on a busy machine do not inflate as they inflate the wall time.
The first request (template compilation, cold caches) is left out of the figures and printed apart.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
GOAL_P90_MS = 1000.0


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--date", default="2024-04-14")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--work", type=Path, default=None, help="build or reuse the warehouse here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)      # a failing request logs its traceback

    from api_load import prepare
    from fastapi.testclient import TestClient

    from nbaprops.api import create_app
    from nbaprops.config import Settings

    with tempfile.TemporaryDirectory(prefix="nbaprops-board-") as tmp:
        work = Path(tmp)
        db = args.db
        if args.work is not None:
            work = args.work
            work.mkdir(parents=True, exist_ok=True)
            if (work / "nbaprops.duckdb").exists():
                db = work / "nbaprops.duckdb"
        db = prepare(db, args.data, args.date, work)
        settings = Settings(db=db)
        app = create_app(settings)
        with TestClient(app) as client:
            project = app.state.nbaprops.project
            t0 = time.perf_counter()
            first = client.get("/board", params={"date": args.date})
            cold_ms = (time.perf_counter() - t0) * 1000
            if first.status_code != 200:
                raise SystemExit(f"/board answered {first.status_code}: {first.text[:500]}")
            _, _, data = project.board(args.date)
            rows = sum(len(c["markets"]) for c in data.cards)
            print(f"board date={args.date} cards={len(data.cards)} market_rows={rows} html_bytes={len(first.content)} "
                  f"cold_ms={cold_ms:.0f}", flush=True)

            query_ms, query_cpu = [], []
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                project.board(args.date)
                query_ms.append((time.perf_counter() - t0) * 1000)
                query_cpu.append((time.process_time() - c0) * 1000)
            print(f"query  n={len(query_ms)} p50_ms={statistics.median(query_ms):.0f} "
                  f"p90_ms={_pct(query_ms, 0.9):.0f} max_ms={max(query_ms):.0f} "
                  f"cpu_p50_ms={statistics.median(query_cpu):.0f}", flush=True)

            render_ms, render_cpu = [], []
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                r = client.get("/board", params={"date": args.date})
                render_ms.append((time.perf_counter() - t0) * 1000)
                render_cpu.append((time.process_time() - c0) * 1000)
                assert r.status_code == 200
            p50 = statistics.median(render_ms)
            print(f"render n={len(render_ms)} p50_ms={p50:.0f} p90_ms={_pct(render_ms, 0.9):.0f} "
                  f"max_ms={max(render_ms):.0f} cpu_p50_ms={statistics.median(render_cpu):.0f} "
                  f"rows_per_s={rows / (p50 / 1000):.0f} goal_p90_ms={GOAL_P90_MS:.0f}", flush=True)

            combos = [{"sort": s} for s in ("p_over", "edge", "line", "hit_10", "streak", "player", "team", "game")]
            combos += [{"market": m["key"], "sort": "streak"} for m in data.markets]
            combos += [{"team": t} for t in data.teams[:5]] + [{"recommendation": "OVER", "min_ev": "0"}]
            filtered_ms = []
            for params in combos:
                t0 = time.perf_counter()
                r = client.get("/board", params={"date": args.date, **params})
                filtered_ms.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 200, (params, r.status_code)
            print(f"filtered n={len(filtered_ms)} p50_ms={statistics.median(filtered_ms):.0f} "
                  f"max_ms={max(filtered_ms):.0f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
