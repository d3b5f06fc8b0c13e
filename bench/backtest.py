"""Benchmark: wall time of a one-season walk-forward backtest with weekly retraining.

Usage: python bench/backtest.py [--db PATH] [--data ../shared/data] [--from 2023-10-24 --to 2024-04-14]
Builds the warehouse first if --db does not exist. Prints:
  backtest season=... slates=... retrains=... wall_s=... train_s=... per_slate_s=... goal_s=600
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from nbaprops.config import load_settings
from nbaprops.evaluate.backtest import run_backtest
from nbaprops.pipeline.backfill import BackfillReport, buildable_range, load_files
from nbaprops.pipeline.builds import run_phases
from nbaprops.warehouse import connect


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=root.parent / "shared" / "data")
    ap.add_argument("--from", dest="lo", default="2023-10-24")
    ap.add_argument("--to", dest="hi", default="2024-04-14")
    ap.add_argument("--retrain-every", type=int, default=7)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "bench.duckdb"
    settings = load_settings(db=db)
    fresh = not db.exists()
    con = connect(db, threads=settings.threads)
    if fresh:
        report = BackfillReport()
        load_files(con, args.data, report)
        span = buildable_range(con)
        assert span is not None
        run_phases(con, settings, span[0], span[1])
    t0 = time.perf_counter()
    res = run_backtest(con, settings, dt.date.fromisoformat(args.lo), dt.date.fromisoformat(args.hi),
                       retrain_every_days=args.retrain_every)
    wall = time.perf_counter() - t0
    train_s = sum(b["train_seconds"] for b in res["blocks"])
    print(f"backtest season={args.lo}..{args.hi} slates={res['dates']} retrains={len(res['blocks'])} "
          f"wall_s={wall:.0f} train_s={train_s:.0f} per_slate_s={(wall - train_s) / max(res['dates'], 1):.2f} "
          f"graded_rows={res['graded_rows']} goal_s=600")
    tmp.cleanup()


if __name__ == "__main__":
    main()
