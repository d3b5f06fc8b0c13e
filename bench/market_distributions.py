"""Evidence: which predictive distribution each market gets, and how combos are modelled (docs/markets.md).

Usage: python bench/market_distributions.py [--data ../shared/data] [--train 2022-23] [--test 2023-24]

Box scores only: no book line is read (the shared line windows are never used to choose anything).
For every market of ``nbaprops.markets.MARKETS`` a simple point-in-time predictor of the stat is
built from games strictly before the game (the mean of the player's last 10 games of the season and
of his season-to-date games, averaged, then c + d * that average with (c, d) least squares on the
training season, as a trained system would shrink it; a row needs at least 3 earlier games that
season, rows without are dropped and not counted). The spread (``SpreadModel``: scale = a + b * sqrt(mean)) is
fitted on the training season, then every family is scored on the test season:

* ``normal`` (the points default, scale floor 1.0), ``negbin`` (same learned scale, floor 1.0),
  ``negbin_lo`` (same, floor 0.3: a low count's spread below 1.0) and ``poisson`` (no spread);
* ``nll``: mean -log P(X = actual); ``crps``: the discrete ranked probability score
  sum_k (F(k) - 1{actual <= k})^2;
* the P(over) of two synthetic thresholds per row, the player's rounded point-in-time average
  +/- 0.5 (never a book line; thresholds below 0.5 are skipped): log-loss, Brier, the calibration
  gap mean(p) - mean(over) and the expected calibration error over ten p bins.

The ``decision`` column is :func:`nbaprops.models.systems.distribution_family`, the family the
systems of the market are built with.

Combos (PRA, P+R, P+A, R+A): the mean is the same either way (a sum of means), so the question is
the spread. ``sum``: the spread learned on the summed target (what the systems do when they train
on the combo's value). ``parts``: the normal scale of each part's own spread, combined with the
training season's pooled correlation of the parts' residuals: var = sum s_i^2 + 2 sum r_ij s_i s_j
(``parts_indep``: the same with r = 0, to show what the correlation is worth). Each is scored
as a normal and as a negative binomial.

Prints markdown tables (the ones in docs/markets.md "Distributions per market").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nbaprops.markets import MARKETS, Market
from nbaprops.models.systems import distribution_family
from nbaprops.models.systems.base import FloatArray, PointsDistribution, SpreadModel

BOX = "boxscores/player_boxscores_2020-21_to_2025-26.parquet"
FAMILIES: tuple[tuple[str, str, float], ...] = (  # label, family, scale floor
    ("normal", "normal", 1.0), ("negbin", "negbin", 1.0), ("negbin_lo", "negbin", 0.3), ("poisson", "poisson", 0.0),
)
MIN_PRIOR_GAMES = 3
LOW_MEAN = 3.0


def load(data: Path) -> pd.DataFrame:
    """Box scores with the point-in-time predictor (``mean_<market>``) of every market."""
    cols = ["season", "game_date", "game_id", "player_id", "PTS", "REB", "AST", "FG3M", "STL", "BLK", "TOV"]
    box = pd.read_parquet(data / BOX, columns=cols)
    box.columns = [c.lower() for c in box.columns]
    box["game_date"] = pd.to_datetime(box["game_date"])
    box = box.sort_values(["player_id", "game_date", "game_id"]).reset_index(drop=True)
    g = box.groupby(["player_id", "season"], sort=False)
    box["prior_games"] = g.cumcount()
    for m in MARKETS:
        y = box[list(m.columns)].sum(axis=1).astype(float)
        box[f"y_{m.name}"] = y
        by = y.groupby([box["player_id"], box["season"]], sort=False)
        # strictly before the game: shift(1) inside the player's season (one game per player per date)
        l10 = by.transform(lambda s: s.shift(1).rolling(10, min_periods=1).mean())
        season = by.transform(lambda s: s.shift(1).expanding().mean())
        box[f"raw_{m.name}"] = 0.5 * (l10 + season)
    return box.loc[box["prior_games"] >= MIN_PRIOR_GAMES].reset_index(drop=True)


def calibrate(box: pd.DataFrame, train_season: str) -> dict[str, tuple[float, float]]:
    """``mean_<market>`` = c + d * raw average, (c, d) least squares on the training season only.

    A raw average regresses to the mean (a player with no block in his first games blocks 0.16 a
    game in the next one), which a trained system learns; without it a count family given a mean
    of 0 is a point mass at 0 and one block costs log(1e-12)."""
    train = box["season"] == train_season
    coef = {}
    for m in MARKETS:
        d, c = np.polyfit(box.loc[train, f"raw_{m.name}"], box.loc[train, f"y_{m.name}"], 1)
        box[f"mean_{m.name}"] = np.clip(c + d * box[f"raw_{m.name}"], 0.0, None)
        coef[m.name] = (float(c), float(d))
    return coef


def scores(dist: PointsDistribution, mean: FloatArray, y: FloatArray, *, with_crps: bool = True) -> dict[str, float]:
    """nll, crps (NaN unless ``with_crps``: the slow part) and the threshold metrics of one
    distribution on the test rows."""
    k = np.clip(np.round(y), 0, None)
    nll = float(-np.mean(dist.log_pmf(k)))
    top = int(max(np.max(k), np.nanmax(mean) * 3 + 15)) if with_crps else -1
    crps = np.zeros_like(y) if with_crps else np.full_like(y, np.nan)
    for j in range(top + 1):
        crps += (dist.cdf(np.full_like(y, j)) - (k <= j)) ** 2
    ps, outs = [], []
    for shift in (-0.5, 0.5):
        line = np.round(mean) + shift
        ok = line >= 0.5
        ps.append(dist.p_over(line)[ok])
        outs.append((y > line)[ok].astype(float))
    p = np.clip(np.concatenate(ps), 1e-6, 1 - 1e-6)
    o = np.concatenate(outs)
    bins = np.minimum((p * 10).astype(int), 9)
    ece = sum(abs(p[bins == b].mean() - o[bins == b].mean()) * (bins == b).sum() for b in range(10) if (bins == b).any())
    return {"nll": nll, "crps": float(np.mean(crps)), "logloss": float(-np.mean(o * np.log(p) + (1 - o) * np.log(1 - p))),
            "brier": float(np.mean((p - o) ** 2)), "gap": float(p.mean() - o.mean()), "ece": float(ece / p.size),
            "lines": float(p.size)}


def fit_spread(train: pd.DataFrame, m: Market, family: str, floor: float) -> SpreadModel:
    return SpreadModel.fit(train[f"mean_{m.name}"].to_numpy(float), train[f"y_{m.name}"].to_numpy(float),
                           family=family, min_scale=floor)


def family_table(train: pd.DataFrame, test: pd.DataFrame, low: bool = False) -> list[str]:
    rows = ["| market | rows | MAE of mean | " + " | ".join(f"{lab} nll" for lab, _, _ in FAMILIES) + " | "
            + " | ".join(f"{lab} crps" for lab, _, _ in FAMILIES) + " | "
            + " | ".join(f"{lab} line log-loss" for lab, _, _ in FAMILIES) + " | "
            + " | ".join(f"{lab} gap / ECE" for lab, _, _ in FAMILIES) + " | best (line log-loss) | decision |",
            "|" + "---|" * (4 + 4 * len(FAMILIES) + 1)]
    for m in MARKETS:
        t = test.loc[test[f"mean_{m.name}"] < LOW_MEAN] if low else test
        if len(t) < 200:
            continue
        mean, y = t[f"mean_{m.name}"].to_numpy(float), t[f"y_{m.name}"].to_numpy(float)
        res = {}
        for lab, fam, floor in FAMILIES:
            res[lab] = scores(fit_spread(train, m, fam, floor).distribution(mean), mean, y, with_crps=not low)
        best = min(res, key=lambda f: res[f]["logloss"])
        rows.append(f"| {m.name} | {len(t):,} | {np.mean(np.abs(y - mean)):.3f} | "
                    + " | ".join(f"{res[lab]['nll']:.4f}" for lab, _, _ in FAMILIES) + " | "
                    + " | ".join(f"{res[lab]['crps']:.4f}" for lab, _, _ in FAMILIES) + " | "
                    + " | ".join(f"{res[lab]['logloss']:.4f}" for lab, _, _ in FAMILIES) + " | "
                    + " | ".join(f"{res[lab]['gap']:+.3f} / {res[lab]['ece']:.3f}" for lab, _, _ in FAMILIES)
                    + f" | {best} | {distribution_family(m)} |")
    return rows


def combo_table(train: pd.DataFrame, test: pd.DataFrame) -> list[str]:
    singles = {m.columns[0]: m for m in MARKETS if len(m.columns) == 1}
    rows = ["| combo | rows | corr of part residuals (train) | variant | nll | crps | line log-loss | Brier | gap | ECE |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for m in (m for m in MARKETS if len(m.columns) > 1):
        parts = [singles[c] for c in m.columns]
        resid = {p.columns[0]: (train[f"y_{p.name}"] - train[f"mean_{p.name}"]).to_numpy(float) for p in parts}
        corr = {(a, b): float(np.corrcoef(resid[a], resid[b])[0, 1])
                for i, a in enumerate(m.columns) for b in m.columns[i + 1:]}
        mean, y = test[f"mean_{m.name}"].to_numpy(float), test[f"y_{m.name}"].to_numpy(float)
        part_sd = {p.columns[0]: fit_spread(train, p, "normal", 1.0).scale(test[f"mean_{p.name}"].to_numpy(float))
                   for p in parts}
        var_indep = sum(s**2 for s in part_sd.values())
        var_corr = var_indep + sum(2 * r * part_sd[a] * part_sd[b] for (a, b), r in corr.items())
        variants: dict[str, PointsDistribution] = {}
        for fam in ("normal", "negbin"):
            variants[f"sum {fam}"] = fit_spread(train, m, fam, 1.0).distribution(mean)
            variants[f"parts {fam}"] = PointsDistribution(mean, np.sqrt(var_corr), fam)
            variants[f"parts_indep {fam}"] = PointsDistribution(mean, np.sqrt(var_indep), fam)
        corr_txt = ", ".join(f"{a}-{b} {r:+.3f}" for (a, b), r in corr.items())
        for name, dist in variants.items():
            s = scores(dist, mean, y)
            rows.append(f"| {m.name} | {len(test):,} | {corr_txt} | {name} | {s['nll']:.4f} | {s['crps']:.4f} | "
                        f"{s['logloss']:.4f} | {s['brier']:.4f} | {s['gap']:+.3f} | {s['ece']:.3f} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--train", default="2022-23", help="season the spreads and correlations are fitted on")
    ap.add_argument("--test", default="2023-24", help="season every family is scored on")
    args = ap.parse_args()
    start = time.perf_counter()
    box = load(args.data)
    coef = calibrate(box, args.train)
    train, test = box.loc[box["season"] == args.train], box.loc[box["season"] == args.test]
    print(f"train {args.train}: {len(train):,} player-games; test {args.test}: {len(test):,} player-games "
          f"(>= {MIN_PRIOR_GAMES} earlier games that season)")
    print("mean = c + d * raw average (fitted on the training season): "
          + ", ".join(f"{k} {c:+.2f}+{d:.3f}x" for k, (c, d) in coef.items()) + "\n")
    print("### Families, every row of the test season\n")
    print("\n".join(family_table(train, test)))
    print(f"\n### Families, rows whose point-in-time mean is below {LOW_MEAN:g} (bench players, low counts; crps not computed)\n")
    print("\n".join(family_table(train, test, low=True)))
    print("\n### Combos: the sum's own spread vs the parts' spreads with their correlation\n")
    print("\n".join(combo_table(train, test)))
    print(f"\n{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
