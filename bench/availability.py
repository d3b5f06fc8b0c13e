"""Benchmark: do the availability features (v3_availability, issue 10) improve the model-only points MAE?

Usage: python bench/availability.py [--db PATH] [--data ../shared/data] [--from 2023-10-24 --to 2024-06-17]
                                    [--retrain-every 7] [--threads 2]

Walk-forward over a season of box scores: every ``--retrain-every`` days, CatBoost (the served
system's settings) is trained on every played game strictly before the day, once on the v2 features
without the four line features ("model-only v2") and once on the v3 features without them
("model-only v3"), and predicts every played game of the next block. Prints MAE on all player-games,
on them outside the shared line windows (2024-03..2024-04, 2024-10..2024-12: the figure a choice may
use), by segment (a rotation teammate missed the team's previous game; returning from an absence of
3+ games, i.e. at most 3 games since; a starting teammate out; starters and bench by the box score of the game), and on the
rows with a points line next to the line's own MAE on the same rows (reported, never used to choose).

Builds the warehouse first (backfill of ``--data``) when ``--db`` does not exist.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _warehouse import open_or_build

from nbaprops.config import load_settings
from nbaprops.features.definitions import FEATURES_V2, FEATURES_V3
from nbaprops.features.reader import load_rows
from nbaprops.models.systems.catboost_system import CatBoostSystem

LINE_FEATURES = ("vegas_points_line", "vegas_opening_line", "vegas_line_move", "has_vegas_line")
SHARED_WINDOWS = ((dt.date(2024, 3, 1), dt.date(2024, 4, 30)), (dt.date(2024, 10, 1), dt.date(2024, 12, 31)))


def model_only(features: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(f for f in features if f not in LINE_FEATURES)


class ModelOnlyV2(CatBoostSystem):
    features = model_only(FEATURES_V2)


class ModelOnlyV3(CatBoostSystem):
    features = model_only(FEATURES_V3)


def _mae(err: pd.Series) -> str:
    return f"{err.abs().mean():6.3f}" if len(err) else "   n/a"


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=root.parent / "shared" / "data")
    ap.add_argument("--from", dest="lo", default="2023-10-24")
    ap.add_argument("--to", dest="hi", default="2024-06-17")
    ap.add_argument("--retrain-every", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "bench.duckdb"
    settings = load_settings(db=db)
    con = open_or_build(db, args.data, settings)
    lo, hi = dt.date.fromisoformat(args.lo), dt.date.fromisoformat(args.hi)
    t0 = time.perf_counter()
    rows = load_rows(con, dt.date(1900, 1, 1), hi, played_only=True, version="v3_availability")
    rows = rows[rows["actual_points"].notna() & (rows["actual_minutes"].fillna(0) > 0)].reset_index(drop=True)
    starters = con.execute("SELECT game_id, player_id, starter FROM player_game_summary WHERE game_date BETWEEN ? AND ?",
                           [lo, hi]).df()
    out = []
    day = lo
    n_fits = 0
    while day <= hi:
        end = min(day + dt.timedelta(days=args.retrain_every - 1), hi)
        test = rows[(rows["game_date"] >= pd.Timestamp(day)) & (rows["game_date"] <= pd.Timestamp(end))]
        if len(test):
            train = rows[rows["game_date"] < pd.Timestamp(day)]
            block = test[["game_date", "game_id", "player_id", "actual_points", "line", "teammates_out",
                          "starters_missing", "games_since_return"]].copy()
            for name, cls in (("v2", ModelOnlyV2), ("v3", ModelOnlyV3)):
                m = cls(thread_count=args.threads).fit(train, train["actual_points"])
                block[f"pred_{name}"] = m.predict(test)
                n_fits += 1
            out.append(block)
            done = pd.concat(out)
            print(f"  block {day}..{end}: {len(block)} rows, running MAE v2 "
                  f"{(done['pred_v2'] - done['actual_points']).abs().mean():.3f} v3 "
                  f"{(done['pred_v3'] - done['actual_points']).abs().mean():.3f} ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
        day = end + dt.timedelta(days=1)
    res = pd.concat(out, ignore_index=True).merge(starters, on=["game_id", "player_id"], how="left")
    res = res[res["pred_v2"].notna() & res["pred_v3"].notna()]
    wall = time.perf_counter() - t0
    d = res["game_date"].dt.date
    in_shared = np.zeros(len(res), dtype=bool)
    for a, b in SHARED_WINDOWS:
        in_shared |= ((d >= a) & (d <= b)).to_numpy()
    has_line = res["line"].notna().to_numpy()
    segments = {
        "all player-games": np.ones(len(res), dtype=bool),
        "  outside shared line windows": ~in_shared,
        "teammate out (prev game)": (res["teammates_out"] >= 1).to_numpy(),
        "starter teammate out": (res["starters_missing"] >= 1).to_numpy(),
        "returning (<=3 games since)": (res["games_since_return"] <= 3).to_numpy(),
        "starters (box score)": res["starter"].fillna(False).astype(bool).to_numpy(),
        "bench (box score)": ~res["starter"].fillna(False).astype(bool).to_numpy(),
        "rows with a points line": has_line,
    }
    print(f"availability walk-forward {lo}..{hi}: retrain every {args.retrain_every} d, {n_fits} CatBoost fits, "
          f"{len(res)} player-games, wall {wall:.0f} s")
    print("model-only = CatBoost without the line features; v2 = v2_33features, v3 = v3_availability")
    print(f"{'segment':32s} {'rows':>7s} {'v2 MAE':>7s} {'v3 MAE':>7s} {'v3-v2':>7s} {'line MAE':>8s}")
    y = res["actual_points"]
    for name, mask in segments.items():
        sub = res[mask]
        e2 = sub["pred_v2"] - sub["actual_points"]
        e3 = sub["pred_v3"] - sub["actual_points"]
        line = _mae(sub["line"] - y[mask]) if name == "rows with a points line" else ""
        delta = e3.abs().mean() - e2.abs().mean() if len(sub) else float("nan")
        print(f"{name:32s} {len(sub):7d} {_mae(e2):>7s} {_mae(e3):>7s} {delta:+7.3f} {line:>8s}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
