"""Benchmark: do the line-movement features (v4_market_movement, issue 11 part 6) change the CatBoost
system's points MAE against the line, on the rows with a points line?

Usage: python bench/line_movement.py --db PATH [--from 2024-03-01 --to 2024-05-25]
                                     [--retrain-every 14] [--train-from 2022-10-01] [--threads 2]

Walk-forward: every ``--retrain-every`` days the CatBoost system (served settings, every feature of
the version, line features included) is trained on every played game from ``--train-from`` strictly
before the block, once on v3_availability and once on v4_market_movement, and predicts every played
game of the block. The **blended** forecast is the market blend's points map
(``models/market_blend.py``: ``line + beta * (mean - line)``, ``beta`` in [0, 1] by least squares)
with ``beta`` fitted walk-forward on the earlier blocks' out-of-sample line rows (unblended until
300 such rows exist, as ``MarketBlend``). Prints, on the rows with a points line, MAE of each version
(raw and blended), the line's own MAE on the same rows, and the same on the rows whose player-game has two or more snapshots (the only rows
where "move since the open" can be non-zero at a time before the close) and on the rows whose consensus
line moved.

What it can show: the features describe the market as the backfill stores it (every pre-tip quote, i.e.
the close); the line rows are all inside the shared line windows, so this is a **report, never a
choice** (nothing is tuned on it). Before 2024-03 no line exists, so the first block's v4 model sees
the new features only as NULL; every later block learns them from the earlier weeks of the window.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nbaprops.features.reader import load_rows
from nbaprops.models.market_blend import MIN_ROWS
from nbaprops.models.systems.catboost_system import CatBoostSystem
from nbaprops.warehouse import connect

VERSIONS = ("v3_availability", "v4_market_movement")


def _mae(err: pd.Series) -> float:
    return float(err.abs().mean()) if len(err) else float("nan")


def _beta(done: list[pd.DataFrame], version: str) -> float | None:
    """The blend's points shrink fitted on the earlier blocks' line rows (None: too few rows)."""
    if not done:
        return None
    past = pd.concat(done)
    past = past[past["line"].notna()]
    if len(past) < MIN_ROWS:
        return None
    d = (past[version] - past["line"]).to_numpy(dtype="float64")
    r = (past["actual_points"] - past["line"]).to_numpy(dtype="float64")
    denom = float(np.dot(d, d))
    return float(np.clip(np.dot(d, r) / denom, 0.0, 1.0)) if denom > 0 else 0.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--from", dest="lo", default="2024-03-01")
    ap.add_argument("--to", dest="hi", default="2024-05-25")
    ap.add_argument("--retrain-every", type=int, default=14)
    ap.add_argument("--train-from", default="2022-10-01")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    con = connect(args.db, read_only=True)
    lo, hi = dt.date.fromisoformat(args.lo), dt.date.fromisoformat(args.hi)
    t0 = time.perf_counter()
    rows = load_rows(con, dt.date.fromisoformat(args.train_from), hi, played_only=True, version=VERSIONS[-1])
    rows = rows[rows["actual_points"].notna() & (rows["actual_minutes"].fillna(0) > 0)].reset_index(drop=True)
    multi = con.execute("""SELECT game_date, player_id, max(snapshot_seq) >= 2 AS multi_snapshot
                           FROM line_quotes WHERE game_date BETWEEN ? AND ? GROUP BY ALL""", [lo, hi]).df()
    multi["game_date"] = pd.to_datetime(multi["game_date"])
    out: list[pd.DataFrame] = []
    day, n_fits = lo, 0
    while day <= hi:
        end = min(day + dt.timedelta(days=args.retrain_every - 1), hi)
        test = rows[(rows["game_date"] >= pd.Timestamp(day)) & (rows["game_date"] <= pd.Timestamp(end))]
        if len(test):
            train = rows[rows["game_date"] < pd.Timestamp(day)]
            block = test[["game_date", "game_id", "player_id", "actual_points", "line", "mkt_consensus_line_move",
                          "mkt_books_quoting"]].copy()
            betas = []
            for v in VERSIONS:
                m = CatBoostSystem(thread_count=args.threads, feature_version=v).fit(train, train["actual_points"])
                block[v] = m.predict(test)
                beta = _beta(out, v)
                betas.append(beta)
                block[f"{v}_blended"] = block[v] if beta is None else np.where(
                    block["line"].notna(), block["line"] + beta * (block[v] - block["line"]), block[v])
                n_fits += 1
            out.append(block)
            print(f"  block {day}..{end}: {len(block)} rows, {block['line'].notna().sum()} with a line, "
                  f"blend beta v3/v4 {betas} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        day = end + dt.timedelta(days=1)
    res = pd.concat(out, ignore_index=True)
    res["game_date"] = pd.to_datetime(res["game_date"])
    res = res.merge(multi, on=["game_date", "player_id"], how="left")
    line_rows = res[res["line"].notna()]
    segments = {
        "rows with a points line": line_rows,
        "  two or more snapshots": line_rows[line_rows["multi_snapshot"].fillna(False).astype(bool)],
        "  consensus line moved": line_rows[line_rows["mkt_consensus_line_move"].fillna(0) != 0],
        "  3+ books quoting": line_rows[line_rows["mkt_books_quoting"].fillna(0) >= 3],
    }
    print(f"line-movement walk-forward {lo}..{hi}: retrain every {args.retrain_every} d, train from "
          f"{args.train_from}, {n_fits} CatBoost fits, {len(res)} player-games, wall {time.perf_counter() - t0:.0f} s")
    for kind, suffix in (("raw CatBoost", ""), ("blended", "_blended")):
        print(f"{kind}: {'segment':28s} {'rows':>6s} {'v3 MAE':>7s} {'v4 MAE':>7s} {'v4-v3':>7s} {'line':>7s} "
              f"{'v3-line':>8s} {'v4-line':>8s}")
        for name, sub in segments.items():
            y = sub["actual_points"]
            e3, e4 = _mae(sub[VERSIONS[0] + suffix] - y), _mae(sub[VERSIONS[1] + suffix] - y)
            el = _mae(sub["line"] - y)
            print(f"{kind}: {name:28s} {len(sub):6d} {e3:7.3f} {e4:7.3f} {e4 - e3:+7.3f} {el:7.3f} "
                  f"{e3 - el:+8.3f} {e4 - el:+8.3f}")


if __name__ == "__main__":
    main()
