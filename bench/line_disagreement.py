"""How far honest books disagree: the data the cross-book thresholds of the line gate are chosen on.

Usage: python bench/line_disagreement.py --db PATH (a backfilled warehouse)
For every player-game of the warehouse, each book's closing (newest pre-tip) points quote is compared
with the other books' (``nbaprops.predict.line_gate.cross_book_check`` with the thresholds off), the
line slope fitted walk-forward (``line_slopes``). Prints percentiles of |P(over) gap| (other books
moved to the quote's line; and same line only), |line gap| and the lag behind the newest other book,
and how many quotes each default threshold quarantines.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from nbaprops.predict.line_gate import CROSS_BOOK_LINE, CROSS_BOOK_PROB, STALE_AFTER, cross_book_check
from nbaprops.warehouse import connect
from nbaprops.warehouse.line_history import book_quotes, line_slopes

QS = (50, 90, 99, 99.5, 99.9, 100)


def _pct(name: str, x: np.ndarray) -> None:
    x = x[np.isfinite(x)]
    vals = " ".join(f"p{q}={v:.3f}" for q, v in zip(QS, np.percentile(x, QS), strict=True)) if x.size else "-"
    print(f"{name}: n={x.size} {vals}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    args = ap.parse_args()
    con = connect(args.db)
    lo, hi = con.execute("SELECT min(game_date), max(game_date) FROM line_quotes").fetchone() or (None, None)
    if lo is None:
        raise SystemExit("no quotes in the warehouse: backfill first")
    quotes = book_quotes(con, lo, hi)
    dates = sorted(pd.to_datetime(quotes["game_date"]).dt.date.unique())
    slopes = line_slopes(con, dates)
    frames = []
    for d, day in quotes.groupby(pd.to_datetime(quotes["game_date"]).dt.date):
        for moved in (True, False):
            slope = slopes[d][0] if moved else float("nan")
            chk = cross_book_check(day, slope=slope, prob_threshold=np.inf, line_threshold=np.inf,
                                   stale_after=pd.Timedelta(days=3650))
            chk["moved"] = moved
            frames.append(chk)
    allq = pd.concat(frames, ignore_index=True)
    mv, same = allq[allq["moved"]], allq[~allq["moved"]]
    print(f"quotes={len(quotes)} player_games={quotes.groupby(['game_date', 'player_id']).ngroups} "
          f"dates={len(dates)} {lo}..{hi}")
    _pct("|prob gap| others moved by slope", np.abs(mv["xb_prob_gap"].to_numpy(dtype=float)))
    _pct("|prob gap| same line only", np.abs(same["xb_prob_gap"].to_numpy(dtype=float)))
    _pct("|line gap|", np.abs(mv["xb_line_gap"].to_numpy(dtype=float)))
    _pct("lag behind the others' median quote time (h)", mv["xb_lag_seconds"].to_numpy(dtype=float) / 3600)
    print(f"defaults: prob>{CROSS_BOOK_PROB}: {(np.abs(mv['xb_prob_gap']) > CROSS_BOOK_PROB).sum()}, "
          f"line>{CROSS_BOOK_LINE}: {(np.abs(mv['xb_line_gap']) > CROSS_BOOK_LINE).sum()}, "
          f"lag>{STALE_AFTER}: {(mv['xb_lag_seconds'] > STALE_AFTER.total_seconds()).sum()}")
    for t in (0.06, 0.07, 0.08, 0.10, 0.15, 0.25):
        print(f"prob gap > {t}: moved {(np.abs(mv['xb_prob_gap']) > t).sum()}, "
              f"same line {(np.abs(same['xb_prob_gap']) > t).sum()}")
    for t in (2.0, 2.5, 3.0):
        print(f"line gap > {t}: {(np.abs(mv['xb_line_gap']) > t).sum()}")
    big = mv[np.abs(mv["xb_prob_gap"]) > CROSS_BOOK_PROB]
    if len(big):
        print(big[["game_date", "player_id", "sportsbook", "line", "over_price", "under_price", "fair_p_over",
                   "xb_prob_gap"]].head(20).to_string())


if __name__ == "__main__":
    main()
