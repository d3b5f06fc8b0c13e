"""Benchmark: wall time of a one-season walk-forward backtest with weekly retraining, serial and on Ray.

Usage: python bench/backtest.py [--db PATH] [--data ../shared/data] [--from 2023-10-24 --to 2024-04-14]
                                [--executor serial,ray] [--workers 1,2] [--threads 1]
Builds the warehouse first if --db does not exist. Runs the serial backtest once (the baseline), then
the Ray backtest on a local Ray of each --workers size (Ray started and stopped per run). Prints one
line per run:
  backtest executor=... workers=... slates=... retrains=... wall_s=... train_task_s=... speedup=... efficiency=...
      worker_max_rss_mb=...
then a projection for a cluster from the measured per-task times:
  wall(n) ~= driver_s + max(longest_task_s, train_task_s / n)
(speedup = serial wall / this wall; efficiency = speedup / workers). ``--threads`` is the boosted
trees' thread count per fit in every run (1 = one core per task, so serial and Ray do the same work).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path
from typing import Any

from _warehouse import open_or_build

from nbaprops.config import load_settings
from nbaprops.evaluate.backtest import run_backtest
from nbaprops.executors import make_executor


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=root.parent / "shared" / "data")
    ap.add_argument("--from", dest="lo", default="2023-10-24")
    ap.add_argument("--to", dest="hi", default="2024-04-14")
    ap.add_argument("--retrain-every", type=int, default=7)
    ap.add_argument("--executor", default="serial,ray", help="serial, ray or both (serial,ray)")
    ap.add_argument("--workers", type=_ints, default=[1, 2], help="Ray worker counts, e.g. 1,2")
    ap.add_argument("--threads", type=int, default=1, help="threads per fit (xgboost/catboost) in every run")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "bench.duckdb"
    settings = load_settings(db=db).model_copy(update={"threads": args.threads})
    con = open_or_build(db, args.data, settings)
    lo, hi = dt.date.fromisoformat(args.lo), dt.date.fromisoformat(args.hi)
    runs: list[tuple[str, int]] = []
    executors = args.executor.split(",")
    if "serial" in executors:
        runs.append(("serial", 1))
    if "ray" in executors:
        runs += [("ray", w) for w in args.workers]
    serial_wall: float | None = None
    last: dict[str, Any] = {}
    for name, workers in runs:
        ex = make_executor(name, workers)   # Ray's start-up is outside the timed run
        try:
            t0 = time.perf_counter()
            res = run_backtest(con, settings, lo, hi, retrain_every_days=args.retrain_every, executor=ex)
            wall = time.perf_counter() - t0
        finally:
            ex.close()
        tasks = [b["train_seconds"] for b in res["blocks"]]
        train_s = sum(tasks)
        rss: dict[int, float] = {}
        for b in res["blocks"]:
            rss[b["worker_pid"]] = max(rss.get(b["worker_pid"], 0.0), b["worker_max_rss_mb"])
        if name == "serial":
            serial_wall = wall
        speedup = serial_wall / wall if serial_wall else float("nan")
        print(f"backtest executor={name} workers={workers} season={args.lo}..{args.hi} slates={res['dates']} "
              f"retrains={len(tasks)} wall_s={wall:.1f} train_task_s={train_s:.1f} longest_task_s={max(tasks):.1f} "
              f"speedup={speedup:.2f} efficiency={speedup / workers:.2f} graded_rows={res['graded_rows']} "
              f"worker_max_rss_mb={','.join(f'{v:.0f}' for v in sorted(rss.values()))}", flush=True)
        last = {"wall": wall, "train_s": train_s, "longest": max(tasks), "workers": workers, "name": name}
    if last and serial_wall:
        # what the driver does alone (read frames, predict, grade) = serial wall - the fits it ran
        serial_driver = serial_wall - last["train_s"] if last["name"] == "serial" else None
        driver_s = serial_driver if serial_driver is not None else max(last["wall"] - last["train_s"] / last["workers"], 0.0)
        for n in (4, 8, 16, 32):
            proj = driver_s + max(last["longest"], last["train_s"] / n)
            print(f"projection workers={n} wall_s~{proj:.0f} speedup~{serial_wall / proj:.1f} "
                  f"(driver_s={driver_s:.0f} + max(longest_task_s, train_task_s/{n}))")
    tmp.cleanup()


if __name__ == "__main__":
    main()
