"""Benchmark: the minutes model and the minutes x points-per-minute system (issue 10, part 4), model-only.

Usage: python bench/minutes.py [--db PATH] [--data ../shared/data] [--from 2023-10-24 --to 2024-06-17]
                               [--retrain-every 35] [--threads 2]

Walk-forward over a season of box scores (mirrors ``bench/availability.py``): every
``--retrain-every`` days, on every played game strictly before the day, three models are trained:
CatBoost on the v3 features without the line features ("catboost MO v3", the best model-only
CatBoost of ``bench/availability.py``), ``minutes_ppm`` on the served v2 rows ("mppm v2") and
``minutes_ppm`` on the v3 rows ("mppm v3"); they predict every played game of the next block.

Prints
- the minutes model (of mppm v2 and v3): MAE of the predicted mean minutes, coverage of its 80%
  interval (10%-90% quantiles), the predicted P(minutes < 10) against the observed share, its Brier
  score, and the mean P(< 10) it gives the rostered players who did not play (DNP rows, not graded:
  a DNP voids a prop);
- points: MAE by segment (as ``bench/availability.py``), log-loss and Brier of the raw P(over) at the
  calibration threshold (the line where one was quoted, else L10 rounded to a half point) and the
  mean log-probability of the actual points, then a reliability table of P(over).
Line rows are reported, never used to choose anything.

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
from nbaprops.features.definitions import FEATURES_V3, MARKET_FEATURES
from nbaprops.features.reader import load_rows
from nbaprops.models.systems.catboost_system import CatBoostSystem
from nbaprops.models.systems.minutes_model import LOW_MINUTES
from nbaprops.models.systems.minutes_ppm import MinutesPpmSystem
from nbaprops.models.training import calibration_threshold

SHARED_WINDOWS = ((dt.date(2024, 3, 1), dt.date(2024, 4, 30)), (dt.date(2024, 10, 1), dt.date(2024, 12, 31)))
MODELS = ("cb_v3", "mppm_v2", "mppm_v3")


class ModelOnlyV3(CatBoostSystem):
    features = tuple(f for f in FEATURES_V3 if f not in MARKET_FEATURES)


def _rows(con: object, hi: dt.date, version: str, played: bool) -> pd.DataFrame:
    rows = load_rows(con, dt.date(1900, 1, 1), hi, played_only=played, version=version)  # type: ignore[arg-type]
    for c in ("days_rest", "opponent_days_rest", "games_played_season"):
        rows[c] = rows[c].astype("float64")
    return rows


def _played(rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["actual_points"].notna() & (rows["actual_minutes"].fillna(0) > 0)].reset_index(drop=True)


def _logloss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-4, 1 - 1e-4)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, default=None)
    ap.add_argument("--data", type=Path, default=root.parent / "shared" / "data")
    ap.add_argument("--from", dest="lo", default="2023-10-24")
    ap.add_argument("--to", dest="hi", default="2024-06-17")
    ap.add_argument("--retrain-every", type=int, default=35)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "bench.duckdb"
    settings = load_settings(db=db)
    con = open_or_build(db, args.data, settings)
    lo, hi = dt.date.fromisoformat(args.lo), dt.date.fromisoformat(args.hi)
    t0 = time.perf_counter()
    all3 = _rows(con, hi, "v3_availability", played=False)
    rows3 = _played(all3)
    all2 = _rows(con, hi, "v2_33features", played=False)
    rows2 = _played(all2)
    dnp3 = all3[(all3["game_date"] >= pd.Timestamp(lo)) & ~all3["played"].fillna(False).astype(bool)]
    dnp2 = all2[(all2["game_date"] >= pd.Timestamp(lo)) & ~all2["played"].fillna(False).astype(bool)]
    starters = con.execute("SELECT game_id, player_id, starter FROM player_game_summary WHERE game_date BETWEEN ? AND ?",
                           [lo, hi]).df()
    key = ["game_date", "game_id", "player_id"]
    out, dnp_out = [], []
    fit_s = dict.fromkeys(MODELS, 0.0)
    day = lo
    while day <= hi:
        end = min(day + dt.timedelta(days=args.retrain_every - 1), hi)
        span3 = (rows3["game_date"] >= pd.Timestamp(day)) & (rows3["game_date"] <= pd.Timestamp(end))
        test3 = rows3[span3].reset_index(drop=True)
        if len(test3):
            test2 = test3[key].merge(rows2, on=key, how="left")
            block = test3[[*key, "actual_points", "actual_minutes", "line", "points_avg_last_10", "teammates_out",
                           "starters_missing", "games_since_return"]].copy()
            dnp = dnp3[(dnp3["game_date"] >= pd.Timestamp(day)) & (dnp3["game_date"] <= pd.Timestamp(end))]
            dnp_block = dnp[key].copy()
            for name in MODELS:
                rows = rows2 if name == "mppm_v2" else rows3
                train = rows[rows["game_date"] < pd.Timestamp(day)]
                t = time.perf_counter()
                if name == "cb_v3":
                    model = ModelOnlyV3(thread_count=args.threads).fit(train, train["actual_points"])
                else:
                    model = MinutesPpmSystem(feature_version="v3_availability" if name == "mppm_v3" else None
                                             ).fit(train, train["actual_points"])
                fit_s[name] += time.perf_counter() - t
                test = test2 if name == "mppm_v2" else test3
                dist = model.predict_distribution(test)
                block[f"pred_{name}"] = dist.mean
                block[f"pover_{name}"] = dist.p_over(calibration_threshold(test))
                block[f"logp_{name}"] = dist.log_pmf(np.round(test["actual_points"].to_numpy(dtype="float64")))
                if isinstance(model, MinutesPpmSystem):
                    md = model.predict_minutes(test)
                    block[f"min_{name}"] = md.mean
                    block[f"q10_{name}"] = md.quantile(0.1)
                    block[f"q90_{name}"] = md.quantile(0.9)
                    block[f"plow_{name}"] = md.p_low
                    if len(dnp):
                        dn = dnp[key].merge(dnp2 if name == "mppm_v2" else dnp3, on=key, how="left")
                        dnp_block[f"plow_{name}"] = model.predict_minutes(dn).p_low
            out.append(block)
            dnp_out.append(dnp_block)
            done = pd.concat(out)
            ok = done[[f"pred_{m}" for m in MODELS]].notna().all(axis=1)
            print(f"  block {day}..{end}: {len(block)} rows, running MAE "
                  + " ".join(f"{m} {(done.loc[ok, f'pred_{m}'] - done.loc[ok, 'actual_points']).abs().mean():.3f}"
                             for m in MODELS) + f" ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        day = end + dt.timedelta(days=1)
    res = pd.concat(out, ignore_index=True).merge(starters, on=["game_id", "player_id"], how="left")
    res = res[res[[f"pred_{m}" for m in MODELS]].notna().all(axis=1)].reset_index(drop=True)
    dnps = pd.concat(dnp_out, ignore_index=True)
    wall = time.perf_counter() - t0
    n_blocks = len(out)
    print(f"minutes walk-forward {lo}..{hi}: retrain every {args.retrain_every} d ({n_blocks} blocks), "
          f"{len(res)} played player-games, wall {wall:.0f} s; fit seconds "
          + ", ".join(f"{m} {fit_s[m]:.0f}" for m in MODELS))

    m = res["actual_minutes"].to_numpy(dtype="float64")
    low = (m < LOW_MINUTES).astype(float)
    print("\nminutes model (played games; DNP rows: rostered players who did not play)")
    print(f"{'model':8s} {'MAE':>6s} {'80% cov':>8s} {'P(<10) pred':>11s} {'obs':>6s} {'Brier':>6s} "
          f"{'bench P(<10)':>12s} {'bench obs':>9s} {'DNP rows':>8s} {'P(<10) on DNP':>13s}")
    bench_rows = ~res["starter"].fillna(False).astype(bool).to_numpy()
    for name in ("mppm_v2", "mppm_v3"):
        mean, q10, q90, plow = (res[f"{k}_{name}"].to_numpy() for k in ("min", "q10", "q90", "plow"))
        cov = float(np.mean((m >= q10) & (m <= q90)))
        dn = dnps[f"plow_{name}"].dropna() if f"plow_{name}" in dnps else pd.Series(dtype=float)
        print(f"{name:8s} {np.mean(np.abs(mean - m)):6.2f} {cov:8.3f} {plow.mean():11.3f} {low.mean():6.3f} "
              f"{np.mean((plow - low) ** 2):6.3f} {plow[bench_rows].mean():12.3f} {low[bench_rows].mean():9.3f} "
              f"{len(dn):8d} {dn.mean() if len(dn) else float('nan'):13.3f}")

    d = res["game_date"].dt.date
    in_shared = np.zeros(len(res), dtype=bool)
    for a, b in SHARED_WINDOWS:
        in_shared |= ((d >= a) & (d <= b)).to_numpy()
    has_line = res["line"].notna().to_numpy()
    starter = res["starter"].fillna(False).astype(bool).to_numpy()
    segments = {
        "all player-games": np.ones(len(res), dtype=bool),
        "  outside shared line windows": ~in_shared,
        "teammate out (prev game)": (res["teammates_out"] >= 1).to_numpy(),
        "starter teammate out": (res["starters_missing"] >= 1).to_numpy(),
        "returning (<=3 games since)": (res["games_since_return"] <= 3).to_numpy(),
        "starters (box score)": starter,
        "bench (box score)": ~starter,
        "bench, < 10 minutes": ~starter & (m < LOW_MINUTES),
        "rows with a points line": has_line,
    }
    y = res["actual_points"].to_numpy(dtype="float64")
    thr = calibration_threshold(res)
    over = np.where(y == thr, np.nan, (y > thr).astype(float))
    print("\npoints, model-only (MAE | log-loss of raw P(over) at the threshold | mean log P(actual points))")
    print(f"{'segment':32s} {'rows':>6s} " + " ".join(f"{'MAE ' + n:>12s}" for n in MODELS) + " "
          + " ".join(f"{'LL ' + n:>11s}" for n in MODELS) + " " + " ".join(f"{'logP ' + n:>12s}" for n in MODELS)
          + f" {'line MAE':>8s}")
    for seg, mask in segments.items():
        ok = mask & np.isfinite(over)
        maes = " ".join(f"{np.mean(np.abs(res[f'pred_{n}'].to_numpy()[mask] - y[mask])):12.3f}" for n in MODELS)
        lls = " ".join(f"{_logloss(res[f'pover_{n}'].to_numpy()[ok], over[ok]):11.4f}" for n in MODELS)
        lps = " ".join(f"{np.mean(res[f'logp_{n}'].to_numpy()[mask]):12.3f}" for n in MODELS)
        line = f"{np.mean(np.abs(res['line'].to_numpy()[mask] - y[mask])):8.3f}" if seg == "rows with a points line" else ""
        print(f"{seg:32s} {int(mask.sum()):6d} {maes} {lls} {lps} {line:>8s}")

    ok = np.isfinite(over)
    print("\nBrier of raw P(over) (all rows): " + ", ".join(
        f"{n} {np.mean((res[f'pover_{n}'].to_numpy()[ok] - over[ok]) ** 2):.4f}" for n in MODELS))
    print("reliability of raw P(over), all rows: predicted bin -> rows, mean predicted, observed share")
    bins = np.array([0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 1.0])
    for n in MODELS:
        p = res[f"pover_{n}"].to_numpy()[ok]
        idx = np.digitize(p, bins[1:-1])
        cells = [f"[{bins[i]:.1f},{bins[i + 1]:.1f}) {int((idx == i).sum())} {p[idx == i].mean():.3f}/"
                 f"{over[ok][idx == i].mean():.3f}" for i in range(len(bins) - 1) if (idx == i).any()]
        print(f"  {n:8s} " + "  ".join(cells))
    tmp.cleanup()


if __name__ == "__main__":
    main()
