"""CLV of a finished walk-forward backtest, re-predicted at the open (each player-game's first snapshot).

Usage: python bench/clv_backtest.py --db PATH --from D1 --to D2 [--market-at open|close]
Needs a warehouse on which ``nbaprops backtest --from D1 --to D2`` ran (its weekly model sets are in
``<models>/backtest``). Each date is predicted again with the newest model set trained before it
(the same walk-forward rule, no retraining), the market read at ``--market-at``; then graded and
summarised. Prints per system: bets, hit rate, ROI at the best price and at the posted price, and
CLV (line move, fair-probability move, EV of the taken price at the closing fair probability) with
slate-clustered 95% intervals; ``moved`` counts the predictions whose close is a later snapshot.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from nbaprops.config import load_settings
from nbaprops.evaluate.grade import grade_dates, load_graded
from nbaprops.evaluate.metrics import summarize
from nbaprops.models.registry import read_manifest
from nbaprops.predict.coordinator import start_batch
from nbaprops.warehouse import connect


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--from", dest="lo", required=True)
    ap.add_argument("--to", dest="hi", required=True)
    ap.add_argument("--market-at", default="open", choices=("open", "close"))
    ap.add_argument("--out", type=Path, default=None, help="write the metrics.json here")
    args = ap.parse_args()
    lo, hi = dt.date.fromisoformat(args.lo), dt.date.fromisoformat(args.hi)
    settings = load_settings(db=args.db)
    con = connect(args.db)
    bt_dir = settings.model_path / "backtest"
    sets = sorted((dt.date.fromisoformat(read_manifest(bt_dir, d.name)["trained_until"]), d.name)
                   for d in bt_dir.iterdir() if d.is_dir() and (d / "manifest.json").is_file())
    dates = [r[0] for r in con.execute("""SELECT DISTINCT game_date FROM feature_store
                                          WHERE game_date BETWEEN ? AND ? AND is_expected ORDER BY 1""",
                                       [lo, hi]).fetchall()]
    t0 = time.perf_counter()
    for d in dates:
        usable = [name for until, name in sets if until <= d]
        if not usable:
            continue
        start_batch(con, settings, d, force=True, model_dir=bt_dir, model_set=usable[-1], market_at=args.market_at)
    grade_dates(con, lo, hi)
    graded = load_graded(con, lo, hi)
    summary = summarize(graded)
    print(f"dates={len(dates)} predictions={len(graded)} market_at={args.market_at} "
          f"seconds={time.perf_counter() - t0:.0f}")
    for rec in summary["betting"]:
        print(f"{rec['system_id']}: bets={rec['bets']} hit={rec['hit_rate']} roi={rec['roi']} "
              f"roi_ci=[{rec['roi_ci_low']}, {rec['roi_ci_high']}] roi_posted={rec.get('roi_posted')}")
    for rec in summary["consensus_clv"] or []:
        print(json.dumps(rec))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
