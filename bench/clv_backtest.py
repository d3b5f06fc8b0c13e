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

import numpy as np
import pandas as pd

from nbaprops.config import load_settings
from nbaprops.evaluate.grade import grade_dates, load_graded
from nbaprops.evaluate.metrics import summarize
from nbaprops.evaluate.metrics.clv import consensus_clv_rows
from nbaprops.models.registry import read_manifest
from nbaprops.odds import american_to_decimal
from nbaprops.predict.coordinator import start_batch
from nbaprops.warehouse import connect


def shopping(graded: pd.DataFrame) -> dict[str, float]:
    """Line shopping on one system's rows with a line: how often the best price beats the chosen book's,
    and the EV at the closing fair probability at the best vs the posted price."""
    rows = consensus_clv_rows(graded)
    rows = rows[np.isfinite(rows["clv_side"].to_numpy(float)) & rows["system_id"].eq("catboost")]
    over = rows["clv_side"].to_numpy(float) > 0
    posted = np.where(over, rows["over_price"].to_numpy(float), rows["under_price"].to_numpy(float))
    best = rows["best_price"].to_numpy(float)
    d_best = np.asarray(american_to_decimal(best), dtype=float)
    d_posted = np.asarray(american_to_decimal(posted), dtype=float)
    p_close = np.where(over, rows["closing_p_over"].to_numpy(float), 1 - rows["closing_p_over"].to_numpy(float))
    ok = np.isfinite(d_best) & np.isfinite(d_posted) & np.isfinite(p_close)
    return {"n": int(ok.sum()), "share_better": float(np.mean(d_best[ok] > d_posted[ok])),
            "mean_decimal_gain": float(np.mean(d_best[ok] - d_posted[ok])),
            "ev_close_best": float(np.mean(p_close[ok] * d_best[ok] - 1)),
            "ev_close_posted": float(np.mean(p_close[ok] * d_posted[ok] - 1)),
            "mean_books": float(np.nanmean(rows["books_quoting"].to_numpy(float)))}


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
    print("line shopping (catboost rows with a line):", json.dumps(shopping(graded)))
    for rec in summary["consensus_clv"] or []:
        print(json.dumps(rec))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
