"""The minutes model and the minutes x points-per-minute system on synthetic frames (fixed seed).

Starters play ~34 minutes; bench players either a short stint (~3 minutes) or a real one (~20),
half and half, so their minutes are bimodal. Every feature of a row comes from the player's earlier
games only (shifted rolling means), like the feature store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nbaprops.errors import MissingColumnsError, ModelError
from nbaprops.features.definitions import MARKET_FEATURES
from nbaprops.models.systems import (
    SYSTEMS,
    DiscretePointsDistribution,
    PointsDistribution,
    load_system,
    make_system,
)
from nbaprops.models.systems.base import chronological_split
from nbaprops.models.systems.minutes_model import LOW_MINUTES, MINUTES_INPUTS, MinutesModel, minutes_inputs
from nbaprops.models.systems.minutes_ppm import MinutesPpmSystem, ppm_inputs

PPM = 0.5


def _frame(seed: int = 11, n_starters: int = 30, n_bench: int = 30, n_games: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-10-24")
    rows = []
    for p in range(n_starters + n_bench):
        bench = p >= n_starters
        rate = PPM * rng.uniform(0.7, 1.3)
        for g in range(n_games):
            if bench:
                mins = float(np.clip(rng.normal(3.0, 1.5), 0.5, 9.5) if rng.random() < 0.5
                             else np.clip(rng.normal(20.0, 3.0), 10.0, 40.0))
            else:
                mins = float(np.clip(rng.normal(34.0, 3.0), 15.0, 46.0))
            pts = float(rng.poisson(rate * mins))
            rows.append({"player_id": 2000 + p, "game_id": f"{g:04d}{p:03d}", "game_date": start + pd.Timedelta(days=2 * g),
                         "actual_minutes": mins, "actual_points": pts, "bench": bench})
    df = pd.DataFrame(rows).sort_values(["player_id", "game_date"]).reset_index(drop=True)
    by = df.groupby("player_id")
    prev_m = by["actual_minutes"].shift(1)
    prev_p = by["actual_points"].shift(1)
    roll = lambda s, w: s.groupby(df["player_id"]).transform(lambda x: x.rolling(w, 1).mean())  # noqa: E731
    df["minutes_avg_last_10"] = roll(prev_m, 10)
    df["points_avg_last_5"] = roll(prev_p, 5)
    df["points_avg_last_10"] = roll(prev_p, 10)
    df["points_avg_season"] = prev_p.groupby(df["player_id"]).transform(lambda x: x.expanding().mean())
    df["points_std_last_10"] = prev_p.groupby(df["player_id"]).transform(lambda x: x.rolling(10, 2).std())
    df["ppm_avg_last_10"] = roll(prev_p, 10) / roll(prev_m, 10)
    df["minutes_change"] = (roll(prev_m, 10) - prev_m.groupby(df["player_id"]).transform(
        lambda x: x.expanding().mean())) / 30.0
    df["games_played_season"] = by.cumcount().astype(float)
    df["home_away"] = rng.integers(0, 2, len(df)).astype(float)
    for c in MINUTES_INPUTS:
        if c not in df.columns:
            df[c] = np.nan            # not known in this frame: NULL stays NULL
    for c in ppm_inputs(None)[1:]:
        if c not in df.columns:
            df[c] = np.nan
    return df


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module")
def fitted(data: pd.DataFrame) -> tuple[MinutesPpmSystem, pd.DataFrame]:
    train, test = chronological_split(data["game_date"], 0.2)
    tr = data.loc[train].reset_index(drop=True)
    return MinutesPpmSystem().fit(tr, tr["actual_points"]), data.loc[test].reset_index(drop=True)


def test_registered_as_the_seventh_system_reading_no_market(fitted: tuple[MinutesPpmSystem, pd.DataFrame]) -> None:
    assert list(SYSTEMS) == ["moving_average", "zone_matchup", "similarity", "xgboost", "catboost",
                             "minutes_ppm", "ensemble"]
    system, _ = fitted
    assert isinstance(make_system("minutes_ppm"), MinutesPpmSystem)
    assert system.market_inputs() == frozenset()
    assert not set(system.feature_names_) & MARKET_FEATURES
    # the v3 version adds the availability features to the minutes and rate inputs, v2 has none of them
    assert "projected_minutes" in minutes_inputs("v3_availability") and "projected_minutes" not in minutes_inputs(None)
    assert "vacated_fga_share" in ppm_inputs("v3_availability") and "vacated_fga_share" not in ppm_inputs(None)
    assert set(MinutesPpmSystem(feature_version="v3_availability").input_features) > set(system.input_features)


def test_bench_minutes_are_bimodal_and_p_over_counts_the_short_stints(
        fitted: tuple[MinutesPpmSystem, pd.DataFrame]) -> None:
    system, test = fitted
    late = test[test["games_played_season"] >= 10].reset_index(drop=True)
    bench, starters = late[late["bench"]].reset_index(drop=True), late[~late["bench"]].reset_index(drop=True)
    mb, ms = system.predict_minutes(bench), system.predict_minutes(starters)
    # a real mass of a small role for the bench (truth: one half), almost none for starters
    assert 0.3 < float(np.mean(mb.p_low)) < 0.7
    assert float(np.mean(ms.p_low)) < 0.05
    # the mass sits near 0-10 and near 20 minutes, not at the mean (~11.5) between them
    w = mb.weights.mean(axis=0)
    assert w[:8].sum() > 0.25 and w[15:26].sum() > 0.3 and w[10:13].sum() < 0.15
    # the 80% interval of a bench player spans both modes
    assert float(np.median(mb.quantile(0.1))) < 5.0 and float(np.median(mb.quantile(0.9))) > 18.0

    dist = system.predict_distribution(bench)
    assert isinstance(dist, DiscretePointsDistribution)
    np.testing.assert_allclose(dist.table.sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(dist.mean, system.predict(bench), atol=1e-9)
    assert float(np.mean(dist.cdf(2.0))) > 0.25            # a real chance of (almost) no points
    # P(over) at a line just under the mean: the mixture counts the short stints, a normal of the same
    # mean and standard deviation does not
    line = np.floor(dist.mean) - 0.5
    normal = PointsDistribution(dist.mean, dist.scale, "normal")
    gap = normal.p_over(line) - dist.p_over(line)
    assert float(np.mean(gap)) > 0.03 and float(np.mean(gap > 0)) > 0.8
    # and the mixture is the better forecast of the bench's real points
    y = bench["actual_points"].to_numpy()
    assert float(np.mean(dist.log_pmf(y))) > float(np.mean(normal.log_pmf(y)))


def test_distribution_interface_matches_points_distribution(fitted: tuple[MinutesPpmSystem, pd.DataFrame]) -> None:
    system, test = fitted
    dist = system.predict_distribution(test)
    ok = dist.valid
    assert ok.mean() > 0.9
    lines = np.array([0.5, 5.5, 10.0, 15.5, 30.0])
    ps = np.column_stack([dist.p_over(np.full(len(test), ln)) for ln in lines])[ok]
    assert ((ps >= 0) & (ps <= 1)).all()
    assert (np.diff(ps[:, [0, 1, 3]], axis=1) <= 1e-12).all()                  # monotone in the line
    np.testing.assert_allclose((dist.sf(9.0) + dist.cdf(9.0))[ok], 1.0, atol=1e-12)
    np.testing.assert_allclose(dist.p_over(0.5)[ok], (1.0 - dist.pmf(0.0))[ok], atol=1e-12)
    # a whole line: P(over | no push)
    push = dist.p_push(10.0)
    np.testing.assert_allclose(dist.p_over(10.0)[ok], (dist.sf(10.0) / (1.0 - push))[ok], atol=1e-12)
    assert np.isnan(dist.p_over(np.nan)).all() and np.isnan(dist.p_push(np.nan)).all()
    # a row without any scoring history has no prediction: NaN everywhere
    none = test.iloc[:3].copy()
    none[["points_avg_last_5", "points_avg_last_10", "points_avg_season"]] = np.nan
    d0 = system.predict_distribution(none)
    assert np.isnan(d0.mean).all() and np.isnan(d0.p_over(5.5)).all() and np.isnan(system.predict(none)).all()
    # the rate needs the player's points per minute: without it, no prediction (nothing defaulted)
    no_rate = test.iloc[:3].copy()
    no_rate["ppm_avg_last_10"] = np.nan
    assert np.isnan(system.predict(no_rate)).all()


def test_inputs_of_a_day_ignore_later_games(data: pd.DataFrame) -> None:
    """Point in time: the forecast for day D depends on the rows of D (built from earlier games) and a
    model trained on days before D; altering every game from D on (outcomes, minutes, features of
    later days) changes neither."""
    days = np.sort(data["game_date"].unique())
    day = pd.Timestamp(days[40])
    before = data[data["game_date"] < day].reset_index(drop=True)
    on_day = data[data["game_date"] == day].reset_index(drop=True)
    base = MinutesPpmSystem().fit(before, before["actual_points"])
    expected = base.predict_distribution(on_day).table

    altered = data.copy()
    later = altered["game_date"] >= day
    altered.loc[later, "actual_minutes"] = 47.0
    altered.loc[later, "actual_points"] = altered.loc[later, "actual_points"] + 25
    after_day = altered["game_date"] > day
    altered.loc[after_day, ["minutes_avg_last_10", "ppm_avg_last_10"]] = [5.0, 2.0]
    again = MinutesPpmSystem().fit(altered[altered["game_date"] < day].reset_index(drop=True),
                                   altered.loc[altered["game_date"] < day, "actual_points"])
    assert again.model_version == base.model_version
    got = again.predict_distribution(altered[altered["game_date"] == day].reset_index(drop=True)).table
    np.testing.assert_array_equal(got, expected)
    # power: a model that does see the altered games predicts differently
    leaky = MinutesPpmSystem().fit(altered[altered["game_date"] <= day].reset_index(drop=True),
                                   altered.loc[altered["game_date"] <= day, "actual_points"])
    assert not np.allclose(leaky.predict(on_day), base.predict(on_day), atol=0.05)


def test_save_load_round_trip(fitted: tuple[MinutesPpmSystem, pd.DataFrame], tmp_path: Path) -> None:
    system, test = fitted
    system.save(tmp_path / "mp")
    assert (tmp_path / "mp" / "minutes_model.json").is_file()
    loaded = load_system(tmp_path / "mp")
    assert isinstance(loaded, MinutesPpmSystem)
    assert loaded.model_version == system.model_version
    np.testing.assert_array_equal(loaded.predict_distribution(test).table, system.predict_distribution(test).table)
    np.testing.assert_array_equal(loaded.predict_minutes(test).weights, system.predict_minutes(test).weights)
    # a damaged native file is a clear error
    (tmp_path / "mp" / "minutes_model.json").write_text('{"minutes": {}}', encoding="utf-8")
    with pytest.raises(ModelError):
        load_system(tmp_path / "mp")


def test_fit_needs_minutes_and_enough_rows(data: pd.DataFrame) -> None:
    with pytest.raises(MissingColumnsError):
        MinutesPpmSystem().fit(data.drop(columns=["actual_minutes"]), data["actual_points"])
    with pytest.raises(ModelError):
        MinutesModel().fit(data.iloc[:50], data["actual_minutes"].iloc[:50])
    one_role = data[data["actual_minutes"] >= LOW_MINUTES].reset_index(drop=True)
    with pytest.raises(ModelError):
        MinutesModel().fit(one_role.assign(actual_minutes=30.0), np.full(len(one_role), 30.0))
